// Large scans in bounded batches. The pattern, for callers that page by hand (e.g. one batch per
// actor message): ask with a limit; if a full batch came back, ask again with
//   forward: start = keyAfter(lastKey)     reverse: end = lastKey
// keeping the other bounds. Each batch is consistent by itself; between batches writes may land:
// every key present throughout the scan is seen exactly once, in order; keys written behind the
// cursor meanwhile are not.
import { MetadataStoreError } from './errors';
import { keyAfter } from './keys';
import { RANGE_BATCH_ENTRIES_DEFAULT } from './limits';
import type { Entry, RangeQuery, ReadableTree } from './types';

/** The entries of `query` (its limit included) in batches of at most `batchEntries`. */
export function* rangeBatches(tree: ReadableTree, query: RangeQuery, batchEntries = RANGE_BATCH_ENTRIES_DEFAULT): Generator<Entry[], void, undefined> {
  if (!(Number.isSafeInteger(batchEntries) && batchEntries > 0)) {
    throw new MetadataStoreError('invalid-argument', `batch size must be a positive integer, got ${String(batchEntries)}`);
  }
  let remaining = query.limit ?? Infinity;
  let cursor: RangeQuery = { ...query };
  while (remaining > 0) {
    const wanted = Math.min(batchEntries, remaining);
    const batch = tree.range({ ...cursor, limit: wanted });
    if (batch.length > 0) yield batch;
    if (batch.length < wanted) return;
    remaining -= batch.length;
    const lastKey = batch[batch.length - 1]!.key;
    cursor = query.reverse === true ? { ...cursor, end: lastKey } : { ...cursor, start: keyAfter(lastKey) };
  }
}
