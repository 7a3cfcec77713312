// The key and bucket catalog: access keys, buckets, their aliases and permissions, over the three
// full-copy tables (key, bucket, bucket_alias). The CLI reaches it through the catalog actor
// (catalog-actor.ts); the S3 gateway calls its hot-path reads (`secretOf`, `resolveBucket`,
// `permissionsOf`, `bucketsVisibleTo`), which read this node's copy of the tables.
//
// Garage's behaviour (src/model/helper/locked.rs, src/api/s3/bucket.rs) is the reference: aliases
// and permissions are written on both sides (key row and bucket row), a global alias never moves
// silently to another bucket, the last alias of a bucket cannot be removed (delete it instead),
// and a deleted bucket or key loses its aliases and permissions everywhere.
//
// Invariant: the mutating operations of one catalog run one at a time (`exclusive`), so a
// read-modify-write of a row is not interleaved with another on this node. Two nodes editing the
// same row at once still converge: every field is a CRDT, the later write of a field wins.
import { S3Error } from '../../protocols/s3/errors';
import { ACCESS_KEY_ID_PATTERN, ALL_PERMISSIONS, hasAnyPermission, keySchema, NO_PERMISSIONS, SECRET_KEY_PATTERN, type AccessKey, type BucketPermissions, type KeyParams } from '../../protocols/s3/key';
import { BUCKET_ID_BYTES, bucketSchema, localAliasKey, splitLocalAliasKey, type Bucket, type BucketParams } from '../../protocols/s3/bucket';
import { bucketAliasSchema, type BucketAlias } from '../../protocols/s3/bucket-alias';
import { permissionsOf as keyPermissionsOf, validateBucketName } from '../../protocols/s3/bucket-name';
import { DELETED, lwwMapSet, lwwNew, lwwUpdate, present, type LwwMap } from '../../protocols/table/crdt';
import type { TableSchema } from '../../protocols/table';
import { TABLE_CLIENT_RANGE_LIMIT_MAX, type TableClient } from '../table/client';
import type { S3Catalog } from '../api/s3/services';
import type { BucketCounts } from '../../protocols/s3/object';

/** A CLI-only failure (unknown or ambiguous key or bucket, a refused alias change): its message says what to fix. */
export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

export interface CatalogComponents {
  tables: TableClient;
  nowMs: () => number;
  randomBytes: (size: number) => Buffer;
  /** Whether the bucket holds no object (bucket-empty.ts over the object table). */
  isBucketEmpty: (bucketId: Buffer) => Promise<boolean>;
  /** The bucket's object, byte and unfinished-upload counts (bucket-counts.ts), when available. */
  countsOf?: (bucketId: Buffer) => Promise<BucketCounts>;
}

export const KEY_NAME_LENGTH_MAX = 255;
/** A bucket id prefix must be this long, so a mistyped name is not taken for an id. */
export const BUCKET_ID_PREFIX_LENGTH_MIN = 8;
/** Longer names cannot be aliases (bucket names are 63 characters at most): not looked up. */
const ALIAS_NAME_BYTES_MAX = 255;
const DEFAULT_KEY_NAME = 'Unnamed key';
const ACCESS_KEY_ID_RANDOM_BYTES = 12;
const SECRET_KEY_RANDOM_BYTES = 32;
const EMPTY = Buffer.alloc(0);

// ---- views returned to the CLI (plain data: they cross the RPC) -------------------------------

export interface CreatedKey {
  accessKeyId: string;
  secretAccessKey: string;
  name: string;
}

export interface KeySummary {
  accessKeyId: string;
  name: string;
}

export interface KeyBucketView {
  bucketId: string;
  globalAliases: string[];
  /** This key's local aliases of the bucket. */
  localAliases: string[];
  permissions: BucketPermissions;
}

export interface KeyInfo {
  accessKeyId: string;
  name: string;
  /** Null unless asked for. */
  secretAccessKey: string | null;
  allowCreateBucket: boolean;
  buckets: KeyBucketView[];
}

export interface LocalAliasView {
  accessKeyId: string;
  name: string;
}

export interface BucketSummary {
  bucketId: string;
  createdAtMs: number;
  globalAliases: string[];
  localAliases: LocalAliasView[];
}

export interface BucketKeyView {
  accessKeyId: string;
  name: string;
  permissions: BucketPermissions;
}

export interface BucketInfo extends BucketSummary {
  keys: BucketKeyView[];
  /** Objects, bytes and unfinished uploads, when the node could count them (bucket info only). */
  counts?: BucketCounts;
}

/** A bucket as ListBuckets shows it to one key: by the name that key reaches it with. */
export interface VisibleBucket {
  name: string;
  bucketId: Buffer;
  createdAtMs: number;
}

/** Permission flags to grant or revoke; those left false are not touched. */
export type PermissionFlags = BucketPermissions;

export interface LiveKey {
  readonly id: string;
  readonly params: KeyParams;
}

interface LiveBucket {
  readonly id: Buffer;
  readonly params: BucketParams;
}

export function createCatalog(components: CatalogComponents): Catalog {
  return new Catalog(components);
}

export class Catalog {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly components: CatalogComponents) {}

  // ---- keys ----------------------------------------------------------------------------------

  async createKey(name: string = DEFAULT_KEY_NAME): Promise<CreatedKey> {
    checkKeyName(name);
    const accessKeyId = 'GK' + this.components.randomBytes(ACCESS_KEY_ID_RANDOM_BYTES).toString('hex');
    const secretAccessKey = this.components.randomBytes(SECRET_KEY_RANDOM_BYTES).toString('hex');
    return this.exclusive(async () => {
      await this.insertKey({ id: accessKeyId, params: this.newKeyParams(secretAccessKey, name) });
      return { accessKeyId, secretAccessKey, name };
    });
  }

  /** Re-imports a key made elsewhere (another Garage or Grange cluster). */
  async importKey(accessKeyId: string, secretAccessKey: string, name: string = 'Imported key'): Promise<CreatedKey> {
    if (!ACCESS_KEY_ID_PATTERN.test(accessKeyId)) throw new CatalogError(`access key id ${JSON.stringify(accessKeyId)} is not valid: it must be GK followed by 24 lowercase hex digits`);
    if (!SECRET_KEY_PATTERN.test(secretAccessKey)) throw new CatalogError('the secret key is not valid: it must be 64 lowercase hex digits');
    checkKeyName(name);
    return this.exclusive(async () => {
      if ((await this.components.tables.get(keySchema, EMPTY, sortKeyOfKey(accessKeyId))) !== null) {
        throw new CatalogError(`access key ${accessKeyId} already exists (or existed: the id of a deleted key is never reused)`);
      }
      await this.insertKey({ id: accessKeyId, params: this.newKeyParams(secretAccessKey, name) });
      return { accessKeyId, secretAccessKey, name };
    });
  }

  async listKeys(): Promise<KeySummary[]> {
    const keys = (await this.rangeAll(keySchema)).flatMap((key) => (key.state.kind === 'present' ? [{ accessKeyId: key.id, name: key.state.value.name.value }] : []));
    return keys.sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.accessKeyId, b.accessKeyId));
  }

  async keyInfo(pattern: string, options: { showSecret?: boolean } = {}): Promise<KeyInfo> {
    return this.keyInfoOf(await this.findKey(pattern), options.showSecret === true);
  }

  async deleteKey(pattern: string): Promise<KeySummary> {
    return this.exclusive(async () => {
      const key = await this.findKey(pattern);
      const bucketIds = new Set([...activePermissions(key.params.authorizedBuckets).keys(), ...[...activeLocalAliases(key.params)].map(([, id]) => id.toString('hex'))]);
      for (const hex of bucketIds) {
        const bucket = await this.getLiveBucket(Buffer.from(hex, 'hex'));
        if (!bucket) continue;
        let params = bucket.params;
        if (params.authorizedKeys.has(key.id)) params = { ...params, authorizedKeys: lwwMapSet(params.authorizedKeys, key.id, NO_PERMISSIONS, this.now()) };
        for (const [name, target] of activeLocalAliases(key.params)) {
          if (target.equals(bucket.id)) params = { ...params, localAliases: lwwMapSet(params.localAliases, localAliasKey(key.id, name), false, this.now()) };
        }
        await this.insertBucket({ id: bucket.id, params });
      }
      await this.components.tables.insert(keySchema, [{ id: key.id, state: DELETED }]);
      return { accessKeyId: key.id, name: key.params.name.value };
    });
  }

  async renameKey(pattern: string, newName: string): Promise<KeySummary> {
    checkKeyName(newName);
    return this.exclusive(async () => {
      const key = await this.findKey(pattern);
      await this.insertKey({ id: key.id, params: { ...key.params, name: lwwUpdate(key.params.name, newName, this.now()) } });
      return { accessKeyId: key.id, name: newName };
    });
  }

  async allowCreateBucket(pattern: string, allow: boolean): Promise<KeyInfo> {
    return this.exclusive(async () => {
      const key = await this.findKey(pattern);
      const params = { ...key.params, allowCreateBucket: lwwUpdate(key.params.allowCreateBucket, allow, this.now()) };
      await this.insertKey({ id: key.id, params });
      return this.keyInfoOf({ id: key.id, params }, false);
    });
  }

  // ---- buckets -------------------------------------------------------------------------------

  /** A new bucket reachable by the global alias `name`; no key has any permission on it yet. */
  async createBucket(name: string): Promise<BucketInfo> {
    validateBucketName(name);
    return this.exclusive(async () => {
      const existing = await this.globalAliasTarget(name);
      if (existing !== null) throw new S3Error('BucketAlreadyExists', `a bucket named ${name} already exists (id ${existing.toString('hex')})`, { BucketName: name });
      const bucket = this.newBucket();
      const params = { ...bucket.params, globalAliases: lwwMapSet(bucket.params.globalAliases, name, true, this.now()) };
      await this.insertBucket({ id: bucket.id, params });
      await this.writeGlobalAlias(name, bucket.id);
      return this.bucketInfoOf({ id: bucket.id, params });
    });
  }

  async listBuckets(): Promise<BucketSummary[]> {
    const buckets = (await this.rangeAll(bucketSchema)).flatMap((bucket) => (bucket.state.kind === 'present' ? [bucketSummaryOf({ id: bucket.id, params: bucket.state.value })] : []));
    return buckets.sort((a, b) => compareStrings(a.globalAliases[0] ?? '\uffff', b.globalAliases[0] ?? '\uffff') || compareStrings(a.bucketId, b.bucketId));
  }

  async bucketInfo(nameOrIdPrefix: string): Promise<BucketInfo> {
    const bucket = await this.findBucket(nameOrIdPrefix);
    const info = await this.bucketInfoOf(bucket);
    // Counting needs a read quorum of the bucket's replicas: the rest of the info does not wait on it.
    const counts = this.components.countsOf ? await this.components.countsOf(bucket.id).catch(() => null) : null;
    return counts === null ? info : { ...info, counts };
  }

  /** Deletes an empty bucket, its aliases and every key's permissions on it. */
  async deleteBucket(nameOrIdPrefix: string): Promise<BucketSummary> {
    return this.exclusive(async () => {
      const bucket = await this.findBucket(nameOrIdPrefix);
      if (!(await this.components.isBucketEmpty(bucket.id))) {
        throw new S3Error('BucketNotEmpty', `bucket ${nameOrIdPrefix} is not empty: delete its objects first`, { BucketName: nameOrIdPrefix });
      }
      await this.removeBucket(bucket);
      return bucketSummaryOf(bucket);
    });
  }

  /** Adds a global alias, or with `localKey` a local alias in that key's namespace. */
  async alias(bucketNameOrId: string, name: string, options: { localKey?: string } = {}): Promise<BucketInfo> {
    validateBucketName(name);
    return this.exclusive(async () => {
      const bucket = await this.findBucket(bucketNameOrId);
      return options.localKey === undefined ? this.addGlobalAlias(bucket, name) : this.addLocalAlias(bucket, await this.findKey(options.localKey), name);
    });
  }

  /** Removes a global alias, or with `localKey` a local one; never a bucket's last alias. */
  async unalias(name: string, options: { localKey?: string } = {}): Promise<BucketInfo> {
    return this.exclusive(async () => (options.localKey === undefined ? this.removeGlobalAlias(name) : this.removeLocalAlias(await this.findKey(options.localKey), name)));
  }

  async allow(bucketNameOrId: string, keyPattern: string, flags: PermissionFlags): Promise<BucketInfo> {
    return this.changePermissions(bucketNameOrId, keyPattern, flags, (current) => ({
      read: current.read || flags.read,
      write: current.write || flags.write,
      owner: current.owner || flags.owner,
    }));
  }

  async deny(bucketNameOrId: string, keyPattern: string, flags: PermissionFlags): Promise<BucketInfo> {
    return this.changePermissions(bucketNameOrId, keyPattern, flags, (current) => ({
      read: current.read && !flags.read,
      write: current.write && !flags.write,
      owner: current.owner && !flags.owner,
    }));
  }

  // ---- the S3 gateway's hot path --------------------------------------------------------------

  /** The live key with this id, or null (unknown, malformed or deleted). */
  async getKey(accessKeyId: string): Promise<LiveKey | null> {
    if (!ACCESS_KEY_ID_PATTERN.test(accessKeyId)) return null;
    const key = await this.components.tables.get(keySchema, EMPTY, sortKeyOfKey(accessKeyId));
    return key === null || key.state.kind === 'deleted' ? null : { id: key.id, params: key.state.value };
  }

  async secretOf(accessKeyId: string): Promise<string | null> {
    return (await this.getKey(accessKeyId))?.params.secret ?? null;
  }

  /** The bucket `name` means for this key: its local alias first, then the global alias. */
  async resolveBucket(accessKeyId: string | null, name: string): Promise<Buffer | null> {
    if (name.length === 0 || Buffer.byteLength(name) > ALIAS_NAME_BYTES_MAX) return null;
    if (accessKeyId !== null) {
      const local = (await this.getKey(accessKeyId))?.params.localAliases.get(name)?.value ?? null;
      if (local !== null && (await this.getLiveBucket(local)) !== null) return local;
    }
    return this.globalAliasTarget(name);
  }

  async permissionsOf(accessKeyId: string, bucketId: Buffer): Promise<BucketPermissions> {
    const key = await this.getKey(accessKeyId);
    return key === null ? NO_PERMISSIONS : keyPermissionsOf({ id: key.id, state: present(key.params) }, bucketId);
  }

  /**
   * S3 CreateBucket. Differs from Garage on purpose: the new name is a global alias (as on AWS,
   * bucket names are one namespace), where Garage makes it a local alias of the creating key; and
   * an existing bucket answers BucketAlreadyOwnedByYou or BucketAlreadyExists (AWS outside
   * us-east-1) where Garage answers 200 to a key with write permission.
   */
  async s3CreateBucket(accessKeyId: string, name: string): Promise<void> {
    validateBucketName(name);
    return this.exclusive(async () => {
      const key = await this.getKey(accessKeyId);
      if (key === null) throw new S3Error('InvalidAccessKeyId');
      const local = key.params.localAliases.get(name)?.value ?? null;
      if (local !== null && (await this.getLiveBucket(local)) !== null) {
        throw new S3Error('BucketAlreadyOwnedByYou', undefined, { BucketName: name });
      }
      const existing = await this.globalAliasTarget(name);
      if (existing !== null) {
        const owned = keyPermissionsOf({ id: key.id, state: present(key.params) }, existing).owner;
        throw new S3Error(owned ? 'BucketAlreadyOwnedByYou' : 'BucketAlreadyExists', undefined, { BucketName: name });
      }
      if (!key.params.allowCreateBucket.value) {
        throw new S3Error('AccessDenied', `Access Denied: key ${accessKeyId} is not allowed to create buckets (grange key allow --create-bucket ${accessKeyId}).`);
      }
      const bucket = this.newBucket();
      const now = this.now();
      const params: BucketParams = {
        ...bucket.params,
        globalAliases: lwwMapSet(bucket.params.globalAliases, name, true, now),
        authorizedKeys: lwwMapSet(bucket.params.authorizedKeys, key.id, ALL_PERMISSIONS, now),
      };
      await this.insertBucket({ id: bucket.id, params });
      await this.insertKey({ id: key.id, params: { ...key.params, authorizedBuckets: lwwMapSet(key.params.authorizedBuckets, bucket.id.toString('hex'), ALL_PERMISSIONS, now) } });
      await this.writeGlobalAlias(name, bucket.id);
    });
  }

  /**
   * S3 DeleteBucket: needs the owner permission and an empty bucket; deletes the bucket with all
   * its aliases. (Garage, when the bucket has other aliases, only removes the alias the request
   * named; the gateway passes a bucket id, so here the bucket goes.)
   */
  async s3DeleteBucket(accessKeyId: string, bucketId: Buffer): Promise<void> {
    return this.exclusive(async () => {
      const key = await this.getKey(accessKeyId);
      if (key === null) throw new S3Error('InvalidAccessKeyId');
      const bucket = await this.getLiveBucket(bucketId);
      if (bucket === null) throw new S3Error('NoSuchBucket');
      if (!keyPermissionsOf({ id: key.id, state: present(key.params) }, bucketId).owner) {
        throw new S3Error('AccessDenied', `Access Denied: key ${accessKeyId} is not an owner of this bucket.`);
      }
      if (!(await this.components.isBucketEmpty(bucketId))) throw new S3Error('BucketNotEmpty');
      await this.removeBucket(bucket);
    });
  }

  /** Buckets the key has any permission on, by the names it reaches them with (ListBuckets). */
  async bucketsVisibleTo(accessKeyId: string): Promise<VisibleBucket[]> {
    const key = await this.getKey(accessKeyId);
    if (key === null) return [];
    const buckets = new Map<string, LiveBucket>();
    for (const hex of activePermissions(key.params.authorizedBuckets).keys()) {
      const bucket = await this.getLiveBucket(Buffer.from(hex, 'hex'));
      if (bucket) buckets.set(hex, bucket);
    }
    // Name -> bucket: global aliases first, then this key's local aliases, which shadow them.
    const names = new Map<string, LiveBucket>();
    for (const bucket of buckets.values()) {
      for (const name of activeFlags(bucket.params.globalAliases)) {
        const target = await this.globalAliasTarget(name);
        if (target !== null && target.equals(bucket.id)) names.set(name, bucket);
      }
    }
    for (const [name, target] of activeLocalAliases(key.params)) {
      const bucket = buckets.get(target.toString('hex'));
      if (bucket) names.set(name, bucket);
      else names.delete(name);
    }
    return [...names].map(([name, bucket]) => ({ name, bucketId: bucket.id, createdAtMs: bucket.params.createdAtMs })).sort((a, b) => compareStrings(a.name, b.name));
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** A live key by exact id, unique id prefix or exact name (as Garage's CLI). */
  private async findKey(pattern: string): Promise<LiveKey> {
    if (pattern.length === 0) throw new CatalogError('name an access key: its id, an id prefix or its name');
    const exact = await this.getKey(pattern);
    if (exact) return exact;
    const matches: LiveKey[] = [];
    for (const key of await this.rangeAll(keySchema)) {
      if (key.state.kind === 'present' && (key.id.startsWith(pattern) || key.state.value.name.value === pattern)) matches.push({ id: key.id, params: key.state.value });
    }
    if (matches.length === 0) throw new CatalogError(`no access key matches ${JSON.stringify(pattern)}: give its id, an id prefix or its exact name (see \`grange key list\`)`);
    if (matches.length > 1) {
      const listed = matches.map((key) => `${key.id} (${key.params.name.value})`).join(', ');
      throw new CatalogError(`${matches.length} access keys match ${JSON.stringify(pattern)}: ${listed}; give the full key id`);
    }
    return matches[0]!;
  }

  /** A live bucket by global alias, or by id (at least BUCKET_ID_PREFIX_LENGTH_MIN hex digits of it). */
  private async findBucket(nameOrId: string): Promise<LiveBucket> {
    if (nameOrId.length === 0) throw new CatalogError('name a bucket: one of its global aliases, or its id');
    const byAlias = await this.globalAliasTarget(nameOrId);
    if (byAlias !== null) return (await this.getLiveBucket(byAlias))!;
    const prefix = nameOrId.toLowerCase();
    if (/^[0-9a-f]+$/.test(prefix) && prefix.length >= BUCKET_ID_PREFIX_LENGTH_MIN && prefix.length <= 2 * BUCKET_ID_BYTES) {
      const matches = (await this.rangeAll(bucketSchema)).filter((bucket) => bucket.state.kind === 'present' && bucket.id.toString('hex').startsWith(prefix));
      if (matches.length === 1) return { id: matches[0]!.id, params: (matches[0]!.state as { value: BucketParams }).value };
      if (matches.length > 1) throw new CatalogError(`${matches.length} buckets have an id starting with ${prefix}: give more digits`);
    }
    throw new CatalogError(`no bucket ${JSON.stringify(nameOrId)}: give a global alias or at least ${BUCKET_ID_PREFIX_LENGTH_MIN} hex digits of its id (see \`grange bucket list\`)`);
  }

  private async getLiveBucket(bucketId: Buffer): Promise<LiveBucket | null> {
    if (bucketId.length !== BUCKET_ID_BYTES) return null;
    const bucket = await this.components.tables.get(bucketSchema, EMPTY, bucketId);
    return bucket === null || bucket.state.kind === 'deleted' ? null : { id: bucket.id, params: bucket.state.value };
  }

  /** The live bucket a global alias points to, or null. */
  private async globalAliasTarget(name: string): Promise<Buffer | null> {
    if (name.length === 0 || Buffer.byteLength(name) > ALIAS_NAME_BYTES_MAX) return null;
    const alias = await this.components.tables.get(bucketAliasSchema, EMPTY, Buffer.from(name, 'utf8'));
    const target = alias?.bucketId.value ?? null;
    return target !== null && (await this.getLiveBucket(target)) !== null ? target : null;
  }

  /** Every row of a full-copy table, page by page. */
  private async rangeAll<E>(schema: TableSchema<E>): Promise<E[]> {
    const all: E[] = [];
    let start: Buffer | null = null;
    for (;;) {
      const page: E[] = await this.components.tables.range(schema, EMPTY, { start, limit: TABLE_CLIENT_RANGE_LIMIT_MAX });
      all.push(...page);
      if (page.length < TABLE_CLIENT_RANGE_LIMIT_MAX) return all;
      start = Buffer.concat([schema.sortKey(page[page.length - 1]!), Buffer.from([0])]);
    }
  }

  // ---- alias and permission changes ------------------------------------------------------------

  private async addGlobalAlias(bucket: LiveBucket, name: string): Promise<BucketInfo> {
    const existing = await this.globalAliasTarget(name);
    if (existing !== null && !existing.equals(bucket.id)) {
      throw new CatalogError(`the global alias ${name} already points to bucket ${existing.toString('hex')}: unalias it first`);
    }
    const params = { ...bucket.params, globalAliases: lwwMapSet(bucket.params.globalAliases, name, true, this.now()) };
    await this.insertBucket({ id: bucket.id, params });
    await this.writeGlobalAlias(name, bucket.id);
    return this.bucketInfoOf({ id: bucket.id, params });
  }

  private async addLocalAlias(bucket: LiveBucket, key: LiveKey, name: string): Promise<BucketInfo> {
    const existing = key.params.localAliases.get(name)?.value ?? null;
    if (existing !== null && !existing.equals(bucket.id) && (await this.getLiveBucket(existing)) !== null) {
      throw new CatalogError(`key ${key.id} already has a local alias ${name} for bucket ${existing.toString('hex')}: unalias it first`);
    }
    const now = this.now();
    const params = { ...bucket.params, localAliases: lwwMapSet(bucket.params.localAliases, localAliasKey(key.id, name), true, now) };
    await this.insertBucket({ id: bucket.id, params });
    await this.insertKey({ id: key.id, params: { ...key.params, localAliases: lwwMapSet(key.params.localAliases, name, bucket.id, now) } });
    return this.bucketInfoOf({ id: bucket.id, params });
  }

  private async removeGlobalAlias(name: string): Promise<BucketInfo> {
    const target = await this.globalAliasTarget(name);
    if (target === null) throw new CatalogError(`no global alias ${JSON.stringify(name)} (see \`grange bucket list\`)`);
    const bucket = (await this.getLiveBucket(target))!;
    const others = activeFlags(bucket.params.globalAliases).filter((other) => other !== name).length + activeFlags(bucket.params.localAliases).length;
    if (others === 0) throw new CatalogError(`${name} is the last alias of bucket ${target.toString('hex')}: delete the bucket instead (grange bucket delete ${name} --yes), or add another alias first`);
    const params = { ...bucket.params, globalAliases: lwwMapSet(bucket.params.globalAliases, name, false, this.now()) };
    await this.writeGlobalAlias(name, null);
    await this.insertBucket({ id: bucket.id, params });
    return this.bucketInfoOf({ id: bucket.id, params });
  }

  private async removeLocalAlias(key: LiveKey, name: string): Promise<BucketInfo> {
    const target = key.params.localAliases.get(name)?.value ?? null;
    const bucket = target === null ? null : await this.getLiveBucket(target);
    if (bucket === null) throw new CatalogError(`key ${key.id} has no local alias ${JSON.stringify(name)} (see \`grange key info ${key.id}\`)`);
    const aliasKey = localAliasKey(key.id, name);
    const others = activeFlags(bucket.params.globalAliases).length + activeFlags(bucket.params.localAliases).filter((other) => other !== aliasKey).length;
    if (others === 0) throw new CatalogError(`${name} is the last alias of bucket ${bucket.id.toString('hex')}: delete the bucket instead, or add another alias first`);
    const now = this.now();
    await this.insertKey({ id: key.id, params: { ...key.params, localAliases: lwwMapSet(key.params.localAliases, name, null, now) } });
    const params = { ...bucket.params, localAliases: lwwMapSet(bucket.params.localAliases, aliasKey, false, now) };
    await this.insertBucket({ id: bucket.id, params });
    return this.bucketInfoOf({ id: bucket.id, params });
  }

  private async changePermissions(bucketNameOrId: string, keyPattern: string, flags: PermissionFlags, change: (current: BucketPermissions) => BucketPermissions): Promise<BucketInfo> {
    if (!hasAnyPermission(flags)) throw new CatalogError('name at least one permission: --read, --write or --owner');
    return this.exclusive(async () => {
      const bucket = await this.findBucket(bucketNameOrId);
      const key = await this.findKey(keyPattern);
      const current = keyPermissionsOf({ id: key.id, state: present(key.params) }, bucket.id);
      const next = change(current);
      const now = this.now();
      const params = { ...bucket.params, authorizedKeys: lwwMapSet(bucket.params.authorizedKeys, key.id, next, now) };
      await this.insertBucket({ id: bucket.id, params });
      await this.insertKey({ id: key.id, params: { ...key.params, authorizedBuckets: lwwMapSet(key.params.authorizedBuckets, bucket.id.toString('hex'), next, now) } });
      return this.bucketInfoOf({ id: bucket.id, params });
    });
  }

  /** Removes the bucket's aliases (global and local) and every key's permissions, then the bucket. */
  private async removeBucket(bucket: LiveBucket): Promise<void> {
    for (const name of activeFlags(bucket.params.globalAliases)) {
      const alias = await this.components.tables.get(bucketAliasSchema, EMPTY, Buffer.from(name, 'utf8'));
      if (alias?.bucketId.value?.equals(bucket.id)) await this.writeGlobalAlias(name, null);
    }
    const keyIds = new Set([...activePermissions(bucket.params.authorizedKeys).keys(), ...activeFlags(bucket.params.localAliases).map((aliasKey) => splitLocalAliasKey(aliasKey).accessKeyId)]);
    const hex = bucket.id.toString('hex');
    for (const keyId of keyIds) {
      const key = await this.getKey(keyId);
      if (!key) continue;
      const now = this.now();
      let params = key.params;
      if (params.authorizedBuckets.has(hex)) params = { ...params, authorizedBuckets: lwwMapSet(params.authorizedBuckets, hex, NO_PERMISSIONS, now) };
      for (const [name, target] of activeLocalAliases(key.params)) {
        if (target.equals(bucket.id)) params = { ...params, localAliases: lwwMapSet(params.localAliases, name, null, now) };
      }
      await this.insertKey({ id: key.id, params });
    }
    await this.components.tables.insert(bucketSchema, [{ id: bucket.id, state: DELETED }]);
  }

  private async writeGlobalAlias(name: string, bucketId: Buffer | null): Promise<void> {
    const current = await this.components.tables.get(bucketAliasSchema, EMPTY, Buffer.from(name, 'utf8'));
    const register = current === null ? lwwNew(bucketId, this.now()) : lwwUpdate(current.bucketId, bucketId, this.now());
    const entry: BucketAlias = { name, bucketId: register };
    await this.components.tables.insert(bucketAliasSchema, [entry]);
  }

  // ---- rows and views --------------------------------------------------------------------------

  private newKeyParams(secret: string, name: string): KeyParams {
    const now = this.now();
    return { secret, name: lwwNew(name, now), allowCreateBucket: lwwNew(false, now), localAliases: new Map(), authorizedBuckets: new Map() };
  }

  private newBucket(): LiveBucket {
    const id = this.components.randomBytes(BUCKET_ID_BYTES);
    return { id, params: { createdAtMs: this.now(), globalAliases: new Map(), localAliases: new Map(), authorizedKeys: new Map() } };
  }

  private insertKey(key: LiveKey): Promise<void> {
    const entry: AccessKey = { id: key.id, state: present(key.params) };
    return this.components.tables.insert(keySchema, [entry]);
  }

  private insertBucket(bucket: LiveBucket): Promise<void> {
    const entry: Bucket = { id: bucket.id, state: present(bucket.params) };
    return this.components.tables.insert(bucketSchema, [entry]);
  }

  private async keyInfoOf(key: LiveKey, showSecret: boolean): Promise<KeyInfo> {
    const permissions = activePermissions(key.params.authorizedBuckets);
    const localByBucket = new Map<string, string[]>();
    for (const [name, target] of activeLocalAliases(key.params)) {
      const hex = target.toString('hex');
      localByBucket.set(hex, [...(localByBucket.get(hex) ?? []), name]);
    }
    const buckets: KeyBucketView[] = [];
    for (const hex of new Set([...permissions.keys(), ...localByBucket.keys()])) {
      const bucket = await this.getLiveBucket(Buffer.from(hex, 'hex'));
      if (!bucket) continue;
      buckets.push({ bucketId: hex, globalAliases: activeFlags(bucket.params.globalAliases), localAliases: (localByBucket.get(hex) ?? []).sort(compareStrings), permissions: permissions.get(hex) ?? NO_PERMISSIONS });
    }
    buckets.sort((a, b) => compareStrings(a.globalAliases[0] ?? a.localAliases[0] ?? '', b.globalAliases[0] ?? b.localAliases[0] ?? '') || compareStrings(a.bucketId, b.bucketId));
    return {
      accessKeyId: key.id,
      name: key.params.name.value,
      secretAccessKey: showSecret ? key.params.secret : null,
      allowCreateBucket: key.params.allowCreateBucket.value,
      buckets,
    };
  }

  private async bucketInfoOf(bucket: LiveBucket): Promise<BucketInfo> {
    const keys: BucketKeyView[] = [];
    for (const [accessKeyId, permissions] of activePermissions(bucket.params.authorizedKeys)) {
      const key = await this.getKey(accessKeyId);
      if (key) keys.push({ accessKeyId, name: key.params.name.value, permissions });
    }
    return { ...bucketSummaryOf(bucket), keys: keys.sort((a, b) => compareStrings(a.accessKeyId, b.accessKeyId)) };
  }

  private now(): number {
    return this.components.nowMs();
  }

  /** Runs mutating operations one after the other (see the invariant at the top). */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** The slice the S3 gateway uses (src/actors/api/s3/services.ts), over a catalog. */
export function s3CatalogOf(catalog: Catalog): S3Catalog {
  return {
    secretOf: (accessKeyId) => catalog.secretOf(accessKeyId),
    resolveBucket: (accessKeyId, name) => catalog.resolveBucket(accessKeyId, name),
    permissionsOf: (accessKeyId, bucketId) => catalog.permissionsOf(accessKeyId, bucketId),
    createBucket: (accessKeyId, name) => catalog.s3CreateBucket(accessKeyId, name),
    deleteBucket: (accessKeyId, bucketId) => catalog.s3DeleteBucket(accessKeyId, bucketId),
    bucketsVisibleTo: (accessKeyId) => catalog.bucketsVisibleTo(accessKeyId),
  };
}

function checkKeyName(name: string): void {
  if (name.length === 0 || name.length > KEY_NAME_LENGTH_MAX) throw new CatalogError(`a key name must be 1 to ${KEY_NAME_LENGTH_MAX} characters long`);
}

function sortKeyOfKey(accessKeyId: string): Buffer {
  return Buffer.from(accessKeyId, 'utf8');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Keys of an LWW map of flags whose value is true, sorted. */
function activeFlags(map: LwwMap<boolean>): string[] {
  return [...map].filter(([, register]) => register.value).map(([key]) => key).sort(compareStrings);
}

function activePermissions(map: LwwMap<BucketPermissions>): Map<string, BucketPermissions> {
  return new Map([...map].filter(([, register]) => hasAnyPermission(register.value)).map(([key, register]) => [key, register.value]));
}

function activeLocalAliases(params: KeyParams): [string, Buffer][] {
  return [...params.localAliases].flatMap(([name, register]) => (register.value === null ? [] : [[name, register.value] as [string, Buffer]]));
}

function bucketSummaryOf(bucket: LiveBucket): BucketSummary {
  return {
    bucketId: bucket.id.toString('hex'),
    createdAtMs: bucket.params.createdAtMs,
    globalAliases: activeFlags(bucket.params.globalAliases),
    localAliases: activeFlags(bucket.params.localAliases).map(splitLocalAliasKey),
  };
}
