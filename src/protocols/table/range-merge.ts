// Merging one range read's replies from R replicas, and finding which replicas to repair. Each
// replica returns its first `limit` rows of the range (in the read's direction); the merge of R
// such lists, cut at `limit`, is exact, since every acknowledged row is on one of any R replicas.
// A replica is stale for a merged row it lacks or holds differently, but only within what it
// covered: past its last row, a full page says nothing about what it holds.
import { decodeEntry, encodeEntry } from './encoding';
import { rowKey, type TableSchema } from './schema';

export interface RangeMerge {
  /** The merged rows, in the read's direction, at most `limit`. */
  rows: Buffer[];
  /** Merged rows to send back, by replica, for the rows it lacked or held differently. */
  repairs: Map<string, Buffer[]>;
}

export function mergeRangeReplies<E>(schema: TableSchema<E>, replies: ReadonlyMap<string, readonly Buffer[]>, limit: number, reverse: boolean): RangeMerge {
  const merged = new Map<string, { key: Buffer; entry: E }>();
  const held = new Map<string, Map<string, Buffer>>();
  for (const [nodeId, rows] of replies) {
    const mine = new Map<string, Buffer>();
    held.set(nodeId, mine);
    for (const bytes of rows) {
      const entry = decodeEntry(schema, bytes);
      const key = rowKey(schema, entry);
      const id = key.toString('hex');
      mine.set(id, bytes);
      const existing = merged.get(id);
      merged.set(id, { key, entry: existing ? schema.merge(existing.entry, entry) : entry });
    }
  }
  const direction = reverse ? -1 : 1;
  const ordered = [...merged.values()].sort((a, b) => Buffer.compare(a.key, b.key) * direction).slice(0, limit);
  const rows = ordered.map((row) => ({ id: row.key.toString('hex'), key: row.key, bytes: encodeEntry(schema, row.entry) }));
  const repairs = new Map<string, Buffer[]>();
  for (const [nodeId, rowsOfNode] of replies) {
    const mine = held.get(nodeId)!;
    const lastKey = rowsOfNode.length >= limit && rowsOfNode.length > 0 ? rowKey(schema, decodeEntry(schema, rowsOfNode[rowsOfNode.length - 1]!)) : null;
    const stale = rows.filter((row) => (lastKey === null || Buffer.compare(row.key, lastKey) * direction <= 0) && !mine.get(row.id)?.equals(row.bytes));
    if (stale.length > 0) repairs.set(nodeId, stale.map((row) => row.bytes));
  }
  return { rows: rows.map((row) => row.bytes), repairs };
}
