// The key table (Garage's key_table.rs in spirit): one row per access key, on every storage node
// (full copy: each S3 request reads its key locally). A key holds its secret, an operator-given
// name, whether it may create buckets, its local aliases (bucket names only it sees) and its
// permissions on buckets. Permissions are also stored on the bucket's row (bucket.ts): the key
// side answers "may this key do X", the bucket side "who may use this bucket".
//
// A deleted key stays deleted (Deletable): a late write of its old state cannot bring it back, and
// its id is never reused.
import { booleanCodec, bytesCodec, deletable, lwwMap, lwwRegister, nullableCodec, stringCodec, type Codec, type Crdt, type Deletable, type Lww, type LwwMap } from '../table/crdt';
import { malformed } from '../table/crdt/crdt';
import type { TableSchema } from '../table/schema';

/** What a key may do on one bucket. */
export interface BucketPermissions {
  readonly read: boolean;
  readonly write: boolean;
  readonly owner: boolean;
}

export const NO_PERMISSIONS: BucketPermissions = Object.freeze({ read: false, write: false, owner: false });
export const ALL_PERMISSIONS: BucketPermissions = Object.freeze({ read: true, write: true, owner: true });

export function hasAnyPermission(permissions: BucketPermissions): boolean {
  return permissions.read || permissions.write || permissions.owner;
}

/** Wire form `[read, write, owner]`. */
export const permissionsCodec: Codec<BucketPermissions> = {
  toWire: (permissions) => [permissions.read, permissions.write, permissions.owner],
  fromWire(raw) {
    if (!Array.isArray(raw) || raw.length !== 3) throw malformed('permissions: expected [read, write, owner]');
    return { read: booleanCodec.fromWire(raw[0]), write: booleanCodec.fromWire(raw[1]), owner: booleanCodec.fromWire(raw[2]) };
  },
};

export interface KeyParams {
  /** 64 lowercase hex digits; never changes once the key exists. */
  readonly secret: string;
  readonly name: Lww<string>;
  readonly allowCreateBucket: Lww<boolean>;
  /** Local alias name -> bucket id (null: the alias was removed). */
  readonly localAliases: LwwMap<Buffer | null>;
  /** Bucket id (hex) -> permissions (all false: revoked). */
  readonly authorizedBuckets: LwwMap<BucketPermissions>;
}

export interface AccessKey {
  /** `GK` + 24 lowercase hex digits. */
  readonly id: string;
  readonly state: Deletable<KeyParams>;
}

export const ACCESS_KEY_ID_PATTERN = /^GK[0-9a-f]{24}$/;
export const SECRET_KEY_PATTERN = /^[0-9a-f]{64}$/;

const nameCrdt = lwwRegister(stringCodec);
const flagCrdt = lwwRegister(booleanCodec);
const localAliasesCrdt = lwwMap(nullableCodec(bytesCodec));
const authorizedCrdt = lwwMap(permissionsCodec);

const paramsCrdt: Crdt<KeyParams> = {
  merge: (a, b) => ({
    // Equal on every replica (set once at creation); the larger is kept so merge stays commutative.
    secret: a.secret >= b.secret ? a.secret : b.secret,
    name: nameCrdt.merge(a.name, b.name),
    allowCreateBucket: flagCrdt.merge(a.allowCreateBucket, b.allowCreateBucket),
    localAliases: localAliasesCrdt.merge(a.localAliases, b.localAliases),
    authorizedBuckets: authorizedCrdt.merge(a.authorizedBuckets, b.authorizedBuckets),
  }),
  toWire: (params) => ({
    k: params.secret,
    n: nameCrdt.toWire(params.name),
    c: flagCrdt.toWire(params.allowCreateBucket),
    la: localAliasesCrdt.toWire(params.localAliases),
    ab: authorizedCrdt.toWire(params.authorizedBuckets),
  }),
  fromWire(raw) {
    const wire = raw as { k?: unknown; n?: unknown; c?: unknown; la?: unknown; ab?: unknown } | null;
    if (!wire || typeof wire !== 'object') throw malformed('key: expected the key parameters');
    if (typeof wire.k !== 'string' || !SECRET_KEY_PATTERN.test(wire.k)) throw malformed('key: k must be a secret of 64 hex digits');
    return {
      secret: wire.k,
      name: nameCrdt.fromWire(wire.n),
      allowCreateBucket: flagCrdt.fromWire(wire.c),
      localAliases: localAliasesCrdt.fromWire(wire.la),
      authorizedBuckets: authorizedCrdt.fromWire(wire.ab),
    };
  },
};

const stateCrdt = deletable(paramsCrdt);

/** Full copy; partition key empty (every key in one partition); sort key the access key id. */
export const keySchema: TableSchema<AccessKey> = {
  name: 'key',
  replication: 'full',
  partitionKey: () => Buffer.alloc(0),
  sortKey: (key) => Buffer.from(key.id, 'utf8'),
  merge: (a, b) => ({ id: a.id, state: stateCrdt.merge(a.state, b.state) }),
  isTombstone: (key) => key.state.kind === 'deleted',
  toWire: (key) => ({ id: key.id, s: stateCrdt.toWire(key.state) }),
  fromWire(raw) {
    const wire = raw as { id?: unknown; s?: unknown } | null;
    if (!wire || typeof wire.id !== 'string' || !ACCESS_KEY_ID_PATTERN.test(wire.id)) throw new Error('key: id must be GK followed by 24 hex digits');
    return { id: wire.id, state: stateCrdt.fromWire(wire.s) };
  },
};
