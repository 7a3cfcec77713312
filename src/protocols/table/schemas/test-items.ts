// A small table for tests and diagnostics: string partition key and sort key, a last-writer-wins
// string value, null for a deleted item (a tombstone). Nodes register it only when asked
// (GRANGE_TEST_TABLES=1): it exercises the generic engine without any S3 semantics.
import { lwwRegister, nullableCodec, stringCodec, type Lww } from '../crdt';
import type { TableSchema } from '../schema';

export interface TestItem {
  pk: string;
  sk: string;
  value: Lww<string | null>;
}

const valueCrdt = lwwRegister(nullableCodec(stringCodec));

export const testItemsSchema: TableSchema<TestItem> = {
  name: 'test_items',
  replication: 'sharded',
  partitionKey: (item) => Buffer.from(item.pk, 'utf8'),
  sortKey: (item) => Buffer.from(item.sk, 'utf8'),
  merge: (a, b) => ({ pk: a.pk, sk: a.sk, value: valueCrdt.merge(a.value, b.value) }),
  isTombstone: (item) => item.value.value === null,
  toWire: (item) => ({ pk: item.pk, sk: item.sk, v: valueCrdt.toWire(item.value) }),
  fromWire(raw) {
    const wire = raw as { pk?: unknown; sk?: unknown; v?: unknown } | null;
    if (!wire || typeof wire.pk !== 'string' || typeof wire.sk !== 'string') throw new Error('test item: expected {pk, sk, v}');
    return { pk: wire.pk, sk: wire.sk, value: valueCrdt.fromWire(wire.v) };
  },
};

/** The same items in a full-copy table: every storage node holds every row. */
export const testFullItemsSchema: TableSchema<TestItem> = { ...testItemsSchema, name: 'test_full_items', replication: 'full' };
