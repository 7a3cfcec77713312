// Group commit: many small writes share one commit. Works queued by transactAsync wait for the
// next turn of the event loop (setImmediate), then run together in one transaction, each in its
// own savepoint so that a failing work rolls back only itself. Promises settle after the commit,
// so a resolved work is as durable as the store's fsync setting makes any commit.
import { MetadataStoreError } from './errors';
import { TRANSACT_ASYNC_BATCH_WORKS_MAX, TRANSACT_ASYNC_PENDING_MAX } from './limits';
import type { TransactionScopes } from './scopes';

interface PendingWork {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { failed: false; value: unknown } | { failed: true; error: unknown };

export class GroupCommit {
  private readonly pending: PendingWork[] = [];
  private scheduled = false;
  batches = 0;
  works = 0;

  constructor(private readonly scopes: TransactionScopes) {}

  get pendingCount(): number {
    return this.pending.length;
  }

  /** `run` must open no scope itself: the batch gives it one. */
  enqueue<T>(run: () => T): Promise<T> {
    if (this.pending.length >= TRANSACT_ASYNC_PENDING_MAX) {
      return Promise.reject(new MetadataStoreError('overloaded', `${TRANSACT_ASYNC_PENDING_MAX} works already wait for a group commit`));
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Runs every queued work now, batch after batch (closing the store does, so none is lost). */
  drain(): void {
    while (this.pending.length > 0) this.runBatch();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.pending.length === 0) return;
      this.runBatch();
      // Works beyond the batch bound (or queued by the batch's own works) wait for the next
      // turn, so I/O callbacks get in between batches.
      if (this.pending.length > 0) this.schedule();
    });
  }

  private runBatch(): void {
    const batch = this.pending.splice(0, TRANSACT_ASYNC_BATCH_WORKS_MAX);
    this.batches++;
    this.works += batch.length;
    const outcomes: Outcome[] = [];
    try {
      this.scopes.run(() => {
        for (const item of batch) {
          try {
            outcomes.push({ failed: false, value: this.scopes.run(item.run) });
          } catch (error) {
            outcomes.push({ failed: true, error });
          }
        }
      });
    } catch (error) {
      // The transaction did not commit: nothing of the batch is stored, and every work learns it.
      const batchError = error instanceof MetadataStoreError ? error : new MetadataStoreError('io', 'group commit failed', { cause: error });
      batch.forEach((item, index) => {
        const outcome = outcomes[index];
        item.reject(outcome?.failed === true ? outcome.error : batchError);
      });
      return;
    }
    batch.forEach((item, index) => {
      const outcome = outcomes[index]!;
      if (outcome.failed) item.reject(outcome.error);
      else item.resolve(outcome.value);
    });
  }
}
