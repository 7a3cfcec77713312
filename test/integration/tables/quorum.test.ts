// Quorum writes and reads on real node processes, with the test table: RF = 3, one node down,
// read-after-write from every live node; a write with two nodes down fails with a quorum error.
import { startTableCluster, insertItems, rangeItems, readItem, testItem } from '../../harness/tables';
import type { Cluster } from '../../harness/cluster';

jest.setTimeout(180_000);

describe('table quorums', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('with RF=3 and one node down, writes succeed and every live node reads its own and others\' writes', async () => {
    cluster = await startTableCluster(3);
    // Written while all are up, read back through every node.
    await insertItems(cluster, 0, [testItem('bucket-a', 'key-1', 'one', 1000)]);
    for (const index of [0, 1, 2]) {
      expect((await readItem(cluster, index, 'bucket-a', 'key-1'))?.value.value).toBe('one');
    }

    await cluster.kill(2);
    const items = Array.from({ length: 20 }, (_, i) => testItem(`bucket-${i % 4}`, `key-${i}`, `value-${i}`, 2000 + i));
    await insertItems(cluster, 0, items.slice(0, 10));
    await insertItems(cluster, 1, items.slice(10));
    for (const index of [0, 1]) {
      for (const item of items) {
        const read = await readItem(cluster, index, item.pk, item.sk);
        expect(read?.value.value).toBe(item.value.value);
      }
    }
    // Range reads merge the replicas' rows of one partition key, in sort key order, either way.
    const bucketOne = items.filter((item) => item.pk === 'bucket-1').map((item) => item.sk).sort();
    expect((await rangeItems(cluster, 1, 'bucket-1')).map((item) => item.sk)).toEqual(bucketOne);
    expect((await rangeItems(cluster, 0, 'bucket-1', { limit: 2 })).map((item) => item.sk)).toEqual(bucketOne.slice(0, 2));
    expect((await rangeItems(cluster, 0, 'bucket-1', { reverse: true, limit: 1 })).map((item) => item.sk)).toEqual(bucketOne.slice(-1));
    expect((await rangeItems(cluster, 0, 'bucket-1', { start: bucketOne[1], end: bucketOne[3] })).map((item) => item.sk)).toEqual(bucketOne.slice(1, 3));

    // A later write wins over an earlier one, read through the other node.
    await insertItems(cluster, 1, [testItem('bucket-a', 'key-1', 'two', 5000)]);
    expect((await readItem(cluster, 0, 'bucket-a', 'key-1'))?.value.value).toBe('two');
    expect(await readItem(cluster, 0, 'bucket-a', 'never-written')).toBeNull();

    // With two of three down, a write cannot reach its quorum of 2, and says so.
    await cluster.kill(1);
    await expect(insertItems(cluster, 0, [testItem('bucket-a', 'key-2', 'lost', 6000)])).rejects.toMatchObject({ name: 'QuorumError' });
  });
});
