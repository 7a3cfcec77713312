// "Did you mean" for unknown config keys: the nearest known key by edit distance.

import { KEY_SUGGESTION_DISTANCE_MIN, KEY_SUGGESTION_LENGTH_PER_EDIT } from './limits';

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
 * neighbouring characters each cost 1, so the common typo "secert" is one edit from "secret".
 */
export function editDistance(left: string, right: string): number {
  const rows = left.length + 1;
  const columns = right.length + 1;
  const distance: number[][] = Array.from({ length: rows }, (_, row) =>
    Array.from({ length: columns }, (_, column) => (row === 0 ? column : column === 0 ? row : 0)),
  );
  const at = (row: number, column: number): number => (distance[row] as number[])[column] as number;
  for (let row = 1; row < rows; row += 1) {
    for (let column = 1; column < columns; column += 1) {
      const substitution = left[row - 1] === right[column - 1] ? 0 : 1;
      let best = Math.min(at(row - 1, column) + 1, at(row, column - 1) + 1, at(row - 1, column - 1) + substitution);
      const swapped = row > 1 && column > 1 && left[row - 1] === right[column - 2] && left[row - 2] === right[column - 1];
      if (swapped) best = Math.min(best, at(row - 2, column - 2) + 1);
      (distance[row] as number[])[column] = best;
    }
  }
  return at(rows - 1, columns - 1);
}

/** Compare keys the way an operator may have mistyped them: any case, camelCase, dashes. */
export function normalizeKey(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/-/g, '_');
}

/** The known key nearest to `key`, or undefined when none is close enough to be a typo. */
export function nearestKey(key: string, knownKeys: readonly string[]): string | undefined {
  const typed = normalizeKey(key);
  const allowed = Math.max(KEY_SUGGESTION_DISTANCE_MIN, Math.floor(typed.length / KEY_SUGGESTION_LENGTH_PER_EDIT));
  let best: { key: string; distance: number } | undefined;
  for (const known of knownKeys) {
    const distance = editDistance(typed, known);
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { key: known, distance };
  }
  return best?.key;
}
