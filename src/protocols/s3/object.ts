// The object table (Garage's object_table.rs in spirit): one row per (bucket, object key), holding
// the versions of that key a replica knows. A version is uploading (a PUT or a multipart upload in
// progress), complete (inline bytes, a list of blocks in the version table, or a delete marker) or
// aborted. The newest complete version is the object's content; every version older than it is
// superseded and dropped by the merge, and the `updated` hook cascades that drop to the version
// table, which cascades to block_ref, which lowers block refcounts.
//
// Merge and the merge laws. Versions are a union by uuid; one uuid's copies merge their timestamp
// (the maximum: replicas raise a new version's timestamp above what they hold, DESIGN.md section 5)
// and their state (uploading < complete < aborted; two completes: the larger canonical bytes).
// Then every version older than the newest complete one is dropped. The union and the per-uuid
// merge form a join-semilattice; the drop keeps the laws exactly as long as (1) all copies of a
// uuid carry one timestamp and (2) a version complete on one replica is never aborted on another:
// then "v is older than a complete version" stays true in every later merge, and dropping v early
// or late gives the same result. The S3 paths keep both nearly always: the coordinator writes the
// final timestamp back before the version moves on, and only uploads in progress are aborted.
// When they do not (a straggler raising its copy's timestamp, an abort racing a completion) the
// merge is still commutative and idempotent and replicas still converge (once two replicas have
// exchanged entries they hold the same merge), but what they converge to may depend on the order:
// a version one order dropped and another kept (an upload left listed until a newer complete
// version supersedes it, an older version back after an abort raced its successor's completion).
// Garage has the same limit. The
// tests check all three laws on histories keeping (1) and (2), and commutativity on any entries.
import { compareValues } from '../table/crdt';
import type { WireValue } from '../table/encoding';
import type { TableEffects, TableSchema } from '../table/schema';
import { VERSION_BLOCK_HASH_BYTES, VERSION_BUCKET_ID_BYTES, VERSION_UUID_BYTES, versionSchema } from './version';
import { MULTIPART_TABLE, multipartUploadSchema } from './multipart';

// ---- limits -----------------------------------------------------------------------------------

/** AWS: an object key is at most 1024 bytes of UTF-8. */
export const OBJECT_KEY_BYTES_MAX = 1024;
/** Objects under 3 KiB are stored inline in the object entry (one quorum write in all). */
export const INLINE_BYTES_MAX = 3072;
const BUCKET_ID_BYTES = VERSION_BUCKET_ID_BYTES;
const BLOCK_HASH_BYTES = VERSION_BLOCK_HASH_BYTES;
/** Versions one entry may hold: the current one plus uploads in progress on the same key. */
export const OBJECT_VERSIONS_MAX = 1024;
/** Stored headers of one version, all names and values together (AWS: user metadata <= 2 KiB). */
export const OBJECT_HEADERS_BYTES_MAX = 8192;
export const OBJECT_HEADERS_COUNT_MAX = 128;
/** AWS: an object is at most 5 TiB. */
export const OBJECT_SIZE_MAX = 5 * 1024 ** 4;
/** A multipart ETag is 32 hex digits, '-', and a part count; quotes included if stored with them. */
export const ETAG_LENGTH_MAX = 64;
/** Base64 of a SHA-256 is 44 characters; a composite (multipart) checksum adds '-' and a count. */
export const CHECKSUM_BASE64_LENGTH_MAX = 64;

// ---- types ------------------------------------------------------------------------------------

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256';
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'SHA1', 'SHA256'];

export interface ObjectMeta {
  size: number;
  etag: string;
  /** Lowercase names (see STORED_HEADER_NAMES, x-amz-meta-*), sorted by name, names unique. */
  headers: [string, string][];
  checksum: { algorithm: ChecksumAlgorithm; base64: string } | null;
}

export type ObjectVersionData =
  | { kind: 'deleteMarker' }
  | { kind: 'inline'; meta: ObjectMeta; bytes: Buffer }
  | { kind: 'blocks'; meta: ObjectMeta; firstBlock: Buffer };

export type ObjectVersionState =
  | { kind: 'uploading'; multipart: boolean; headers: [string, string][] }
  | { kind: 'complete'; data: ObjectVersionData }
  | { kind: 'aborted' };

export interface ObjectVersion {
  uuid: Buffer;
  /** Milliseconds since the epoch, an integer. */
  timestamp: number;
  state: ObjectVersionState;
}

export interface S3Object {
  bucketId: Buffer;
  key: string;
  /** Sorted by (timestamp, uuid) ascending; uuids unique. */
  versions: ObjectVersion[];
}

/** Headers stored with an object and returned by GET/HEAD, besides `x-amz-meta-*`. */
export const STORED_HEADER_NAMES: readonly string[] = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-type',
  'expires',
];
const USER_METADATA_PREFIX = 'x-amz-meta-';

/** Whether a lowercase header name is one an object stores. */
export function isStoredHeader(name: string): boolean {
  return STORED_HEADER_NAMES.includes(name) || (name.startsWith(USER_METADATA_PREFIX) && name.length > USER_METADATA_PREFIX.length);
}

/**
 * Headers in their stored form: names lowercased, sorted by name (UTF-16 order, the same on every
 * node), repeated names joined with ',' in the order given (as HTTP combines repeated fields).
 */
export function canonicalHeaders(headers: readonly (readonly [string, string])[]): [string, string][] {
  const byName = new Map<string, string>();
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    const seen = byName.get(lower);
    byName.set(lower, seen === undefined ? value : `${seen},${value}`);
  }
  return [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---- queries ----------------------------------------------------------------------------------

/** The newest complete version (it may be a delete marker), or null. */
export function lastCompleteVersion(object: S3Object): ObjectVersion | null {
  for (let index = object.versions.length - 1; index >= 0; index -= 1) {
    const version = object.versions[index]!;
    if (version.state.kind === 'complete') return version;
  }
  return null;
}

/** The version a GET serves: the newest complete one, unless there is none or it is a delete marker. */
export function currentVersion(object: S3Object): ObjectVersion | null {
  const version = lastCompleteVersion(object);
  if (version === null || version.state.kind !== 'complete' || version.state.data.kind === 'deleteMarker') return null;
  return version;
}

/** A timestamp for a new version that sorts after every version of `object` this node has seen. */
export function nextTimestamp(object: S3Object | null, nowMs: number): number {
  const newest = object === null || object.versions.length === 0 ? null : object.versions[object.versions.length - 1]!;
  return newest === null ? nowMs : Math.max(nowMs, newest.timestamp + 1);
}

// ---- merge ------------------------------------------------------------------------------------

export function compareVersions(a: ObjectVersion, b: ObjectVersion): number {
  return a.timestamp - b.timestamp || Buffer.compare(a.uuid, b.uuid);
}

const STATE_RANK: Record<ObjectVersionState['kind'], number> = { uploading: 0, complete: 1, aborted: 2 };

const stateCodec = {
  toWire: (state: ObjectVersionState): WireValue => stateToWire(state),
  fromWire: (raw: unknown): ObjectVersionState => stateFromWire(raw),
};

/** One uuid's two states: aborted wins, then complete; equal kinds pick the larger bytes. */
function mergeState(a: ObjectVersionState, b: ObjectVersionState): ObjectVersionState {
  const rank = STATE_RANK[a.kind] - STATE_RANK[b.kind];
  if (rank !== 0) return rank > 0 ? a : b;
  return compareValues(stateCodec, a, b) >= 0 ? a : b;
}

/** Drops every version older than the newest complete one: it supersedes them. */
function dropSuperseded(versions: ObjectVersion[]): ObjectVersion[] {
  for (let index = versions.length - 1; index >= 0; index -= 1) {
    if (versions[index]!.state.kind === 'complete') return versions.slice(index);
  }
  return versions;
}

export function mergeObjects(a: S3Object, b: S3Object): S3Object {
  const byUuid = new Map<string, ObjectVersion>();
  for (const version of [...a.versions, ...b.versions]) {
    const id = version.uuid.toString('hex');
    const seen = byUuid.get(id);
    byUuid.set(
      id,
      seen === undefined
        ? version
        : { uuid: seen.uuid, timestamp: Math.max(seen.timestamp, version.timestamp), state: mergeState(seen.state, version.state) },
    );
  }
  const versions = dropSuperseded([...byUuid.values()].sort(compareVersions));
  return { bucketId: a.bucketId, key: a.key, versions };
}

/** A tombstone carries nothing a reader needs: no versions, or only a complete delete marker. */
export function isObjectTombstone(object: S3Object): boolean {
  if (object.versions.length === 0) return true;
  if (object.versions.length !== 1) return false;
  const state = object.versions[0]!.state;
  return state.kind === 'complete' && state.data.kind === 'deleteMarker';
}

// ---- hook -------------------------------------------------------------------------------------

/** Whether a version may have a row in the version table (inline data and delete markers do not). */
function mayHaveVersionRow(state: ObjectVersionState): boolean {
  switch (state.kind) {
    case 'uploading':
      return true; // an upload does not yet say whether it will end inline
    case 'complete':
      return state.data.kind === 'blocks';
    case 'aborted':
      return false; // its deletion was queued when it became aborted
  }
}

/**
 * Versions of `old` that `next` dropped (superseded) or aborted lose their version row, which in
 * turn tombstones its block references. Only versions that may have a row are queued: a deletion
 * of a row that never existed would be harmless, but it would store a tombstone for nothing.
 */
/**
 * Node-local counters per bucket (key: bucket id), adjusted by the hook on every replica: all the
 * objects of a bucket live in one partition, so each replica of it counts the whole bucket.
 */
export const BUCKET_COUNTERS = { objects: 's3_bucket_objects', bytes: 's3_bucket_bytes', unfinishedUploads: 's3_bucket_uploads' } as const;

export type BucketCounts = Record<keyof typeof BUCKET_COUNTERS, number>;

/** What one object row adds to its bucket's counters. */
export function bucketCountsOf(object: S3Object | null): BucketCounts {
  const current = object === null ? null : currentVersion(object);
  const data = current?.state.kind === 'complete' ? current.state.data : null;
  return {
    objects: current === null ? 0 : 1,
    bytes: data !== null && data.kind !== 'deleteMarker' ? data.meta.size : 0,
    unfinishedUploads: object === null ? 0 : object.versions.filter((version) => version.state.kind === 'uploading' && version.state.multipart).length,
  };
}

function adjustBucketCounters(old: S3Object | null, next: S3Object, effects: TableEffects): void {
  const before = bucketCountsOf(old);
  const after = bucketCountsOf(next);
  for (const name of Object.keys(BUCKET_COUNTERS) as (keyof typeof BUCKET_COUNTERS)[]) {
    const delta = after[name] - before[name];
    if (delta !== 0) effects.adjust(BUCKET_COUNTERS[name], next.bucketId, delta);
  }
}

function onObjectUpdated(old: S3Object | null, next: S3Object, effects: TableEffects): void {
  adjustBucketCounters(old, next, effects);
  if (old === null) return;
  const nextByUuid = new Map(next.versions.map((version) => [version.uuid.toString('hex'), version]));
  for (const version of old.versions) {
    if (!mayHaveVersionRow(version.state)) continue;
    const after = nextByUuid.get(version.uuid.toString('hex'));
    if (after !== undefined && after.state.kind !== 'aborted') continue;
    effects.queue('version', versionSchema.toWire({ uuid: version.uuid, deleted: true, bucketId: next.bucketId, key: next.key, blocks: [] }));
    // A multipart upload superseded or aborted before it completed: its parts go too.
    if (version.state.kind === 'uploading' && version.state.multipart) {
      effects.queue(MULTIPART_TABLE, multipartUploadSchema.toWire({ uploadId: version.uuid, deleted: true, bucketId: next.bucketId, key: next.key, parts: [] }));
    }
  }
}

// ---- wire form --------------------------------------------------------------------------------
// Object: { b: bucketId, k: key, v: [{ u: uuid, t: timestamp, s: state }] }.
// State: { k: 'u', m: multipart, h: headers } | { k: 'c', d: data } | { k: 'a' }.
// Data: { k: 'd' } | { k: 'i', m: meta, b: bytes } | { k: 'b', m: meta, f: firstBlock }.
// Meta: { s: size, e: etag, h: [[name, value]], c: null | { a: algorithm, v: base64 } }.

function headersToWire(headers: [string, string][]): WireValue {
  return headers.map(([name, value]) => [name, value]);
}

function metaToWire(meta: ObjectMeta): WireValue {
  const checksum = meta.checksum === null ? null : { a: meta.checksum.algorithm, v: meta.checksum.base64 };
  return { s: meta.size, e: meta.etag, h: headersToWire(meta.headers), c: checksum };
}

function dataToWire(data: ObjectVersionData): WireValue {
  switch (data.kind) {
    case 'deleteMarker':
      return { k: 'd' };
    case 'inline':
      return { k: 'i', m: metaToWire(data.meta), b: data.bytes };
    case 'blocks':
      return { k: 'b', m: metaToWire(data.meta), f: data.firstBlock };
  }
}

function stateToWire(state: ObjectVersionState): WireValue {
  switch (state.kind) {
    case 'uploading':
      return { k: 'u', m: state.multipart, h: headersToWire(state.headers) };
    case 'complete':
      return { k: 'c', d: dataToWire(state.data) };
    case 'aborted':
      return { k: 'a' };
  }
}

function objectToWire(object: S3Object): WireValue {
  return {
    b: object.bucketId,
    k: object.key,
    v: object.versions.map((version) => ({ u: version.uuid, t: version.timestamp, s: stateToWire(version.state) })),
  };
}

// ---- validation -------------------------------------------------------------------------------

type WireRecord = Record<string, unknown>;

function record(raw: unknown, what: string): WireRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) throw new Error(`object: ${what} must be a map`);
  return raw as WireRecord;
}

function bytes(raw: unknown, what: string, length: number | null, lengthMax = Infinity): Buffer {
  if (!(raw instanceof Uint8Array)) throw new Error(`object: ${what} must be bytes`);
  if (length !== null && raw.length !== length) throw new Error(`object: ${what} must be ${length} bytes, got ${raw.length}`);
  if (raw.length > lengthMax) throw new Error(`object: ${what} of ${raw.length} bytes exceeds ${lengthMax}`);
  return Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

function integer(raw: unknown, what: string, max: number): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0 || raw > max) throw new Error(`object: ${what} must be an integer in 0..${max}`);
  return raw;
}

function boolean(raw: unknown, what: string): boolean {
  if (typeof raw !== 'boolean') throw new Error(`object: ${what} must be a boolean`);
  return raw;
}

/** Header values end up in responses: no CR, LF or NUL (no response splitting). */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;

function headersFromWire(raw: unknown, what: string): [string, string][] {
  if (!Array.isArray(raw) || raw.length > OBJECT_HEADERS_COUNT_MAX) throw new Error(`object: ${what} must be a list of at most ${OBJECT_HEADERS_COUNT_MAX} headers`);
  let total = 0;
  let previous: string | null = null;
  return raw.map((pair: unknown) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') throw new Error(`object: ${what} entries must be [name, value] strings`);
    const [name, value] = pair as [string, string];
    if (!HEADER_NAME.test(name) || !isStoredHeader(name)) throw new Error(`object: ${what} has a header name ${JSON.stringify(name)} an object does not store`);
    if (!HEADER_VALUE.test(value)) throw new Error(`object: ${what} value of ${name} has a control character`);
    if (previous !== null && !(previous < name)) throw new Error(`object: ${what} must be sorted by name with unique names`);
    previous = name;
    total += Buffer.byteLength(name) + Buffer.byteLength(value);
    if (total > OBJECT_HEADERS_BYTES_MAX) throw new Error(`object: ${what} exceed ${OBJECT_HEADERS_BYTES_MAX} bytes`);
    return [name, value];
  });
}

const CHECKSUM_BASE64 = /^[A-Za-z0-9+/]+={0,2}(-[0-9]{1,5})?$/;

function checksumFromWire(raw: unknown): ObjectMeta['checksum'] {
  if (raw === null) return null;
  const wire = record(raw, 'checksum');
  if (!CHECKSUM_ALGORITHMS.includes(wire.a as ChecksumAlgorithm)) throw new Error(`object: checksum algorithm must be one of ${CHECKSUM_ALGORITHMS.join(', ')}`);
  if (typeof wire.v !== 'string' || wire.v.length > CHECKSUM_BASE64_LENGTH_MAX || !CHECKSUM_BASE64.test(wire.v)) throw new Error('object: checksum value must be base64');
  return { algorithm: wire.a as ChecksumAlgorithm, base64: wire.v };
}

function metaFromWire(raw: unknown): ObjectMeta {
  const wire = record(raw, 'meta');
  if (typeof wire.e !== 'string' || wire.e.length > ETAG_LENGTH_MAX || !HEADER_VALUE.test(wire.e)) throw new Error(`object: etag must be a string of at most ${ETAG_LENGTH_MAX} characters`);
  return { size: integer(wire.s, 'size', OBJECT_SIZE_MAX), etag: wire.e, headers: headersFromWire(wire.h, 'headers'), checksum: checksumFromWire(wire.c) };
}

function dataFromWire(raw: unknown): ObjectVersionData {
  const wire = record(raw, 'data');
  switch (wire.k) {
    case 'd':
      return { kind: 'deleteMarker' };
    case 'i': {
      const meta = metaFromWire(wire.m);
      // Up to and including INLINE_BYTES_MAX: the PUT path inlines objects under it; one more byte
      // costs nothing to accept.
      const inline = bytes(wire.b, 'inline bytes', null, INLINE_BYTES_MAX);
      if (inline.length !== meta.size) throw new Error(`object: inline bytes (${inline.length}) differ from size ${meta.size}`);
      return { kind: 'inline', meta, bytes: inline };
    }
    case 'b':
      return { kind: 'blocks', meta: metaFromWire(wire.m), firstBlock: bytes(wire.f, 'first block hash', BLOCK_HASH_BYTES) };
    default:
      throw new Error(`object: unknown data kind ${JSON.stringify(wire.k)}`);
  }
}

function stateFromWire(raw: unknown): ObjectVersionState {
  const wire = record(raw, 'state');
  switch (wire.k) {
    case 'u':
      return { kind: 'uploading', multipart: boolean(wire.m, 'multipart'), headers: headersFromWire(wire.h, 'upload headers') };
    case 'c':
      return { kind: 'complete', data: dataFromWire(wire.d) };
    case 'a':
      return { kind: 'aborted' };
    default:
      throw new Error(`object: unknown state kind ${JSON.stringify(wire.k)}`);
  }
}

function versionFromWire(raw: unknown): ObjectVersion {
  const wire = record(raw, 'version');
  return { uuid: bytes(wire.u, 'version uuid', VERSION_UUID_BYTES), timestamp: integer(wire.t, 'timestamp', Number.MAX_SAFE_INTEGER), state: stateFromWire(wire.s) };
}

function objectFromWire(raw: unknown): S3Object {
  const wire = record(raw, 'entry');
  const bucketId = bytes(wire.b, 'bucket id', BUCKET_ID_BYTES);
  if (typeof wire.k !== 'string' || Buffer.byteLength(wire.k) > OBJECT_KEY_BYTES_MAX) throw new Error(`object: key must be a string of at most ${OBJECT_KEY_BYTES_MAX} bytes`);
  // A lone surrogate would not survive UTF-8: the sort key would not name this key.
  if (Buffer.from(wire.k, 'utf8').toString('utf8') !== wire.k) throw new Error('object: key must be well-formed Unicode');
  if (!Array.isArray(wire.v) || wire.v.length > OBJECT_VERSIONS_MAX) throw new Error(`object: versions must be a list of at most ${OBJECT_VERSIONS_MAX}`);
  const versions = wire.v.map(versionFromWire);
  const uuids = new Set<string>();
  versions.forEach((version, index) => {
    if (index > 0 && compareVersions(versions[index - 1]!, version) >= 0) throw new Error('object: versions must be sorted by (timestamp, uuid)');
    const id = version.uuid.toString('hex');
    if (uuids.has(id)) throw new Error('object: a version uuid appears twice');
    uuids.add(id);
  });
  return { bucketId, key: wire.k, versions };
}

// ---- schema -----------------------------------------------------------------------------------

export const objectSchema: TableSchema<S3Object> = {
  name: 'object',
  replication: 'sharded',
  partitionKey: (object) => object.bucketId,
  sortKey: (object) => Buffer.from(object.key, 'utf8'),
  merge: mergeObjects,
  isTombstone: isObjectTombstone,
  toWire: objectToWire,
  fromWire: objectFromWire,
  updated: onObjectUpdated,
};
