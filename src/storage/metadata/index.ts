// The metadata store: the public surface. See types.ts for the contract, range-batches.ts for
// scanning large ranges, limits.ts for the bounds.
export type { Entry, MetadataStore, MetadataStoreStats, RangeQuery, ReadableTree, Transaction, Tree } from './types';
export { MetadataStoreError } from './errors';
export type { MetadataStoreErrorCode } from './errors';
export { keyAfter, prefixEnd } from './keys';
export { rangeBatches } from './range-batches';
export { openMemoryStore } from './memory';
export type { MemoryMetadataStore } from './memory';
export { openSqliteStore, SQLITE_SCHEMA_VERSION } from './sqlite';
export type { SqliteMetadataStore, SqliteStoreInit } from './sqlite';
export {
  KEY_BYTES_MAX,
  RANGE_BATCH_ENTRIES_DEFAULT,
  TRANSACT_ASYNC_BATCH_WORKS_MAX,
  TRANSACT_ASYNC_PENDING_MAX,
  TRANSACTION_NESTING_MAX,
  TREE_NAME_PATTERN,
  TREES_MAX,
  VALUE_BYTES_MAX,
} from './limits';
