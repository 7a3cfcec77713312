// Whether a bucket holds no object: one range read of the object table, partition key = bucket id,
// limit 1. The object schema is a parameter so that this file does not depend on the object table's
// code (it lands separately). A row counts as an object unless the schema's `isTombstone` says it
// is one; a finer test (a row whose versions are all delete markers or aborted uploads holds no
// object either, as Garage's is_bucket_empty checks) is `holdsObject`, given with the schema.
import type { TableSchema } from '../../protocols/table';
import type { TableClient } from '../table/client';

/** Rows read per page while skipping rows that hold no object. */
const BUCKET_EMPTY_PAGE_ROWS = 100;

export interface BucketEmptyCheck<E> {
  /** The object table's schema (table name 'object', partition key = bucket id). */
  objectSchema: TableSchema<E>;
  /** Whether a row holds a live object (default: it is not a tombstone). */
  holdsObject?: (entry: E) => boolean;
}

export function bucketEmptyCheck<E>(tables: TableClient, check: BucketEmptyCheck<E>): (bucketId: Buffer) => Promise<boolean> {
  const holdsObject = check.holdsObject ?? ((entry: E) => !check.objectSchema.isTombstone(entry));
  return async (bucketId) => {
    let start: Buffer | null = null;
    for (;;) {
      const rows: E[] = await tables.range(check.objectSchema, bucketId, { start, limit: BUCKET_EMPTY_PAGE_ROWS });
      if (rows.some(holdsObject)) return false;
      if (rows.length < BUCKET_EMPTY_PAGE_ROWS) return true;
      start = Buffer.concat([check.objectSchema.sortKey(rows[rows.length - 1]!), Buffer.from([0])]);
    }
  };
}

/** Until the object table is registered: every bucket is empty (nothing can be stored in one yet). */
export const NO_OBJECT_TABLE = async (): Promise<boolean> => true;
