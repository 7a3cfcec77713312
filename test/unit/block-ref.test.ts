// The block_ref schema and the local refcounts its hook keeps.
import { randomBytes } from 'node:crypto';
import { adjustCounter, decodeCounter, encodeCounter, encodeEntry, initHashing, isDeletable, partitionOfKey, type Hasher } from '../../src/protocols/table';
import { BLOCK_REFCOUNT_COUNTER, blockRefSchema, type BlockRef } from '../../src/protocols/block/block-ref';
import { applyEntries, localCounterTreeName } from '../../src/actors/table/storage';
import { openMemoryStore } from '../../src/storage/metadata';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await initHashing();
});

const block = randomBytes(32);
const ref = (version: string, deleted: boolean): BlockRef => ({ block, version: Buffer.from(version), deleted });

describe('block_ref merge', () => {
  it('is commutative, associative and idempotent, and a deletion wins', () => {
    const values = [ref('v1', false), ref('v1', true)];
    for (const a of values) {
      expect(blockRefSchema.merge(a, a)).toEqual(a);
      for (const b of values) {
        expect(blockRefSchema.merge(a, b)).toEqual(blockRefSchema.merge(b, a));
        for (const c of values) expect(blockRefSchema.merge(blockRefSchema.merge(a, b), c)).toEqual(blockRefSchema.merge(a, blockRefSchema.merge(b, c)));
      }
    }
    expect(blockRefSchema.merge(ref('v1', false), ref('v1', true)).deleted).toBe(true);
  });

  it('encodes deterministically and refuses malformed rows', () => {
    expect(encodeEntry(blockRefSchema, ref('v1', false)).equals(encodeEntry(blockRefSchema, ref('v1', false)))).toBe(true);
    expect(() => blockRefSchema.fromWire({ b: Buffer.alloc(5), v: Buffer.from('v'), d: false })).toThrow(/32-byte/);
    expect(() => blockRefSchema.fromWire({ b: block, v: Buffer.alloc(0), d: false })).toThrow(/version id/);
  });
});

describe('block refcounts', () => {
  function refcount(store: ReturnType<typeof openMemoryStore>): ReturnType<typeof decodeCounter> | null {
    const bytes = store.tree(localCounterTreeName(BLOCK_REFCOUNT_COUNTER)).get(block);
    return bytes === null ? null : decodeCounter(bytes);
  }
  function write(store: ReturnType<typeof openMemoryStore>, row: BlockRef, nowMs: number): void {
    store.transaction((tx) => applyEntries(tx, blockRefSchema, hasher, partitionOfKey(block), [encodeEntry(blockRefSchema, row)], nowMs));
  }

  it('counts live references, ignores replays, and remembers since when it is zero', () => {
    const store = openMemoryStore();
    write(store, ref('v1', false), 10);
    write(store, ref('v1', false), 11); // a replay changes nothing
    write(store, ref('v2', false), 12);
    expect(refcount(store)).toEqual({ count: 2, zeroSinceMs: null });
    write(store, ref('v1', true), 20);
    write(store, ref('v1', true), 21);
    expect(refcount(store)).toEqual({ count: 1, zeroSinceMs: null });
    write(store, ref('v2', true), 30);
    expect(refcount(store)).toEqual({ count: 0, zeroSinceMs: 30 });
    // A deleted reference arriving first (anti-entropy order) never counted, so never uncounts.
    write(store, ref('v3', true), 40);
    expect(refcount(store)).toEqual({ count: 0, zeroSinceMs: 30 });
  });

  it('makes a block deletable only after the delay at zero', () => {
    const zero = adjustCounter(adjustCounter(null, 1, 0), -1, 1_000);
    expect(isDeletable(zero, 1_500, 600)).toBe(false);
    expect(isDeletable(zero, 1_600, 600)).toBe(true);
    expect(isDeletable(adjustCounter(zero, 1, 2_000), 10_000, 600)).toBe(false);
    expect(decodeCounter(encodeCounter(zero))).toEqual(zero);
  });
});
