// The merge laws of every CRDT helper (commutative, associative, idempotent) on seeded random
// values, their canonical encoding, and the semantics each one promises.
import { decodeWire, encodeCanonical, TableError } from '../../src/protocols/table';
import {
  boolCrdt,
  deletable,
  DELETED,
  encodeValue,
  integerCodec,
  isDeleted,
  lwwMap,
  lwwMapGet,
  lwwMapSet,
  lwwNew,
  lwwRegister,
  lwwUpdate,
  mergedMap,
  mergedMapPut,
  nullableCodec,
  present,
  stringCodec,
  wireValueCodec,
  type Crdt,
  type Deletable,
  type Lww,
  type LwwMap,
  type MergedMap,
} from '../../src/protocols/table/crdt';
import { seededRandom as prng } from '../harness/prng';


type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// Small domains on purpose: equal timestamps and shared keys are where merges go wrong.
const genLwwString = (random: Random): Lww<string> => ({ timestamp: Math.floor(random() * 4), value: pick(random, ['', 'a', 'b', 'ab', 'é']) });
const genLwwNumber = (random: Random): Lww<number> => ({ timestamp: Math.floor(random() * 3), value: Math.floor(random() * 5) - 2 });

function genMap<V>(random: Random, value: (random: Random) => V): Map<string, V> {
  const map = new Map<string, V>();
  const size = Math.floor(random() * 5);
  for (let index = 0; index < size; index += 1) map.set(pick(random, ['k1', 'k2', 'k3', 'k4', 'K', 'é']), value(random));
  return map;
}

function genDeletable<T>(random: Random, value: (random: Random) => T): Deletable<T> {
  return random() < 0.3 ? DELETED : present(value(random));
}

function bytes<T>(crdt: Crdt<T>, value: T): string {
  return encodeValue(crdt, value).toString('hex');
}

function checkLaws<T>(crdt: Crdt<T>, generate: (random: Random) => T, seed: number): void {
  const random = prng(seed);
  for (let run = 0; run < 300; run += 1) {
    const [a, b, c] = [generate(random), generate(random), generate(random)];
    expect(bytes(crdt, crdt.merge(a, b))).toBe(bytes(crdt, crdt.merge(b, a)));
    expect(bytes(crdt, crdt.merge(crdt.merge(a, b), c))).toBe(bytes(crdt, crdt.merge(a, crdt.merge(b, c))));
    expect(bytes(crdt, crdt.merge(a, a))).toBe(bytes(crdt, a));
    // Round trip through bytes: what a peer decodes is what was sent.
    expect(bytes(crdt, crdt.fromWire(decodeWire(encodeValue(crdt, a))))).toBe(bytes(crdt, a));
  }
}

const lwwString = lwwRegister(stringCodec);
const lwwStringMap = lwwMap(stringCodec);
const cases: [string, Crdt<any>, (random: Random) => unknown][] = [
  ['LWW register', lwwString, genLwwString],
  ['LWW register of nullable', lwwRegister(nullableCodec(integerCodec)), (random) => ({ timestamp: Math.floor(random() * 3), value: random() < 0.4 ? null : Math.floor(random() * 3) })],
  ['LWW map', lwwStringMap, (random) => genMap(random, genLwwString)],
  ['Bool', boolCrdt, (random) => random() < 0.5],
  ['Deletable of LWW register', deletable(lwwRegister(integerCodec)), (random) => genDeletable(random, genLwwNumber)],
  ['Deletable of LWW map', deletable(lwwStringMap), (random) => genDeletable(random, (inner) => genMap(inner, genLwwString))],
  ['merged map of Bool', mergedMap(boolCrdt), (random) => genMap(random, (inner) => inner() < 0.5)],
  ['merged map of Deletable LWW', mergedMap(deletable(lwwRegister(integerCodec))), (random) => genMap(random, (inner) => genDeletable(inner, genLwwNumber))],
  ['merged map of merged maps', mergedMap(mergedMap(boolCrdt)), (random) => genMap(random, (inner) => genMap(inner, (deepest) => deepest() < 0.5))],
];

describe('CRDT merge laws on seeded random values', () => {
  cases.forEach(([name, crdt, generate], index) => {
    it(`${name}: commutative, associative, idempotent, round-trips`, () => checkLaws(crdt, generate, 0x1000 + index));
  });
});

describe('LWW register', () => {
  it('keeps the later write, and on equal timestamps the larger canonical bytes, whatever the order', () => {
    expect(lwwString.merge({ timestamp: 5, value: 'old' }, { timestamp: 6, value: 'new' }).value).toBe('new');
    expect(lwwString.merge({ timestamp: 6, value: 'new' }, { timestamp: 5, value: 'old' }).value).toBe('new');
    const [a, b] = [{ timestamp: 7, value: 'a' }, { timestamp: 7, value: 'b' }];
    expect(lwwString.merge(a, b).value).toBe('b');
    expect(lwwString.merge(b, a).value).toBe('b');
  });

  it('an update wins over the value it follows even when the clock went backwards', () => {
    const first = lwwNew('first', 1_000);
    const second = lwwUpdate(first, 'second', 900);
    expect(second.timestamp).toBe(1_001);
    expect(lwwString.merge(first, second).value).toBe('second');
    expect(lwwUpdate(second, 'third', 5_000).timestamp).toBe(5_000);
  });

  it('refuses malformed wire values with a TableError', () => {
    for (const raw of [null, [1], [-1, 'x'], [1.5, 'x'], [1, 2], 'x']) {
      expect(() => lwwString.fromWire(raw)).toThrow(TableError);
    }
    expect(() => lwwNew('x', Number.NaN)).toThrow(TableError);
  });
});

describe('LWW map', () => {
  it('keeps concurrent writes to different keys and the later write to one key', () => {
    const base = lwwMapSet(new Map(), 'x', 'one', 10);
    const left = lwwMapSet(base, 'y', 'left', 20);
    const right = lwwMapSet(lwwMapSet(base, 'x', 'right', 15), 'y', 'right', 30);
    const merged = lwwStringMap.merge(left, right);
    expect(lwwMapGet(merged, 'x')).toBe('right');
    expect(lwwMapGet(merged, 'y')).toBe('right');
    expect(lwwMapGet(lwwStringMap.merge(left, base), 'y')).toBe('left');
  });

  it('refuses a key given twice', () => {
    expect(() => lwwStringMap.fromWire([['k', 1, 'a'], ['k', 2, 'b']])).toThrow(TableError);
  });
});

describe('Deletable', () => {
  const crdt = deletable(boolCrdt);

  it('Deleted wins over any Present value, in either order', () => {
    for (const value of [present(true), present(false), DELETED]) {
      expect(isDeleted(crdt.merge(value, DELETED))).toBe(true);
      expect(isDeleted(crdt.merge(DELETED, value))).toBe(true);
    }
  });

  it('merges two Present values with the inner CRDT', () => {
    expect(crdt.merge(present(false), present(true))).toEqual(present(true));
  });

  it('refuses an unknown tag', () => {
    expect(() => crdt.fromWire([2, true])).toThrow(TableError);
    expect(() => crdt.fromWire([0, true])).toThrow(TableError);
  });
});

describe('merged map', () => {
  it('merges values key by key and keeps keys only one side has', () => {
    const crdt = mergedMap(boolCrdt);
    const left: MergedMap<boolean> = new Map([['a', true], ['b', false]]);
    const right: MergedMap<boolean> = new Map([['b', true], ['c', false]]);
    expect([...crdt.merge(left, right)].sort()).toEqual([['a', true], ['b', true], ['c', false]]);
    expect(mergedMapPut(boolCrdt, left, 'b', true).get('b')).toBe(true);
    expect(mergedMapPut(boolCrdt, left, 'a', false).get('a')).toBe(true);
  });
});

describe('deterministic encoding', () => {
  it('gives the same bytes for maps built in any insertion order', () => {
    const random = prng(0xdecade);
    for (let run = 0; run < 100; run += 1) {
      const map: LwwMap<string> = genMap(random, genLwwString);
      const reversed: LwwMap<string> = new Map([...map].reverse());
      expect(bytes(lwwStringMap, reversed)).toBe(bytes(lwwStringMap, map));
    }
  });

  it('sorts object keys and drops undefined properties before packing', () => {
    const a = encodeCanonical({ zeta: 1, alpha: [true, null], mid: { y: Buffer.from([1]), x: 'x' }, gone: undefined });
    const b = encodeCanonical({ mid: { x: 'x', y: new Uint8Array([1]) }, alpha: [true, null], zeta: 1 });
    expect(a.equals(b)).toBe(true);
    expect(Object.keys(decodeWire(a) as object)).toEqual(['alpha', 'mid', 'zeta']);
  });

  it('has the exact bytes of a known value (a change of encoder shows here)', () => {
    const register = lwwRegister(stringCodec);
    expect(encodeValue(register, { timestamp: 1, value: 'a' }).toString('hex')).toBe('9201a161');
    expect(encodeValue(lwwStringMap, new Map([['k', { timestamp: 2, value: 'v' }]])).toString('hex')).toBe('9193a16b02a176');
  });

  it('refuses values outside the wire model rather than encoding them ambiguously', () => {
    expect(() => encodeCanonical(new Map() as never)).toThrow();
    expect(() => encodeCanonical([undefined] as never)).toThrow();
    expect(() => encodeCanonical(Number.NaN)).toThrow();
    expect(() => wireValueCodec.fromWire(new Date(0))).toThrow(TableError);
    expect(wireValueCodec.fromWire({ a: [1, 'b', null] })).toEqual({ a: [1, 'b', null] });
  });
});
