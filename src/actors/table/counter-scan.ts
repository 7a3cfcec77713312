// Listing node-local counters over a key range, cluster-wide (K2V's ReadIndex: per partition key,
// how many items, conflicts, values and bytes). Each node counts what its own replicas hold, in
// the write's transaction (`updated` hooks' `adjust`); a scan asks every storage node for its
// counters in the range and keeps, per key, the largest value of each counter, as Garage does:
// the RF holders of a key agree once synced, and a lagging one counts less, not more.
import type { MetadataStore } from '../../storage/metadata';
import { decodeCounter } from '../../protocols/table/counter';
import { localCounterTreeName } from './storage';

/** [key, one value per counter asked] */
export type CounterRow = [Buffer, number[]];

export interface CounterQuery {
  /** Counter names; a key is listed while the first one is positive. */
  counters: string[];
  start: Buffer;
  end: Buffer | null;
  limit: number;
  reverse: boolean;
}

/** Keys of one node's local counters scanned at most, per request (zero counters are skipped). */
export const COUNTER_SCAN_KEYS_MAX = 100_000;
/** Rows one scan returns at most (a page of 1,000 and the one that tells there are more). */
export const COUNTER_SCAN_LIMIT_MAX = 1024;

/** Checks a query from another node: it steers what this node reads. */
export function checkCounterQuery(raw: unknown): CounterQuery {
  const query = raw as Partial<CounterQuery> | null;
  const ok =
    query !== null &&
    Array.isArray(query.counters) &&
    query.counters.length >= 1 &&
    query.counters.length <= 8 &&
    query.counters.every((name) => typeof name === 'string' && /^[a-z0-9_]+$/.test(name)) &&
    Buffer.isBuffer(query.start) &&
    (query.end === null || Buffer.isBuffer(query.end)) &&
    Number.isInteger(query.limit) &&
    (query.limit as number) >= 1 &&
    (query.limit as number) <= COUNTER_SCAN_LIMIT_MAX &&
    typeof query.reverse === 'boolean';
  if (!ok) throw new Error(`counter scan: { counters (1 to 8 names), start, end, limit (1 to ${COUNTER_SCAN_LIMIT_MAX}), reverse } expected`);
  return query as CounterQuery;
}

/** This node's rows in the range whose first counter is positive, at most `limit`. */
export function localCounterRows(store: MetadataStore, query: CounterQuery): CounterRow[] {
  const [first, ...others] = query.counters.map((name) => store.tree(localCounterTreeName(name)));
  const rows: CounterRow[] = [];
  let cursor = { start: query.start, end: query.end };
  for (let scanned = 0; rows.length < query.limit && scanned < COUNTER_SCAN_KEYS_MAX; ) {
    const page = first!.range({ start: cursor.start, ...(cursor.end ? { end: cursor.end } : {}), limit: query.limit, reverse: query.reverse });
    for (const { key, value } of page) {
      const count = decodeCounter(value).count;
      if (count > 0) rows.push([key, [count, ...others.map((tree) => countOf(tree.get(key)))]]);
      if (rows.length === query.limit) break;
    }
    scanned += page.length;
    if (page.length < query.limit) break;
    const last = page.at(-1)!.key;
    cursor = query.reverse ? { start: cursor.start, end: last } : { start: Buffer.concat([last, Buffer.from([0])]), end: cursor.end };
  }
  return rows;
}

function countOf(bytes: Buffer | null): number {
  return bytes === null ? 0 : decodeCounter(bytes).count;
}

/** The nodes' rows merged: per key the largest value of each counter, in order, at most `limit`. */
export function mergeCounterRows(replies: readonly CounterRow[][], limit: number, reverse: boolean): CounterRow[] {
  const merged = new Map<string, CounterRow>();
  for (const rows of replies) {
    for (const [key, values] of rows) {
      const id = key.toString('hex');
      const known = merged.get(id);
      merged.set(id, known ? [key, known[1].map((value, index) => Math.max(value, values[index] ?? 0))] : [key, values]);
    }
  }
  const sorted = [...merged.values()].sort(([a], [b]) => (reverse ? Buffer.compare(b, a) : Buffer.compare(a, b)));
  return sorted.slice(0, limit);
}
