// The S3 gateway's view of the key and bucket catalog: the catalog's S3 operations under the
// names the handlers use, and the bucket-empty test over the object table (a bucket whose rows
// only hold delete markers or aborted uploads is empty).
import { createCatalog } from '../../s3/catalog';
import { bucketEmptyCheck } from '../../s3/bucket-empty';
import { currentVersion, objectSchema } from '../../../protocols/s3/object';
import type { TableClient } from '../../table/client';
import type { S3Catalog } from './services';

export function s3CatalogView(tables: TableClient, nowMs: () => number, randomBytes: (size: number) => Buffer): S3Catalog {
  const catalog = createCatalog({ tables, nowMs, randomBytes, isBucketEmpty: objectTableEmptyCheck(tables) });
  return {
    secretOf: (accessKeyId) => catalog.secretOf(accessKeyId),
    resolveBucket: (accessKeyId, name) => catalog.resolveBucket(accessKeyId, name),
    permissionsOf: (accessKeyId, bucketId) => catalog.permissionsOf(accessKeyId, bucketId),
    createBucket: (accessKeyId, name) => catalog.s3CreateBucket(accessKeyId, name),
    deleteBucket: (accessKeyId, bucketId) => catalog.s3DeleteBucket(accessKeyId, bucketId),
    bucketsVisibleTo: (accessKeyId) => catalog.bucketsVisibleTo(accessKeyId),
  };
}

export function objectTableEmptyCheck(tables: TableClient): (bucketId: Buffer) => Promise<boolean> {
  return bucketEmptyCheck(tables, { objectSchema, holdsObject: (object) => currentVersion(object) !== null });
}
