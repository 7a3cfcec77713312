// Read repair on real node processes: rows a replica missed (written to the other two only, as a
// quorum write leaves them when one replica is slow) reach it through point and range reads, with
// anti-entropy too slow to be the one that moved them.
import { rangeItems, readItem, startTableCluster, statsOf, testItem, waitForLayoutSettled, writeToReplicas } from '../../harness/tables';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(120_000);

async function itemsOn(cluster: Cluster, index: number): Promise<number> {
  return (await statsOf(cluster, index)).tables.test_items!.items;
}

describe('read repair', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('repairs the replica that missed rows, through point reads and range reads', async () => {
    cluster = await startTableCluster(3, { syncIntervalMs: 3_600_000 });
    // Tracker changes start sync rounds: let them settle, so that no round runs after the writes.
    await waitForLayoutSettled(cluster);
    const point = testItem('repair-point', 'k', 'v', 10);
    const range = Array.from({ length: 12 }, (_, i) => testItem('repair-range', `k${String(i).padStart(2, '0')}`, `v${i}`, 10 + i));
    await writeToReplicas(cluster, [0, 1], [point, ...range]);
    expect(await itemsOn(cluster, 2)).toBe(0);

    // Through node 3: its own replica answers first, so it is among the R replies and gets repaired.
    await waitFor(
      async () => {
        expect((await readItem(cluster, 2, 'repair-point', 'k'))?.value.value).toBe('v');
        return (await itemsOn(cluster, 2)) === 1;
      },
      { what: 'a point read to repair node 3', timeoutMs: 30_000, intervalMs: 300 },
    );
    await waitFor(
      async () => {
        const rows = await rangeItems(cluster, 2, 'repair-range');
        expect(rows.map((row) => row.value.value)).toEqual(range.map((row) => row.value.value));
        return (await itemsOn(cluster, 2)) === 13;
      },
      { what: 'a range read to repair node 3', timeoutMs: 30_000, intervalMs: 300 },
    );
    // Anti-entropy moved nothing: the reads did.
    expect((await statsOf(cluster, 2)).tables.test_items!.sync.rowsPulled).toBe(0);
    for (const index of [0, 1]) expect((await statsOf(cluster, index)).tables.test_items!.sync.rowsPushed).toBe(0);
  });
});
