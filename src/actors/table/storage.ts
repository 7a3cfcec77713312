// How a table lives in the metadata store: one tree of rows (row key = partition hash || sort key,
// so each partition is one contiguous key range), one tree of Merkle nodes, one todo tree of rows
// whose Merkle leaf is not updated yet, and one GC todo tree of tombstones to collect once every
// replica holds them (protocols/table/gc.ts). Writes go through here, in one transaction each.
import type { Transaction } from '../../storage/metadata';
import {
  CONTENT_HASH_BYTES,
  decodeEntry,
  entryHash,
  gcTodoKey,
  gcTodoValue,
  merkleTodoValue,
  partitionOfRowKey,
  planUpdate,
  rowKey,
  TableError,
  type GcTodoRecord,
  type Hasher,
  type TableSchema,
} from '../../protocols/table';

export function dataTreeName(table: string): string {
  return `tbl_${table}`;
}

export function merkleTreeName(table: string): string {
  return `tbl_${table}_merkle`;
}

export function merkleTodoTreeName(table: string): string {
  return `tbl_${table}_merkle_todo`;
}

export function gcTodoTreeName(table: string): string {
  return `tbl_${table}_gc_todo`;
}

/** A row to delete only if its stored entry still has this hash (GC, hand-off). */
export interface ConditionalDelete {
  rowKey: Buffer;
  entryHash: Buffer;
}

/**
 * Read-merge-write of encoded entries into one partition, in the caller's transaction. Returns
 * how many rows changed. Every changed row is queued for its Merkle leaf in the same transaction,
 * so the trie can never miss a write (it catches up from the todo tree after a crash); a row that
 * became a tombstone is also queued for GC, stamped `nowMs` (this node's clock): one small put.
 */
export function applyEntries<E>(tx: Transaction, schema: TableSchema<E>, hasher: Hasher, partition: number, entries: readonly Uint8Array[], nowMs: number): number {
  const data = tx.tree(dataTreeName(schema.name));
  const todo = tx.tree(merkleTodoTreeName(schema.name));
  const gcTodo = tx.tree(gcTodoTreeName(schema.name));
  let changed = 0;
  for (const bytes of entries) {
    const incoming = decodeEntry(schema, bytes);
    const key = rowKey(schema, incoming);
    if (partitionOfRowKey(key) !== partition) throw new TableError('malformed', `entry belongs to partition ${partitionOfRowKey(key)}, not ${partition}`);
    const plan = planUpdate(schema, hasher, data.get(key), incoming);
    if (plan === null) continue;
    // Invariant: no registered schema has effects yet (checked at registration); the insert
    // queue that carries them to other tables comes with the first schema that needs one.
    data.insert(plan.rowKey, plan.bytes);
    todo.insert(plan.rowKey, merkleTodoValue(plan.entryHash));
    if (schema.isTombstone(plan.next)) gcTodo.insert(gcTodoKey(Math.floor(nowMs), plan.rowKey), gcTodoValue(plan.entryHash));
    changed++;
  }
  return changed;
}

/**
 * Deletes each row of one partition whose stored entry still hashes to the given hash, in the
 * caller's transaction, and queues its Merkle leaf for removal. A row that changed since (a newer
 * write won over the tombstone or the handed-off copy) stays. Returns how many rows were deleted.
 */
export function deleteRowsIfUnchanged(tx: Transaction, table: string, hasher: Hasher, partition: number, items: readonly ConditionalDelete[]): number {
  const data = tx.tree(dataTreeName(table));
  const todo = tx.tree(merkleTodoTreeName(table));
  let deleted = 0;
  for (const item of items) {
    if (partitionOfRowKey(item.rowKey) !== partition) throw new TableError('malformed', `row belongs to partition ${partitionOfRowKey(item.rowKey)}, not ${partition}`);
    if (item.entryHash.length !== CONTENT_HASH_BYTES) throw new TableError('malformed', `entry hash of ${item.entryHash.length} bytes`);
    const stored = data.get(item.rowKey);
    if (stored === null || !entryHash(hasher, stored).equals(item.entryHash)) continue;
    data.remove(item.rowKey);
    todo.insert(item.rowKey, merkleTodoValue(null));
    deleted++;
  }
  return deleted;
}

/** Removes GC todo records, each only if it still holds the same tombstone hash. */
export function removeGcTodo(tx: Transaction, table: string, records: readonly GcTodoRecord[]): void {
  const gcTodo = tx.tree(gcTodoTreeName(table));
  for (const record of records) {
    const key = gcTodoKey(record.tombstonedAtMs, record.rowKey);
    const value = gcTodo.get(key);
    if (value !== null && value.equals(gcTodoValue(record.entryHash))) gcTodo.remove(key);
  }
}
