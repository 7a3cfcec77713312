// Key order, range bounds and argument checks shared by both implementations, so they cannot
// disagree. Order is bytewise: Buffer.compare (memcmp, then the shorter first), which is also how
// SQLite compares BLOBs.
import { MetadataStoreError } from './errors';
import { KEY_BYTES_MAX, TREE_NAME_PATTERN, VALUE_BYTES_MAX } from './limits';
import type { RangeQuery } from './types';

/** The smallest key greater than `key`: continue a forward scan with `start: keyAfter(lastKey)`. */
export function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, ZERO_BYTE]);
}

/** The smallest key greater than every key starting with `prefix`; null when there is none (all 0xff). */
export function prefixEnd(prefix: Buffer): Buffer | null {
  for (let index = prefix.length - 1; index >= 0; index--) {
    if (prefix[index] !== 0xff) {
      const end = Buffer.from(prefix.subarray(0, index + 1));
      end[index] = end[index]! + 1;
      return end;
    }
  }
  return null;
}

/** A range as [lower, upper): null bounds are open. */
export interface RangeBounds {
  lower: Buffer | null;
  upper: Buffer | null;
  /** Absent limit is Infinity. */
  limit: number;
  reverse: boolean;
}

/** The bounds of a query, or null when it is certainly empty. Throws on a malformed query. */
export function rangeBounds(query: RangeQuery): RangeBounds | null {
  const { prefix, start, end, limit, reverse } = query;
  checkBound('prefix', prefix);
  checkBound('start', start);
  checkBound('end', end);
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
    throw new MetadataStoreError('invalid-argument', `range limit must be a non-negative integer, got ${String(limit)}`);
  }
  let lower = start ?? null;
  let upper = end ?? null;
  if (prefix !== undefined) {
    if (lower === null || Buffer.compare(prefix, lower) > 0) lower = prefix;
    const afterPrefix = prefixEnd(prefix);
    if (afterPrefix !== null && (upper === null || Buffer.compare(afterPrefix, upper) < 0)) upper = afterPrefix;
  }
  if (limit === 0) return null;
  if (lower !== null && upper !== null && Buffer.compare(lower, upper) >= 0) return null;
  // An empty lower bound excludes nothing.
  if (lower !== null && lower.length === 0) lower = null;
  return { lower, upper, limit: limit ?? Infinity, reverse: reverse === true };
}

export function checkTreeName(name: string): void {
  if (typeof name !== 'string' || !TREE_NAME_PATTERN.test(name)) {
    throw new MetadataStoreError('invalid-tree-name', `invalid tree name ${JSON.stringify(name)} (expected ${TREE_NAME_PATTERN})`);
  }
}

export function checkKey(key: Buffer): void {
  // Strings would be stored as TEXT by SQLite and sort apart from every BLOB: refuse them.
  if (!Buffer.isBuffer(key)) throw new MetadataStoreError('invalid-argument', 'key must be a Buffer');
  if (key.length > KEY_BYTES_MAX) throw new MetadataStoreError('limit-exceeded', `key of ${key.length} bytes exceeds ${KEY_BYTES_MAX}`);
}

export function checkValue(value: Buffer): void {
  if (!Buffer.isBuffer(value)) throw new MetadataStoreError('invalid-argument', 'value must be a Buffer');
  if (value.length > VALUE_BYTES_MAX) throw new MetadataStoreError('limit-exceeded', `value of ${value.length} bytes exceeds ${VALUE_BYTES_MAX}`);
}

const ZERO_BYTE = Buffer.from([0]);

/** Bounds are not stored, so they may be longer than KEY_BYTES_MAX (keyAfter of a longest key). */
function checkBound(field: string, bound: Buffer | undefined): void {
  if (bound !== undefined && !Buffer.isBuffer(bound)) throw new MetadataStoreError('invalid-argument', `range ${field} must be a Buffer`);
}
