// One suite, every metadata store: the in-memory one and SQLite (fsync on and off) must behave
// identically, since unit tests run on the first and nodes on the second. Random scans are checked
// against a brute-force model (seeded, so a failure replays).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  KEY_BYTES_MAX,
  MetadataStoreError,
  openMemoryStore,
  openSqliteStore,
  rangeBatches,
  SQLITE_SCHEMA_VERSION,
  TRANSACT_ASYNC_BATCH_WORKS_MAX,
  TRANSACTION_NESTING_MAX,
  type Entry,
  type MetadataStore,
  type MetadataStoreErrorCode,
  type RangeQuery,
  type Transaction,
} from '../../src/storage/metadata';
import type { SqliteMetadataStore } from '../../src/storage/metadata/sqlite';
import { seededRandom as prng } from '../harness/prng';


const bytes = (...values: number[]): Buffer => Buffer.from(values);
const text = (value: string): Buffer => Buffer.from(value, 'utf8');
const hex = (entries: Entry[]): string[] => entries.map((entry) => entry.key.toString('hex'));

function expectStoreError(action: () => unknown, code: MetadataStoreErrorCode): MetadataStoreError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MetadataStoreError);
  expect((caught as MetadataStoreError).code).toBe(code);
  return caught as MetadataStoreError;
}

interface StoreFactory {
  label: string;
  /** Opens the store of this test (the same data again after a close, where the store persists). */
  open(): MetadataStore;
  persistent: boolean;
}

let directory = '';
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'grange-metadata-'));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

const sqliteFactory = (fsync: boolean): StoreFactory => ({
  label: `sqlite (fsync ${fsync ? 'on' : 'off'})`,
  open: () => openSqliteStore({ path: join(directory, 'db.sqlite'), fsync }),
  persistent: true,
});

const factories: StoreFactory[] = [
  { label: 'memory', open: () => openMemoryStore(), persistent: false },
  sqliteFactory(true),
  sqliteFactory(false),
];

describe.each(factories)('metadata store: $label', (factory) => {
  let store: MetadataStore;
  beforeEach(() => {
    store = factory.open();
  });
  afterEach(() => {
    store.close();
  });

  describe('point operations', () => {
    test('insert, get, remove', () => {
      const tree = store.tree('items');
      expect(tree.name).toBe('items');
      expect(tree.get(text('a'))).toBeNull();
      tree.insert(text('a'), text('one'));
      expect(tree.get(text('a'))).toEqual(text('one'));
      expect(tree.remove(text('a'))).toBe(true);
      expect(tree.remove(text('a'))).toBe(false);
      expect(tree.get(text('a'))).toBeNull();
    });

    test('insert overwrites; count counts keys', () => {
      const tree = store.tree('items');
      expect(tree.count()).toBe(0);
      tree.insert(text('a'), text('one'));
      tree.insert(text('a'), text('two'));
      tree.insert(text('b'), Buffer.alloc(0));
      expect(tree.get(text('a'))).toEqual(text('two'));
      expect(tree.get(text('b'))).toEqual(Buffer.alloc(0));
      expect(tree.count()).toBe(2);
      tree.remove(text('a'));
      expect(tree.count()).toBe(1);
    });

    test('the empty key and binary values are stored exactly', () => {
      const tree = store.tree('items');
      const value = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
      tree.insert(Buffer.alloc(0), value);
      expect(tree.get(Buffer.alloc(0))).toEqual(value);
      expect(tree.get(bytes(0))).toBeNull();
      expect(tree.range({})).toEqual([{ key: Buffer.alloc(0), value }]);
    });

    test('trees are separate; the same name gives the same tree', () => {
      store.tree('left').insert(text('k'), text('L'));
      store.tree('right').insert(text('k'), text('R'));
      expect(store.tree('left').get(text('k'))).toEqual(text('L'));
      expect(store.tree('right').get(text('k'))).toEqual(text('R'));
      expect(store.tree('other').count()).toBe(0);
    });

    test('the store keeps its own copies: callers may reuse or mutate buffers', () => {
      const tree = store.tree('items');
      const key = text('key');
      const value = text('value');
      tree.insert(key, value);
      key.write('KEY');
      value.write('VALUE');
      const read = tree.get(text('key'))!;
      expect(read).toEqual(text('value'));
      read.write('XXXXX');
      tree.range({})[0]!.value.write('YYYYY');
      expect(tree.get(text('key'))).toEqual(text('value'));
      expect(tree.get(text('KEY'))).toBeNull();
    });

    test('keys and values must be Buffers within the limits', () => {
      const tree = store.tree('items');
      expectStoreError(() => tree.insert('a' as unknown as Buffer, text('v')), 'invalid-argument');
      expectStoreError(() => tree.insert(text('a'), 'v' as unknown as Buffer), 'invalid-argument');
      expectStoreError(() => tree.get(7 as unknown as Buffer), 'invalid-argument');
      expectStoreError(() => tree.insert(Buffer.alloc(KEY_BYTES_MAX + 1), text('v')), 'limit-exceeded');
      tree.insert(Buffer.alloc(KEY_BYTES_MAX, 0xff), text('longest'));
      expect(tree.get(Buffer.alloc(KEY_BYTES_MAX, 0xff))).toEqual(text('longest'));
      expect(tree.count()).toBe(1);
    });

    test('tree names are validated', () => {
      for (const name of ['', 'A', '1a', '_a', 'a-b', 'a"b', 'a b', 'é', 'a'.repeat(64)]) {
        expectStoreError(() => store.tree(name), 'invalid-tree-name');
      }
      const longest = 'a'.repeat(63);
      store.tree(longest).insert(text('k'), text('v'));
      expect(store.tree(longest).get(text('k'))).toEqual(text('v'));
      store.tree('select').insert(text('k'), text('keywords are fine'));
      expect(store.tree('select').count()).toBe(1);
    });
  });

  describe('order and ranges', () => {
    // Already in bytewise order: memcmp over unsigned bytes, then the shorter first.
    const trickyKeys = [
      bytes(),
      bytes(0x00),
      bytes(0x00, 0x00),
      bytes(0x00, 0xff),
      bytes(0x01),
      bytes(0x61),
      bytes(0x61, 0x00),
      bytes(0x61, 0x62),
      bytes(0x61, 0x62, 0x63),
      bytes(0x62),
      bytes(0x7f),
      bytes(0x7f, 0xff, 0xff),
      bytes(0x80),
      bytes(0xfe, 0xff),
      bytes(0xff),
      bytes(0xff, 0x00),
      bytes(0xff, 0xff),
      bytes(0xff, 0xff, 0xff),
    ];
    const trickyHex = trickyKeys.map((key) => key.toString('hex'));

    function fillTricky(): void {
      const tree = store.tree('tricky');
      const shuffled = [...trickyKeys];
      const random = prng(7);
      for (let index = shuffled.length - 1; index > 0; index--) {
        const other = Math.floor(random() * (index + 1));
        [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
      }
      for (const key of shuffled) tree.insert(key, Buffer.concat([text('v'), key]));
    }

    test('scans return keys in bytewise order, both ways', () => {
      fillTricky();
      const tree = store.tree('tricky');
      expect(hex(tree.range({}))).toEqual(trickyHex);
      expect(hex(tree.range({ reverse: true }))).toEqual([...trickyHex].reverse());
      for (const entry of tree.range({})) expect(entry.value).toEqual(Buffer.concat([text('v'), entry.key]));
    });

    test('prefixes, including 0xff ones with no upper bound and the empty prefix', () => {
      fillTricky();
      const tree = store.tree('tricky');
      expect(hex(tree.range({ prefix: bytes(0xff) }))).toEqual(['ff', 'ff00', 'ffff', 'ffffff']);
      expect(hex(tree.range({ prefix: bytes(0xff, 0xff) }))).toEqual(['ffff', 'ffffff']);
      expect(hex(tree.range({ prefix: bytes(0x00) }))).toEqual(['00', '0000', '00ff']);
      expect(hex(tree.range({ prefix: bytes(0x61) }))).toEqual(['61', '6100', '6162', '616263']);
      expect(hex(tree.range({ prefix: bytes(0x7f) }))).toEqual(['7f', '7fffff']);
      expect(hex(tree.range({ prefix: bytes() }))).toEqual(trickyHex);
      expect(hex(tree.range({ prefix: bytes(0x61), reverse: true, limit: 2 }))).toEqual(['616263', '6162']);
      expect(tree.range({ prefix: bytes(0x02) })).toEqual([]);
    });

    test('start is inclusive, end exclusive; limit 0 and empty ranges return nothing', () => {
      fillTricky();
      const tree = store.tree('tricky');
      expect(hex(tree.range({ start: bytes(0x61), end: bytes(0x62) }))).toEqual(['61', '6100', '6162', '616263']);
      expect(hex(tree.range({ start: bytes(), end: bytes(0x00, 0x00) }))).toEqual(['', '00']);
      expect(hex(tree.range({ end: bytes() }))).toEqual([]);
      expect(tree.range({ start: bytes(0x62), end: bytes(0x61) })).toEqual([]);
      expect(tree.range({ start: bytes(0x61), end: bytes(0x61) })).toEqual([]);
      expect(tree.range({ limit: 0 })).toEqual([]);
      expect(hex(tree.range({ start: bytes(0xff, 0xff), reverse: true }))).toEqual(['ffffff', 'ffff']);
    });

    test('malformed queries are refused', () => {
      const tree = store.tree('tricky');
      expectStoreError(() => tree.range({ limit: -1 }), 'invalid-argument');
      expectStoreError(() => tree.range({ limit: 1.5 }), 'invalid-argument');
      expectStoreError(() => tree.range({ limit: Infinity }), 'invalid-argument');
      expectStoreError(() => tree.range({ start: 'a' as unknown as Buffer }), 'invalid-argument');
      expectStoreError(() => tree.range({ prefix: [1] as unknown as Buffer }), 'invalid-argument');
    });

    test('every combination of prefix, start, end, limit and reverse matches a brute-force model', () => {
      const random = prng(0x5eed);
      // Few distinct bytes and short keys: many shared prefixes, 0x00 and 0xff edges, the empty key.
      const alphabet = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
      const randomKey = (lengthMax: number): Buffer =>
        Buffer.from(Array.from({ length: Math.floor(random() * (lengthMax + 1)) }, () => alphabet[Math.floor(random() * alphabet.length)]!));
      const tree = store.tree('random');
      const model = new Map<string, Buffer>();
      for (let step = 0; step < 600; step++) {
        const key = randomKey(4);
        if (random() < 0.2) {
          expect(tree.remove(key)).toBe(model.delete(key.toString('hex')));
        } else {
          const value = randomKey(6);
          tree.insert(key, value);
          model.set(key.toString('hex'), value);
        }
      }
      const sorted = [...model.entries()]
        .map(([key, value]) => ({ key: Buffer.from(key, 'hex'), value }))
        .sort((left, right) => Buffer.compare(left.key, right.key));
      expect(tree.count()).toBe(sorted.length);
      expect(tree.range({})).toEqual(sorted);

      const bruteForce = (query: RangeQuery): Entry[] => {
        const selected = sorted.filter(
          ({ key }) =>
            (query.prefix === undefined || key.subarray(0, query.prefix.length).equals(query.prefix)) &&
            (query.start === undefined || Buffer.compare(key, query.start) >= 0) &&
            (query.end === undefined || Buffer.compare(key, query.end) < 0),
        );
        if (query.reverse) selected.reverse();
        return query.limit === undefined ? selected : selected.slice(0, query.limit);
      };
      let nonEmpty = 0;
      for (let combination = 0; combination < 32; combination++) {
        for (let sample = 0; sample < 25; sample++) {
          const query: RangeQuery = {};
          if (combination & 1) query.prefix = randomKey(2);
          if (combination & 2) query.start = randomKey(4);
          if (combination & 4) query.end = randomKey(4);
          if (combination & 8) query.limit = Math.floor(random() * 12);
          if (combination & 16) query.reverse = true;
          const expected = bruteForce(query);
          if (expected.length > 0) nonEmpty++;
          // As hex strings: comparing Buffers one by one is slow in Jest.
          const render = (entries: Entry[]): string[] => entries.map(({ key, value }) => `${key.toString('hex')}=${value.toString('hex')}`);
          const actual = render(tree.range(query));
          if (actual.join() !== render(expected).join()) expect({ query, result: actual }).toEqual({ query, result: render(expected) });
        }
      }
      // The check is only worth something if most queries found entries.
      expect(nonEmpty).toBeGreaterThan(400);
    });

    test('rangeBatches walks a large range in bounded batches, both ways, honouring the limit', () => {
      const tree = store.tree('pages');
      for (let index = 0; index < 250; index++) tree.insert(Buffer.from([index % 3, index]), bytes(index));
      tree.insert(bytes(0x01), bytes(0)); // a key that is a prefix of others in the range
      for (const query of [{ prefix: bytes(0x01) }, { prefix: bytes(0x01), reverse: true }, { start: bytes(0x00, 0x10), limit: 95 }, { end: bytes(0x02), reverse: true, limit: 70 }] as RangeQuery[]) {
        const batches = [...rangeBatches(tree, query, 7)];
        expect(batches.every((batch) => batch.length > 0 && batch.length <= 7)).toBe(true);
        expect(batches.flat()).toEqual(tree.range(query));
        expect(batches.length).toBe(Math.ceil(tree.range(query).length / 7));
      }
      expect([...rangeBatches(tree, { prefix: bytes(0x09) })]).toEqual([]);
    });
  });

  describe('transactions', () => {
    test('a transaction commits all its writes at once and returns the result of its work', () => {
      const before = store.stats().commits;
      const result = store.transaction((tx) => {
        for (let index = 0; index < 10; index++) tx.tree('a').insert(bytes(index), bytes(index));
        tx.tree('b').insert(text('x'), text('y'));
        return 'done';
      });
      expect(result).toBe('done');
      expect(store.tree('a').count()).toBe(10);
      expect(store.tree('b').get(text('x'))).toEqual(text('y'));
      expect(store.stats().commits).toBe(before + 1);
    });

    test('a write outside a transaction commits by itself', () => {
      const tree = store.tree('a');
      const before = store.stats().commits;
      tree.insert(text('1'), text('1'));
      tree.insert(text('2'), text('2'));
      tree.remove(text('1'));
      expect(store.stats().commits).toBe(before + 3);
    });

    test('a throwing work rolls back every write of every tree, and its error propagates unchanged', () => {
      store.tree('a').insert(text('kept'), text('old'));
      store.tree('a').insert(text('gone'), text('old'));
      const before = store.stats();
      const failure = new Error('work failed');
      expect(() =>
        store.transaction((tx) => {
          tx.tree('a').insert(text('kept'), text('new'));
          tx.tree('a').remove(text('gone'));
          tx.tree('a').insert(text('added'), text('new'));
          tx.tree('b').insert(text('added'), text('new'));
          throw failure;
        }),
      ).toThrow(failure);
      expect(store.tree('a').get(text('kept'))).toEqual(text('old'));
      expect(store.tree('a').get(text('gone'))).toEqual(text('old'));
      expect(store.tree('a').get(text('added'))).toBeNull();
      expect(store.tree('b').count()).toBe(0);
      expect(store.stats().commits).toBe(before.commits);
      expect(store.stats().rollbacks).toBe(before.rollbacks + 1);
    });

    test('inside a transaction, reads see its own writes, through any handle of the store', () => {
      store.tree('a').insert(text('a1'), text('before'));
      store.transaction((tx) => {
        const a = tx.tree('a');
        const b = tx.tree('b');
        expect(tx.tree('a')).toBe(a);
        a.insert(text('a2'), text('new'));
        a.remove(text('a1'));
        b.insert(text('b1'), Buffer.concat([a.get(text('a2'))!, text('!')]));
        expect(hex(a.range({}))).toEqual([text('a2').toString('hex')]);
        expect(b.get(text('b1'))).toEqual(text('new!'));
        expect(a.count()).toBe(1);
        // The store's own handles run in the open transaction too (one connection).
        expect(store.tree('b').get(text('b1'))).toEqual(text('new!'));
        store.tree('c').insert(text('c1'), text('c'));
      });
      expect(store.tree('a').get(text('a1'))).toBeNull();
      expect(store.tree('c').get(text('c1'))).toEqual(text('c'));
    });

    test('nested transactions: an inner failure rolls back only the inner writes', () => {
      store.transaction((tx) => {
        tx.tree('a').insert(text('outer'), text('1'));
        expect(() =>
          store.transaction((inner) => {
            inner.tree('a').insert(text('inner'), text('2'));
            inner.tree('a').insert(text('outer'), text('overwritten'));
            throw new Error('inner failed');
          }),
        ).toThrow('inner failed');
        expect(tx.tree('a').get(text('outer'))).toEqual(text('1'));
        store.transaction((inner) => inner.tree('a').insert(text('inner ok'), text('3')));
      });
      expect(hex(store.tree('a').range({}))).toEqual(['inner ok', 'outer'].map((key) => text(key).toString('hex')));
    });

    test('nested transactions: an outer failure rolls back the committed inner ones too', () => {
      expect(() =>
        store.transaction(() => {
          store.transaction((inner) => inner.tree('a').insert(text('inner'), text('1')));
          throw new Error('outer failed');
        }),
      ).toThrow('outer failed');
      expect(store.tree('a').count()).toBe(0);
    });

    test('nesting is bounded', () => {
      const nest = (depth: number): number => store.transaction(() => (depth === 1 ? 1 : 1 + nest(depth - 1)));
      expect(nest(TRANSACTION_NESTING_MAX)).toBe(TRANSACTION_NESTING_MAX);
      expectStoreError(() => nest(TRANSACTION_NESTING_MAX + 1), 'limit-exceeded');
      expect(store.transaction(() => 'usable after')).toBe('usable after');
    });

    test('a tree first used in a rolled-back transaction works afterwards', () => {
      expect(() =>
        store.transaction((tx) => {
          tx.tree('fresh').insert(text('k'), text('lost'));
          throw new Error('roll back');
        }),
      ).toThrow('roll back');
      expect(store.tree('fresh').get(text('k'))).toBeNull();
      store.tree('fresh').insert(text('k'), text('kept'));
      expect(store.tree('fresh').range({ prefix: text('k') })).toEqual([{ key: text('k'), value: text('kept') }]);

      store.transaction(() => {
        expect(() =>
          store.transaction((inner) => {
            inner.tree('fresh_inner').insert(text('k'), text('lost'));
            throw new Error('roll back inner');
          }),
        ).toThrow('roll back inner');
        store.tree('fresh_inner').insert(text('k'), text('kept'));
      });
      expect(store.tree('fresh_inner').get(text('k'))).toEqual(text('kept'));
    });

    test('a transaction handle refuses work once its transaction has ended', () => {
      let kept: Transaction | undefined;
      store.transaction((tx) => {
        kept = tx;
        tx.tree('a').insert(text('k'), text('v'));
      });
      expectStoreError(() => kept!.tree('a'), 'transaction-ended');
      const tree = store.transaction((tx) => tx.tree('a'));
      expectStoreError(() => tree.get(text('k')), 'transaction-ended');
      expectStoreError(() => tree.insert(text('k'), text('w')), 'transaction-ended');
      expect(store.tree('a').get(text('k'))).toEqual(text('v'));
    });

    test('a work returning a promise is refused and rolled back', () => {
      expectStoreError(
        () =>
          store.transaction(async (tx) => {
            tx.tree('a').insert(text('k'), text('v'));
            await null;
            throw new Error('a later rejection is not left unhandled');
          }),
        'async-work',
      );
      expect(store.tree('a').count()).toBe(0);
    });

    test('closing from inside a transaction is refused', () => {
      store.transaction(() => expectStoreError(() => store.close(), 'busy'));
      expect(store.tree('a').count()).toBe(0);
    });
  });

  describe('group commit (transactAsync)', () => {
    test('many concurrent works share one commit, run in order and each get their result', async () => {
      const before = store.stats();
      const order: number[] = [];
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          store.transactAsync((tx) => {
            order.push(index);
            tx.tree('a').insert(Buffer.from(`key${index}`), Buffer.from(`value${index}`));
            return index * 2;
          }),
        ),
      );
      expect(results).toEqual(Array.from({ length: 200 }, (_, index) => index * 2));
      expect(order).toEqual(Array.from({ length: 200 }, (_, index) => index));
      const after = store.stats();
      expect(after.commits).toBe(before.commits + 1);
      expect(after.groupCommits).toBe(before.groupCommits + 1);
      expect(after.groupCommitWorks).toBe(before.groupCommitWorks + 200);
      expect(after.groupCommitPending).toBe(0);
      expect(store.tree('a').count()).toBe(200);
    });

    test('works wait for the next turn of the event loop and are pending until then', async () => {
      const promise = store.transactAsync((tx) => tx.tree('a').insert(text('k'), text('v')));
      expect(store.stats().groupCommitPending).toBe(1);
      expect(store.tree('a').get(text('k'))).toBeNull();
      await promise;
      expect(store.tree('a').get(text('k'))).toEqual(text('v'));
    });

    test('a failing work rolls back only itself; the others of its batch commit', async () => {
      const before = store.stats();
      const failure = new Error('work 3 failed');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, index) =>
          store.transactAsync((tx) => {
            tx.tree('a').insert(bytes(index), bytes(index));
            if (index === 3) {
              tx.tree('b').insert(text('from 3'), text('lost'));
              throw failure;
            }
            return index;
          }),
        ),
      );
      expect(outcomes[3]).toEqual({ status: 'rejected', reason: failure });
      for (const index of [0, 1, 2, 4, 5, 6, 7]) expect(outcomes[index]).toEqual({ status: 'fulfilled', value: index });
      expect(hex(store.tree('a').range({}))).toEqual(['00', '01', '02', '04', '05', '06', '07']);
      expect(store.tree('b').count()).toBe(0);
      expect(store.stats().commits).toBe(before.commits + 1);
    });

    test('a batch holds at most TRANSACT_ASYNC_BATCH_WORKS_MAX works; the rest go in the next one', async () => {
      const before = store.stats();
      const total = TRANSACT_ASYNC_BATCH_WORKS_MAX + 5;
      await Promise.all(Array.from({ length: total }, (_, index) => store.transactAsync((tx) => tx.tree('a').insert(Buffer.from(`k${index}`), bytes(1)))));
      const after = store.stats();
      expect(after.groupCommits).toBe(before.groupCommits + 2);
      expect(after.commits).toBe(before.commits + 2);
      expect(store.tree('a').count()).toBe(total);
    });

    test('a work may queue another work and nest a transaction', async () => {
      let second: Promise<string> | undefined;
      const first = await store.transactAsync((tx) => {
        second = store.transactAsync((inner) => {
          inner.tree('a').insert(text('second'), text('2'));
          return 'second';
        });
        expect(() =>
          store.transaction((nested) => {
            nested.tree('a').insert(text('nested'), text('lost'));
            throw new Error('nested failed');
          }),
        ).toThrow('nested failed');
        tx.tree('a').insert(text('first'), text('1'));
        return 'first';
      });
      expect(first).toBe('first');
      expect(await second).toBe('second');
      expect(hex(store.tree('a').range({}))).toEqual([text('first').toString('hex'), text('second').toString('hex')]);
    });

    test('a work returning a promise fails alone', async () => {
      const outcomes = await Promise.allSettled([
        store.transactAsync((tx) => tx.tree('a').insert(text('ok'), text('1'))),
        store.transactAsync(async (tx) => tx.tree('a').insert(text('async'), text('2'))),
      ]);
      expect(outcomes[0]!.status).toBe('fulfilled');
      expect(outcomes[1]!.status).toBe('rejected');
      expect(((outcomes[1] as PromiseRejectedResult).reason as MetadataStoreError).code).toBe('async-work');
      expect(hex(store.tree('a').range({}))).toEqual([text('ok').toString('hex')]);
    });

    test('close runs the works already queued', async () => {
      const promise = store.transactAsync((tx) => {
        tx.tree('a').insert(text('queued'), text('v'));
        return 'ran';
      });
      store.close();
      expect(await promise).toBe('ran');
      if (factory.persistent) {
        store = factory.open();
        expect(store.tree('a').get(text('queued'))).toEqual(text('v'));
      }
    });
  });

  describe('closing', () => {
    test('a closed store refuses everything, and closing again is harmless', async () => {
      const tree = store.tree('a');
      store.close();
      store.close();
      expectStoreError(() => store.tree('a'), 'closed');
      expectStoreError(() => tree.get(text('k')), 'closed');
      expectStoreError(() => tree.insert(text('k'), text('v')), 'closed');
      expectStoreError(() => tree.range({}), 'closed');
      expectStoreError(() => store.transaction(() => 1), 'closed');
      await expect(store.transactAsync(() => 1)).rejects.toMatchObject({ name: 'MetadataStoreError', code: 'closed' });
      store = factory.open(); // for afterEach
    });

    test('data survives a reopen when the store persists', () => {
      store.tree('a').insert(text('k'), text('v'));
      store.transaction((tx) => tx.tree('b').insert(bytes(0xff, 0x00), bytes()));
      store.close();
      store = factory.open();
      if (!factory.persistent) {
        expect(store.tree('a').count()).toBe(0);
        return;
      }
      expect(store.tree('a').get(text('k'))).toEqual(text('v'));
      expect(store.tree('b').range({})).toEqual([{ key: bytes(0xff, 0x00), value: bytes() }]);
    });
  });
});

describe('SQLite specifics', () => {
  const path = (): string => join(directory, 'db.sqlite');

  test.each([true, false])('WAL journal; synchronous follows metadata_fsync (fsync %s)', (fsync) => {
    const store = openSqliteStore({ path: path(), fsync });
    try {
      expect(store.settings()).toEqual({ journalMode: 'wal', synchronous: fsync ? 'full' : 'normal' });
    } finally {
      store.close();
    }
  });

  test('one table per tree, named t_<name>, keyed by BLOB; schema version marked', () => {
    const store = openSqliteStore({ path: path(), fsync: false });
    store.tree('object').insert(text('k'), text('v'));
    store.close();
    const database = new Database(path(), { readonly: true });
    try {
      expect(database.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all()).toEqual(['t_object']);
      expect(database.prepare('SELECT typeof(k), typeof(v) FROM t_object').raw().get()).toEqual(['blob', 'blob']);
      expect(database.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    } finally {
      database.close();
    }
  });

  test('a resolved transactAsync is committed: another connection sees it', async () => {
    const store = openSqliteStore({ path: path(), fsync: true });
    const other = new Database(path(), { readonly: true });
    try {
      await store.transactAsync((tx) => tx.tree('a').insert(text('k'), text('v')));
      expect(other.prepare('SELECT v FROM t_a WHERE k = ?').pluck().get(text('k'))).toEqual(text('v'));
    } finally {
      other.close();
      store.close();
    }
  });

  test('a file that is not a database, or a missing folder, fails as an io error', () => {
    writeFileSync(path(), Buffer.alloc(8192, 0x42));
    expectStoreError(() => openSqliteStore({ path: path(), fsync: false }), 'io');
    expectStoreError(() => openSqliteStore({ path: join(directory, 'missing', 'db.sqlite'), fsync: false }), 'io');
  });

  test('a database from a newer schema is refused', () => {
    const database = new Database(path());
    database.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    database.close();
    expectStoreError(() => openSqliteStore({ path: path(), fsync: false }), 'unsupported-format');
  });

  describe('disk full', () => {
    let store: SqliteMetadataStore;
    /** Caps the database file at its current size, plus `pages` pages: SQLite then fails with SQLITE_FULL. */
    const capFile = (pages: number): void => {
      const database = (store as unknown as { database: Database.Database }).database;
      const used = database.pragma('page_count', { simple: true }) as number;
      database.pragma(`max_page_count = ${used + pages}`);
    };
    beforeEach(() => {
      store = openSqliteStore({ path: path(), fsync: false });
      store.tree('a').insert(text('small'), text('v'));
    });
    afterEach(() => store.close());

    test('a failing write is a MetadataStoreError io with the SQLite error as cause; the store stays usable', () => {
      capFile(0);
      const error = expectStoreError(() => store.tree('a').insert(text('big'), Buffer.alloc(64 * 1024)), 'io');
      expect((error.cause as { code?: string }).code).toBe('SQLITE_FULL');
      expect(store.tree('a').get(text('big'))).toBeNull();
      store.tree('a').insert(text('small'), text('w'));
      expect(store.tree('a').get(text('small'))).toEqual(text('w'));
    });

    test('in a transaction, the failure rolls back everything the transaction wrote', () => {
      capFile(2);
      expectStoreError(
        () =>
          store.transaction((tx) => {
            tx.tree('a').insert(text('first'), text('1'));
            for (let index = 0; index < 20; index++) tx.tree('a').insert(Buffer.from(`big${index}`), Buffer.alloc(16 * 1024));
          }),
        'io',
      );
      expect(store.tree('a').get(text('first'))).toBeNull();
      expect(store.tree('a').count()).toBe(1);
    });

    test('in a group commit, a work that hits the cap fails alone or takes the batch down, never half-stored', async () => {
      capFile(2);
      const outcomes = await Promise.allSettled([
        store.transactAsync((tx) => tx.tree('a').insert(text('before'), text('1'))),
        store.transactAsync((tx) => {
          for (let index = 0; index < 20; index++) tx.tree('a').insert(Buffer.from(`big${index}`), Buffer.alloc(16 * 1024));
        }),
        store.transactAsync((tx) => tx.tree('a').insert(text('after'), text('1'))),
      ]);
      expect(outcomes[1]!.status).toBe('rejected');
      expect(((outcomes[1] as PromiseRejectedResult).reason as MetadataStoreError).code).toBe('io');
      // Whatever SQLite chose (roll back the statement or the whole transaction), every promise
      // tells the truth about what is stored.
      for (const [index, key] of [[0, 'before'], [2, 'after']] as const) {
        const stored = store.tree('a').get(text(key)) !== null;
        expect(outcomes[index]!.status).toBe(stored ? 'fulfilled' : 'rejected');
      }
      expect(store.tree('a').range({ prefix: text('big') })).toEqual([]);
      store.tree('a').insert(text('later'), text('1'));
      expect(store.tree('a').get(text('later'))).toEqual(text('1'));
    });
  });

  describe('the database drops the transaction by itself', () => {
    // SQLite may roll back the whole transaction on some errors (I/O, out of memory). Simulated by
    // a raw ROLLBACK on the store's connection, followed by the error the work would have seen.
    let store: SqliteMetadataStore;
    const dropTransaction = (): never => {
      (store as unknown as { database: Database.Database }).database.exec('ROLLBACK');
      throw new Error('disk I/O error');
    };
    beforeEach(() => {
      store = openSqliteStore({ path: path(), fsync: false });
    });
    afterEach(() => store.close());

    test('a work that catches the failure cannot go on writing outside the transaction', () => {
      const error = expectStoreError(
        () =>
          store.transaction((tx) => {
            tx.tree('a').insert(text('first'), text('1'));
            expect(() => store.transaction(dropTransaction)).toThrow('disk I/O error');
            expectStoreError(() => tx.tree('a').insert(text('second'), text('2')), 'transaction-aborted');
            expectStoreError(() => tx.tree('a').get(text('first')), 'transaction-aborted');
          }),
        'transaction-aborted',
      );
      expect((error.cause as Error).message).toBe('disk I/O error');
      expect(store.tree('a').count()).toBe(0);
      store.tree('a').insert(text('later'), text('1'));
      expect(store.tree('a').count()).toBe(1);
    });

    test('in a group commit, every work of the batch learns that nothing was stored', async () => {
      const outcomes = await Promise.allSettled([
        store.transactAsync((tx) => tx.tree('a').insert(text('before'), text('1'))),
        store.transactAsync(dropTransaction),
        store.transactAsync((tx) => tx.tree('a').insert(text('after'), text('1'))),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
      const reasons = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason as Error);
      expect(reasons[1]!.message).toBe('disk I/O error');
      expect((reasons[0] as MetadataStoreError).code).toBe('transaction-aborted');
      expect((reasons[2] as MetadataStoreError).code).toBe('transaction-aborted');
      expect(store.tree('a').count()).toBe(0);
      await store.transactAsync((tx) => tx.tree('a').insert(text('next batch'), text('1')));
      expect(store.tree('a').count()).toBe(1);
    });
  });
});
