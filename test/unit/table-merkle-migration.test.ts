// A node whose trie was stored in Merkle node format 1 rebuilds it from its rows at start instead
// of refusing to start: the old nodes go and every row is queued for the Merkle updater.
import { crdt, encodeEntry, entryHash, initHashing, merkleTodoValue, MERKLE_NODE_FORMAT, partitionOfKey, type Hasher } from '../../src/protocols/table';
import { testItemsSchema, type TestItem } from '../../src/protocols/table/schemas/test-items';
import { applyEntries, dataTreeName, merkleTodoTreeName, merkleTreeName, migrateMerkleFormat } from '../../src/actors/table/storage';
import { openMemoryStore } from '../../src/storage/metadata';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await initHashing();
});

const item = (pk: string): TestItem => ({ pk, sk: 's', value: crdt.lwwNew(pk, 1) });

function storeWithRows(count: number): ReturnType<typeof openMemoryStore> {
  const store = openMemoryStore();
  for (let index = 0; index < count; index++) {
    const row = item(`k${index}`);
    store.transaction((tx) => applyEntries(tx, testItemsSchema, hasher, partitionOfKey(Buffer.from(row.pk)), [encodeEntry(testItemsSchema, row)], 0, () => undefined));
  }
  // As if the updater had folded everything: the todo is empty.
  const todo = store.tree(merkleTodoTreeName(testItemsSchema.name));
  for (const entry of todo.range({})) todo.remove(entry.key);
  return store;
}

describe('Merkle node format migration', () => {
  it('drops format-1 nodes and queues every row, with its entry hash, into the Merkle todo', () => {
    const store = storeWithRows(2500);
    const merkle = store.tree(merkleTreeName(testItemsSchema.name));
    for (let index = 0; index < 1200; index++) merkle.insert(Buffer.from([index % 256, index >> 8]), Buffer.from([1, 1, 0, 0]));
    merkle.insert(Buffer.alloc(0), Buffer.from([1, 1, 0, 0]));

    expect(store.transaction((tx) => migrateMerkleFormat(tx, testItemsSchema.name, hasher))).toBe(true);

    expect(merkle.count()).toBe(0);
    const rows = store.tree(dataTreeName(testItemsSchema.name)).range({});
    const todo = store.tree(merkleTodoTreeName(testItemsSchema.name));
    expect(rows).toHaveLength(2500);
    expect(todo.count()).toBe(2500);
    for (const row of rows) expect(todo.get(row.key)).toEqual(merkleTodoValue(entryHash(hasher, row.value)));
    // Run again: nothing left to migrate.
    expect(store.transaction((tx) => migrateMerkleFormat(tx, testItemsSchema.name, hasher))).toBe(false);
  });

  it('leaves a current-format trie and an empty one alone', () => {
    const store = storeWithRows(10);
    expect(store.transaction((tx) => migrateMerkleFormat(tx, testItemsSchema.name, hasher))).toBe(false);
    const merkle = store.tree(merkleTreeName(testItemsSchema.name));
    merkle.insert(Buffer.from([0]), Buffer.from([MERKLE_NODE_FORMAT, 1, 0, 0]));
    expect(store.transaction((tx) => migrateMerkleFormat(tx, testItemsSchema.name, hasher))).toBe(false);
    expect(merkle.count()).toBe(1);
    expect(store.tree(merkleTodoTreeName(testItemsSchema.name)).count()).toBe(0);
  });
});
