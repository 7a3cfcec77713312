// Tombstone GC: the todo record's key orders records by age whatever the row key; due records are
// chosen oldest first, skipping partitions that wait for a retry; a record whose row changed is
// dropped. Then the worker over in-memory replicas: nothing is deleted while a holder is down or
// before the delay, everything once every holder confirmed, and a value rewritten over the
// tombstone on any replica survives there.
import {
  checkLocalRows,
  crdt,
  decodeEntry,
  decodeGcTodo,
  encodeEntry,
  entryHash,
  gcDueBound,
  gcTargets,
  gcTodoKey,
  gcTodoValue,
  groupGcByPartition,
  initHashing,
  merkleTodoValue,
  rowKey,
  rowKeyOf,
  selectGcBatch,
  TableError,
  type GcTodoRecord,
  type Hasher,
} from '../../src/protocols/table';
import { testItemsSchema, type TestItem } from '../../src/protocols/table/schemas/test-items';
import { openMemoryStore, type MetadataStore } from '../../src/storage/metadata';
import { applyEntries, dataTreeName, deleteRowsIfUnchanged, gcTodoTreeName, merkleTodoTreeName, removeGcTodo } from '../../src/actors/table/storage';
import { gcPollDelayMs, gcWorker } from '../../src/actors/table/gc-worker';
import type { Placement } from '../../src/protocols/table';
import type { Ref } from '../../src/actors/runtime';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await initHashing();
});

const TABLE = testItemsSchema.name;
const DELAY_MS = 10_000;

function item(pk: string, sk: string, value: string | null, timestampMs: number): TestItem {
  return { pk, sk, value: crdt.lwwNew(value, timestampMs) };
}

function keyOf(entry: TestItem): Buffer {
  return rowKey(testItemsSchema, entry);
}

function partitionOf(entry: TestItem): number {
  return keyOf(entry)[0]!;
}

function record(tombstonedAtMs: number, key: Buffer, hash: Buffer = Buffer.alloc(8, 1)): GcTodoRecord {
  return { tombstonedAtMs, rowKey: key, entryHash: hash };
}

describe('GC todo records', () => {
  it('sort by the time the row became a tombstone, whatever the row key', () => {
    const high = Buffer.concat([Buffer.alloc(32, 0xff), Buffer.from('zzz')]);
    const low = Buffer.alloc(32, 0);
    const times = [0, 1, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 1_700_000_000_000, Number.MAX_SAFE_INTEGER];
    const keys = times.flatMap((time, index) => [{ time, order: index, key: gcTodoKey(time, high) }, { time, order: index, key: gcTodoKey(time, low) }]);
    const sorted = [...keys].sort((a, b) => Buffer.compare(a.key, b.key));
    expect(sorted.map((entry) => entry.order)).toEqual(times.flatMap((_, index) => [index, index]));
    // Within one millisecond, row keys keep their own order.
    expect(Buffer.compare(gcTodoKey(5, low), gcTodoKey(5, high))).toBeLessThan(0);
  });

  it('round-trip, and refuse values of another format or size', () => {
    const key = rowKeyOf(Buffer.from('pk'), Buffer.from('sk'));
    const hash = Buffer.from('0102030405060708', 'hex');
    expect(decodeGcTodo(gcTodoKey(1_700_000_000_123, key), gcTodoValue(hash))).toEqual({ tombstonedAtMs: 1_700_000_000_123, rowKey: key, entryHash: hash });
    expect(() => decodeGcTodo(gcTodoKey(1, key), Buffer.concat([Buffer.from([2]), hash]))).toThrow(TableError);
    expect(() => decodeGcTodo(gcTodoKey(1, key), hash)).toThrow(TableError);
    expect(() => decodeGcTodo(Buffer.alloc(8), gcTodoValue(hash))).toThrow(TableError);
    expect(() => gcTodoKey(-1, key)).toThrow(RangeError);
    expect(() => gcTodoKey(1.5, key)).toThrow(RangeError);
  });

  it('are due once older than the delay: the bound splits the tree exactly there', () => {
    const key = rowKeyOf(Buffer.from('pk'), Buffer.from('sk'));
    const bound = gcDueBound(50_000, DELAY_MS);
    expect(Buffer.compare(gcTodoKey(40_000, Buffer.alloc(40, 0xff)), bound)).toBeLessThan(0);
    expect(Buffer.compare(gcTodoKey(40_001, key), bound)).toBeGreaterThanOrEqual(0);
    // Before the clock has run a whole delay, nothing is due.
    expect(Buffer.compare(gcTodoKey(0, key), gcDueBound(5_000, DELAY_MS))).toBeGreaterThanOrEqual(0);
  });
});

describe('choosing what to collect', () => {
  const inPartition = (partition: number, tail: number): Buffer => Buffer.concat([Buffer.from([partition]), Buffer.alloc(31, tail)]);

  it('takes due records oldest first, up to the batch limit, skipping partitions that wait', () => {
    const records = [record(1, inPartition(7, 1)), record(2, inPartition(9, 1)), record(3, inPartition(7, 2)), record(4, inPartition(8, 1)), record(50, inPartition(8, 2))];
    const times = (batch: GcTodoRecord[]): number[] => batch.map((entry) => entry.tombstonedAtMs);
    expect(times(selectGcBatch(records, 10, () => false))).toEqual([1, 2, 3, 4]);
    expect(times(selectGcBatch(records, 10, (partition) => partition === 7))).toEqual([2, 4]);
    expect(times(selectGcBatch(records, 10, () => false, 2))).toEqual([1, 2]);
    expect(times(selectGcBatch(records, 0, () => false))).toEqual([]);
  });

  it('keeps only records whose row is still that tombstone here', () => {
    const same = Buffer.from('tombstone bytes');
    const rows = new Map<string, Buffer>([
      ['a', same],
      ['b', Buffer.from('a newer live value')],
    ]);
    const key = (name: string): Buffer => Buffer.concat([Buffer.from([1]), Buffer.alloc(31), Buffer.from(name)]);
    const hash = entryHash(hasher, same);
    const records = [record(1, key('a'), hash), record(2, key('b'), hash), record(3, key('gone'), hash)];
    const { collect, drop } = checkLocalRows(records, (rowKeyBytes) => rows.get(rowKeyBytes.subarray(32).toString()) ?? null, hasher);
    expect(collect.map((candidate) => candidate.record.tombstonedAtMs)).toEqual([1]);
    expect(collect[0]!.bytes).toEqual(same);
    expect(drop.map((entry) => entry.tombstonedAtMs)).toEqual([2, 3]);
  });

  it('groups by partition and sends to every holder of every live version, and to itself once', () => {
    const groups = groupGcByPartition([{ record: record(1, inPartition(3, 1)) }, { record: record(2, inPartition(4, 1)) }, { record: record(3, inPartition(3, 2)) }]);
    expect([...groups].map(([partition, items]) => [partition, items.length])).toEqual([
      [3, 2],
      [4, 1],
    ]);
    expect(gcTargets(['a', 'b', 'c', 'd'], 'a')).toEqual(['a', 'b', 'c', 'd']);
    expect(gcTargets(['b', 'c'], 'a')).toEqual(['b', 'c', 'a']);
    expect(gcTargets([], 'a')).toEqual([]);
  });

  it('polls a few times per delay, within bounds', () => {
    expect(gcPollDelayMs(2_000)).toBe(500);
    expect(gcPollDelayMs(24 * 3600_000)).toBe(60_000);
    expect(gcPollDelayMs(1)).toBe(100);
  });
});

describe('storage', () => {
  it('records a tombstone for GC in the same write, stamped with the given clock; a live value not', () => {
    const store = openMemoryStore();
    const live = item('pk', 'sk', 'v', 1);
    const tombstone = item('pk', 'sk', null, 2);
    store.transaction((tx) => applyEntries(tx, testItemsSchema, hasher, partitionOf(live), [encodeEntry(testItemsSchema, live)], 1_000));
    expect(store.tree(gcTodoTreeName(TABLE)).count()).toBe(0);
    store.transaction((tx) => applyEntries(tx, testItemsSchema, hasher, partitionOf(live), [encodeEntry(testItemsSchema, tombstone)], 2_000));
    const [todo] = store.tree(gcTodoTreeName(TABLE)).range({});
    const bytes = encodeEntry(testItemsSchema, tombstone);
    expect(decodeGcTodo(todo!.key, todo!.value)).toEqual({ tombstonedAtMs: 2_000, rowKey: keyOf(tombstone), entryHash: entryHash(hasher, bytes) });
    // Replayed: no change, no second record.
    store.transaction((tx) => applyEntries(tx, testItemsSchema, hasher, partitionOf(live), [bytes], 3_000));
    expect(store.tree(gcTodoTreeName(TABLE)).count()).toBe(1);
  });

  it('deletes a row only if unchanged, and queues its Merkle leaf for removal', () => {
    const store = openMemoryStore();
    const tombstone = item('pk', 'sk', null, 2);
    const partition = partitionOf(tombstone);
    const bytes = encodeEntry(testItemsSchema, tombstone);
    store.transaction((tx) => applyEntries(tx, testItemsSchema, hasher, partition, [bytes], 1_000));
    const stale = { rowKey: keyOf(tombstone), entryHash: entryHash(hasher, encodeEntry(testItemsSchema, item('pk', 'sk', null, 1))) };
    expect(store.transaction((tx) => deleteRowsIfUnchanged(tx, TABLE, hasher, partition, [stale]))).toBe(0);
    expect(store.tree(dataTreeName(TABLE)).get(keyOf(tombstone))).not.toBeNull();
    const current = { rowKey: keyOf(tombstone), entryHash: entryHash(hasher, bytes) };
    expect(store.transaction((tx) => deleteRowsIfUnchanged(tx, TABLE, hasher, partition, [current]))).toBe(1);
    expect(store.tree(dataTreeName(TABLE)).get(keyOf(tombstone))).toBeNull();
    expect(store.tree(merkleTodoTreeName(TABLE)).get(keyOf(tombstone))).toEqual(merkleTodoValue(null));
    expect(() => store.transaction((tx) => deleteRowsIfUnchanged(tx, TABLE, hasher, (partition + 1) % 256, [current]))).toThrow(TableError);
  });

  it('removes a todo record only while it still names the same tombstone', () => {
    const store = openMemoryStore();
    const key = rowKeyOf(Buffer.from('pk'), Buffer.from('sk'));
    store.tree(gcTodoTreeName(TABLE)).insert(gcTodoKey(5, key), gcTodoValue(Buffer.alloc(8, 2)));
    store.transaction((tx) => removeGcTodo(tx, TABLE, [record(5, key, Buffer.alloc(8, 1))]));
    expect(store.tree(gcTodoTreeName(TABLE)).count()).toBe(1);
    store.transaction((tx) => removeGcTodo(tx, TABLE, [record(5, key, Buffer.alloc(8, 2))]));
    expect(store.tree(gcTodoTreeName(TABLE)).count()).toBe(0);
  });
});

// ---- the worker, over in-memory replicas --------------------------------------------------------

const NODES = ['node-a', 'node-b', 'node-c'];

interface FakeCluster {
  stores: Map<string, MetadataStore>;
  down: Set<string>;
  clock: { nowMs: number };
  asks: { node: string; type: string }[];
  /** Holders of a partition; every node unless a test says otherwise. */
  holders: (partition: number) => string[];
}

function fakeCluster(): FakeCluster {
  return { stores: new Map(NODES.map((node) => [node, openMemoryStore()])), down: new Set(), clock: { nowMs: 1_000_000 }, asks: [], holders: () => NODES };
}

function write(cluster: FakeCluster, nodes: string[], entry: TestItem): void {
  for (const node of nodes) {
    cluster.stores.get(node)!.transaction((tx) => applyEntries(tx, testItemsSchema, hasher, partitionOf(entry), [encodeEntry(testItemsSchema, entry)], cluster.clock.nowMs));
  }
}

/** The value a node stores for the entry's row: null for a tombstone, undefined for no row. */
function stored(cluster: FakeCluster, node: string, entry: TestItem): string | null | undefined {
  const bytes = cluster.stores.get(node)!.tree(dataTreeName(TABLE)).get(keyOf(entry));
  if (bytes === null) return undefined;
  return decodeEntry(testItemsSchema, bytes).value.value;
}

/** The replica side of the two GC messages, as a replica actor applies them, per node. */
function workerOf(cluster: FakeCluster, selfId = NODES[0]!) {
  const ask = async <M, R>(ref: Ref<M>, makeMessage: (replyTo: Ref<R>) => M): Promise<R> => {
    const message = makeMessage({ path: '/reply' }) as { type: string; entries?: Buffer[]; items?: { rowKey: Buffer; entryHash: Buffer }[] };
    const node = ref.node!;
    cluster.asks.push({ node, type: message.type });
    if (cluster.down.has(node)) throw new Error(`node ${node} is not connected`);
    const partition = Number(/p(\d{3})$/.exec(ref.path)![1]);
    const store = cluster.stores.get(node)!;
    const changed =
      message.type === 'update'
        ? store.transaction((tx) => applyEntries(tx, testItemsSchema, hasher, partition, message.entries!, cluster.clock.nowMs))
        : store.transaction((tx) => deleteRowsIfUnchanged(tx, TABLE, hasher, partition, message.items!));
    return { changed } as R;
  };
  const placement = { holders: (partition: number) => cluster.holders(partition) } as unknown as Placement;
  return gcWorker({
    table: TABLE,
    tablePath: '/node/tables/test_items',
    selfId,
    store: cluster.stores.get(selfId)!,
    hasher,
    placement: () => placement,
    delayMs: DELAY_MS,
    ask,
    askTimeoutMs: 1_000,
    nowMs: () => cluster.clock.nowMs,
    random: () => 0.5,
  });
}

describe('the GC worker', () => {
  it('deletes a tombstone nowhere before the delay, nor while a holder is down; everywhere once all confirm', async () => {
    const cluster = fakeCluster();
    const tombstone = item('bucket', 'key', null, 5);
    write(cluster, NODES, item('bucket', 'key', 'value', 1));
    write(cluster, NODES, tombstone);
    const worker = workerOf(cluster);

    cluster.clock.nowMs += DELAY_MS - 1;
    expect(await worker.step()).toBe('idle');
    expect(cluster.asks).toEqual([]);

    cluster.clock.nowMs += 1;
    cluster.down.add('node-c');
    expect(await worker.step()).toBe('idle');
    // Step A reached everyone else, step B was never sent: no copy deleted anywhere.
    expect(cluster.asks.map((ask) => ask.type)).not.toContain('deleteIfEqual');
    for (const node of NODES) expect(stored(cluster, node, tombstone)).toBeNull();
    expect(worker.gcStatus()).toMatchObject({ deleted: 0, pending: 1, failures: 1 });
    expect(cluster.stores.get('node-a')!.tree(gcTodoTreeName(TABLE)).count()).toBe(1);

    // Back up, but the partition waits for its retry: nothing sent yet.
    cluster.down.clear();
    cluster.asks = [];
    expect(await worker.step()).toBe('idle');
    expect(cluster.asks).toEqual([]);

    cluster.clock.nowMs += DELAY_MS;
    expect(await worker.step()).toBe('busy');
    for (const node of NODES) expect(stored(cluster, node, tombstone)).toBeUndefined();
    expect(cluster.stores.get('node-a')!.tree(gcTodoTreeName(TABLE)).count()).toBe(0);
    expect(cluster.stores.get('node-b')!.tree(merkleTodoTreeName(TABLE)).get(keyOf(tombstone))).toEqual(merkleTodoValue(null));
    expect(worker.gcStatus()).toMatchObject({ deleted: 1, pending: 0 });
    // node-b and node-c still hold their own records; their GC drops them, as the rows are gone.
    const workerOfB = workerOf(cluster, 'node-b');
    cluster.asks = [];
    expect(await workerOfB.step()).toBe('busy');
    expect(cluster.asks).toEqual([]);
    expect(workerOfB.gcStatus()).toMatchObject({ dropped: 1, deleted: 0 });
    expect(cluster.stores.get('node-b')!.tree(gcTodoTreeName(TABLE)).count()).toBe(0);
  });

  it('first gives the tombstone to a replica that missed it, so the old value cannot come back', async () => {
    const cluster = fakeCluster();
    const tombstone = item('bucket', 'key', null, 5);
    write(cluster, NODES, item('bucket', 'key', 'old', 1));
    write(cluster, ['node-a', 'node-b'], tombstone);
    cluster.clock.nowMs += DELAY_MS;
    await workerOf(cluster).step();
    for (const node of NODES) expect(stored(cluster, node, tombstone)).toBeUndefined();
  });

  it('never deletes a value written over the tombstone, here or on another replica', async () => {
    const cluster = fakeCluster();
    const tombstone = item('bucket', 'key', null, 5);
    write(cluster, NODES, tombstone);
    write(cluster, ['node-c'], item('bucket', 'key', 'rewritten', 9));
    cluster.clock.nowMs += DELAY_MS;
    expect(await workerOf(cluster).step()).toBe('busy');
    expect(stored(cluster, 'node-a', tombstone)).toBeUndefined();
    expect(stored(cluster, 'node-b', tombstone)).toBeUndefined();
    expect(stored(cluster, 'node-c', tombstone)).toBe('rewritten');

    // Rewritten locally before the GC ran: the record is dropped and nothing is sent.
    const local = fakeCluster();
    write(local, NODES, tombstone);
    write(local, ['node-a'], item('bucket', 'key', 'back', 9));
    local.clock.nowMs += DELAY_MS;
    const worker = workerOf(local);
    expect(await worker.step()).toBe('busy');
    expect(local.asks).toEqual([]);
    expect(worker.gcStatus()).toMatchObject({ dropped: 1, deleted: 0 });
    for (const node of NODES) expect(stored(local, node, tombstone)).toBe(node === 'node-a' ? 'back' : null);
  });

  it('does not let a partition with a holder down hold up the others', async () => {
    const cluster = fakeCluster();
    const blocked = item('blocked', 'key', null, 5);
    const free = ['free-1', 'free-2', 'free-3', 'free-4'].map((pk) => item(pk, 'key', null, 5)).find((entry) => partitionOf(entry) !== partitionOf(blocked))!;
    cluster.holders = (partition) => (partition === partitionOf(blocked) ? ['node-a', 'node-c'] : ['node-a', 'node-b']);
    write(cluster, ['node-a', 'node-c'], blocked);
    cluster.clock.nowMs += 1;
    write(cluster, ['node-a', 'node-b'], free);
    cluster.clock.nowMs += DELAY_MS;
    cluster.down.add('node-c');
    const worker = workerOf(cluster);
    expect(await worker.step()).toBe('busy');
    expect(stored(cluster, 'node-a', free)).toBeUndefined();
    expect(stored(cluster, 'node-b', free)).toBeUndefined();
    expect(stored(cluster, 'node-a', blocked)).toBeNull();
    expect(worker.gcStatus()).toMatchObject({ deleted: 1, pending: 1 });
  });
});
