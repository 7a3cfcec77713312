// Partitions and crashes on real node processes: two sides of a partition take concurrent writes
// (consistency_mode = "dangerous", so a lone node can write) and converge to the merge after
// healing; kill -9 during a burst of writes loses no acknowledged write.
import { insertItems, readItem, startTableCluster, statsOf, testItem } from '../../harness/tables';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(180_000);

describe('partitions and crashes', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('two sides of a partition take concurrent writes and converge to the merge after healing', async () => {
    cluster = await startTableCluster(3, { proxied: true, syncIntervalMs: 1_000, extraConfig: 'consistency_mode = "dangerous"' });
    cluster.cutLink(0, 2);
    cluster.cutLink(1, 2);
    // The same key on both sides (the later timestamp must win everywhere), and keys of each side.
    await insertItems(cluster, 0, [testItem('shared', 'key', 'left', 100), testItem('left', 'only', 'L', 100)]);
    await insertItems(cluster, 2, [testItem('shared', 'key', 'right', 200), testItem('right', 'only', 'R', 200)]);
    expect((await readItem(cluster, 0, 'shared', 'key'))?.value.value).toBe('left');

    cluster.healLink(0, 2);
    cluster.healLink(1, 2);
    await waitFor(
      async () => {
        const stats = await Promise.all([0, 1, 2].map(async (index) => (await statsOf(cluster, index)).tables.test_items!));
        return stats.every((table) => table.items === 3 && table.merkleTodo === 0 && table.merkleDigest === stats[0]!.merkleDigest);
      },
      { what: 'both sides to converge after healing', timeoutMs: 120_000, intervalMs: 500 },
    );
    for (const index of [0, 1, 2]) {
      expect((await readItem(cluster, index, 'shared', 'key'))?.value.value).toBe('right');
      expect((await readItem(cluster, index, 'left', 'only'))?.value.value).toBe('L');
      expect((await readItem(cluster, index, 'right', 'only'))?.value.value).toBe('R');
    }
  });

  it('kill -9 during a burst of writes loses no acknowledged write', async () => {
    cluster = await startTableCluster(3);
    const acknowledged: ReturnType<typeof testItem>[] = [];
    const burst = (async () => {
      for (let i = 0; i < 150; i++) {
        const item = testItem(`burst-${i % 5}`, `key-${i}`, `value-${i}`, 1000 + i);
        try {
          await insertItems(cluster, 0, [item]);
          acknowledged.push(item);
        } catch {
          // not acknowledged: no promise made about it
        }
      }
    })();
    await waitFor(() => acknowledged.length >= 30, { what: 'a few acknowledged writes before the crash' });
    await cluster.kill(1);
    await burst;
    expect(acknowledged.length).toBeGreaterThanOrEqual(140);
    for (const item of acknowledged) {
      for (const index of [0, 2]) expect((await readItem(cluster, index, item.pk, item.sk))?.value.value).toBe(item.value.value);
    }
  });
});
