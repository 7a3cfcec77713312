// The S3 gateway's view of the key and bucket catalog, with the bucket-empty test over the object
// table (a bucket whose rows only hold delete markers or aborted uploads is empty).
import { createCatalog, s3CatalogOf } from '../../s3/catalog';
import { bucketEmptyCheck } from '../../s3/bucket-empty';
import { currentVersion, objectSchema } from '../../../protocols/s3/object';
import type { TableClient } from '../../table/client';
import type { S3Catalog } from './services';

export function s3CatalogView(tables: TableClient, nowMs: () => number, randomBytes: (size: number) => Buffer): S3Catalog {
  return s3CatalogOf(createCatalog({ tables, nowMs, randomBytes, isBucketEmpty: objectTableEmptyCheck(tables) }));
}

export function objectTableEmptyCheck(tables: TableClient): (bucketId: Buffer) => Promise<boolean> {
  return bucketEmptyCheck(tables, { objectSchema, holdsObject: (object) => currentVersion(object) !== null });
}
