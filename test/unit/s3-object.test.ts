// The object and version tables: merge laws on seeded random entries, canonical encoding, strict
// decoding, the cascading `updated` hooks, and the version queries the S3 paths use.
import { decodeEntry, encodeEntry, initHashing, planUpdate, schemaRegistry } from '../../src/protocols/table';
import type { TableEffects, TableSchema } from '../../src/protocols/table/schema';
import { BLOCK_REFCOUNT_COUNTER, blockRefSchema } from '../../src/protocols/block/block-ref';
import {
  canonicalHeaders,
  currentVersion,
  INLINE_BYTES_MAX,
  lastCompleteVersion,
  nextTimestamp,
  OBJECT_KEY_BYTES_MAX,
  objectSchema,
  type ObjectMeta,
  type ObjectVersion,
  type ObjectVersionData,
  type ObjectVersionState,
  type S3Object,
} from '../../src/protocols/s3/object';
import { versionSchema, type S3Version, type VersionBlock } from '../../src/protocols/s3/version';
import { seededRandom } from '../harness/prng';

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, below: number): number => Math.floor(random() * below);

const bucketId = Buffer.alloc(32, 7);
const key = 'photos/été.jpg';
const uuid = (n: number): Buffer => Buffer.alloc(16, n);
const hash = (n: number): Buffer => Buffer.alloc(32, n);

function meta(size: number, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { size, etag: `etag-${size}`, headers: [['content-type', 'text/plain']], checksum: null, ...extra };
}
const inline = (text: string): ObjectVersionData => ({ kind: 'inline', meta: meta(Buffer.byteLength(text)), bytes: Buffer.from(text) });
const blocks = (n: number): ObjectVersionData => ({ kind: 'blocks', meta: meta(1_000_000 + n, { checksum: { algorithm: 'SHA256', base64: Buffer.alloc(32, n).toString('base64') } }), firstBlock: hash(n) });
const deleteMarker: ObjectVersionData = { kind: 'deleteMarker' };
const complete = (data: ObjectVersionData): ObjectVersionState => ({ kind: 'complete', data });
const uploading: ObjectVersionState = { kind: 'uploading', multipart: false, headers: [['content-type', 'image/jpeg'], ['x-amz-meta-a', '1']] };
const aborted: ObjectVersionState = { kind: 'aborted' };
const version = (n: number, timestamp: number, state: ObjectVersionState): ObjectVersion => ({ uuid: uuid(n), timestamp, state });
const object = (...versions: ObjectVersion[]): S3Object => ({ bucketId, key, versions });
/** An entry as the merge leaves it (sorted, superseded versions dropped). */
const normalized = (entry: S3Object): S3Object => objectSchema.merge(object(), entry);

function hex<E>(schema: TableSchema<E>, entry: E): string {
  return encodeEntry(schema, entry).toString('hex');
}

function recordEffects(): TableEffects & { queued: { table: string; entry: unknown }[]; adjusted: unknown[] } {
  const queued: { table: string; entry: unknown }[] = [];
  const adjusted: unknown[] = [];
  return { queued, adjusted, queue: (table, entry) => queued.push({ table, entry }), adjust: (...args) => adjusted.push(args) };
}

function checkLaws<E>(schema: TableSchema<E>, generate: (random: Random) => E, seed: number, runs = 400): void {
  const random = seededRandom(seed);
  for (let run = 0; run < runs; run += 1) {
    const [a, b, c] = [generate(random), generate(random), generate(random)];
    expect(hex(schema, schema.merge(a, b))).toBe(hex(schema, schema.merge(b, a)));
    expect(hex(schema, schema.merge(schema.merge(a, b), c))).toBe(hex(schema, schema.merge(a, schema.merge(b, c))));
    expect(hex(schema, schema.merge(a, a))).toBe(hex(schema, a));
    // Deterministic encoding: what a peer decodes re-encodes to the same bytes.
    expect(hex(schema, decodeEntry(schema, encodeEntry(schema, a)))).toBe(hex(schema, a));
  }
}

// ---- generators -------------------------------------------------------------------------------

// A universe of versions, each with one timestamp and one fate (the S3 paths' invariants: a uuid's
// timestamp is fixed once complete, and a complete version is never aborted). A replica's entry
// holds some of them, each at some point of its history.
const FATES: { timestamp: number; final: ObjectVersionState }[] = [
  { timestamp: 10, final: complete(inline('one')) },
  { timestamp: 20, final: complete(blocks(2)) },
  { timestamp: 20, final: aborted },
  { timestamp: 30, final: complete(deleteMarker) },
  { timestamp: 40, final: aborted },
  { timestamp: 50, final: complete(blocks(5)) },
  { timestamp: 60, final: complete(inline('six')) },
];

function genRealistic(random: Random): S3Object {
  const versions: ObjectVersion[] = [];
  FATES.forEach((fate, index) => {
    if (random() < 0.5) versions.push(version(index + 1, fate.timestamp, random() < 0.4 ? uploading : fate.final));
  });
  return normalized(object(...versions.sort((a, b) => a.timestamp - b.timestamp || Buffer.compare(a.uuid, b.uuid))));
}

const STATES: ObjectVersionState[] = [uploading, { ...uploading, multipart: true }, complete(inline('a')), complete(inline('b')), complete(blocks(1)), complete(deleteMarker), aborted];

/** Anything goes: copies of a uuid disagree on timestamp, completes race aborts. */
function genAnything(random: Random): S3Object {
  const versions = new Map<number, ObjectVersion>();
  for (let count = int(random, 5); count > 0; count -= 1) {
    const n = 1 + int(random, 5);
    versions.set(n, version(n, int(random, 6), pick(random, STATES)));
  }
  return normalized(object(...versions.values()));
}

function genVersionRow(random: Random): S3Version {
  if (random() < 0.25) return { uuid: uuid(1), deleted: true, bucketId, key, blocks: [] };
  const byPosition = new Map<string, VersionBlock>();
  for (let count = int(random, 5); count > 0; count -= 1) {
    const block = { part: int(random, 3), offset: int(random, 3) * 1024, hash: hash(int(random, 3)), size: 1 + int(random, 2) };
    byPosition.set(`${block.part}:${block.offset}`, block);
  }
  const sorted = [...byPosition.values()].sort((a, b) => a.part - b.part || a.offset - b.offset);
  return { uuid: uuid(1), deleted: false, bucketId, key, blocks: sorted };
}

// ---- object table -----------------------------------------------------------------------------

describe('object merge', () => {
  it('is commutative, associative and idempotent on realistic histories', () => {
    checkLaws(objectSchema, genRealistic, 1);
  });

  it('is commutative and idempotent on any entries, and converges', () => {
    const random = seededRandom(2);
    for (let run = 0; run < 400; run += 1) {
      const [a, b] = [genAnything(random), genAnything(random)];
      expect(hex(objectSchema, objectSchema.merge(a, b))).toBe(hex(objectSchema, objectSchema.merge(b, a)));
      expect(hex(objectSchema, objectSchema.merge(a, a))).toBe(hex(objectSchema, a));
      const merged = objectSchema.merge(a, b);
      expect(hex(objectSchema, objectSchema.merge(merged, a))).toBe(hex(objectSchema, merged));
    }
  });

  it('drops versions older than the newest complete one, and keeps newer uploads', () => {
    const merged = objectSchema.merge(object(version(1, 10, complete(inline('old'))), version(3, 30, uploading)), object(version(2, 20, complete(blocks(2)))));
    expect(merged.versions.map((v) => v.uuid[0])).toEqual([2, 3]);
    expect(currentVersion(merged)?.uuid).toEqual(uuid(2));
  });

  it('merges one uuid: aborted over complete over uploading, the larger timestamp', () => {
    expect(objectSchema.merge(object(version(1, 10, uploading)), object(version(1, 12, complete(inline('x'))))).versions).toEqual([version(1, 12, complete(inline('x')))]);
    expect(objectSchema.merge(object(version(1, 10, complete(inline('x')))), object(version(1, 10, aborted))).versions).toEqual([version(1, 10, aborted)]);
    expect(objectSchema.merge(object(version(1, 10, uploading)), object(version(1, 10, aborted))).versions).toEqual([version(1, 10, aborted)]);
    // Two completes of one uuid (never made by a correct writer): the same pick in both orders.
    const a = object(version(1, 10, complete(inline('a'))));
    const b = object(version(1, 10, complete(inline('b'))));
    expect(hex(objectSchema, objectSchema.merge(a, b))).toBe(hex(objectSchema, objectSchema.merge(b, a)));
  });

  it('is a tombstone only when a delete marker is all that is left', () => {
    expect(objectSchema.isTombstone(object(version(1, 10, complete(deleteMarker))))).toBe(true);
    expect(objectSchema.isTombstone(object())).toBe(true);
    expect(objectSchema.isTombstone(object(version(1, 10, complete(deleteMarker)), version(2, 20, uploading)))).toBe(false);
    expect(objectSchema.isTombstone(object(version(1, 10, complete(inline('x')))))).toBe(false);
    expect(objectSchema.isTombstone(object(version(1, 10, aborted)))).toBe(false);
  });
});

describe('object version queries', () => {
  it('finds the current and the last complete version', () => {
    const live = object(version(1, 10, complete(inline('x'))), version(2, 20, uploading), version(3, 30, aborted));
    expect(currentVersion(live)?.uuid).toEqual(uuid(1));
    expect(lastCompleteVersion(live)?.uuid).toEqual(uuid(1));
    const deleted = object(version(1, 10, complete(deleteMarker)), version(2, 20, uploading));
    expect(currentVersion(deleted)).toBeNull();
    expect(lastCompleteVersion(deleted)?.uuid).toEqual(uuid(1));
    expect(currentVersion(object(version(2, 20, uploading)))).toBeNull();
    expect(lastCompleteVersion(object())).toBeNull();
  });

  it('gives a new version a timestamp after every version seen', () => {
    expect(nextTimestamp(null, 1_000)).toBe(1_000);
    expect(nextTimestamp(object(), 1_000)).toBe(1_000);
    expect(nextTimestamp(object(version(1, 500, complete(inline('x')))), 1_000)).toBe(1_000);
    // A clock behind the newest version (skew): one past it, even past an upload or an abort.
    expect(nextTimestamp(object(version(1, 5_000, complete(inline('x')))), 1_000)).toBe(5_001);
    expect(nextTimestamp(object(version(1, 500, complete(inline('x'))), version(2, 7_000, aborted)), 1_000)).toBe(7_001);
    expect(nextTimestamp(object(version(1, 1_000, uploading)), 1_000)).toBe(1_001);
  });

  it('puts headers in their stored form', () => {
    expect(canonicalHeaders([['X-Amz-Meta-B', '2'], ['Content-Type', 'a/b'], ['x-amz-meta-b', '3']])).toEqual([
      ['content-type', 'a/b'],
      ['x-amz-meta-b', '2,3'],
    ]);
  });
});

describe('object encoding', () => {
  it('round-trips every state and data kind', () => {
    const entry = object(
      version(1, 10, complete(blocks(1))),
      version(2, 20, { kind: 'uploading', multipart: true, headers: [] }),
      version(3, 30, aborted),
      version(4, 40, complete(inline(''))),
      version(5, 50, complete(deleteMarker)),
    );
    const decoded = decodeEntry(objectSchema, encodeEntry(objectSchema, entry));
    expect(decoded).toEqual(entry);
    expect(encodeEntry(objectSchema, decoded).equals(encodeEntry(objectSchema, entry))).toBe(true);
    const big = object(version(1, 10, complete({ kind: 'inline', meta: meta(INLINE_BYTES_MAX), bytes: Buffer.alloc(INLINE_BYTES_MAX) })));
    expect(decodeEntry(objectSchema, encodeEntry(objectSchema, big))).toEqual(big);
  });

  it('keys the row by bucket and UTF-8 key bytes', () => {
    expect(objectSchema.partitionKey(object())).toBe(bucketId);
    expect(objectSchema.sortKey(object()).equals(Buffer.from(key, 'utf8'))).toBe(true);
  });

  const good = objectSchema.toWire(object(version(1, 10, complete(inline('x'))))) as { b: Buffer; k: string; v: Record<string, unknown>[] };
  const withVersion = (patch: Record<string, unknown>): unknown => ({ ...good, v: [{ ...good.v[0], ...patch }] });
  const withMeta = (patch: Record<string, unknown>): unknown => {
    const state = good.v[0]!.s as { k: string; d: { k: string; m: Record<string, unknown>; b: Buffer } };
    return withVersion({ s: { ...state, d: { ...state.d, m: { ...state.d.m, ...patch } } } });
  };
  const rejected: [string, unknown, RegExp][] = [
    ['not a map', [1, 2], /map/],
    ['a short bucket id', { ...good, b: Buffer.alloc(31) }, /bucket id/],
    ['a key too long', { ...good, k: 'k'.repeat(OBJECT_KEY_BYTES_MAX + 1) }, /key/],
    ['a lone surrogate in the key', { ...good, k: 'a\uD800' }, /well-formed/],
    ['a short uuid', withVersion({ u: Buffer.alloc(15) }), /uuid/],
    ['a fractional timestamp', withVersion({ t: 1.5 }), /timestamp/],
    ['a negative timestamp', withVersion({ t: -1 }), /timestamp/],
    ['an unknown state', withVersion({ s: { k: 'x' } }), /state kind/],
    ['a non-boolean multipart flag', withVersion({ s: { k: 'u', m: 1, h: [] } }), /multipart/],
    ['unsorted versions', { ...good, v: [{ ...good.v[0], t: 20 }, { ...good.v[0], u: uuid(2), t: 10 }] }, /sorted/],
    ['a uuid twice', { ...good, v: [good.v[0], { ...good.v[0], t: 20 }] }, /twice/],
    ['inline bytes not matching the size', withMeta({ s: 2 }), /size/],
    ['a header name objects do not store', withMeta({ h: [['authorization', 'x']] }), /header name/],
    ['an upper-case header name', withMeta({ h: [['Content-Type', 'x']] }), /header name/],
    ['a header value with a line break', withMeta({ h: [['content-type', 'a\r\nx-evil: 1']] }), /control/],
    ['unsorted headers', withMeta({ h: [['x-amz-meta-b', '1'], ['x-amz-meta-a', '1']] }), /sorted/],
    ['a repeated header', withMeta({ h: [['x-amz-meta-a', '1'], ['x-amz-meta-a', '2']] }), /unique/],
    ['an unknown checksum algorithm', withMeta({ c: { a: 'MD5', v: 'AAAA' } }), /algorithm/],
    ['a checksum that is not base64', withMeta({ c: { a: 'CRC32', v: 'not base64!' } }), /base64/],
    ['a negative size', withMeta({ s: -1 }), /size/],
  ];
  it.each(rejected)('rejects %s', (_what, wire, message) => {
    expect(() => objectSchema.fromWire(wire)).toThrow(message);
  });

  it('rejects inline bytes over the inline limit and a short first block hash', () => {
    const tooBig = objectSchema.toWire(object(version(1, 10, complete({ kind: 'inline', meta: meta(INLINE_BYTES_MAX + 1), bytes: Buffer.alloc(INLINE_BYTES_MAX + 1) }))));
    expect(() => objectSchema.fromWire(tooBig)).toThrow(/inline bytes/);
    const shortHash = objectSchema.toWire(object(version(1, 10, complete({ kind: 'blocks', meta: meta(5000), firstBlock: Buffer.alloc(8) }))));
    expect(() => objectSchema.fromWire(shortHash)).toThrow(/first block/);
  });
});

describe('object updated hook', () => {
  const deletion = (n: number): { table: string; entry: unknown } => ({
    table: 'version',
    entry: versionSchema.toWire({ uuid: uuid(n), deleted: true, bucketId, key, blocks: [] }),
  });
  function queuedBy(old: S3Object | null, incoming: S3Object): unknown[] {
    const effects = recordEffects();
    const next = old === null ? incoming : objectSchema.merge(old, incoming);
    objectSchema.updated!(old, next, effects);
    return effects.queued;
  }

  it('deletes the version row of a superseded block version', () => {
    expect(queuedBy(object(version(1, 10, complete(blocks(1)))), object(version(2, 20, complete(inline('new')))))).toEqual([deletion(1)]);
    // A delete marker supersedes it just the same.
    expect(queuedBy(object(version(1, 10, complete(blocks(1)))), object(version(2, 20, complete(deleteMarker))))).toEqual([deletion(1)]);
  });

  it('deletes the version row of an aborted or superseded upload', () => {
    expect(queuedBy(object(version(1, 10, uploading)), object(version(1, 10, aborted)))).toEqual([deletion(1)]);
    expect(queuedBy(object(version(1, 10, uploading)), object(version(2, 20, complete(inline('x')))))).toEqual([deletion(1)]);
    // A complete block version aborted by a racing abort loses its row too.
    expect(queuedBy(object(version(1, 10, complete(blocks(1)))), object(version(1, 10, aborted)))).toEqual([deletion(1)]);
  });

  it('queues nothing for versions without a row, kept versions or a new row', () => {
    expect(queuedBy(object(version(1, 10, complete(inline('x')))), object(version(2, 20, complete(inline('y')))))).toEqual([]);
    expect(queuedBy(object(version(1, 10, complete(deleteMarker))), object(version(2, 20, complete(blocks(2)))))).toEqual([]);
    expect(queuedBy(object(version(1, 10, aborted)), object(version(2, 20, complete(inline('y')))))).toEqual([]);
    expect(queuedBy(object(version(1, 10, complete(blocks(1)))), object(version(2, 20, uploading)))).toEqual([]);
    expect(queuedBy(object(version(1, 10, uploading)), object(version(1, 10, complete(blocks(1)))))).toEqual([]);
    expect(queuedBy(null, object(version(1, 10, aborted)))).toEqual([]);
  });

  it('deletes every superseded row at once, and the queued rows decode', () => {
    const old = object(version(1, 10, complete(blocks(1))), version(2, 20, uploading), version(3, 30, uploading));
    const queued = queuedBy(old, object(version(4, 40, complete(blocks(4)))));
    expect(queued).toEqual([deletion(1), deletion(2), deletion(3)]);
    for (const write of queued as { entry: unknown }[]) expect(versionSchema.isTombstone(versionSchema.fromWire(write.entry))).toBe(true);
  });
});

// ---- version table ----------------------------------------------------------------------------

describe('version table', () => {
  const row = (deleted: boolean, blockList: VersionBlock[]): S3Version => ({ uuid: uuid(9), deleted, bucketId, key, blocks: blockList });
  const block = (part: number, offset: number, n: number): VersionBlock => ({ part, offset, hash: hash(n), size: 1024 });

  it('merges by the laws', () => {
    checkLaws(versionSchema, genVersionRow, 3);
  });

  it('unions blocks by (part, offset) in order, and a deletion empties them', () => {
    const merged = versionSchema.merge(row(false, [block(1, 0, 1), block(2, 0, 3)]), row(false, [block(1, 1024, 2), block(1, 0, 1)]));
    expect(merged.blocks).toEqual([block(1, 0, 1), block(1, 1024, 2), block(2, 0, 3)]);
    expect(versionSchema.merge(row(false, [block(1, 0, 5)]), row(false, [block(1, 0, 4)])).blocks).toEqual([block(1, 0, 5)]);
    const deleted = versionSchema.merge(merged, row(true, []));
    expect(deleted).toEqual(row(true, []));
    expect(versionSchema.isTombstone(deleted)).toBe(true);
    expect(versionSchema.isTombstone(merged)).toBe(false);
    expect(versionSchema.partitionKey(merged)).toEqual(uuid(9));
    expect(versionSchema.sortKey(merged).length).toBe(0);
  });

  it('tombstones the block references of a version when it is deleted', () => {
    const effects = recordEffects();
    const old = row(false, [block(1, 0, 1), block(1, 1024, 2)]);
    versionSchema.updated!(old, versionSchema.merge(old, row(true, [])), effects);
    expect(effects.queued).toEqual([
      { table: 'block_ref', entry: blockRefSchema.toWire({ block: hash(1), version: uuid(9), deleted: true }) },
      { table: 'block_ref', entry: blockRefSchema.toWire({ block: hash(2), version: uuid(9), deleted: true }) },
    ]);
    for (const write of effects.queued) expect(blockRefSchema.fromWire(write.entry).deleted).toBe(true);
  });

  it('queues nothing when no deletion happens', () => {
    for (const [old, next] of [
      [null, row(false, [block(1, 0, 1)])],
      [null, row(true, [])],
      [row(false, []), row(false, [block(1, 0, 1)])],
      [row(true, []), row(true, [])],
    ] as [S3Version | null, S3Version][]) {
      const effects = recordEffects();
      versionSchema.updated!(old, next, effects);
      expect(effects.queued).toEqual([]);
    }
  });

  it('round-trips and rejects malformed rows', () => {
    const live = row(false, [block(0, 0, 1), block(0, 1_048_576, 2)]);
    expect(decodeEntry(versionSchema, encodeEntry(versionSchema, live))).toEqual(live);
    const wire = versionSchema.toWire(live) as Record<string, unknown>;
    const cases: [unknown, RegExp][] = [
      [null, /map/],
      [{ ...wire, u: Buffer.alloc(3) }, /uuid/],
      [{ ...wire, d: 'no' }, /boolean/],
      [{ ...wire, b: Buffer.alloc(3) }, /bucket id/],
      [{ ...wire, k: 7 }, /key/],
      [{ ...wire, l: [[0, 0, hash(1)]] }, /\[part, offset, hash, size\]/],
      [{ ...wire, l: [[0, -1, hash(1), 5]] }, /offset/],
      [{ ...wire, l: [[10_001, 0, hash(1), 5]] }, /part number/],
      [{ ...wire, l: [[0, 0, Buffer.alloc(31), 5]] }, /hash/],
      [{ ...wire, l: [[0, 5, hash(1), 5], [0, 0, hash(1), 5]] }, /sorted/],
      [{ ...wire, l: [[0, 0, hash(1), 5], [0, 0, hash(2), 5]] }, /each once/],
      [{ ...wire, d: true }, /deleted version lists no blocks/],
    ];
    for (const [bad, message] of cases) expect(() => versionSchema.fromWire(bad)).toThrow(message);
  });
});

describe('the deletion cascade through the table core', () => {
  it('goes object -> version -> block_ref -> refcount when a PUT supersedes a version', async () => {
    const hasher = await initHashing();
    const registry = schemaRegistry([objectSchema, versionSchema, blockRefSchema] as TableSchema<unknown>[]);
    expect([...registry.keys()]).toEqual(['object', 'version', 'block_ref']);

    const oldObject = object(version(1, 10, complete(blocks(1))));
    const objectUpdate = planUpdate(objectSchema, hasher, encodeEntry(objectSchema, oldObject), object(version(2, 20, complete(inline('new')))))!;
    expect(objectUpdate.next.versions.map((v) => v.uuid[0])).toEqual([2]);
    expect(objectUpdate.effects.map((write) => write.table)).toEqual(['version']);

    const storedVersion: S3Version = { uuid: uuid(1), deleted: false, bucketId, key, blocks: [{ part: 0, offset: 0, hash: hash(1), size: 1024 }, { part: 0, offset: 1024, hash: hash(2), size: 10 }] };
    const versionUpdate = planUpdate(versionSchema, hasher, encodeEntry(versionSchema, storedVersion), versionSchema.fromWire(objectUpdate.effects[0]!.entry))!;
    expect(versionUpdate.next).toEqual({ ...storedVersion, deleted: true, blocks: [] });
    expect(versionUpdate.effects.map((write) => blockRefSchema.fromWire(write.entry))).toEqual([
      { block: hash(1), version: uuid(1), deleted: true },
      { block: hash(2), version: uuid(1), deleted: true },
    ]);

    const liveRef = { block: hash(1), version: uuid(1), deleted: false };
    const refUpdate = planUpdate(blockRefSchema, hasher, encodeEntry(blockRefSchema, liveRef), blockRefSchema.fromWire(versionUpdate.effects[0]!.entry))!;
    // (The hook also marks the block changed for the resync workers: only the refcount matters here.)
    expect(refUpdate.counters.filter((change) => change.counter === BLOCK_REFCOUNT_COUNTER)).toEqual([{ counter: BLOCK_REFCOUNT_COUNTER, key: hash(1), delta: -1 }]);
    // A replay of the same PUT changes nothing, so it cascades nothing.
    expect(planUpdate(objectSchema, hasher, objectUpdate.bytes, object(version(2, 20, complete(inline('new')))))).toBeNull();
  });
});

describe('bucket counters', () => {
  function adjusted(old: S3Object | null, incoming: S3Object): Record<string, number> {
    const effects = recordEffects();
    objectSchema.updated!(old, old === null ? incoming : objectSchema.merge(old, incoming), effects);
    return Object.fromEntries((effects.adjusted as [string, Buffer, number][]).map(([name, key, delta]) => {
      expect(key).toEqual(bucketId);
      return [name, delta];
    }));
  }
  const live = (n: number, size: number): S3Object => object(version(n, n * 10, complete(inline('x'.repeat(size)))));

  it('a new object adds one object and its bytes; an overwrite only the byte difference', () => {
    expect(adjusted(null, live(1, 5))).toEqual({ s3_bucket_objects: 1, s3_bucket_bytes: 5 });
    expect(adjusted(live(1, 5), live(2, 8))).toEqual({ s3_bucket_bytes: 3 });
  });

  it('a delete marker takes the object and its bytes away; a repeated write changes nothing', () => {
    expect(adjusted(live(1, 5), object(version(2, 20, complete({ kind: 'deleteMarker' }))))).toEqual({ s3_bucket_objects: -1, s3_bucket_bytes: -5 });
    expect(adjusted(live(1, 5), live(1, 5))).toEqual({});
  });

  it('multipart uploads count while uploading, not once complete or aborted', () => {
    const uploading = object(version(3, 30, { kind: 'uploading', multipart: true, headers: [] }));
    expect(adjusted(null, uploading)).toEqual({ s3_bucket_uploads: 1 });
    expect(adjusted(uploading, object(version(3, 30, complete(inline('done')))))).toEqual({ s3_bucket_uploads: -1, s3_bucket_objects: 1, s3_bucket_bytes: 4 });
    expect(adjusted(uploading, object(version(3, 30, { kind: 'aborted' })))).toEqual({ s3_bucket_uploads: -1 });
  });
});
