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

/**
 * Events whose `updated` hook indexes them by value in `test_event_index` (pk = the value,
 * sk = event pk/sk): the insert queue's test, a cascade in miniature.
 */
export const testEventsSchema: TableSchema<TestItem> = {
  ...testItemsSchema,
  name: 'test_events',
  updated(_old, next, effects) {
    if (next.value.value === null) return;
    effects.queue('test_event_index', testItemsSchema.toWire({ pk: next.value.value, sk: `${next.pk}/${next.sk}`, value: next.value }));
  },
};

export const testEventIndexSchema: TableSchema<TestItem> = { ...testItemsSchema, name: 'test_event_index' };

/** Every test table, registered together when GRANGE_TEST_TABLES=1. */
export const TEST_SCHEMAS = [testItemsSchema, testFullItemsSchema, testEventsSchema, testEventIndexSchema] as const;
