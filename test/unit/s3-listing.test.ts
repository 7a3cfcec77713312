// ListObjects against a brute-force model: random keys (delimiters inside, multi-character
// delimiters, characters whose UTF-16 and UTF-8 orders differ, U+10FFFF), random queries, every
// page size, and pagination by nextMarker that must list everything exactly once.
import { bytesSuccessor, commonPrefixOf, LIST_FETCHES_MAX, listObjects, type ListQuery, type ListResult } from '../../src/protocols/s3/listing';
import type { ObjectVersionState, S3Object } from '../../src/protocols/s3/object';
import { S3Error } from '../../src/protocols/s3/errors';
import { seededRandom } from '../harness/prng';

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const bucketId = Buffer.alloc(32, 1);
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

const LIVE: ObjectVersionState = { kind: 'complete', data: { kind: 'inline', meta: { size: 1, etag: 'e', headers: [], checksum: null }, bytes: Buffer.from('x') } };
const DELETED: ObjectVersionState = { kind: 'complete', data: { kind: 'deleteMarker' } };
const UPLOADING: ObjectVersionState = { kind: 'uploading', multipart: true, headers: [] };

function entry(key: string, state: ObjectVersionState = LIVE): S3Object {
  return { bucketId, key, versions: [{ uuid: Buffer.alloc(16, 1), timestamp: 1, state }] };
}

/** The table: rows in byte order; counts fetches and rows read. */
function table(entries: S3Object[]): { fetch: (start: Buffer, limit: number) => Promise<S3Object[]>; fetches: number; rowsRead: number } {
  const rows = [...entries].sort((a, b) => byBytes(a.key, b.key));
  const keyBytes = rows.map((row) => Buffer.from(row.key, 'utf8'));
  const state = {
    fetches: 0,
    rowsRead: 0,
    fetch: async (start: Buffer, limit: number): Promise<S3Object[]> => {
      expect(limit).toBeGreaterThan(0);
      expect(limit).toBeLessThanOrEqual(1000);
      state.fetches += 1;
      let low = 0;
      let high = rows.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if (Buffer.compare(keyBytes[middle]!, start) < 0) low = middle + 1;
        else high = middle;
      }
      const page = rows.slice(low, low + limit);
      state.rowsRead += page.length;
      return page;
    },
  };
  return state;
}

/** What a listing must return, computed the slow way from every live key. */
function model(liveKeys: string[], query: ListQuery): ListResult {
  const sorted = [...liveKeys].sort(byBytes).filter((key) => key.startsWith(query.prefix));
  let after = sorted;
  if (query.startAfter !== null) {
    const startAfter = query.startAfter;
    const skipPrefix = commonPrefixOf(query, startAfter) === startAfter ? startAfter : null;
    after = sorted.filter((key) => byBytes(key, startAfter) > 0 && (skipPrefix === null || !key.startsWith(skipPrefix)));
  }
  const items: { key: string; prefix: boolean }[] = [];
  for (const key of after) {
    const commonPrefix = commonPrefixOf(query, key);
    if (commonPrefix === null) items.push({ key, prefix: false });
    else if (items.length === 0 || items[items.length - 1]!.key !== commonPrefix) items.push({ key: commonPrefix, prefix: true });
  }
  const page = items.slice(0, query.maxKeys);
  const isTruncated = items.length > query.maxKeys && query.maxKeys > 0;
  return {
    objects: page.filter((item) => !item.prefix).map((item) => ({ key: item.key, version: entry(item.key).versions[0]! })),
    commonPrefixes: page.filter((item) => item.prefix).map((item) => item.key),
    isTruncated,
    nextMarker: isTruncated ? page[page.length - 1]!.key : null,
  };
}

const PIECES = ['a', 'b', '/', '-', '--', 'é', '\u{10FFFF}', '\uFFFD', '\u{1F600}', '~', 'a/', ''];
const DELIMITERS = [null, '/', '-', '--', '\u{10FFFF}', 'a/', 'é'];

function genKey(random: Random): string {
  let key = '';
  const pieces = 1 + Math.floor(random() * 5);
  for (let index = 0; index < pieces; index += 1) key += pick(random, PIECES);
  return key;
}

function genWorld(random: Random): { entries: S3Object[]; live: string[] } {
  const keys = new Set<string>();
  const count = Math.floor(random() * 40);
  for (let index = 0; index < count; index += 1) keys.add(genKey(random));
  keys.delete('');
  const entries: S3Object[] = [];
  const live: string[] = [];
  for (const key of keys) {
    const roll = random();
    entries.push(entry(key, roll < 0.15 ? DELETED : roll < 0.25 ? UPLOADING : LIVE));
    if (roll >= 0.25) live.push(key);
  }
  return { entries, live };
}

function genQuery(random: Random, live: string[], maxKeys: number): ListQuery {
  // By code points: a prefix never ends inside a surrogate pair (the HTTP layer decodes UTF-8).
  const fromKey = [...(live.length > 0 ? pick(random, live) : '')];
  const prefix = pick(random, ['', '', 'a', 'a/', '\u{10FFFF}', fromKey.slice(0, Math.floor(random() * (fromKey.length + 1))).join(''), fromKey.join('')]);
  return { prefix, delimiter: pick(random, DELIMITERS), startAfter: null, maxKeys };
}

/** Lists every page from `query`, checking each against the model; returns them all. */
async function listAll(world: { entries: S3Object[]; live: string[] }, query: ListQuery): Promise<ListResult[]> {
  const pages: ListResult[] = [];
  let startAfter = query.startAfter;
  for (let guard = 0; guard < 1000; guard += 1) {
    const pageQuery = { ...query, startAfter };
    const result = await listObjects(pageQuery, table(world.entries).fetch);
    expect(result).toEqual(model(world.live, pageQuery));
    pages.push(result);
    if (!result.isTruncated) return pages;
    startAfter = result.nextMarker;
  }
  throw new Error('listing never ended');
}

describe('listObjects against a model', () => {
  it('lists every page like the model, and the pages concatenate to the full listing', async () => {
    const random = seededRandom(11);
    for (let run = 0; run < 100; run += 1) {
      const world = genWorld(random);
      const base = genQuery(random, world.live, 1000);
      const full = await listObjects(base, table(world.entries).fetch);
      expect(full).toEqual(model(world.live, base));
      expect(full.isTruncated).toBe(false);
      for (const maxKeys of [1, 2, 3, 4, 5, 6, 7, 25]) {
        const pages = await listAll(world, { ...base, maxKeys });
        expect(pages.flatMap((page) => page.objects)).toEqual(full.objects);
        expect(pages.flatMap((page) => page.commonPrefixes)).toEqual(full.commonPrefixes);
        for (const page of pages) expect(page.objects.length + page.commonPrefixes.length).toBeLessThanOrEqual(maxKeys);
      }
    }
  });

  it('starts after any startAfter like the model', async () => {
    const random = seededRandom(12);
    for (let run = 0; run < 300; run += 1) {
      const world = genWorld(random);
      const query = { ...genQuery(random, world.live, 1 + Math.floor(random() * 8)), startAfter: random() < 0.5 ? genKey(random) : pick(random, [...world.live, 'a/', '']) };
      expect(await listObjects(query, table(world.entries).fetch)).toEqual(model(world.live, query));
    }
  });
});

describe('listObjects cases', () => {
  const keys = ['a', 'a/1', 'a/2', 'a/b/3', 'b', 'b/1', 'c--d--e', 'c--f', 'é', '\u{1F600}', '\uFFFD'];
  const world = table(keys.map((key) => entry(key)));
  const list = (query: Partial<ListQuery>): Promise<ListResult> => listObjects({ prefix: '', delimiter: null, startAfter: null, maxKeys: 1000, ...query }, world.fetch);
  const names = (result: ListResult): string[] => [...result.objects.map((object) => object.key), ...result.commonPrefixes.map((prefix) => `[${prefix}]`)];

  it('orders keys by UTF-8 bytes, not UTF-16', async () => {
    // U+FFFD is EF BF BD, U+1F600 is F0 9F 98 80: bytes put U+FFFD first, JS strings the emoji.
    expect(names(await list({ prefix: '\uFFFD' }))).toEqual(['\uFFFD']);
    const all = await list({});
    expect(all.objects.map((object) => object.key).slice(-2)).toEqual(['\uFFFD', '\u{1F600}']);
  });

  it('rolls up common prefixes, with one- and multi-character delimiters', async () => {
    expect(names(await list({ delimiter: '/' }))).toEqual(['a', 'b', 'c--d--e', 'c--f', 'é', '\uFFFD', '\u{1F600}', '[a/]', '[b/]']);
    expect(names(await list({ delimiter: '--' }))).toEqual(['a', 'a/1', 'a/2', 'a/b/3', 'b', 'b/1', 'é', '\uFFFD', '\u{1F600}', '[c--]']);
    expect(names(await list({ prefix: 'c--', delimiter: '--' }))).toEqual(['c--f', '[c--d--]']);
    expect(names(await list({ prefix: 'a/', delimiter: '/' }))).toEqual(['a/1', 'a/2', '[a/b/]']);
  });

  it('lists a key equal to the prefix as an object', async () => {
    expect(names(await list({ prefix: 'a', delimiter: '/' }))).toEqual(['a', '[a/]']);
    expect(names(await list({ prefix: 'b/1', delimiter: '/' }))).toEqual(['b/1']);
  });

  it('does not list a common prefix again after it was the marker', async () => {
    const first = await list({ delimiter: '/', maxKeys: 2 });
    expect(names(first)).toEqual(['a', '[a/]']);
    expect(first).toMatchObject({ isTruncated: true, nextMarker: 'a/' });
    expect(names(await list({ delimiter: '/', maxKeys: 2, startAfter: 'a/' }))).toEqual(['b', '[b/]']);
  });

  it('answers maxKeys = 0 with nothing, not truncated, without reading', async () => {
    const counting = table(keys.map((key) => entry(key)));
    const result = await listObjects({ prefix: '', delimiter: null, startAfter: null, maxKeys: 0 }, counting.fetch);
    expect(result).toEqual({ objects: [], commonPrefixes: [], isTruncated: false, nextMarker: null });
    expect(counting.fetches).toBe(0);
  });

  it('is not truncated when the page ends exactly at the last key', async () => {
    expect(await list({ prefix: 'a/', maxKeys: 3 })).toMatchObject({ isTruncated: false, nextMarker: null });
    expect(await list({ prefix: 'a/', maxKeys: 2 })).toMatchObject({ isTruncated: true, nextMarker: 'a/2' });
  });

  it('refuses a bad maxKeys or an empty delimiter', async () => {
    await expect(list({ maxKeys: 1001 })).rejects.toBeInstanceOf(S3Error);
    await expect(list({ maxKeys: -1 })).rejects.toBeInstanceOf(S3Error);
    await expect(list({ delimiter: '' })).rejects.toBeInstanceOf(S3Error);
    // A lone surrogate has no UTF-8 form: no key can start with it.
    await expect(list({ prefix: 'a\uD83D' })).rejects.toBeInstanceOf(S3Error);
    await expect(list({ delimiter: '\uDE00' })).rejects.toBeInstanceOf(S3Error);
    await expect(list({ startAfter: '\uD83Da' })).rejects.toBeInstanceOf(S3Error);
  });
});

describe('listObjects work bounds', () => {
  it('jumps past a large common prefix in one fetch', async () => {
    const entries = [entry('a'), ...Array.from({ length: 5000 }, (_, index) => entry(`big/${String(index).padStart(5, '0')}`)), entry('c')];
    const counting = table(entries);
    const result = await listObjects({ prefix: '', delimiter: '/', startAfter: null, maxKeys: 1000 }, counting.fetch);
    expect(result.objects.map((object) => object.key)).toEqual(['a', 'c']);
    expect(result.commonPrefixes).toEqual(['big/']);
    expect(counting.fetches).toBe(2);
    expect(counting.rowsRead).toBeLessThan(2100);
  });

  it('reads a page of about maxKeys rows', async () => {
    const counting = table(Array.from({ length: 5000 }, (_, index) => entry(`k${String(index).padStart(5, '0')}`)));
    const result = await listObjects({ prefix: '', delimiter: null, startAfter: null, maxKeys: 10 }, counting.fetch);
    expect(result).toMatchObject({ isTruncated: true, nextMarker: 'k00009' });
    expect(counting.fetches).toBe(1);
    expect(counting.rowsRead).toBeLessThan(40);
  });

  it('ends a page early, truncated, when only deleted rows follow for too long', async () => {
    const deleted = Array.from({ length: LIST_FETCHES_MAX * 1000 + 10 }, (_, index) => entry(`d${String(index).padStart(6, '0')}`, DELETED));
    const counting = table([entry('a'), ...deleted, entry('z')]);
    const first = await listObjects({ prefix: '', delimiter: null, startAfter: null, maxKeys: 1000 }, counting.fetch);
    expect(first.objects.map((object) => object.key)).toEqual(['a']);
    expect(first.isTruncated).toBe(true);
    expect(counting.fetches).toBe(LIST_FETCHES_MAX);
    const second = await listObjects({ prefix: '', delimiter: null, startAfter: first.nextMarker, maxKeys: 1000 }, counting.fetch);
    expect(second).toMatchObject({ isTruncated: false, nextMarker: null });
    expect(second.objects.map((object) => object.key)).toEqual(['z']);
  });
});

describe('listObjects resumed after its work bound', () => {
  it('never resumes after a deleted key that is its own common prefix', async () => {
    // The budget runs out on the deleted row `b/`; the live `b/x` still rolls up into `b/` next.
    const deleted = Array.from({ length: LIST_FETCHES_MAX * 1000 - 2 }, (_, index) => entry(`a${String(index).padStart(6, '0')}`, DELETED));
    const counting = table([entry('a'), ...deleted, entry('b/', DELETED), entry('b/x')]);
    const query: ListQuery = { prefix: '', delimiter: '/', startAfter: null, maxKeys: 1000 };
    const first = await listObjects(query, counting.fetch);
    expect(first).toMatchObject({ commonPrefixes: [], isTruncated: true });
    expect(first.objects.map((object) => object.key)).toEqual(['a']);
    expect(first.nextMarker).not.toBe('b/');
    const second = await listObjects({ ...query, startAfter: first.nextMarker }, counting.fetch);
    expect(second).toMatchObject({ objects: [], commonPrefixes: ['b/'], isTruncated: false });
  });
});

describe('bytesSuccessor', () => {
  it('increments the last byte below 0xff and cuts the rest', () => {
    expect(bytesSuccessor(Buffer.from('a/'))).toEqual(Buffer.from('a0'));
    expect(bytesSuccessor(Buffer.from([0x61, 0xff, 0xff]))).toEqual(Buffer.from([0x62]));
    expect(bytesSuccessor(Buffer.from([0xff, 0xff]))).toBeNull();
    expect(bytesSuccessor(Buffer.alloc(0))).toBeNull();
    // U+10FFFF is F4 8F BF BF: its successor is F4 8F BF C0, above every key starting with it.
    expect(bytesSuccessor(Buffer.from('\u{10FFFF}'))).toEqual(Buffer.from([0xf4, 0x8f, 0xbf, 0xc0]));
  });
});

test('a page boundary exactly where the listing fills up ends it truncated (regression)', async () => {
  // maxKeys 1: the first fetch (18 rows) is all under a/ and fills the listing with one common
  // prefix; the next fetch comes back full, and its first row is one too many.
  const keys = [...Array.from({ length: 18 }, (_, index) => `a/${String(index).padStart(2, '0')}`), ...Array.from({ length: 30 }, (_, index) => `b${index}`)];
  const result = await listObjects({ prefix: '', delimiter: '/', startAfter: null, maxKeys: 1 }, table(keys.map((key) => entry(key))).fetch);
  expect(result).toEqual({ objects: [], commonPrefixes: ['a/'], isTruncated: true, nextMarker: 'a/' });
});
