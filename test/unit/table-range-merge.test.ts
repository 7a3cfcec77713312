// Merging a range read's replies and choosing what to repair.
import { crdt, encodeEntry, mergeRangeReplies, decodeEntry } from '../../src/protocols/table';
import { testItemsSchema, type TestItem } from '../../src/protocols/table/schemas/test-items';

const item = (sk: string, value: string, at: number): Buffer => encodeEntry(testItemsSchema, { pk: 'p', sk, value: crdt.lwwNew(value, at) } as TestItem);
const valuesOf = (rows: Buffer[]): string[] => rows.map((bytes) => `${decodeEntry(testItemsSchema, bytes).sk}=${decodeEntry(testItemsSchema, bytes).value.value}`);

describe('range merge', () => {
  it('merges rows across replicas, newest value wins, in key order, cut at the limit', () => {
    const replies = new Map([
      ['n1', [item('a', 'old', 1), item('b', 'b', 1)]],
      ['n2', [item('a', 'new', 2), item('c', 'c', 1)]],
    ]);
    expect(valuesOf(mergeRangeReplies(testItemsSchema, replies, 10, false).rows)).toEqual(['a=new', 'b=b', 'c=c']);
    expect(valuesOf(mergeRangeReplies(testItemsSchema, replies, 2, false).rows)).toEqual(['a=new', 'b=b']);
    const backwards = new Map([...replies].map(([node, rows]) => [node, [...rows].reverse()]));
    expect(valuesOf(mergeRangeReplies(testItemsSchema, backwards, 2, true).rows)).toEqual(['c=c', 'b=b']);
  });

  it('repairs a replica for the rows it lacked or held older, within the rows it covered', () => {
    const replies = new Map([
      ['n1', [item('a', 'old', 1), item('c', 'c', 1)]],
      ['n2', [item('a', 'new', 2), item('b', 'b', 1), item('c', 'c', 1)]],
    ]);
    const { repairs } = mergeRangeReplies(testItemsSchema, replies, 10, false);
    expect(valuesOf(repairs.get('n1')!)).toEqual(['a=new', 'b=b']);
    expect(repairs.has('n2')).toBe(false);
  });

  it('does not repair past the last row of a full page', () => {
    // n1 sent a full page of 2 ending at b: it says nothing about c.
    const replies = new Map([
      ['n1', [item('a', 'a', 1), item('b', 'b', 1)]],
      ['n2', [item('a', 'a', 1), item('c', 'c', 1)]],
    ]);
    const { rows, repairs } = mergeRangeReplies(testItemsSchema, replies, 2, false);
    expect(valuesOf(rows)).toEqual(['a=a', 'b=b']);
    expect(repairs.has('n1')).toBe(false);
    expect(valuesOf(repairs.get('n2')!)).toEqual(['b=b']);
  });
});
