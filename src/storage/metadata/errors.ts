// Named errors of the metadata store. Callers branch on `code`, never on message text.

export type MetadataStoreErrorCode =
  /** Programmer errors: a bad tree name, key, value or query; a bound exceeded. */
  | 'invalid-tree-name'
  | 'invalid-argument'
  | 'limit-exceeded'
  /** Programmer errors: the store was closed, the transaction has ended, work returned a promise. */
  | 'closed'
  | 'transaction-ended'
  | 'async-work'
  /** Closing from inside a transaction's work. */
  | 'busy'
  /** transactAsync refused: too many works already waiting (back-pressure, an operating error). */
  | 'overloaded'
  /** The database dropped the open transaction after an earlier error (disk full, I/O error). */
  | 'transaction-aborted'
  /** The database file was written by a newer format than this build knows. */
  | 'unsupported-format'
  /** The database failed (disk full, I/O error, damaged file); `cause` holds its error. */
  | 'io';

export class MetadataStoreError extends Error {
  override readonly name = 'MetadataStoreError';
  constructor(readonly code: MetadataStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
