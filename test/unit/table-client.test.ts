// memoizedReads: one request's repeated point reads of the catalog tables cost one read each, a
// write forgets that table's reads, other tables are read through.
import { memoizedReads, memoryTableClient, type TableClient } from '../../src/actors/table/client';
import { testItemsSchema } from '../../src/protocols/table/schemas/test-items';
import { crdt } from '../../src/protocols/table';

function counting(client: TableClient): TableClient & { gets: number } {
  const counted = {
    gets: 0,
    get: ((schema, partitionKey, sortKey) => {
      counted.gets++;
      return client.get(schema, partitionKey, sortKey);
    }) as TableClient['get'],
    insert: client.insert.bind(client),
    range: client.range.bind(client),
  };
  return counted;
}

let clock = 1;
const item = (value: string) => ({ pk: 'p', sk: 's', value: crdt.lwwNew<string | null>(value, clock++) });

test('repeated reads are served once; a write to the table forgets them', async () => {
  const inner = counting(memoryTableClient());
  await inner.insert(testItemsSchema, [item('one')]);
  const memo = memoizedReads(inner, [testItemsSchema.name]);
  const [a, b] = await Promise.all([memo.get(testItemsSchema, Buffer.from('p'), Buffer.from('s')), memo.get(testItemsSchema, Buffer.from('p'), Buffer.from('s'))]);
  expect([a?.value.value, b?.value.value]).toEqual(['one', 'one']);
  expect(inner.gets).toBe(1);
  await memo.insert(testItemsSchema, [item('two')]);
  const after = await memo.get(testItemsSchema, Buffer.from('p'), Buffer.from('s'));
  expect(after?.value.value).toBe('two');
  expect(inner.gets).toBe(2);
});

test('tables not named are read through every time', async () => {
  const inner = counting(memoryTableClient());
  const memo = memoizedReads(inner, ['key']);
  await memo.get(testItemsSchema, Buffer.from('p'), Buffer.from('s'));
  await memo.get(testItemsSchema, Buffer.from('p'), Buffer.from('s'));
  expect(inner.gets).toBe(2);
});
