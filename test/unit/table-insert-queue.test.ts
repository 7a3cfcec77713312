// The insert queue: an `updated` hook's writes are queued in the same transaction as the change
// that caused them, and the insert worker carries them out, removing only what it inserted.
import { crdt, decodeEntry, encodeEntry, initHashing, partitionOfKey, schemaRegistry, type Hasher, type TableSchema } from '../../src/protocols/table';
import { testEventIndexSchema, testEventsSchema, testItemsSchema, type TestItem } from '../../src/protocols/table/schemas/test-items';
import { applyEntries, dataTreeName, insertQueueTreeName } from '../../src/actors/table/storage';
import { insertQueueWorker } from '../../src/actors/table/insert-queue-worker';
import { openMemoryStore } from '../../src/storage/metadata';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await initHashing();
});

const registry = schemaRegistry([testEventsSchema, testEventIndexSchema] as TableSchema<unknown>[]);
const event = (pk: string, value: string | null, at: number): TestItem => ({ pk, sk: 's', value: crdt.lwwNew(value, at) });

function write(store: ReturnType<typeof openMemoryStore>, item: TestItem, schemaOf = (name: string) => registry.get(name)): number {
  return store.transaction((tx) => applyEntries(tx, testEventsSchema, hasher, partitionOfKey(Buffer.from(item.pk)), [encodeEntry(testEventsSchema, item)], 0, schemaOf));
}

describe('insert queue', () => {
  it("queues the hook's write in the same transaction, merging repeated writes to one row", () => {
    const store = openMemoryStore();
    write(store, event('e1', 'red', 1));
    write(store, event('e1', 'red', 2));
    const queued = store.tree(insertQueueTreeName('test_event_index')).range({});
    expect(queued).toHaveLength(1);
    const entry = decodeEntry(testEventIndexSchema, queued[0]!.value);
    expect(entry).toMatchObject({ pk: 'red', sk: 'e1/s' });
    expect(entry.value.timestamp).toBe(2);
  });

  it('writes nothing at all when a hook targets a table this node does not serve', () => {
    const store = openMemoryStore();
    expect(() => write(store, event('e1', 'red', 1), () => undefined)).toThrow(/test_event_index/);
    expect(store.tree(dataTreeName('test_events')).count()).toBe(0);
    expect(store.tree(insertQueueTreeName('test_event_index')).count()).toBe(0);
  });

  it('the worker inserts queued rows and removes only those unchanged since it read them', async () => {
    const store = openMemoryStore();
    write(store, event('e1', 'red', 1));
    write(store, event('e2', 'blue', 1));
    const inserted: string[] = [];
    const worker = insertQueueWorker({
      table: 'test_event_index',
      store,
      insert: async (entries) => {
        inserted.push(...entries.map((bytes) => decodeEntry(testEventIndexSchema, bytes).pk));
        // A write merged into a queued row while the insert is under way: it must stay queued.
        write(store, event('e1', 'red', 5));
      },
    });
    expect(await worker.step()).toBe('idle');
    expect(inserted.sort()).toEqual(['blue', 'red']);
    const left = store.tree(insertQueueTreeName('test_event_index')).range({});
    expect(left.map((row) => decodeEntry(testEventIndexSchema, row.value).value.timestamp)).toEqual([5]);
  });

  it('keeps every row queued when the insert fails', async () => {
    const store = openMemoryStore();
    write(store, event('e1', 'red', 1));
    const worker = insertQueueWorker({ table: 'test_event_index', store, insert: () => Promise.reject(new Error('quorum not reached')) });
    await expect(worker.step()).rejects.toThrow('quorum not reached');
    expect(store.tree(insertQueueTreeName('test_event_index')).count()).toBe(1);
  });

  it('a schema without hooks queues nothing', () => {
    const store = openMemoryStore();
    const item: TestItem = { pk: 'p', sk: 's', value: crdt.lwwNew('x', 1) };
    store.transaction((tx) => applyEntries(tx, testItemsSchema, hasher, partitionOfKey(Buffer.from('p')), [encodeEntry(testItemsSchema, item)], 0));
    expect(store.tree(insertQueueTreeName('test_event_index')).count()).toBe(0);
  });
});
