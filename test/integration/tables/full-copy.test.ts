// A full-copy table on real node processes: every storage node holds every row, a write still
// succeeds with one node down, reads are served by the node asked, and the node that was down
// catches up by anti-entropy.
import { insertItems, readItem, startTableCluster, statsOf, testItem } from '../../harness/tables';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(180_000);

const TABLE = 'test_full_items';

async function fullCopyStats(cluster: Cluster, indexes: number[]): Promise<{ items: number; merkleDigest: string }[]> {
  return Promise.all(indexes.map(async (index) => (await statsOf(cluster, index)).tables[TABLE]!));
}

describe('full-copy tables', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('keeps a copy on every storage node, writes with one node down, and heals it', async () => {
    // Four storage nodes with RF 3: a sharded table would keep each row on three of them.
    cluster = await startTableCluster(4, { syncIntervalMs: 1_000 });
    const first = Array.from({ length: 20 }, (_, i) => testItem(`full-${i}`, 'k', `a${i}`, 100 + i));
    await insertItems(cluster, 0, first, TABLE);
    await waitFor(async () => (await fullCopyStats(cluster, [0, 1, 2, 3])).every((table) => table.items === 20), { what: 'every node to hold all 20 rows', intervalMs: 300 });
    for (const index of [0, 1, 2, 3]) expect((await readItem(cluster, index, 'full-7', 'k', TABLE))?.value.value).toBe('a7');

    await cluster.kill(3);
    const second = Array.from({ length: 10 }, (_, i) => testItem(`full-late-${i}`, 'k', `b${i}`, 200 + i));
    await insertItems(cluster, 1, second, TABLE);
    for (const index of [0, 1, 2]) expect((await readItem(cluster, index, 'full-late-3', 'k', TABLE))?.value.value).toBe('b3');

    await cluster.restart(3, { bootstrap: false });
    const converged = await waitFor(
      async () => {
        const stats = await fullCopyStats(cluster, [0, 1, 2, 3]);
        return stats.every((table) => table.items === 30 && table.merkleDigest === stats[0]!.merkleDigest) ? stats : undefined;
      },
      { what: 'node 4 to catch up on the full-copy table', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(new Set(converged.map((table) => table.merkleDigest)).size).toBe(1);
    // Node 4 answers from its own copy.
    expect((await readItem(cluster, 3, 'full-late-9', 'k', TABLE))?.value.value).toBe('b9');
  });
});
