// K2V's pure core: causality tokens and the DVVS item (merge laws, the spec's examples, the table
// schema's wire form).
import { decodeCausalityToken, encodeCausalityToken, k2vNodeId, type CausalContext } from '../../src/protocols/k2v/causality';
import { K2vError } from '../../src/protocols/k2v/errors';
import { causalContextOf, isK2vTombstone, itemWrite, k2vItemSchema, latestTimeOf, mergeItems, valuesOf, type K2vItem, type K2vValue } from '../../src/protocols/k2v/item';
import { decodeWire, encodeCanonical } from '../../src/protocols/table';
import { seededRandom } from '../harness/prng';

const BUCKET = Buffer.alloc(32, 7);
const KEY = { bucketId: BUCKET, partitionKey: 'mailboxes', sortKey: 'INBOX' };
const NODE1 = '00000000000000a1';
const NODE2 = '00000000000000b2';
const EMPTY: K2vItem = { ...KEY, nodes: new Map() };

const bytesOf = (item: K2vItem): string => Buffer.from(encodeCanonical(k2vItemSchema.toWire(item) as never)).toString('hex');
const text = (values: K2vValue[]): (string | null)[] => values.map((value) => (value === null ? null : value.toString())).sort();

/** Writes `value` through `node` after a client read `read` (its causal context). */
function write(stored: K2vItem, node: string, read: K2vItem | null, value: string | null, nowMs = 0): K2vItem {
  const context = read ? causalContextOf(read) : new Map<string, number>();
  const { item } = itemWrite(KEY, node, context, value === null ? null : Buffer.from(value), latestTimeOf(stored, node), nowMs);
  return mergeItems(stored, item);
}

describe('causality tokens', () => {
  it('round-trip a context and refuse tampered or foreign strings', () => {
    const context: CausalContext = new Map([
      [NODE1, 1_700_000_000_123],
      [NODE2, 42],
    ]);
    const token = encodeCausalityToken(context);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCausalityToken(token)).toEqual(context);
    // The standard alphabet with padding reads the same.
    expect(decodeCausalityToken(Buffer.from(token, 'base64url').toString('base64'))).toEqual(context);
    const tampered = Buffer.from(token, 'base64url');
    tampered[tampered.length - 1]! ^= 1;
    expect(() => decodeCausalityToken(tampered.toString('base64url'))).toThrow(K2vError);
    expect(() => decodeCausalityToken('not a token!')).toThrow(/not base64/);
    expect(() => decodeCausalityToken('AAAA')).toThrow(/wrong length/);
    expect(encodeCausalityToken(new Map())).toBe('AAAAAAAAAAA');
    expect(decodeCausalityToken('AAAAAAAAAAA').size).toBe(0);
  });

  it('a node K2V id is the first 8 bytes of its node id', () => {
    expect(k2vNodeId('ab'.repeat(32))).toBe('abababababababab');
    expect(() => k2vNodeId('xyz')).toThrow();
  });
});

describe('DVVS item', () => {
  it('two writes without a token stay side by side; a write with the token of a read replaces both', () => {
    const a = write(EMPTY, NODE1, null, 'a', 100);
    const both = mergeItems(a, write(EMPTY, NODE2, null, 'b', 100));
    expect(text(valuesOf(both))).toEqual(['a', 'b']);
    const collapsed = write(both, NODE1, both, 'c', 50);
    expect(text(valuesOf(collapsed))).toEqual(['c']);
    // A write that saw only one of them replaces that one only.
    const partial = write(both, NODE2, a, 'd', 200);
    expect(text(valuesOf(partial))).toEqual(['b', 'd']);
  });

  it("follows the spec's longer example (v5 after v1 only, then v4 after v1, v2, v3)", () => {
    let item = write(EMPTY, NODE1, null, 'v1', 10);
    const afterV1 = item;
    item = write(item, NODE1, null, 'v2', 20); // concurrent with v1 (no token): both kept
    item = write(item, NODE2, null, 'v3', 30);
    expect(text(valuesOf(item))).toEqual(['v1', 'v2', 'v3']);
    const read = item; // a client reads v1, v2 and v3
    item = write(item, NODE1, afterV1, 'v5', 40); // v5 saw v1 only
    expect(text(valuesOf(item))).toEqual(['v2', 'v3', 'v5']);
    item = write(item, NODE2, read, 'v4', 35); // v4 saw v1, v2 and v3, not v5
    expect(text(valuesOf(item))).toEqual(['v4', 'v5']);
  });

  it('a new value is stamped after the context and after its node’s own values, whatever the clock says', () => {
    const first = write(EMPTY, NODE1, null, 'x', 5_000);
    const next = itemWrite(KEY, NODE1, causalContextOf(first), Buffer.from('y'), latestTimeOf(first, NODE1), 1_000);
    expect(next.time).toBe(5_001);
    expect(text(valuesOf(mergeItems(first, next.item)))).toEqual(['y']);
  });

  it('a delete with a token leaves a tombstone; equal concurrent values are read once', () => {
    const item = write(EMPTY, NODE1, null, 'x', 1);
    const deleted = write(item, NODE2, item, null, 2);
    expect(valuesOf(deleted)).toEqual([null]);
    expect(isK2vTombstone(deleted)).toBe(true);
    expect(isK2vTombstone(item)).toBe(false);
    const twice = mergeItems(write(EMPTY, NODE1, null, 'same', 1), write(EMPTY, NODE2, null, 'same', 1));
    expect(text(valuesOf(twice))).toEqual(['same']);
  });

  it('merge is commutative, associative and idempotent, with canonical bytes (seeded random items)', () => {
    const random = seededRandom(0x42f);
    const nodes = [NODE1, NODE2, '00000000000000c3'];
    const randomItem = (): K2vItem => {
      let item = EMPTY;
      for (let step = Math.floor(random() * 5); step > 0; step--) {
        const node = nodes[Math.floor(random() * nodes.length)]!;
        const read = random() < 0.5 ? item : null;
        item = write(item, node, read, random() < 0.2 ? null : `v${Math.floor(random() * 4)}`, Math.floor(random() * 50));
      }
      return item;
    };
    for (let round = 0; round < 300; round++) {
      const [a, b, c] = [randomItem(), randomItem(), randomItem()];
      expect(bytesOf(mergeItems(a, b))).toBe(bytesOf(mergeItems(b, a)));
      expect(bytesOf(mergeItems(mergeItems(a, b), c))).toBe(bytesOf(mergeItems(a, mergeItems(b, c))));
      expect(bytesOf(mergeItems(a, a))).toBe(bytesOf(a));
      expect(bytesOf(k2vItemSchema.fromWire(decodeWire(encodeCanonical(k2vItemSchema.toWire(a) as never))))).toBe(bytesOf(a));
    }
  });

  it('refuses malformed wire forms', () => {
    expect(() => k2vItemSchema.fromWire({ b: Buffer.alloc(3), p: 'a', s: 'b', n: [] })).toThrow(/bucket id/);
    expect(() => k2vItemSchema.fromWire({ b: BUCKET, p: 'a', s: 'b', n: [['zz', 0, []]] })).toThrow(/node part/);
    expect(() => k2vItemSchema.fromWire({ b: BUCKET, p: 'a', s: 'b', n: [[NODE1, 0, [[-1, null]]]] })).toThrow(/a value is/);
  });
});
