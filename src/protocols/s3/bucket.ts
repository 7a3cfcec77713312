// The bucket table (Garage's bucket_table.rs in spirit): one row per bucket, on every storage node
// (full copy). A bucket is known by a random 32-byte id; names are aliases that point to it:
// global aliases (bucket_alias table, every key sees them) and local aliases (in one key's row,
// only that key sees them). The bucket row mirrors both, and the permissions keys hold on it, so
// `bucket info` and deletion find them without scanning every key.
//
// A deleted bucket stays deleted (Deletable); a bucket created again with the same name gets a new
// id. Website, CORS, lifecycle and quotas join this row in later issues (bump formatVersion).
import { deletable, integerCodec, lwwMap, booleanCodec, type Crdt, type Deletable, type LwwMap } from '../table/crdt';
import { malformed } from '../table/crdt/crdt';
import type { TableSchema } from '../table/schema';
import { permissionsCodec, type BucketPermissions } from './key';

export const BUCKET_ID_BYTES = 32;

export interface BucketParams {
  /** Creation time (ms since the epoch, the creating node's clock). */
  readonly createdAtMs: number;
  /** Global alias name -> whether it is active. */
  readonly globalAliases: LwwMap<boolean>;
  /** `${accessKeyId}:${name}` -> whether that local alias is active. */
  readonly localAliases: LwwMap<boolean>;
  /** Access key id -> permissions (all false: revoked). */
  readonly authorizedKeys: LwwMap<BucketPermissions>;
}

export interface Bucket {
  readonly id: Buffer;
  readonly state: Deletable<BucketParams>;
}

/** The key of a local alias in a bucket's `localAliases`: access key ids never contain ':'. */
export function localAliasKey(accessKeyId: string, name: string): string {
  return `${accessKeyId}:${name}`;
}

export function splitLocalAliasKey(key: string): { accessKeyId: string; name: string } {
  const colon = key.indexOf(':');
  return { accessKeyId: key.slice(0, colon), name: key.slice(colon + 1) };
}

const flagsCrdt = lwwMap(booleanCodec);
const permissionsCrdt = lwwMap(permissionsCodec);

const paramsCrdt: Crdt<BucketParams> = {
  merge: (a, b) => ({
    // Set once at creation; the earlier is kept so merge stays commutative.
    createdAtMs: Math.min(a.createdAtMs, b.createdAtMs),
    globalAliases: flagsCrdt.merge(a.globalAliases, b.globalAliases),
    localAliases: flagsCrdt.merge(a.localAliases, b.localAliases),
    authorizedKeys: permissionsCrdt.merge(a.authorizedKeys, b.authorizedKeys),
  }),
  toWire: (params) => ({
    t: params.createdAtMs,
    ga: flagsCrdt.toWire(params.globalAliases),
    la: flagsCrdt.toWire(params.localAliases),
    ak: permissionsCrdt.toWire(params.authorizedKeys),
  }),
  fromWire(raw) {
    const wire = raw as { t?: unknown; ga?: unknown; la?: unknown; ak?: unknown } | null;
    if (!wire || typeof wire !== 'object') throw malformed('bucket: expected the bucket parameters');
    const localAliases = flagsCrdt.fromWire(wire.la);
    for (const key of localAliases.keys()) if (!key.includes(':')) throw malformed(`bucket: local alias ${JSON.stringify(key)} is not accessKeyId:name`);
    return {
      createdAtMs: integerCodec.fromWire(wire.t),
      globalAliases: flagsCrdt.fromWire(wire.ga),
      localAliases,
      authorizedKeys: permissionsCrdt.fromWire(wire.ak),
    };
  },
};

const stateCrdt = deletable(paramsCrdt);

/** Full copy; partition key empty; sort key the bucket id. */
export const bucketSchema: TableSchema<Bucket> = {
  name: 'bucket',
  replication: 'full',
  partitionKey: () => Buffer.alloc(0),
  sortKey: (bucket) => bucket.id,
  merge: (a, b) => ({ id: a.id, state: stateCrdt.merge(a.state, b.state) }),
  isTombstone: (bucket) => bucket.state.kind === 'deleted',
  toWire: (bucket) => ({ id: bucket.id, s: stateCrdt.toWire(bucket.state) }),
  fromWire(raw) {
    const wire = raw as { id?: unknown; s?: unknown } | null;
    if (!wire || !(wire.id instanceof Uint8Array) || wire.id.length !== BUCKET_ID_BYTES) throw new Error(`bucket: id must be ${BUCKET_ID_BYTES} bytes`);
    return { id: Buffer.from(wire.id), state: stateCrdt.fromWire(wire.s) };
  },
};
