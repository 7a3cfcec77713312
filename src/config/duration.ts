// Durations in the config file (metadata_auto_snapshot_interval = "6h"). Garage parses them with the
// Rust `parse_duration` crate; real configs use its common forms: "30s", "15 min", "6h", "1d",
// "1h30m", "2 days". We accept one or more <number><unit> terms, units below, case-insensitive.

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;

const UNIT_MS: ReadonlyMap<string, number> = new Map([
  ...['ms', 'msec', 'msecs', 'millisecond', 'milliseconds'].map((unit) => [unit, 1] as const),
  ...['s', 'sec', 'secs', 'second', 'seconds'].map((unit) => [unit, SECOND_MS] as const),
  ...['m', 'min', 'mins', 'minute', 'minutes'].map((unit) => [unit, MINUTE_MS] as const),
  ...['h', 'hr', 'hrs', 'hour', 'hours'].map((unit) => [unit, HOUR_MS] as const),
  ...['d', 'day', 'days'].map((unit) => [unit, DAY_MS] as const),
  ...['w', 'week', 'weeks'].map((unit) => [unit, WEEK_MS] as const),
]);

// One term: a number, optional spaces, a unit, optional spaces. Sticky, so terms must be adjacent.
const TERM_SOURCE = String.raw`(\d+(?:\.\d+)?)\s*([a-z]+)\s*`;
const DURATION_HELP = 'write e.g. "30s", "15min", "6h", "1d" or "1h30m"';

/** Parses a duration such as "6h" or "1h 30min" into milliseconds. Throws DurationError. */
export function parseDurationMs(text: string): number {
  const shown = JSON.stringify(text);
  const trimmed = text.trim();
  let totalMs = 0;
  let terms = 0;
  const termPattern = new RegExp(TERM_SOURCE, 'iy'); // local: a sticky regex carries state
  while (termPattern.lastIndex < trimmed.length) {
    const match = termPattern.exec(trimmed);
    if (match === null) throw new DurationError(`${shown} is not a duration; ${DURATION_HELP}`);
    const unitMs = UNIT_MS.get((match[2] as string).toLowerCase());
    if (unitMs === undefined) throw new DurationError(`duration ${shown} has an unknown unit "${match[2]}"; ${DURATION_HELP}`);
    totalMs += Number(match[1]) * unitMs;
    terms += 1;
  }
  if (terms === 0) throw new DurationError(`duration ${shown} is empty; ${DURATION_HELP}`);
  return Math.floor(totalMs);
}

/**
 * A duration for messages: seconds below an hour, hours below two days, then days; fractions of
 * a unit are shown as the smaller unit's count ("90 seconds", never "1.5 minutes").
 */
export function formatDurationMs(milliseconds: number): string {
  const [unitMs, unit] = displayUnit(milliseconds);
  const count = milliseconds / unitMs;
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

function displayUnit(milliseconds: number): [number, string] {
  if (milliseconds >= 2 * DAY_MS && milliseconds % DAY_MS === 0) return [DAY_MS, 'day'];
  if (milliseconds >= HOUR_MS && milliseconds % HOUR_MS === 0) return [HOUR_MS, 'hour'];
  if (milliseconds % SECOND_MS === 0) return [SECOND_MS, 'second'];
  return [1, 'millisecond'];
}
