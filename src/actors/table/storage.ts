// How a table lives in the metadata store: one tree of rows (row key = partition hash || sort key,
// so each partition is one contiguous key range), one tree of Merkle nodes, and one todo tree of
// rows whose Merkle leaf is not updated yet. Writes go through here, in one transaction each.
import type { Transaction } from '../../storage/metadata';
import { decodeEntry, merkleTodoValue, partitionOfRowKey, planUpdate, rowKey, TableError, type Hasher, type TableSchema } from '../../protocols/table';

export function dataTreeName(table: string): string {
  return `tbl_${table}`;
}

export function merkleTreeName(table: string): string {
  return `tbl_${table}_merkle`;
}

export function merkleTodoTreeName(table: string): string {
  return `tbl_${table}_merkle_todo`;
}

/**
 * Read-merge-write of encoded entries into one partition, in the caller's transaction. Returns
 * how many rows changed. Every changed row is queued for its Merkle leaf in the same transaction,
 * so the trie can never miss a write (it catches up from the todo tree after a crash).
 */
export function applyEntries<E>(tx: Transaction, schema: TableSchema<E>, hasher: Hasher, partition: number, entries: readonly Uint8Array[]): number {
  const data = tx.tree(dataTreeName(schema.name));
  const todo = tx.tree(merkleTodoTreeName(schema.name));
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
    changed++;
  }
  return changed;
}
