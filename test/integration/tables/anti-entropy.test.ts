// Merkle anti-entropy on real node processes: a node that was down while writes happened catches
// up by anti-entropy alone (no reads, so no read repair), and `grange stats --json` then shows the
// same item count and Merkle digest on every replica.
import { insertItems, startTableCluster, statsOf, testItem } from '../../harness/tables';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(180_000);

const SYNC_INTERVAL_MS = 1_000;

/** Rows the given nodes pushed to others plus rows `puller` pulled: anti-entropy moves both ways. */
async function rowsMoved(cluster: Cluster, pushers: number[], puller: number): Promise<number> {
  const stats = await Promise.all(pushers.map((index) => statsOf(cluster, index)));
  const pushed = stats.reduce((sum, node) => sum + node.tables.test_items!.sync.rowsPushed, 0);
  return pushed + (await statsOf(cluster, puller)).tables.test_items!.sync.rowsPulled;
}

describe('anti-entropy', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('a node that was down catches up by anti-entropy alone; stats show equal digests', async () => {
    cluster = await startTableCluster(3, { syncIntervalMs: SYNC_INTERVAL_MS });
    await insertItems(cluster, 0, [testItem('before', 'a', 'x', 1)]);
    await cluster.kill(2);
    const items = Array.from({ length: 200 }, (_, i) => testItem(`bucket-${i % 7}`, `key-${i}`, `value-${i}`, 1000 + i));
    for (let batch = 0; batch < items.length; batch += 50) await insertItems(cluster, batch % 100 === 0 ? 0 : 1, items.slice(batch, batch + 50));
    await waitFor(async () => (await statsOf(cluster, 0)).tables.test_items!.items === 201, { what: 'node 1 to hold every item' });
    const pushedBefore = (await Promise.all([0, 1].map((index) => statsOf(cluster, index)))).reduce((sum, node) => sum + node.tables.test_items!.sync.rowsPushed, 0);

    await cluster.restart(2, { bootstrap: false });
    const restartedAt = Date.now();
    const converged = await waitFor(
      async () => {
        const stats = await Promise.all([0, 1, 2].map(async (index) => (await statsOf(cluster, index)).tables.test_items!));
        const same = stats.every((table) => table.items === 201 && table.merkleTodo === 0 && table.merkleDigest === stats[0]!.merkleDigest);
        return same ? stats : undefined;
      },
      { what: 'replicas to converge', timeoutMs: 90_000, intervalMs: 500 },
    );
    // No read touched the missed items, so no read repair: the syncers moved them (pushed by the
    // others or pulled by node 3; node 3's pull counter started at zero with its process).
    expect((await rowsMoved(cluster, [0, 1], 2)) - pushedBefore).toBeGreaterThanOrEqual(200);
    console.log(`node 3 caught up by anti-entropy in ${Date.now() - restartedAt} ms (200 items missed, sync interval ${SYNC_INTERVAL_MS} ms)`);
    expect(new Set(converged.map((table) => table.merkleDigest)).size).toBe(1);
  });
});
