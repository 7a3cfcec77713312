// The Merkle updater of one table on this node: drains the todo tree (rows written since their
// leaf was last updated) into the Merkle tries, one bounded batch per step, in one transaction.
// Run by the runtime's worker runner; replicas wake it after each write.
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
    async step(): Promise<WorkerStepResult> {
      const result = await store.transactAsync((tx) => runTodoBatch(todoQueue(tx, table), merkleNodeStore(tx.tree(merkleTreeName(table))), hasher, MERKLE_BATCH_MAX));
      itemsApplied += result.taken;
      if (result.taken > 0) batches++;
      return result.more ? 'busy' : 'idle';
    },
    status: () => ({ itemsApplied, batches, todo: store.tree(merkleTodoTreeName(table)).count() }),
  };
}
