// How many objects, bytes and unfinished multipart uploads a bucket holds: the object table's
// `updated` hook keeps per-bucket counters on each replica (protocols/s3/object.ts), and this
// reads them from a read quorum of the bucket's replicas (the largest value of each).
import { BUCKET_COUNTERS, type BucketCounts } from '../../protocols/s3/object';
import { TABLE_PATH_PREFIX, type TableAsk } from '../table/client';

const OBJECT_TABLE = 'object';

export function bucketCountsReader(ask: TableAsk, timeoutMs: number): (bucketId: Buffer) => Promise<BucketCounts> {
  const names = Object.keys(BUCKET_COUNTERS) as (keyof BucketCounts)[];
  return async (bucketId) => {
    const values = await ask<number[]>(TABLE_PATH_PREFIX + OBJECT_TABLE, (replyTo) => ({ type: 'counters', partitionKey: bucketId, counters: names.map((name) => BUCKET_COUNTERS[name]), replyTo }), timeoutMs);
    return Object.fromEntries(names.map((name, index) => [name, values[index] ?? 0])) as BucketCounts;
  };
}
