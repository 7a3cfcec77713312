// The bucket_alias table (Garage's bucket_alias_table.rs in spirit): global bucket names, each an
// LWW register holding the bucket id it points to, or null once removed (a tombstone, collected by
// the table's GC once every node has it). Full copy: every S3 request resolves its bucket name
// locally. Local aliases live in the key table instead.
import { lwwRegister, nullableCodec, bytesCodec, type Lww } from '../table/crdt';
import type { TableSchema } from '../table/schema';
import { BUCKET_ID_BYTES } from './bucket';

export interface BucketAlias {
  readonly name: string;
  readonly bucketId: Lww<Buffer | null>;
}

/** Sort keys are bounded by the table core; bucket names are 63 bytes at most anyway. */
const ALIAS_NAME_BYTES_MAX = 255;

const targetCrdt = lwwRegister(nullableCodec(bytesCodec));

/** Full copy; partition key empty; sort key the alias name. */
export const bucketAliasSchema: TableSchema<BucketAlias> = {
  name: 'bucket_alias',
  replication: 'full',
  partitionKey: () => Buffer.alloc(0),
  sortKey: (alias) => Buffer.from(alias.name, 'utf8'),
  merge: (a, b) => ({ name: a.name, bucketId: targetCrdt.merge(a.bucketId, b.bucketId) }),
  isTombstone: (alias) => alias.bucketId.value === null,
  toWire: (alias) => ({ n: alias.name, b: targetCrdt.toWire(alias.bucketId) }),
  fromWire(raw) {
    const wire = raw as { n?: unknown; b?: unknown } | null;
    if (!wire || typeof wire.n !== 'string' || wire.n.length === 0 || Buffer.byteLength(wire.n) > ALIAS_NAME_BYTES_MAX) {
      throw new Error(`bucket_alias: n must be a name of 1 to ${ALIAS_NAME_BYTES_MAX} bytes`);
    }
    const bucketId = targetCrdt.fromWire(wire.b);
    if (bucketId.value !== null && bucketId.value.length !== BUCKET_ID_BYTES) throw new Error(`bucket_alias: a bucket id is ${BUCKET_ID_BYTES} bytes`);
    return { name: wire.n, bucketId };
  },
};
