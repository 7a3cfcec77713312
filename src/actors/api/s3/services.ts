// What the S3 request handlers need from the node, injected: the key and bucket catalog, typed
// table access, the block manager, a clock and randomness. The server actor builds these from
// its context; a test may build them from fakes.
import type { TableClient } from '../../table/client';
import type { Logger } from '../../../log';

export interface BucketPermissions {
  read: boolean;
  write: boolean;
  owner: boolean;
}

export interface VisibleBucket {
  name: string;
  createdAtMs: number;
}

/** The slice of the key and bucket catalog the S3 gateway uses (src/actors/s3/catalog.ts). */
export interface S3Catalog {
  /** The secret of a live access key, or null when the key does not exist or was deleted. */
  secretOf(accessKeyId: string): Promise<string | null>;
  /** The bucket a name means for this key (its local alias first, then the global alias). */
  resolveBucket(accessKeyId: string, name: string): Promise<Buffer | null>;
  permissionsOf(accessKeyId: string, bucketId: Buffer): Promise<BucketPermissions>;
  createBucket(accessKeyId: string, name: string): Promise<void>;
  deleteBucket(accessKeyId: string, bucketId: Buffer): Promise<void>;
  bucketsVisibleTo(accessKeyId: string): Promise<VisibleBucket[]>;
}

export interface S3BlockAccess {
  /** Resolves once the block is on a write quorum of its holders. */
  put(hash: Buffer, data: Buffer): Promise<void>;
  /** The block's bytes, verified against its hash. */
  get(hash: Buffer): Promise<Buffer>;
}

export interface S3Services {
  region: string;
  rootDomain: string | undefined;
  /** Objects are cut into blocks of this many bytes. */
  blockSize: number;
  /** The catalog over the given tables (the pipeline passes one with memoized reads per request). */
  catalogOver(tables: TableClient): S3Catalog;
  tables: TableClient;
  blocks: S3BlockAccess;
  nowMs(): number;
  randomBytes(size: number): Buffer;
  log: Logger;
}
