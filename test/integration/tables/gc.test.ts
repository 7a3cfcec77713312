// Tombstone garbage collection on real node processes (RF 3, GC delay of seconds): a tombstone
// outlives its delay while one replica is down, since that replica still holds the old value and
// would bring it back; once the replica returns, the tombstone is deleted from every node and the
// old value stays gone. A value written over a tombstone before GC ran is never collected.
import { insertItems, readItem, startTableCluster, statsOf, testItem } from '../../harness/tables';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(240_000);

const SYNC_INTERVAL_MS = 1_000;
const GC_DELAY_MS = 1_500;
const CONVERGE_TIMEOUT_MS = 120_000;

interface GcTableStats {
  items: number;
  merkleDigest: string;
  merkleTodo: number;
  gcTodo: number;
  gc: { deleted: number; dropped: number; pending: number; failures: number };
}

async function tableOn(cluster: Cluster, index: number): Promise<GcTableStats> {
  return (await statsOf(cluster, index)).tables.test_items as unknown as GcTableStats;
}

/**
 * Waits until GC on each given node has had its chance: it found a due tombstone and was refused,
 * or the node's row count moved (which the caller's assertions then catch as a premature delete).
 */
async function waitForGcAttempt(cluster: Cluster, indexes: number[], items: number): Promise<void> {
  for (const index of indexes) {
    await waitFor(
      async () => {
        const table = await tableOn(cluster, index);
        return table.gc.failures >= 2 || table.items !== items;
      },
      { what: `node ${index + 1} to try GC`, timeoutMs: 30_000, intervalMs: 250 },
    );
  }
}

/** Waits until every node holds `items` rows, the same Merkle digest, and no GC record left. */
async function waitForConvergence(cluster: Cluster, items: number): Promise<GcTableStats[]> {
  return waitFor(
    async () => {
      const stats = await Promise.all([0, 1, 2].map((index) => tableOn(cluster, index)));
      const done = stats.every((table) => table.items === items && table.merkleTodo === 0 && table.gcTodo === 0 && table.merkleDigest === stats[0]!.merkleDigest);
      return done ? stats : undefined;
    },
    { what: `every node to hold ${items} rows, equal digests and no GC record`, timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 500 },
  );
}

describe('tombstone garbage collection', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('keeps a tombstone past its delay while a replica is down, then deletes it everywhere', async () => {
    cluster = await startTableCluster(3, { syncIntervalMs: SYNC_INTERVAL_MS, gcDelayMs: GC_DELAY_MS });
    // Node 3 holds this value and will miss its deletion.
    await insertItems(cluster, 0, [testItem('gc', 'known-to-3', 'old value', 1_000)]);
    await waitFor(async () => (await tableOn(cluster, 2)).items === 1, { what: 'node 3 to store the first value' });
    await cluster.kill(2);
    await insertItems(cluster, 0, [testItem('gc', 'unknown-to-3', 'value', 1_000)]);
    await insertItems(cluster, 0, [testItem('gc', 'known-to-3', null, 2_000), testItem('gc', 'unknown-to-3', null, 2_000)]);
    const tombstonedAt = Date.now();

    // GC became due and was refused (node 3 cannot take the tombstones): both stay on nodes 1 and 2.
    await waitForGcAttempt(cluster, [0, 1], 2);
    expect(Date.now() - tombstonedAt).toBeGreaterThan(GC_DELAY_MS);
    for (const index of [0, 1]) {
      const table = await tableOn(cluster, index);
      expect(table.items).toBe(2);
      expect(table.gcTodo).toBe(2);
      expect(table.gc.deleted).toBe(0);
      expect(table.gc.pending).toBeGreaterThanOrEqual(2);
    }
    expect((await readItem(cluster, 0, 'gc', 'known-to-3'))?.value.value).toBeNull();

    await cluster.restart(2, { bootstrap: false });
    const restartedAt = Date.now();
    const converged = await waitForConvergence(cluster, 0);
    console.log(`tombstones collected ${Date.now() - restartedAt} ms after node 3 came back (GC delay ${GC_DELAY_MS} ms)`);
    expect(converged.reduce((sum, table) => sum + table.gc.deleted, 0)).toBeGreaterThanOrEqual(2);
    // The old value node 3 held did not come back, through any node.
    for (const index of [0, 1, 2]) {
      expect(await readItem(cluster, index, 'gc', 'known-to-3')).toBeNull();
      expect(await readItem(cluster, index, 'gc', 'unknown-to-3')).toBeNull();
    }
  });

  it('never collects a value written over a tombstone before GC deleted it', async () => {
    cluster = await startTableCluster(3, { syncIntervalMs: SYNC_INTERVAL_MS, gcDelayMs: GC_DELAY_MS });
    await cluster.kill(2);
    await insertItems(cluster, 0, [testItem('gc', 'rewritten', 'first', 1_000), testItem('gc', 'deleted', 'first', 1_000)]);
    await insertItems(cluster, 0, [testItem('gc', 'rewritten', null, 2_000), testItem('gc', 'deleted', null, 2_000)]);
    await waitForGcAttempt(cluster, [0, 1], 2);
    for (const index of [0, 1]) expect((await tableOn(cluster, index)).items).toBe(2);
    // Due for GC on nodes 1 and 2, not yet collected: a newer write brings the row back.
    await insertItems(cluster, 1, [testItem('gc', 'rewritten', 'again', 3_000)]);

    await cluster.restart(2, { bootstrap: false });
    const converged = await waitForConvergence(cluster, 1);
    // The plain tombstone was collected; the rewritten row's GC records were dropped, not acted on.
    expect(converged.reduce((sum, table) => sum + table.gc.deleted, 0)).toBeGreaterThanOrEqual(1);
    expect(converged.reduce((sum, table) => sum + table.gc.dropped, 0)).toBeGreaterThanOrEqual(2);
    for (const index of [0, 1, 2]) {
      expect((await readItem(cluster, index, 'gc', 'rewritten'))?.value.value).toBe('again');
      expect(await readItem(cluster, index, 'gc', 'deleted')).toBeNull();
    }
  });
});
