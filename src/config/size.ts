// Sizes in the config file ("block_size", "data_dir.capacity", ...), parsed the way Garage parses
// them (Garage uses the Rust `bytesize` crate), so that a Garage config means the same to Grange:
//
//   - a plain integer, as a TOML integer or as digits in a string, is a number of bytes: 1048576;
//   - a letter K, M, G, T or P, optionally followed by "B", is a DECIMAL unit (powers of 1000):
//     "1K" = "1KB" = 1000, "1M" = "1MB" = 1 000 000, "10G" = 10 000 000 000;
//   - the same letter followed by "i" or "iB" is a BINARY unit (powers of 1024):
//     "512KiB" = 524 288, "1MiB" = "1Mi" = 1 048 576, "10GiB" = 10 737 418 240;
//   - units are case-insensitive ("1k" = "1K" = "1kb"), as bytesize accepts them all;
//   - a fraction is allowed ("1.5G" = 1 500 000 000); a result that is not a whole number of bytes
//     is rounded down ("1.5K" with K = 1000 is exact; "0.3KiB" = 307), as bytesize truncates;
//   - spaces between the number and the unit are allowed ("10 GiB").
//
// Beware: "1M" is 10^6 here, not 2^20 as in dd or Docker. Write "1MiB" for 2^20.

import { KIB_BYTES, SIZE_BYTES_MAX } from './limits';

/** Thrown by parseSize; its message is one line that names the bad input. */
export class SizeError extends Error {
  override readonly name = 'SizeError';
}

const DECIMAL_BASE = 1000;
const UNIT_LETTERS = ['k', 'm', 'g', 't', 'p'] as const;
const UNIT_HELP = 'use a number of bytes, or K, M, G, T, P (powers of 1000) or KiB, MiB, GiB, TiB, PiB (powers of 1024)';
const SIZE_PATTERN = /^(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)$/i;

/** Bytes in one unit, or undefined if the unit is unknown. "" and "b" mean bytes. */
function unitBytes(unit: string): number | undefined {
  const lower = unit.toLowerCase();
  if (lower === '' || lower === 'b') return 1;
  const exponent = UNIT_LETTERS.indexOf(lower[0] as (typeof UNIT_LETTERS)[number]) + 1;
  if (exponent === 0) return undefined;
  const suffix = lower.slice(1);
  if (suffix === '' || suffix === 'b') return DECIMAL_BASE ** exponent;
  if (suffix === 'i' || suffix === 'ib') return KIB_BYTES ** exponent;
  return undefined;
}

function checkBytes(bytes: number, shown: string): number {
  if (bytes > SIZE_BYTES_MAX) throw new SizeError(`size ${shown} is too large (at most ${SIZE_BYTES_MAX} bytes)`);
  return bytes;
}

function parseSizeNumber(value: number): number {
  if (!Number.isInteger(value)) {
    throw new SizeError(`size ${value} is not a whole number of bytes; write a string with a unit, e.g. "1.5MiB"`);
  }
  if (value < 0) throw new SizeError(`size ${value} is negative`);
  return checkBytes(value, String(value));
}

function parseSizeText(text: string): number {
  const shown = JSON.stringify(text);
  const trimmed = text.trim();
  if (trimmed === '') throw new SizeError(`size ${shown} is empty; ${UNIT_HELP}`);
  if (trimmed.startsWith('-')) throw new SizeError(`size ${shown} is negative`);
  const match = SIZE_PATTERN.exec(trimmed);
  if (match === null) throw new SizeError(`${shown} is not a size; ${UNIT_HELP}`);
  const [, digits, unit] = match as unknown as [string, string, string];
  const multiplier = unitBytes(unit);
  if (multiplier === undefined) throw new SizeError(`size ${shown} has an unknown unit "${unit}"; ${UNIT_HELP}`);
  return checkBytes(Math.floor(Number(digits) * multiplier), shown);
}

/**
 * Parses a size (see the top of this file for the accepted forms) into a number of bytes.
 * Throws SizeError with a one-line message on bad input.
 */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') return parseSizeNumber(input);
  if (typeof input === 'string') return parseSizeText(input);
  throw new SizeError(`a size must be an integer or a string, found ${typeof input}`);
}

const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Formats bytes for messages: the largest binary unit that divides it exactly ("4 KiB"), else bytes. */
export function formatSize(bytes: number): string {
  let unitIndex = -1;
  let value = bytes;
  while (unitIndex + 1 < BINARY_UNITS.length && value >= KIB_BYTES && value % KIB_BYTES === 0) {
    value /= KIB_BYTES;
    unitIndex += 1;
  }
  if (unitIndex >= 0) return `${value} ${BINARY_UNITS[unitIndex]}`;
  return bytes === 1 ? '1 byte' : `${bytes} bytes`;
}
