// The metadata store: named trees of byte keys to byte values, ordered bytewise (memcmp, then
// shorter first), with transactions. Two implementations behave identically (SQLite on disk, a
// sorted array in memory); test/conformance/metadata-store.test.ts holds them to that.

export interface Entry {
  key: Buffer;
  value: Buffer;
}

/**
 * Which entries a range scan returns. Every bound is optional; together they intersect:
 * keys k with `prefix` a prefix of k, `start <= k`, `k < end`.
 * Results are in ascending key order, or descending with `reverse` (starting from the top of the
 * range); `limit` caps how many come back, counted in that order.
 */
export interface RangeQuery {
  prefix?: Buffer;
  /** Inclusive lower bound. */
  start?: Buffer;
  /** Exclusive upper bound. */
  end?: Buffer;
  /** Non-negative integer; absent means no cap. */
  limit?: number;
  reverse?: boolean;
}

export interface ReadableTree {
  /** The value stored under `key`, or null. Returned buffers are the caller's to keep or mutate. */
  get(key: Buffer): Buffer | null;
  range(query: RangeQuery): Entry[];
  /** Number of entries; a full scan in SQLite, so not for hot paths. */
  count(): number;
}

/**
 * One named tree. Used outside a transaction, each write commits by itself. Used while a
 * transaction of the same store is open (its own handle or one from `Transaction.tree`), it reads
 * and writes inside that transaction: there is one connection, so there is no "outside" then.
 */
export interface Tree extends ReadableTree {
  readonly name: string;
  /** Stores `value` under `key`, replacing what was there. The store keeps its own copy. */
  insert(key: Buffer, value: Buffer): void;
  /** Removes `key`; true when it was present. */
  remove(key: Buffer): boolean;
}

/** The trees as seen from inside one transaction; its handles refuse work once it has ended. */
export interface Transaction {
  tree(name: string): Tree;
}

export interface MetadataStoreStats {
  /** Transactions committed; a write outside any transaction commits by itself and counts one. */
  commits: number;
  /** Outermost transactions rolled back (nested ones roll back to their savepoint only). */
  rollbacks: number;
  /** Transactions run by transactAsync, and the works they carried (works / batches = sharing). */
  groupCommits: number;
  groupCommitWorks: number;
  /** Works queued by transactAsync, not run yet. */
  groupCommitPending: number;
}

export interface MetadataStore {
  /** The tree of that name, created empty on first use. Names match TREE_NAME_PATTERN. */
  tree(name: string): Tree;
  /**
   * Runs `work` in one transaction and returns its result. If `work` throws, everything it wrote
   * is rolled back and the error propagates unchanged. Called inside another transaction it
   * nests (a savepoint): its failure rolls back only its own writes. `work` must be synchronous;
   * returning a promise is refused (the transaction would end before the promise settles).
   */
  transaction<T>(work: (tx: Transaction) => T): T;
  /**
   * Group commit: `work` runs on a later turn of the event loop together with the other works
   * queued meanwhile (at most TRANSACT_ASYNC_BATCH_WORKS_MAX), all in ONE transaction, each in
   * its own savepoint. The promise resolves with the work's result once that transaction has
   * committed, or rejects with the work's own error (only its writes are rolled back, the
   * others still commit) or with the commit's error (then nothing of the batch is stored).
   */
  transactAsync<T>(work: (tx: Transaction) => T): Promise<T>;
  stats(): MetadataStoreStats;
  /** Runs the works already queued by transactAsync, then closes. Idempotent. */
  close(): void;
}
