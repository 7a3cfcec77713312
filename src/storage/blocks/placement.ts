// Where a block's file lives (pure): which data directory, which folders, which name.
//
// Files sit under two levels of hex folders named by the hash's first two bytes:
// <data dir>/ab/cd/abcd...(64 hex). The temporary file of a write is the same name + ".tmp", in the
// same folder (so the rename is atomic); blocks found damaged go to <data dir>/corrupted/.
//
// Choosing the directory: as in Garage, the hash space is cut into DIRECTORY_SLICES slices (bytes 2
// and 3 of the hash, independent of byte 0 that picks the cluster partition and of the folder
// bytes), and each slice has one primary directory among the writable ones, in proportion to their
// capacity. Garage keeps that table in metadata_dir and edits it when data_dir changes; Grange
// derives it from the config alone, by weighted rendezvous hashing of (directory path, slice): no
// state to persist, and yet adding a directory moves only the slices it takes over, removing one
// moves only its own. Shares are proportional in expectation (a few percent off with 1024 slices),
// which is all balancing needs. Blocks written under an older directory list, or sitting in a
// read-only directory, are found by reads looking through the other directories after the primary.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DIRECTORY_SLICES } from './limits';

export interface BlockDirectory {
  path: string;
  /** Bytes; the weight of the directory among the writable ones. Absent for a single data_dir path. */
  capacity?: number;
  readOnly: boolean;
}

export const TEMP_FILE_SUFFIX = '.tmp';
export const CORRUPTED_FOLDER = 'corrupted';
export const BLOCK_FILE_NAME_PATTERN = /^[0-9a-f]{64}$/;
export const TEMP_FILE_NAME_PATTERN = /^[0-9a-f]{64}\.tmp$/;
export const PREFIX_FOLDER_PATTERN = /^[0-9a-f]{2}$/;

// Bytes 2 and 3 of the hash name its slice (bytes 0 and 1 are the folders).
const SLICE_BYTE_OFFSET = 2;
// A rendezvous draw uses 52 bits of a SHA-256 digest: exact in a double, and far finer than needed.
const DRAW_BITS = 52;

export interface DirectoryPlacement {
  readonly directories: readonly BlockDirectory[];
  /** Index (in `directories`) of the writable directory new copies of this block go to. */
  primaryOf(hash: Buffer): number;
  /** Every directory, the primary first, then the others in config order: where reads look. */
  searchOrder(hash: Buffer): number[];
}

/** A number in (0, 1), fixed by the directory's path and the slice. */
function draw(path: string, slice: number): number {
  const digest = createHash('sha256').update(`${path}\0${slice}`).digest();
  const high = digest.readUInt32BE(0);
  const low = digest.readUInt32BE(4) >>> (64 - DRAW_BITS);
  return (high * 2 ** (DRAW_BITS - 32) + low + 0.5) / 2 ** DRAW_BITS;
}

/** The primary directory of each slice: the writable directory with the best weighted draw. */
function primaryTable(directories: readonly BlockDirectory[]): Uint16Array {
  const writable = directories.flatMap((directory, index) => (directory.readOnly ? [] : [{ index, path: directory.path, weight: directory.capacity ?? 1 }]));
  if (writable.length === 0) throw new Error('placement: no writable data directory'); // the config refuses this
  const table = new Uint16Array(DIRECTORY_SLICES);
  for (let slice = 0; slice < DIRECTORY_SLICES; slice++) {
    let best = Infinity;
    for (const candidate of writable) {
      // Exponential race: -ln(u) / weight is least for each directory with odds weight / total.
      const score = -Math.log(draw(candidate.path, slice)) / candidate.weight;
      if (score < best) {
        best = score;
        table[slice] = candidate.index;
      }
    }
  }
  return table;
}

export function placeDirectories(directories: readonly BlockDirectory[]): DirectoryPlacement {
  const table = primaryTable(directories);
  const primaryOf = (hash: Buffer): number => table[hash.readUInt16BE(SLICE_BYTE_OFFSET) % DIRECTORY_SLICES]!;
  return {
    directories,
    primaryOf,
    searchOrder(hash) {
      const primary = primaryOf(hash);
      return [primary, ...directories.keys()].filter((index, position) => position === 0 || index !== primary);
    },
  };
}

/** <directory>/ab/cd: the folder of a block's file. */
export function blockFolder(directory: string, hashHex: string): string {
  return join(directory, hashHex.slice(0, 2), hashHex.slice(2, 4));
}

export function blockFilePath(directory: string, hashHex: string): string {
  return join(blockFolder(directory, hashHex), hashHex);
}

export function corruptedFilePath(directory: string, hashHex: string): string {
  return join(directory, CORRUPTED_FOLDER, hashHex);
}
