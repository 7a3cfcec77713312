// How a table lives in the metadata store: one tree of rows (row key = partition hash || sort key,
// so each partition is one contiguous key range), one tree of Merkle nodes, one todo tree of rows
// whose Merkle leaf is not updated yet, and one GC todo tree of tombstones to collect once every
// replica holds them (protocols/table/gc.ts). Writes go through here, in one transaction each.
import type { ReadableTree, Transaction } from '../../storage/metadata';
import {
  CONTENT_HASH_BYTES,
  adjustCounter,
  decodeCounter,
  decodeEntry,
  encodeCounter,
  encodeEntry,
  entryHash,
  fromWireChecked,
  gcTodoKey,
  gcTodoValue,
  merkleTodoValue,
  MERKLE_NODE_FORMAT,
  partitionOfRowKey,
  partitionRange,
  planUpdate,
  rowKey,
  TableError,
  type GcTodoRecord,
  type Hasher,
  type QueuedWrite,
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

/** Writes other tables' `updated` hooks queued for this table, by row key, awaiting a quorum insert. */
export function insertQueueTreeName(table: string): string {
  return `tbl_${table}_insert_queue`;
}

/** A node-local counter tree (block refcounts): key -> encoded LocalCounter. */
export function localCounterTreeName(counter: string): string {
  return `cnt_${counter}`;
}

/** Finds the schema of a table an `updated` hook writes to. */
export type SchemaLookup = (table: string) => TableSchema<unknown> | undefined;

/** Whether this node stores any row of `partition` in a table's data tree. */
export function partitionHasRows(data: ReadableTree, partition: number): boolean {
  const bounds = partitionRange(partition);
  return data.range({ start: bounds.start, ...(bounds.end ? { end: bounds.end } : {}), limit: 1 }).length > 0;
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
export function applyEntries<E>(tx: Transaction, schema: TableSchema<E>, hasher: Hasher, partition: number, entries: readonly Uint8Array[], nowMs: number, schemaOf?: SchemaLookup, queuedTables?: Set<string>): number {
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
    data.insert(plan.rowKey, plan.bytes);
    // The hook's writes are queued in this same transaction: they happen if and only if this one
    // does, and the target table's insert worker carries them out with a quorum write.
    for (const effect of plan.effects) {
      queueInsert(tx, effect, schemaOf);
      queuedTables?.add(effect.table);
    }
    for (const change of plan.counters) {
      const tree = tx.tree(localCounterTreeName(change.counter));
      const old = tree.get(change.key);
      tree.insert(change.key, encodeCounter(adjustCounter(old === null ? null : decodeCounter(old), change.delta, nowMs)));
    }
    todo.insert(plan.rowKey, merkleTodoValue(plan.entryHash));
    if (schema.isTombstone(plan.next)) gcTodo.insert(gcTodoKey(Math.floor(nowMs), plan.rowKey), gcTodoValue(plan.entryHash));
    changed++;
  }
  return changed;
}

function queueInsert(tx: Transaction, effect: QueuedWrite, schemaOf: SchemaLookup | undefined): void {
  const target = schemaOf?.(effect.table);
  if (!target) throw new TableError('invalid-schema', `an updated hook wrote to table ${effect.table}, which this node does not serve`);
  const entry = fromWireChecked(target, effect.entry);
  const key = rowKey(target, entry);
  const queue = tx.tree(insertQueueTreeName(target.name));
  const queued = queue.get(key);
  queue.insert(key, encodeEntry(target, queued === null ? entry : target.merge(decodeEntry(target, queued), entry)));
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

/** Rows read per page while a Merkle migration re-queues a table. */
const MERKLE_MIGRATION_PAGE_ROWS = 1000;

/**
 * Stored Merkle nodes of an older format (1: 256-ary) cannot be read as format 2. Rather than
 * refuse to start, drop the whole trie and queue every row into the Merkle todo: the updater
 * rebuilds the trie from the rows, and anti-entropy meanwhile sees "pending" roots. One
 * transaction, so a crash half-way leaves the old nodes and the migration runs again. Returns
 * whether it migrated. Node keys are prefixes, so the root of partition 0 (or the first node
 * stored) comes first in key order; every node of one trie has the same format.
 */
export function migrateMerkleFormat(tx: Transaction, table: string, hasher: Hasher): boolean {
  const merkle = tx.tree(merkleTreeName(table));
  const first = merkle.range({ start: Buffer.alloc(0), limit: 1 });
  if (first.length === 0 || first[0]!.value[0] === MERKLE_NODE_FORMAT) return false;
  for (let page = merkle.range({ start: Buffer.alloc(0), limit: MERKLE_MIGRATION_PAGE_ROWS }); page.length > 0; page = merkle.range({ start: Buffer.alloc(0), limit: MERKLE_MIGRATION_PAGE_ROWS })) {
    for (const node of page) merkle.remove(node.key);
  }
  const data = tx.tree(dataTreeName(table));
  const todo = tx.tree(merkleTodoTreeName(table));
  let start = Buffer.alloc(0);
  for (;;) {
    const rows = data.range({ start, limit: MERKLE_MIGRATION_PAGE_ROWS });
    for (const row of rows) todo.insert(row.key, merkleTodoValue(entryHash(hasher, row.value)));
    if (rows.length < MERKLE_MIGRATION_PAGE_ROWS) return true;
    start = Buffer.concat([rows[rows.length - 1]!.key, Buffer.from([0])]);
  }
}
