// A K2V item: the values of one (bucket, partition key, sort key), kept as a dotted version vector
// set (DVVS, as in Garage and Riak). Per node that ever wrote the item: a discard time (that
// node's values at or before it were seen by a later write and are obsolete) and the values it
// wrote since, each stamped with a time larger than any of that node's earlier ones. A write names
// what it supersedes with a causal context (what its client read); values it did not see stay,
// side by side, so concurrent writes are never lost.
//
// The merge (union of values above the largest discard time, per node) is commutative,
// associative and idempotent, so the item is a CRDT row of the generic table engine.
import type { TableEffects, TableSchema } from '../table/schema';
import type { CausalContext } from './causality';

/** A value, or null for a deletion (tombstone). */
export type K2vValue = Buffer | null;

export interface DvvsNode {
  /** This node's values at or before this time are obsolete. */
  readonly discard: number;
  /** [time, value], ascending by time, every time above `discard`. */
  readonly values: readonly (readonly [number, K2vValue])[];
}

export interface K2vItem {
  readonly bucketId: Buffer;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** K2V node id (16 hex digits) -> that node's part. */
  readonly nodes: ReadonlyMap<string, DvvsNode>;
}

export function mergeItems(a: K2vItem, b: K2vItem): K2vItem {
  const nodes = new Map(a.nodes);
  for (const [node, part] of b.nodes) {
    const mine = nodes.get(node);
    nodes.set(node, mine === undefined ? part : mergeNodes(mine, part));
  }
  return { ...a, nodes };
}

function mergeNodes(a: DvvsNode, b: DvvsNode): DvvsNode {
  const discard = Math.max(a.discard, b.discard);
  const byTime = new Map<number, K2vValue>();
  for (const [time, value] of [...a.values, ...b.values]) {
    if (time <= discard) continue;
    const other = byTime.get(time);
    // One node never stamps two values with one time, except a write that failed and was retried
    // elsewhere: keep one of them, the same one on every replica.
    byTime.set(time, other === undefined ? value : largerValue(other, value));
  }
  return { discard, values: [...byTime].sort(([x], [y]) => x - y) };
}

function largerValue(a: K2vValue, b: K2vValue): K2vValue {
  if (a === null || b === null) return a ?? b;
  return Buffer.compare(a, b) >= 0 ? a : b;
}

/** The causal context of what a read of this item returns: each node's latest time. */
export function causalContextOf(item: K2vItem): CausalContext {
  const context = new Map<string, number>();
  for (const [node, part] of item.nodes) context.set(node, Math.max(part.discard, ...part.values.map(([time]) => time)));
  return context;
}

/** The values a read returns, duplicates folded (the spec: concurrent equal values read once). */
export function valuesOf(item: K2vItem): K2vValue[] {
  const values: K2vValue[] = [];
  for (const part of item.nodes.values()) {
    for (const [, value] of part.values) {
      if (!values.some((seen) => (seen === null ? value === null : value !== null && seen.equals(value)))) values.push(value);
    }
  }
  return values;
}

/** No value but deletions (or none at all): hidden from ReadBatch unless asked, collected by GC. */
export function isK2vTombstone(item: K2vItem): boolean {
  for (const part of item.nodes.values()) if (part.values.some(([, value]) => value !== null)) return false;
  return true;
}

/**
 * The change a write by node `self` makes, to be merged into the stored item: every node of the
 * context discards what the context saw, and `self` adds the value at a time later than the
 * context's and than `latestOwn` (the largest time `self` used for this item, as read from a
 * quorum, and anything it stamped since), and not before `nowMs` when the clock allows: clock
 * skew between nodes cannot order a write before one it supersedes.
 */
export function itemWrite(key: Pick<K2vItem, 'bucketId' | 'partitionKey' | 'sortKey'>, self: string, context: CausalContext, value: K2vValue, latestOwn: number, nowMs: number): { item: K2vItem; time: number } {
  const time = Math.max(Math.floor(nowMs), latestOwn + 1, (context.get(self) ?? 0) + 1);
  const nodes = new Map<string, DvvsNode>();
  for (const [node, seen] of context) nodes.set(node, { discard: seen, values: [] });
  nodes.set(self, { discard: context.get(self) ?? 0, values: [[time, value]] });
  return { item: { ...key, nodes }, time };
}

/** The largest time `node` has stamped in this item (0 if none). */
export function latestTimeOf(item: K2vItem | null, node: string): number {
  const part = item?.nodes.get(node);
  if (!part) return 0;
  return Math.max(part.discard, ...part.values.map(([time]) => time));
}

// ---- the table schema ------------------------------------------------------------------------

/** Bucket ids are 32 bytes (S3's bucket table). */
const BUCKET_ID_BYTES = 32;

/** Partition key: bucket id || partition key bytes; sort key: the sort key bytes. */
export function k2vPartitionKey(bucketId: Buffer, partitionKey: string): Buffer {
  return Buffer.concat([bucketId, Buffer.from(partitionKey, 'utf8')]);
}

/**
 * Node-local counters per (bucket, partition key), kept by every replica in the write's transaction
 * (ReadIndex lists them): items that are not tombstones, items with concurrent values, values
 * (deletions excluded) and their bytes. `entries` first: a key is listed while it is positive.
 */
export const K2V_INDEX_COUNTERS = ['k2v_entries', 'k2v_conflicts', 'k2v_values', 'k2v_bytes'] as const;

function indexCounts(item: K2vItem | null): number[] {
  if (item === null) return [0, 0, 0, 0];
  const values = valuesOf(item);
  const live = values.filter((value): value is Buffer => value !== null);
  return [isK2vTombstone(item) ? 0 : 1, values.length > 1 ? 1 : 0, live.length, live.reduce((sum, value) => sum + value.length, 0)];
}

function adjustIndex(old: K2vItem | null, next: K2vItem, effects: TableEffects): void {
  const [before, after] = [indexCounts(old), indexCounts(next)];
  const key = k2vPartitionKey(next.bucketId, next.partitionKey);
  K2V_INDEX_COUNTERS.forEach((counter, index) => {
    if (after[index] !== before[index]) effects.adjust(counter, key, after[index]! - before[index]!);
  });
}

export const k2vItemSchema: TableSchema<K2vItem> = {
  name: 'k2v_item',
  replication: 'sharded',
  partitionKey: (item) => k2vPartitionKey(item.bucketId, item.partitionKey),
  sortKey: (item) => Buffer.from(item.sortKey, 'utf8'),
  merge: mergeItems,
  isTombstone: isK2vTombstone,
  updated: adjustIndex,
  toWire: (item) => ({
    b: item.bucketId,
    p: item.partitionKey,
    s: item.sortKey,
    n: [...item.nodes].sort(([a], [b]) => (a < b ? -1 : 1)).map(([node, part]) => [node, part.discard, part.values.map(([time, value]) => [time, value])]),
  }),
  fromWire(raw) {
    const wire = raw as { b?: unknown; p?: unknown; s?: unknown; n?: unknown } | null;
    if (!wire || !Buffer.isBuffer(wire.b) || wire.b.length !== BUCKET_ID_BYTES || typeof wire.p !== 'string' || typeof wire.s !== 'string' || !Array.isArray(wire.n)) {
      throw new Error('k2v_item: { b: bucket id, p, s, n } expected');
    }
    const nodes = new Map<string, DvvsNode>();
    for (const entry of wire.n as unknown[]) {
      const [node, discard, values] = Array.isArray(entry) ? entry : [];
      if (typeof node !== 'string' || !/^[0-9a-f]{16}$/.test(node) || !isTime(discard) || !Array.isArray(values)) throw new Error('k2v_item: a node part is [node, discard, values]');
      const parsed = values.map((pair: unknown): [number, K2vValue] => {
        const [time, value] = Array.isArray(pair) ? pair : [];
        if (!isTime(time) || !(value === null || Buffer.isBuffer(value))) throw new Error('k2v_item: a value is [time, bytes or null]');
        return [time, value];
      });
      // Normalized as a merge would (sorted, above the discard time): equal items, equal bytes.
      nodes.set(node, mergeNodes({ discard, values: [] }, { discard, values: parsed }));
    }
    return { bucketId: wire.b, partitionKey: wire.p, sortKey: wire.s, nodes };
  },
};

function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
