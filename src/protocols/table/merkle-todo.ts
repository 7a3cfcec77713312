// The Merkle todo queue: rows written but not yet folded into the trie. A row write records
// (row key -> entry hash, or "deleted") in a todo tree in the same transaction as the row itself,
// which costs one small put; the Merkle updater later folds items in bounded batches. So a write
// never waits for the trie, and a crash loses no update (the todo is persistent).
//
// Semantics the actor relies on:
// - The todo tree is keyed by row key, so a row written again before the updater runs keeps one
//   item, the latest. That is all the trie needs: it holds the final state of each row, and its
//   shape does not depend on the order of updates (merkle.ts).
// - `takeTodo` then `applyTodo` run in one transaction: either the items leave the queue and the
//   trie has them, or neither happens. Replaying an item is harmless anyway (updates are
//   idempotent), so a partial failure outside a transaction would only redo work.
// - A batch holds at most MERKLE_BATCH_MAX items, so the transaction stays short and writers
//   interleave with the updater; `more` says whether to schedule another batch right away.
import { TableError } from './errors';
import { CONTENT_HASH_BYTES, type Hasher } from './hash';
import { MERKLE_BATCH_MAX } from './limits';
import { updateMerkle, type MerkleNodeStore } from './merkle';

export interface MerkleTodoItem {
  readonly rowKey: Buffer;
  /** null: the row was deleted. */
  readonly entryHash: Buffer | null;
}

/** The todo tree as the updater sees it (the actor backs it with a metadata tree). */
export interface MerkleTodoQueue {
  /** Up to `limit` items, smallest row keys first: [row key, stored todo value]. */
  first(limit: number): readonly (readonly [Buffer, Buffer])[];
  delete(rowKey: Buffer): void;
}

/** What the row writer stores under the row key: the entry hash, or no bytes for a deletion. */
export function merkleTodoValue(entryHash: Buffer | null): Buffer {
  if (entryHash === null) return Buffer.alloc(0);
  if (entryHash.length !== CONTENT_HASH_BYTES) throw new RangeError(`entry hash must be ${CONTENT_HASH_BYTES} bytes`);
  return Buffer.from(entryHash);
}

export function decodeMerkleTodoValue(value: Uint8Array): Buffer | null {
  if (value.length === 0) return null;
  if (value.length !== CONTENT_HASH_BYTES) throw new TableError('malformed', `Merkle todo value of ${value.length} bytes`);
  return Buffer.from(value);
}

/** Removes and returns the next batch (at most `limit` items, never more than MERKLE_BATCH_MAX). */
export function takeTodo(queue: MerkleTodoQueue, limit: number = MERKLE_BATCH_MAX): MerkleTodoItem[] {
  const batch = queue.first(batchLimit(limit));
  return batch.map(([rowKey, value]) => {
    queue.delete(rowKey);
    return { rowKey, entryHash: decodeMerkleTodoValue(value) };
  });
}

/** Folds items into the trie. Returns how many changed it (a syncer may skip a round if none). */
export function applyTodo(store: MerkleNodeStore, hasher: Hasher, items: readonly MerkleTodoItem[]): number {
  let changed = 0;
  for (const item of items) {
    if (updateMerkle(store, hasher, item.rowKey, item.entryHash)) changed += 1;
  }
  return changed;
}

export interface TodoBatchResult {
  readonly taken: number;
  readonly changed: number;
  /** The batch was full: more items may wait. */
  readonly more: boolean;
}

/** One updater step, to run inside one transaction: take a batch and fold it into the trie. */
export function runTodoBatch(queue: MerkleTodoQueue, store: MerkleNodeStore, hasher: Hasher, limit: number = MERKLE_BATCH_MAX): TodoBatchResult {
  const items = takeTodo(queue, limit);
  const changed = applyTodo(store, hasher, items);
  return { taken: items.length, changed, more: items.length >= batchLimit(limit) };
}

function batchLimit(limit: number): number {
  return Math.max(1, Math.min(Math.floor(limit), MERKLE_BATCH_MAX));
}
