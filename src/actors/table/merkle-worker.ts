// The Merkle updater of one table on this node: drains the todo tree (rows written since their
// leaf was last updated) into the Merkle tries, one bounded batch per step, in one transaction.
// Run by the runtime's worker runner; replicas wake it after each write, and it waits a little
// after a wake so that the writes of a burst share one batch (one transaction, and the upper
// nodes of each touched trie written once per batch rather than once per row).
import type { Worker, WorkerStepResult } from '../runtime';
import type { MetadataStore, Transaction, Tree } from '../../storage/metadata';
import { MERKLE_BATCH_MAX, runTodoBatch, type Hasher, type MerkleNodeStore, type MerkleTodoQueue } from '../../protocols/table';
import { merkleTodoTreeName, merkleTreeName } from './storage';

export function merkleNodeStore(tree: Tree): MerkleNodeStore {
  return {
    get: (key) => tree.get(key),
    put: (key, node) => tree.insert(key, node),
    delete: (key) => {
      tree.remove(key);
    },
  };
}

/**
 * How long the updater waits after a wake before it folds the todo queue. Writes only wait for
 * their todo item (same transaction); the trie lags by about this much, which anti-entropy
 * (rounds minutes apart, and it re-checks differing subtrees) does not notice.
 */
export const MERKLE_WAKE_DELAY_MS = 250;

/**
 * A node store for one batch: reads go through to the tree once, writes stay in memory and reach
 * the tree in `flush`, inside the same transaction. The root and upper nodes of a trie, rewritten
 * by every row of the batch under them, are then read once and written once per batch.
 */
function batchNodeStore(tree: Tree): MerkleNodeStore & { flush(): void } {
  const nodes = new Map<string, { key: Buffer; bytes: Buffer | null; dirty: boolean }>();
  const idOf = (key: Buffer): string => key.toString('latin1');
  return {
    get(key) {
      const id = idOf(key);
      const cached = nodes.get(id);
      if (cached !== undefined) return cached.bytes;
      const bytes = tree.get(key);
      nodes.set(id, { key, bytes, dirty: false });
      return bytes;
    },
    put: (key, node) => void nodes.set(idOf(key), { key, bytes: node, dirty: true }),
    delete: (key) => void nodes.set(idOf(key), { key, bytes: null, dirty: true }),
    flush() {
      for (const { key, bytes, dirty } of nodes.values()) {
        if (!dirty) continue;
        if (bytes === null) tree.remove(key);
        else tree.insert(key, bytes);
      }
      nodes.clear();
    },
  };
}

function todoQueue(tx: Transaction, table: string): MerkleTodoQueue {
  const tree = tx.tree(merkleTodoTreeName(table));
  return {
    first: (limit) => tree.range({ limit }).map((entry): [Buffer, Buffer] => [entry.key, entry.value]),
    delete: (key) => {
      tree.remove(key);
    },
  };
}

export function merkleWorker(table: string, store: MetadataStore, hasher: Hasher): Worker {
  let itemsApplied = 0;
  let batches = 0;
  return {
    wakeDelayMs: MERKLE_WAKE_DELAY_MS,
    async step(): Promise<WorkerStepResult> {
      const result = await store.transactAsync((tx) => {
        const nodes = batchNodeStore(tx.tree(merkleTreeName(table)));
        const batch = runTodoBatch(todoQueue(tx, table), nodes, hasher, MERKLE_BATCH_MAX);
        nodes.flush();
        return batch;
      });
      itemsApplied += result.taken;
      if (result.taken > 0) batches++;
      return result.more ? 'busy' : 'idle';
    },
    status: () => ({ itemsApplied, batches, todo: store.tree(merkleTodoTreeName(table)).count() }),
  };
}
