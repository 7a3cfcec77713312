// The key, bucket and bucket_alias schemas (merge laws, canonical encoding), the bucket naming
// rules, and the catalog's operations over an in-memory table client, with every S3 error the
// gateway relies on.
import { decodeEntry, encodeEntry, type TableSchema } from '../../src/protocols/table';
import { DELETED, lwwNew, present, type Lww } from '../../src/protocols/table/crdt';
import { keySchema, type AccessKey, type BucketPermissions, type KeyParams } from '../../src/protocols/s3/key';
import { bucketSchema, type Bucket, type BucketParams } from '../../src/protocols/s3/bucket';
import { bucketAliasSchema, type BucketAlias } from '../../src/protocols/s3/bucket-alias';
import { bucketNameProblem, permissionsOf, validateBucketName } from '../../src/protocols/s3/bucket-name';
import { S3Error } from '../../src/protocols/s3/errors';
import { memoryTableClient, type TableClient } from '../../src/actors/table/client';
import { CatalogError, createCatalog, s3CatalogOf, type Catalog } from '../../src/actors/s3/catalog';
import { bucketEmptyCheck } from '../../src/actors/s3/bucket-empty';
import { seededRandom } from '../harness/prng';

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// Small domains on purpose: equal timestamps and shared map keys are where merges go wrong.
const lww = <T>(random: Random, values: readonly T[]): Lww<T> => ({ timestamp: Math.floor(random() * 3), value: pick(random, values) });
function lwwMapOf<T>(random: Random, keys: readonly string[], values: readonly T[]): Map<string, Lww<T>> {
  const map = new Map<string, Lww<T>>();
  const size = Math.floor(random() * 4);
  for (let index = 0; index < size; index += 1) map.set(pick(random, keys), lww(random, values));
  return map;
}
const PERMISSIONS: BucketPermissions[] = [
  { read: false, write: false, owner: false },
  { read: true, write: false, owner: false },
  { read: true, write: true, owner: true },
];
const BUCKET_IDS = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
const KEY_ID = 'GK0123456789abcdef01234567';

function genKey(random: Random): AccessKey {
  if (random() < 0.25) return { id: KEY_ID, state: DELETED };
  const params: KeyParams = {
    secret: pick(random, ['a'.repeat(64), 'b'.repeat(64)]),
    name: lww(random, ['alice', 'bob', '']),
    allowCreateBucket: lww(random, [true, false]),
    localAliases: lwwMapOf(random, ['photos', 'logs'], [null, ...BUCKET_IDS]),
    authorizedBuckets: lwwMapOf(random, BUCKET_IDS.map((id) => id.toString('hex')), PERMISSIONS),
  };
  return { id: KEY_ID, state: present(params) };
}

function genBucket(random: Random): Bucket {
  if (random() < 0.25) return { id: BUCKET_IDS[0]!, state: DELETED };
  const params: BucketParams = {
    createdAtMs: pick(random, [100, 200]),
    globalAliases: lwwMapOf(random, ['photos', 'logs'], [true, false]),
    localAliases: lwwMapOf(random, [`${KEY_ID}:photos`, `${KEY_ID}:logs`], [true, false]),
    authorizedKeys: lwwMapOf(random, [KEY_ID, 'GK' + 'f'.repeat(24)], PERMISSIONS),
  };
  return { id: BUCKET_IDS[0]!, state: present(params) };
}

const genAlias = (random: Random): BucketAlias => ({ name: 'photos', bucketId: lww(random, [null, ...BUCKET_IDS]) });

function checkLaws<E>(schema: TableSchema<E>, generate: (random: Random) => E, seed: number): void {
  const random = seededRandom(seed);
  const bytes = (entry: E): string => encodeEntry(schema, entry).toString('hex');
  for (let run = 0; run < 300; run += 1) {
    const [a, b, c] = [generate(random), generate(random), generate(random)];
    expect(bytes(schema.merge(a, b))).toBe(bytes(schema.merge(b, a)));
    expect(bytes(schema.merge(schema.merge(a, b), c))).toBe(bytes(schema.merge(a, schema.merge(b, c))));
    expect(bytes(schema.merge(a, a))).toBe(bytes(a));
    expect(bytes(decodeEntry(schema, encodeEntry(schema, a)))).toBe(bytes(a));
  }
}

describe('key, bucket and bucket_alias schemas', () => {
  it.each([
    ['key', keySchema as TableSchema<unknown>, genKey as (random: Random) => unknown, 1],
    ['bucket', bucketSchema as TableSchema<unknown>, genBucket as (random: Random) => unknown, 2],
    ['bucket_alias', bucketAliasSchema as TableSchema<unknown>, genAlias as (random: Random) => unknown, 3],
  ])('%s: merge is commutative, associative, idempotent; encoding round-trips', (_name, schema, generate, seed) => {
    checkLaws(schema, generate, seed);
  });

  it('are full-copy tables with an empty partition key', () => {
    const random = seededRandom(4);
    expect([keySchema.replication, bucketSchema.replication, bucketAliasSchema.replication]).toEqual(['full', 'full', 'full']);
    expect(keySchema.partitionKey(genKey(random)).length).toBe(0);
    expect(bucketSchema.partitionKey(genBucket(random)).length).toBe(0);
    expect(bucketAliasSchema.partitionKey(genAlias(random)).length).toBe(0);
  });

  it('encodes the same entry to the same bytes whatever the map insertion order', () => {
    const a = new Map([['x', lwwNew(true, 1)], ['y', lwwNew(false, 2)]]);
    const b = new Map([['y', lwwNew(false, 2)], ['x', lwwNew(true, 1)]]);
    const bucket = (aliases: Map<string, Lww<boolean>>): Bucket => ({ id: BUCKET_IDS[0]!, state: present({ createdAtMs: 1, globalAliases: aliases, localAliases: new Map(), authorizedKeys: new Map() }) });
    expect(encodeEntry(bucketSchema, bucket(a)).equals(encodeEntry(bucketSchema, bucket(b)))).toBe(true);
  });

  it('keeps a deleted key and bucket deleted, and treats them and removed aliases as tombstones', () => {
    const random = seededRandom(5);
    const live = genKey(random);
    expect(keySchema.merge(live, { id: KEY_ID, state: DELETED }).state.kind).toBe('deleted');
    expect(keySchema.isTombstone({ id: KEY_ID, state: DELETED })).toBe(true);
    expect(bucketSchema.isTombstone({ id: BUCKET_IDS[0]!, state: DELETED })).toBe(true);
    expect(bucketAliasSchema.isTombstone({ name: 'photos', bucketId: lwwNew(null, 5) })).toBe(true);
    expect(bucketAliasSchema.isTombstone({ name: 'photos', bucketId: lwwNew(BUCKET_IDS[0]!, 5) })).toBe(false);
  });

  it('refuses malformed rows', () => {
    expect(() => keySchema.fromWire({ id: 'AK123', s: [0] })).toThrow(/GK followed by 24 hex/);
    expect(() => keySchema.fromWire({ id: KEY_ID, s: [1, { k: 'short' }] })).toThrow(/64 hex/);
    expect(() => bucketSchema.fromWire({ id: Buffer.alloc(5), s: [0] })).toThrow(/32 bytes/);
    expect(() => bucketAliasSchema.fromWire({ n: 'photos', b: [1, [Buffer.alloc(3)]] })).toThrow(/32 bytes/);
    expect(() => bucketAliasSchema.fromWire({ n: '', b: [1, null] })).toThrow(/name of 1/);
  });
});

describe('bucket names (AWS general-purpose rules)', () => {
  it.each([
    ['abc', null],
    ['my-bucket.2024', null],
    ['a'.repeat(63), null],
    ['ab', /3 to 63 characters/],
    ['a'.repeat(64), /3 to 63 characters/],
    ['MyBucket', /only lowercase letters/],
    ['my_bucket', /only lowercase letters/],
    ['-bucket', /begin and end/],
    ['bucket.', /begin and end/],
    ['my..bucket', /two adjacent/],
    ['192.168.5.4', /IP address/],
    ['xn--bucket', /prefix "xn--"/],
    ['sthree-bucket', /prefix "sthree-"/],
    ['amzn-s3-demo-bucket', /prefix "amzn-s3-demo-"/],
    ['bucket-s3alias', /suffix "-s3alias"/],
    ['bucket--ol-s3', /suffix "--ol-s3"/],
    ['bucket.mrap', /suffix ".mrap"/],
    ['bucket--x-s3', /suffix "--x-s3"/],
    ['bucket--table-s3', /suffix "--table-s3"/],
  ])('%s', (name, expected) => {
    const problem = bucketNameProblem(name);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });

  it('throws InvalidBucketName with the rule broken', () => {
    expect(() => validateBucketName('Bad')).toThrow(S3Error);
    try {
      validateBucketName('Bad');
    } catch (error) {
      expect((error as S3Error).code).toBe('InvalidBucketName');
      expect((error as S3Error).status).toBe(400);
      expect((error as S3Error).message).toMatch(/"Bad" is not valid: it may contain only lowercase/);
    }
  });

  it('reads permissions from the key row (none for a deleted key)', () => {
    const key: AccessKey = { id: KEY_ID, state: present({ secret: 'a'.repeat(64), name: lwwNew('k', 1), allowCreateBucket: lwwNew(false, 1), localAliases: new Map(), authorizedBuckets: new Map([[BUCKET_IDS[0]!.toString('hex'), lwwNew(PERMISSIONS[1]!, 1)]]) }) };
    expect(permissionsOf(key, BUCKET_IDS[0]!)).toEqual({ read: true, write: false, owner: false });
    expect(permissionsOf(key, BUCKET_IDS[1]!)).toEqual({ read: false, write: false, owner: false });
    expect(permissionsOf({ id: KEY_ID, state: DELETED }, BUCKET_IDS[0]!)).toEqual({ read: false, write: false, owner: false });
  });
});

// ---- the catalog ------------------------------------------------------------------------------

interface Harness {
  catalog: Catalog;
  tables: TableClient;
  nonEmpty: Set<string>;
  clock: { now: number };
}

function harness(): Harness {
  const tables = memoryTableClient();
  const nonEmpty = new Set<string>();
  const clock = { now: 1_000 };
  let counter = 0;
  const randomBytes = (size: number): Buffer => {
    counter += 1;
    const bytes = Buffer.alloc(size);
    bytes.writeUInt32BE(counter, size - 4);
    return bytes;
  };
  const catalog = createCatalog({
    tables,
    nowMs: () => (clock.now += 1),
    randomBytes,
    isBucketEmpty: async (bucketId) => !nonEmpty.has(bucketId.toString('hex')),
  });
  return { catalog, tables, nonEmpty, clock };
}

async function s3Code(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (error instanceof S3Error) return error.code;
    throw error;
  }
  throw new Error('expected an S3Error');
}

describe('catalog: keys', () => {
  it('creates, lists, renames, flags and deletes keys; looks them up by id, prefix or name', async () => {
    const { catalog } = harness();
    const alice = await catalog.createKey('alice');
    expect(alice.accessKeyId).toMatch(/^GK[0-9a-f]{24}$/);
    expect(alice.secretAccessKey).toMatch(/^[0-9a-f]{64}$/);
    const bob = await catalog.createKey('bob');
    expect((await catalog.listKeys()).map((key) => key.name)).toEqual(['alice', 'bob']);

    expect((await catalog.keyInfo('alice')).accessKeyId).toBe(alice.accessKeyId);
    expect((await catalog.keyInfo(bob.accessKeyId)).secretAccessKey).toBeNull();
    expect((await catalog.keyInfo(bob.accessKeyId, { showSecret: true })).secretAccessKey).toBe(bob.secretAccessKey);
    await expect(catalog.keyInfo('GK')).rejects.toThrow(/2 access keys match "GK"/);
    await expect(catalog.keyInfo('carol')).rejects.toThrow(CatalogError);

    await catalog.renameKey('alice', 'alice2');
    expect((await catalog.keyInfo(alice.accessKeyId)).name).toBe('alice2');
    expect((await catalog.allowCreateBucket('alice2', true)).allowCreateBucket).toBe(true);
    expect(await catalog.secretOf(alice.accessKeyId)).toBe(alice.secretAccessKey);

    await catalog.deleteKey('bob');
    expect((await catalog.listKeys()).map((key) => key.name)).toEqual(['alice2']);
    expect(await catalog.getKey(bob.accessKeyId)).toBeNull();
    expect(await catalog.secretOf(bob.accessKeyId)).toBeNull();
    await expect(catalog.createKey('')).rejects.toThrow(/1 to 255/);
  });

  it('lists every key past one range page', async () => {
    const { catalog, tables } = harness();
    const rows: AccessKey[] = Array.from({ length: 1005 }, (_, index) => ({
      id: 'GK' + index.toString(16).padStart(24, '0'),
      state: present({ secret: 'a'.repeat(64), name: lwwNew(`key-${index}`, 1), allowCreateBucket: lwwNew(false, 1), localAliases: new Map(), authorizedBuckets: new Map() }),
    }));
    await tables.insert(keySchema, rows);
    expect(await catalog.listKeys()).toHaveLength(1005);
    expect((await catalog.keyInfo('key-1004')).accessKeyId).toBe(rows[1004]!.id);
  });

  it('imports a key with valid formats, once: a deleted id is never reused', async () => {
    const { catalog } = harness();
    const id = 'GK' + 'ab'.repeat(12);
    const secret = 'cd'.repeat(32);
    await catalog.importKey(id, secret, 'imported');
    expect(await catalog.secretOf(id)).toBe(secret);
    await expect(catalog.importKey(id, secret, 'again')).rejects.toThrow(/already exists/);
    await catalog.deleteKey(id);
    await expect(catalog.importKey(id, secret, 'again')).rejects.toThrow(/already exists/);
    await expect(catalog.importKey('GK123', secret)).rejects.toThrow(/GK followed by 24/);
    await expect(catalog.importKey('GK' + 'AB'.repeat(12), secret)).rejects.toThrow(/GK followed by 24/);
    await expect(catalog.importKey('GK' + 'ee'.repeat(12), 'xyz')).rejects.toThrow(/64 lowercase hex/);
  });
});

describe('catalog: buckets, aliases, permissions', () => {
  it('creates a bucket with a global alias, refuses a taken or invalid name, finds it by name or id prefix', async () => {
    const { catalog } = harness();
    const created = await catalog.createBucket('photos');
    expect(created.globalAliases).toEqual(['photos']);
    expect(await s3Code(catalog.createBucket('photos'))).toBe('BucketAlreadyExists');
    expect(await s3Code(catalog.createBucket('Photos'))).toBe('InvalidBucketName');
    expect((await catalog.bucketInfo(created.bucketId.slice(0, 12))).bucketId).toBe(created.bucketId);
    await expect(catalog.bucketInfo(created.bucketId.slice(0, 4))).rejects.toThrow(/at least 8 hex digits/);
    await expect(catalog.bucketInfo('nothing')).rejects.toThrow(CatalogError);
    expect((await catalog.listBuckets()).map((bucket) => bucket.globalAliases)).toEqual([['photos']]);
  });

  it('stores permissions on both the key and the bucket; allow adds, deny removes', async () => {
    const { catalog } = harness();
    const key = await catalog.createKey('alice');
    const bucket = await catalog.createBucket('photos');
    await catalog.allow('photos', 'alice', { read: true, write: true, owner: false });
    expect((await catalog.bucketInfo('photos')).keys).toEqual([{ accessKeyId: key.accessKeyId, name: 'alice', permissions: { read: true, write: true, owner: false } }]);
    expect((await catalog.keyInfo('alice')).buckets).toEqual([{ bucketId: bucket.bucketId, globalAliases: ['photos'], localAliases: [], permissions: { read: true, write: true, owner: false } }]);
    await catalog.allow('photos', 'alice', { read: false, write: false, owner: true });
    expect(await catalog.permissionsOf(key.accessKeyId, Buffer.from(bucket.bucketId, 'hex'))).toEqual({ read: true, write: true, owner: true });
    await catalog.deny('photos', 'alice', { read: false, write: true, owner: true });
    expect(await catalog.permissionsOf(key.accessKeyId, Buffer.from(bucket.bucketId, 'hex'))).toEqual({ read: true, write: false, owner: false });
    await catalog.deny('photos', 'alice', { read: true, write: false, owner: false });
    expect((await catalog.bucketInfo('photos')).keys).toEqual([]);
    expect((await catalog.keyInfo('alice')).buckets).toEqual([]);
    await expect(catalog.allow('photos', 'alice', { read: false, write: false, owner: false })).rejects.toThrow(/--read, --write or --owner/);
  });

  it('adds and removes global and local aliases, never a bucket\'s last one, never moving a taken name', async () => {
    const { catalog } = harness();
    const key = await catalog.createKey('alice');
    const photos = await catalog.createBucket('photos');
    await catalog.createBucket('logs');
    await expect(catalog.unalias('photos')).rejects.toThrow(/last alias of bucket/);
    await expect(catalog.alias('photos', 'logs')).rejects.toThrow(/already points to bucket/);
    await expect(catalog.alias('photos', 'Bad_Name')).rejects.toThrow(/not valid/);

    await catalog.alias('photos', 'pictures');
    expect(await catalog.resolveBucket(null, 'pictures')).toEqual(Buffer.from(photos.bucketId, 'hex'));
    await catalog.unalias('photos');
    expect(await catalog.resolveBucket(null, 'photos')).toBeNull();
    expect((await catalog.bucketInfo('pictures')).globalAliases).toEqual(['pictures']);

    // A local alias shadows the global name for its key only.
    await catalog.alias('pictures', 'logs', { localKey: 'alice' });
    expect(await catalog.resolveBucket(key.accessKeyId, 'logs')).toEqual(Buffer.from(photos.bucketId, 'hex'));
    expect(await catalog.resolveBucket(null, 'logs')).not.toEqual(Buffer.from(photos.bucketId, 'hex'));
    expect((await catalog.bucketInfo('pictures')).localAliases).toEqual([{ accessKeyId: key.accessKeyId, name: 'logs' }]);
    await expect(catalog.alias('logs', 'logs', { localKey: 'alice' })).rejects.toThrow(/already has a local alias logs/);
    await catalog.unalias('pictures'); // the local alias remains: not the last
    await expect(catalog.unalias('logs', { localKey: 'alice' })).rejects.toThrow(/last alias/);
    await expect(catalog.unalias('nothing', { localKey: 'alice' })).rejects.toThrow(/has no local alias/);
    await expect(catalog.unalias('nothing')).rejects.toThrow(/no global alias/);
  });

  it('deletes an empty bucket with its aliases and permissions on both sides; refuses a non-empty one', async () => {
    const { catalog, nonEmpty } = harness();
    const key = await catalog.createKey('alice');
    const bucket = await catalog.createBucket('photos');
    await catalog.alias('photos', 'mine', { localKey: 'alice' });
    await catalog.allow('photos', 'alice', { read: true, write: true, owner: true });
    nonEmpty.add(bucket.bucketId);
    expect(await s3Code(catalog.deleteBucket('photos'))).toBe('BucketNotEmpty');
    nonEmpty.clear();
    await catalog.deleteBucket('photos');
    expect(await catalog.listBuckets()).toEqual([]);
    expect(await catalog.resolveBucket(key.accessKeyId, 'photos')).toBeNull();
    expect(await catalog.resolveBucket(key.accessKeyId, 'mine')).toBeNull();
    const info = await catalog.keyInfo('alice');
    expect(info.buckets).toEqual([]);
    expect(await catalog.permissionsOf(key.accessKeyId, Buffer.from(bucket.bucketId, 'hex'))).toEqual({ read: false, write: false, owner: false });
    // The name is free again, for a new bucket with a new id.
    expect((await catalog.createBucket('photos')).bucketId).not.toBe(bucket.bucketId);
  });

  it('deleting a key removes its permissions and local aliases from the buckets', async () => {
    const { catalog } = harness();
    await catalog.createKey('alice');
    await catalog.createBucket('photos');
    await catalog.alias('photos', 'mine', { localKey: 'alice' });
    await catalog.allow('photos', 'alice', { read: true, write: false, owner: false });
    await catalog.deleteKey('alice');
    const info = await catalog.bucketInfo('photos');
    expect(info.keys).toEqual([]);
    expect(info.localAliases).toEqual([]);
  });
});

describe('catalog: the S3 gateway path', () => {
  it('CreateBucket: AccessDenied without the flag, InvalidBucketName, then a global bucket the creator owns', async () => {
    const { catalog } = harness();
    const key = await catalog.createKey('alice');
    expect(await s3Code(catalog.s3CreateBucket(key.accessKeyId, 'photos'))).toBe('AccessDenied');
    await catalog.allowCreateBucket('alice', true);
    expect(await s3Code(catalog.s3CreateBucket(key.accessKeyId, 'no_underscores'))).toBe('InvalidBucketName');
    await catalog.s3CreateBucket(key.accessKeyId, 'photos');
    const bucketId = await catalog.resolveBucket(null, 'photos');
    expect(bucketId).not.toBeNull();
    expect(await catalog.permissionsOf(key.accessKeyId, bucketId!)).toEqual({ read: true, write: true, owner: true });
    expect((await catalog.bucketInfo('photos')).keys.map((entry) => entry.accessKeyId)).toEqual([key.accessKeyId]);
    expect(await s3Code(catalog.s3CreateBucket('GK' + '0'.repeat(24), 'other'))).toBe('InvalidAccessKeyId');
  });

  it('CreateBucket on a taken name: BucketAlreadyOwnedByYou for its owner or a local alias, BucketAlreadyExists for others', async () => {
    const { catalog } = harness();
    const alice = await catalog.createKey('alice');
    const bob = await catalog.createKey('bob');
    await catalog.allowCreateBucket('alice', true);
    await catalog.allowCreateBucket('bob', true);
    await catalog.s3CreateBucket(alice.accessKeyId, 'photos');
    expect(await s3Code(catalog.s3CreateBucket(alice.accessKeyId, 'photos'))).toBe('BucketAlreadyOwnedByYou');
    expect(await s3Code(catalog.s3CreateBucket(bob.accessKeyId, 'photos'))).toBe('BucketAlreadyExists');
    // Read and write without owner is not ownership.
    await catalog.allow('photos', 'bob', { read: true, write: true, owner: false });
    expect(await s3Code(catalog.s3CreateBucket(bob.accessKeyId, 'photos'))).toBe('BucketAlreadyExists');
    // A local alias of the key with that name: already its own, whatever the global namespace holds.
    await catalog.alias('photos', 'bobs', { localKey: 'bob' });
    expect(await s3Code(catalog.s3CreateBucket(bob.accessKeyId, 'bobs'))).toBe('BucketAlreadyOwnedByYou');
    // A key without the create flag still learns the name is taken first.
    const carol = await catalog.createKey('carol');
    expect(await s3Code(catalog.s3CreateBucket(carol.accessKeyId, 'photos'))).toBe('BucketAlreadyExists');
  });

  it('DeleteBucket: NoSuchBucket, AccessDenied without owner, BucketNotEmpty, then gone with its names', async () => {
    const { catalog, nonEmpty } = harness();
    const alice = await catalog.createKey('alice');
    const bob = await catalog.createKey('bob');
    await catalog.allowCreateBucket('alice', true);
    await catalog.s3CreateBucket(alice.accessKeyId, 'photos');
    const bucketId = (await catalog.resolveBucket(alice.accessKeyId, 'photos'))!;
    await catalog.allow('photos', 'bob', { read: true, write: true, owner: false });
    expect(await s3Code(catalog.s3DeleteBucket(alice.accessKeyId, Buffer.alloc(32, 9)))).toBe('NoSuchBucket');
    expect(await s3Code(catalog.s3DeleteBucket(bob.accessKeyId, bucketId))).toBe('AccessDenied');
    nonEmpty.add(bucketId.toString('hex'));
    expect(await s3Code(catalog.s3DeleteBucket(alice.accessKeyId, bucketId))).toBe('BucketNotEmpty');
    nonEmpty.clear();
    await catalog.s3DeleteBucket(alice.accessKeyId, bucketId);
    expect(await catalog.resolveBucket(alice.accessKeyId, 'photos')).toBeNull();
    expect(await catalog.bucketsVisibleTo(bob.accessKeyId)).toEqual([]);
    expect(await catalog.permissionsOf(bob.accessKeyId, bucketId)).toEqual({ read: false, write: false, owner: false });
  });

  it('lists the buckets a key may use, by the names that key sees', async () => {
    const { catalog } = harness();
    const alice = await catalog.createKey('alice');
    await catalog.createBucket('photos');
    await catalog.createBucket('logs');
    await catalog.createBucket('secret');
    await catalog.allow('photos', 'alice', { read: true, write: false, owner: false });
    await catalog.allow('logs', 'alice', { read: false, write: true, owner: false });
    await catalog.alias('logs', 'my-logs', { localKey: 'alice' });
    const visible = await catalog.bucketsVisibleTo(alice.accessKeyId);
    expect(visible.map((bucket) => bucket.name)).toEqual(['logs', 'my-logs', 'photos']);
    expect(visible[0]!.bucketId).toEqual(visible[1]!.bucketId);
    expect(visible[0]!.createdAtMs).toBeGreaterThan(0);
    expect(await catalog.bucketsVisibleTo('GK' + '0'.repeat(24))).toEqual([]);
  });

  it('gives the gateway its S3Catalog view', async () => {
    const { catalog } = harness();
    const alice = await catalog.createKey('alice');
    await catalog.allowCreateBucket('alice', true);
    const view = s3CatalogOf(catalog);
    expect(await view.secretOf(alice.accessKeyId)).toBe(alice.secretAccessKey);
    await view.createBucket(alice.accessKeyId, 'photos');
    const bucketId = (await view.resolveBucket(alice.accessKeyId, 'photos'))!;
    expect((await view.permissionsOf(alice.accessKeyId, bucketId)).owner).toBe(true);
    expect((await view.bucketsVisibleTo(alice.accessKeyId)).map((bucket) => bucket.name)).toEqual(['photos']);
    await view.deleteBucket(alice.accessKeyId, bucketId);
    expect(await view.resolveBucket(alice.accessKeyId, 'photos')).toBeNull();
  });

  it('resolves names it cannot hold to nothing, without touching the tables', async () => {
    const { catalog } = harness();
    expect(await catalog.resolveBucket(null, '')).toBeNull();
    expect(await catalog.resolveBucket(null, 'x'.repeat(5000))).toBeNull();
    expect(await catalog.resolveBucket('not-a-key', 'photos')).toBeNull();
  });
});

describe('bucket emptiness over an object table', () => {
  // A stand-in for the object table (it lands separately): pk = bucket id, sk = object key.
  interface FakeObject { bucket: Buffer; key: string; deleted: boolean }
  const objectSchema: TableSchema<FakeObject> = {
    name: 'object',
    replication: 'sharded',
    partitionKey: (object) => object.bucket,
    sortKey: (object) => Buffer.from(object.key),
    merge: (a, b) => ({ ...a, deleted: a.deleted || b.deleted }),
    isTombstone: (object) => object.deleted,
    toWire: (object) => ({ b: object.bucket, k: object.key, d: object.deleted }),
    fromWire: (raw) => {
      const wire = raw as { b: Uint8Array; k: string; d: boolean };
      return { bucket: Buffer.from(wire.b), key: wire.k, deleted: wire.d };
    },
  };

  it('is empty with no rows or only tombstones, past a page of them', async () => {
    const tables = memoryTableClient();
    const isEmpty = bucketEmptyCheck(tables, { objectSchema });
    const bucket = Buffer.alloc(32, 7);
    expect(await isEmpty(bucket)).toBe(true);
    const tombstones = Array.from({ length: 150 }, (_, index) => ({ bucket, key: `k${String(index).padStart(3, '0')}`, deleted: true }));
    await tables.insert(objectSchema, tombstones);
    expect(await isEmpty(bucket)).toBe(true);
    await tables.insert(objectSchema, [{ bucket, key: 'z-live', deleted: false }]);
    expect(await isEmpty(bucket)).toBe(false);
    expect(await isEmpty(Buffer.alloc(32, 8))).toBe(true);
  });
});
