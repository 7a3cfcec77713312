// The one error of the table core. Callers (partition replicas, syncers, coordinators) branch on
// `reason`. These are operating errors (a malformed peer entry, a key too long, a stored row of a
// newer format): they are answered or logged, never crash the actor. Bugs throw plain Errors.

export type TableErrorReason =
  | 'malformed' // bytes or a wire value that do not decode into an entry or node
  | 'unsupported-format' // a format version this node cannot read (newer, or no migration)
  | 'too-large' // a key, entry or wire value beyond TABLE_LIMITS
  | 'invalid-schema' // a schema definition that breaks the rules (a programmer error at startup)
  | 'invalid-quorum'; // a replication factor or quorum out of range

export class TableError extends Error {
  override readonly name = 'TableError';

  constructor(
    readonly reason: TableErrorReason,
    detail: string,
  ) {
    super(detail);
  }
}
