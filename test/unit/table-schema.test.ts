// Schemas, keys, the entry format (version marker, migration, canonical bytes) and the write-path
// merge with its `updated` hook, on two small example tables (a block reference and its block
// counter), the way concrete tables will use them.
import { createHash } from 'node:crypto';

import {
  decodeEntry,
  encodeEntry,
  EffectsCollector,
  entryHash,
  initHashing,
  matchesFilter,
  partitionKeyRange,
  partitionOfKey,
  partitionOfRowKey,
  partitionRange,
  planUpdate,
  rowKey,
  rowKeyOf,
  schemaRegistry,
  splitRowKey,
  TABLE_LIMITS,
  TableError,
  validateSchema,
  type Hasher,
  type TableSchema,
} from '../../src/protocols/table';
import { boolCrdt } from '../../src/protocols/table/crdt';

interface BlockRef {
  block: Buffer;
  version: string;
  deleted: boolean;
}

// A block_ref-like table: keyed by block hash / version id; deletion is a Bool CRDT.
const blockRefs: TableSchema<BlockRef> = {
  name: 'block_ref',
  replication: 'sharded',
  partitionKey: (entry) => entry.block,
  sortKey: (entry) => Buffer.from(entry.version),
  merge: (a, b) => ({ ...a, deleted: boolCrdt.merge(a.deleted, b.deleted) }),
  isTombstone: (entry) => entry.deleted,
  toWire: (entry) => ({ block: entry.block, version: entry.version, deleted: entry.deleted }),
  fromWire(raw) {
    const value = raw as Partial<Record<keyof BlockRef, unknown>>;
    if (typeof value !== 'object' || value === null || !Buffer.isBuffer(value.block) || typeof value.version !== 'string' || typeof value.deleted !== 'boolean') {
      throw new Error('not a block ref');
    }
    return { block: value.block, version: value.version, deleted: value.deleted };
  },
  filter: (entry, filter) => filter !== 'live' || !entry.deleted,
  updated(old, next, effects) {
    if (old === null && !next.deleted) effects.queue('block_count', { block: next.block, refs: [next.version] });
    if (old !== null && !old.deleted && next.deleted) effects.queue('block_count', { block: next.block, released: [next.version] });
  },
};

const ref = (version: string, deleted = false): BlockRef => ({ block: Buffer.alloc(32, 7), version, deleted });

let hasher: Hasher;
beforeAll(async () => {
  hasher = await initHashing();
});

describe('keys', () => {
  it('lays out a row key as sha256(partition key) then the sort key, partition = first byte', () => {
    const partitionHash = createHash('sha256').update(Buffer.alloc(32, 7)).digest();
    const key = rowKey(blockRefs, ref('v1'));
    expect(key.equals(Buffer.concat([partitionHash, Buffer.from('v1')]))).toBe(true);
    expect(partitionOfKey(Buffer.alloc(32, 7))).toBe(partitionHash[0]);
    expect(partitionOfRowKey(key)).toBe(partitionHash[0]);
    expect(splitRowKey(key).sortKey.toString()).toBe('v1');
    expect(splitRowKey(key).partitionHash.equals(partitionHash)).toBe(true);
  });

  it('gives ranges that hold exactly the rows of one partition key and of one partition', () => {
    const range = partitionKeyRange(Buffer.alloc(32, 7));
    const inside = rowKey(blockRefs, ref('zzz'));
    const outside = rowKeyOf(Buffer.from('other'), Buffer.from(''));
    const within = (key: Buffer, { start, end }: { start: Buffer; end: Buffer | null }) => key.compare(start) >= 0 && (end === null || key.compare(end) < 0);
    expect(within(inside, range)).toBe(true);
    expect(within(outside, range)).toBe(false);
    expect(within(inside, partitionRange(inside[0]!))).toBe(true);
    expect(within(inside, partitionRange((inside[0]! + 1) % 256))).toBe(false);
    expect(partitionRange(255).end).toBeNull();
  });

  it('refuses keys beyond the limits', () => {
    expect(() => rowKeyOf(Buffer.alloc(1), Buffer.alloc(TABLE_LIMITS.sortKeyBytesMax + 1))).toThrow(TableError);
    expect(() => partitionOfKey(Buffer.alloc(TABLE_LIMITS.partitionKeyBytesMax + 1))).toThrow(TableError);
    expect(() => partitionOfRowKey(Buffer.alloc(31))).toThrow(TableError);
  });
});

describe('schemas', () => {
  it('refuses bad names, replications, formats and duplicate tables', () => {
    expect(() => validateSchema({ ...blockRefs, name: 'Block-Ref' } as TableSchema<unknown>)).toThrow(TableError);
    expect(() => validateSchema({ ...blockRefs, replication: 'everywhere' } as unknown as TableSchema<unknown>)).toThrow(TableError);
    expect(() => validateSchema({ ...blockRefs, formatVersion: 0 } as TableSchema<unknown>)).toThrow(TableError);
    expect(() => schemaRegistry([blockRefs, blockRefs] as TableSchema<unknown>[])).toThrow(TableError);
    expect(schemaRegistry([blockRefs] as TableSchema<unknown>[]).get('block_ref')).toBe(blockRefs);
  });

  it('applies the filter only when the schema has one and a filter is given', () => {
    expect(matchesFilter(blockRefs, ref('v', true), 'live')).toBe(false);
    expect(matchesFilter(blockRefs, ref('v', true), undefined)).toBe(true);
    expect(matchesFilter({ ...blockRefs, filter: undefined }, ref('v', true), 'live')).toBe(true);
  });
});

describe('entry format', () => {
  it('stores [format version, wire] with canonical bytes, whatever the property order of the wire value', () => {
    const bytes = encodeEntry(blockRefs, ref('v1'));
    const reordered: TableSchema<BlockRef> = { ...blockRefs, toWire: (entry) => ({ deleted: entry.deleted, version: entry.version, block: entry.block }) };
    expect(encodeEntry(reordered, ref('v1')).equals(bytes)).toBe(true);
    expect(bytes.subarray(0, 2).toString('hex')).toBe('9201'); // a 2-element array, format 1
    expect(decodeEntry(blockRefs, bytes)).toEqual(ref('v1'));
  });

  it('migrates rows of an older format and refuses a newer one', () => {
    const v1 = encodeEntry(blockRefs, ref('v1'));
    const v2: TableSchema<BlockRef> = {
      ...blockRefs,
      formatVersion: 2,
      migrate: (fromVersion, raw) => (fromVersion === 1 ? { ...(raw as object), version: `migrated-${(raw as BlockRef).version}` } : raw),
    };
    expect(decodeEntry(v2, v1).version).toBe('migrated-v1');
    expect(() => decodeEntry(blockRefs, encodeEntry(v2, ref('v')))).toThrow(expect.objectContaining({ reason: 'unsupported-format' }));
    expect(() => decodeEntry({ ...v2, migrate: undefined }, v1)).toThrow(expect.objectContaining({ reason: 'unsupported-format' }));
  });

  it('reports undecodable or malformed entries as TableError malformed', () => {
    for (const hex of ['c1', '9101', '92a178c0', '920180', '9201c0ff']) {
      expect(() => decodeEntry(blockRefs, Buffer.from(hex, 'hex'))).toThrow(expect.objectContaining({ name: 'TableError', reason: 'malformed' }));
    }
  });
});

describe('planUpdate', () => {
  it('stores a new row, runs the hook and hashes the stored bytes', () => {
    const update = planUpdate(blockRefs, hasher, null, ref('v1'))!;
    expect(update.rowKey.equals(rowKey(blockRefs, ref('v1')))).toBe(true);
    expect(update.old).toBeNull();
    expect(update.bytes.equals(encodeEntry(blockRefs, ref('v1')))).toBe(true);
    expect(update.entryHash.equals(entryHash(hasher, update.bytes))).toBe(true);
    expect(update.effects).toEqual([{ table: 'block_count', entry: { block: Buffer.alloc(32, 7), refs: ['v1'] } }]);
  });

  it('merges into the stored row and cascades a deletion through the hook', () => {
    const stored = encodeEntry(blockRefs, ref('v1'));
    const update = planUpdate(blockRefs, hasher, stored, ref('v1', true))!;
    expect(update.next.deleted).toBe(true);
    expect(update.effects).toEqual([{ table: 'block_count', entry: { block: Buffer.alloc(32, 7), released: ['v1'] } }]);
  });

  it('changes nothing and runs no hook when the merge gives the stored bytes back (a replayed write)', () => {
    const stored = encodeEntry(blockRefs, ref('v1', true));
    const hook = jest.fn();
    expect(planUpdate({ ...blockRefs, updated: hook }, hasher, stored, ref('v1', false))).toBeNull();
    expect(planUpdate({ ...blockRefs, updated: hook }, hasher, stored, ref('v1', true))).toBeNull();
    expect(hook).not.toHaveBeenCalled();
  });

  it('bounds the writes one hook may queue', () => {
    const effects = new EffectsCollector();
    for (let index = 0; index < TABLE_LIMITS.effectsPerUpdateMax; index += 1) effects.queue('t', index);
    expect(() => effects.queue('t', 'one too many')).toThrow(TableError);
  });
});
