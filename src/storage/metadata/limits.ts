// Every bound of the metadata store in one place (TigerBeetle style): units last in each name.

/** Tree names become SQLite table names (`t_<name>`): lower-case, short, nothing to quote badly. */
export const TREE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
/**
 * Trees open in one store. Trees are chosen by code (one per table, plus a few for Merkle and
 * GC queues), never by data: reaching this means a bug is making trees out of data.
 */
export const TREES_MAX = 1024;

/**
 * Longest key. Keys are partition-key hash (32 bytes) || sort key; S3 object keys stop at
 * 1024 bytes. Long keys fill SQLite index pages and spill into overflow pages.
 */
export const KEY_BYTES_MAX = 4096;
/**
 * Longest value: a value is read and written whole, in memory. Well below SQLite's compiled
 * SQLITE_MAX_LENGTH (1e9). A bigger record must be split by its table.
 */
export const VALUE_BYTES_MAX = 256 * 1024 * 1024;

/** Transactions nested inside one another (cascading hooks); deeper means runaway recursion. */
export const TRANSACTION_NESTING_MAX = 32;

/**
 * Works that transactAsync puts in one transaction. Bounds how long one batch holds the event
 * loop (each work is a short synchronous state transition) and how much one failed commit takes
 * down with it; the rest go to the next batch, on the next turn of the event loop.
 */
export const TRANSACT_ASYNC_BATCH_WORKS_MAX = 1024;
/** Works waiting for a batch; beyond this transactAsync rejects ('overloaded'), so memory stays bounded. */
export const TRANSACT_ASYNC_PENDING_MAX = 64 * 1024;

/** Entries per batch of rangeBatches when the caller gives no size. */
export const RANGE_BATCH_ENTRIES_DEFAULT = 1000;

/** How long SQLite waits for a lock held by another connection (a CLI inspecting the file) before failing. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** WAL file size kept after a checkpoint; without it, one large burst leaves a large file behind. */
export const SQLITE_JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

// Relations between limits, checked at load time: a violation is a programmer error.
if (TRANSACT_ASYNC_BATCH_WORKS_MAX < 1 || TRANSACT_ASYNC_BATCH_WORKS_MAX > TRANSACT_ASYNC_PENDING_MAX) {
  throw new Error('metadata limits: need 1 <= TRANSACT_ASYNC_BATCH_WORKS_MAX <= TRANSACT_ASYNC_PENDING_MAX');
}
// A batch uses two levels (the batch, then each work's savepoint) before the work nests its own.
if (TRANSACTION_NESTING_MAX < 3) throw new Error('metadata limits: TRANSACTION_NESTING_MAX must leave room for group commit');
if (KEY_BYTES_MAX > VALUE_BYTES_MAX || VALUE_BYTES_MAX >= 1_000_000_000) {
  throw new Error('metadata limits: need KEY_BYTES_MAX <= VALUE_BYTES_MAX < SQLITE_MAX_LENGTH');
}
