// Transaction scopes shared by both implementations: depth 0 is the transaction itself, deeper
// scopes are savepoints. The rules (commit, roll back, refuse promises, count commits, notice a
// transaction the database dropped by itself) live here once; an engine only runs the steps.
import { MetadataStoreError } from './errors';
import { TRANSACTION_NESTING_MAX } from './limits';

export interface ScopeEngine {
  /** Opens scope `depth`: BEGIN for 0, a savepoint deeper. */
  begin(depth: number): void;
  /** Commits scope `depth` (COMMIT for 0; deeper, its writes join the enclosing scope). */
  commit(depth: number): void;
  /** Undoes the writes of scope `depth` and closes it. */
  rollback(depth: number): void;
  /** False once the database dropped the open transaction on its own (SQLite does on disk full). */
  inTransaction(): boolean;
  /** The open transaction is gone: forget whatever was tied to its scopes. */
  lost(): void;
}

export class TransactionScopes {
  /** Invariant: depth = number of scopes open = number of `run` calls on the stack. */
  private depthNow = 0;
  /** Why the database dropped the open transaction, kept for the errors that follow. */
  private abortCause: unknown = undefined;
  commits = 0;
  rollbacks = 0;

  constructor(private readonly engine: ScopeEngine) {}

  get depth(): number {
    return this.depthNow;
  }

  /** Runs `work` in a new scope; commits it if `work` returns, rolls it back if it throws. */
  run<T>(work: () => T): T {
    this.assertUsable();
    const depth = this.depthNow;
    if (depth >= TRANSACTION_NESTING_MAX) {
      throw new MetadataStoreError('limit-exceeded', `transactions nested deeper than ${TRANSACTION_NESTING_MAX}`);
    }
    this.engine.begin(depth);
    this.depthNow = depth + 1;
    let result: T;
    try {
      result = work();
      if (isThenable(result)) {
        // The refusal below is the error to report; a later rejection of the refused promise
        // would otherwise crash the process as unhandled.
        (result as PromiseLike<unknown>).then(undefined, () => undefined);
        throw new MetadataStoreError('async-work', 'transaction work returned a promise; it must be synchronous');
      }
    } catch (error) {
      this.depthNow = depth;
      this.abandon(depth, error);
      throw error;
    }
    this.depthNow = depth;
    this.complete(depth);
    return result;
  }

  /** A write made outside any transaction committed by itself. */
  noteAutocommitWrite(): void {
    if (this.depthNow === 0) this.commits++;
  }

  /**
   * Every operation checks this first: once the database has dropped the transaction, a write
   * would silently commit on its own, outside the transaction its caller believes it is in.
   */
  assertUsable(): void {
    if (this.depthNow > 0 && !this.engine.inTransaction()) {
      throw new MetadataStoreError('transaction-aborted', 'the database rolled back this transaction after an earlier error', {
        cause: this.abortCause,
      });
    }
  }

  private abandon(depth: number, error: unknown): void {
    try {
      if (this.engine.inTransaction()) {
        this.engine.rollback(depth);
      } else {
        if (this.abortCause === undefined) this.abortCause = error;
        this.engine.lost();
      }
    } finally {
      if (depth === 0) this.endTransaction(false);
    }
  }

  private complete(depth: number): void {
    if (!this.engine.inTransaction()) {
      // A nested scope failed so badly that the database dropped everything, and the work caught it.
      const cause = this.abortCause;
      this.engine.lost();
      if (depth === 0) this.endTransaction(false);
      throw new MetadataStoreError('transaction-aborted', 'the database rolled back this transaction after an earlier error', { cause });
    }
    try {
      this.engine.commit(depth);
    } catch (error) {
      this.abandon(depth, error);
      throw error;
    }
    if (depth === 0) this.endTransaction(true);
  }

  private endTransaction(committed: boolean): void {
    if (committed) this.commits++;
    else this.rollbacks++;
    this.abortCause = undefined;
  }
}

function isThenable(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
