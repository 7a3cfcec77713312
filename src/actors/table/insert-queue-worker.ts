// Carries out the writes other tables' `updated` hooks queued for this table. A hook runs inside
// the replica transaction that changed its row and may only queue: the queued entry lands in this
// table's insert queue in that same transaction, so it survives a crash exactly when the change
// does. This worker then inserts it with a quorum write (through the table actor, like any
// caller) and removes it from the queue only if nothing was merged into it meanwhile. Every
// replica of the source row queues the same write: the duplicates merge (CRDTs), harmlessly.
import type { Worker, WorkerStepResult } from '../runtime';
import type { MetadataStore } from '../../storage/metadata';
import { insertQueueTreeName } from './storage';

/** Queued entries inserted per step (one quorum write of several partitions). */
export const INSERT_QUEUE_BATCH_MAX = 64;

export interface InsertQueueWorkerInit {
  table: string;
  store: MetadataStore;
  /** A quorum insert into this table; rejects if the quorum is not reached. */
  insert: (entries: Buffer[]) => Promise<void>;
}

export function insertQueueWorker(init: InsertQueueWorkerInit): Worker {
  let inserted = 0;
  return {
    async step(): Promise<WorkerStepResult> {
      const queue = init.store.tree(insertQueueTreeName(init.table));
      const rows = queue.range({ limit: INSERT_QUEUE_BATCH_MAX });
      if (rows.length === 0) return 'idle';
      // A failure throws: the runner retries with backoff, and the rows stay queued.
      await init.insert(rows.map((row) => row.value));
      await init.store.transactAsync((tx) => {
        const tree = tx.tree(insertQueueTreeName(init.table));
        for (const row of rows) if (tree.get(row.key)?.equals(row.value)) tree.remove(row.key);
      });
      inserted += rows.length;
      return rows.length === INSERT_QUEUE_BATCH_MAX ? 'busy' : 'idle';
    },
    status: () => ({ inserted, queued: init.store.tree(insertQueueTreeName(init.table)).count() }),
  };
}
