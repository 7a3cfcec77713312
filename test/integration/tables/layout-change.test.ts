// Layout changes under load, on real node processes: a fourth node joins and then leaves while a
// steady stream of writes goes on. Every acknowledged write must stay readable, through any node,
// right after its ack (read-after-write) and at the end; the nodes that lost partitions hand their
// rows off and drop them only after the new holders have them.
import { applyLayout, insertItems, layoutOf, readItem, stageRoles, startTableCluster, statsOf, testItem, writeToReplicas } from '../../harness/tables';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(240_000);

const SYNC_INTERVAL_MS = 1_000;
const WRITE_LANES = 2;
const SERVING = [0, 1, 2];

interface StreamResult {
  acknowledged: { pk: string; sk: string; value: string }[];
  staleReads: string[];
  failedWrites: string[];
}

/**
 * Writes one item at a time per lane, through nodes 1 and 2 in turn; after each ack, reads it back
 * through another node and records any read that does not see it.
 */
function startWriteStream(cluster: Cluster): { stop: () => Promise<StreamResult> } {
  const result: StreamResult = { acknowledged: [], staleReads: [], failedWrites: [] };
  let running = true;
  let sequence = 0;
  const lane = async (laneIndex: number): Promise<void> => {
    while (running) {
      const n = sequence++;
      const item = { pk: `stream-${n % 50}`, sk: `item-${n}`, value: `v${n}` };
      const writer = n % 2;
      try {
        await insertItems(cluster, writer, [testItem(item.pk, item.sk, item.value, 1_000 + n)]);
      } catch (error) {
        result.failedWrites.push(`${item.sk}: ${(error as Error).message}`);
        continue;
      }
      result.acknowledged.push(item);
      const reader = SERVING[(n + 1 + laneIndex) % SERVING.length]!;
      const read = await readItem(cluster, reader, item.pk, item.sk);
      if (read?.value.value !== item.value) result.staleReads.push(`${item.sk} through node ${reader + 1}: ${JSON.stringify(read?.value ?? null)}`);
    }
  };
  const lanes = Promise.all(Array.from({ length: WRITE_LANES }, (_, index) => lane(index)));
  return {
    stop: async () => {
      running = false;
      await lanes;
      return result;
    },
  };
}

async function waitForOnlyVersion(cluster: Cluster, indexes: number[], version: number): Promise<void> {
  for (const index of indexes) {
    await waitFor(
      async () => {
        const layout = await layoutOf(cluster, index);
        return layout.oldestLive.version === version && layout.current.version === version;
      },
      { what: `node ${index + 1} to retire every version before ${version}`, timeoutMs: 90_000, intervalMs: 500 },
    );
  }
}

async function itemsOn(cluster: Cluster, index: number): Promise<number> {
  return (await statsOf(cluster, index)).tables.test_items!.items;
}

describe('layout changes during a steady write stream', () => {
  let cluster: Cluster;
  let stream: { stop: () => Promise<StreamResult> } | null = null;
  afterEach(async () => {
    await stream?.stop();
    await cluster?.stop();
  });

  it('moves reads to a new version only once its nodes have synced it', async () => {
    // A long interval: only the rounds a layout change starts can move data here.
    cluster = await startTableCluster(4, { layoutNodes: 3, syncIntervalMs: 600_000 });
    // Acknowledged by nodes 1 and 2 only (a write quorum), as when node 3 was slow.
    const items = Array.from({ length: 60 }, (_, i) => testItem(`quorum-only-${i}`, 'k', `v${i}`, 5_000 + i));
    await writeToReplicas(cluster, [0, 1], items);

    await stageRoles(cluster, [{ index: 3 }]);
    await applyLayout(cluster, 2);
    // Through node 3 and the new node 4 (which lack those items), until version 1 retires
    // everywhere: a read quorum of the new version would miss items if reads moved too early.
    const stale: string[] = [];
    let reads = 0;
    const retired = async (): Promise<boolean> => (await Promise.all([0, 1, 2, 3].map((index) => layoutOf(cluster, index)))).every((layout) => layout.oldestLive.version === 2);
    do {
      for (const [n, item] of items.entries()) {
        const through = n % 2 === 0 ? 2 : 3;
        const read = await readItem(cluster, through, item.pk, item.sk);
        reads++;
        if (read?.value.value !== item.value.value) stale.push(`${item.pk} through node ${through + 1}`);
      }
    } while (!(await retired()));
    expect(stale).toEqual([]);
    console.log(`layout change test: ${reads} reads during the change, none stale`);
  });

  it('adding then removing a node loses no acknowledged write and keeps read-after-write', async () => {
    cluster = await startTableCluster(4, { layoutNodes: 3, syncIntervalMs: SYNC_INTERVAL_MS });
    stream = startWriteStream(cluster);
    const acknowledgedCount = async (atLeast: number): Promise<void> => {
      await waitFor(async () => (await statsOf(cluster, 0)).tables.test_items!.items >= atLeast, { what: `${atLeast} items written`, timeoutMs: 60_000, intervalMs: 200 });
    };
    await acknowledgedCount(30);

    // Node 4 joins: it takes a share of the partitions from nodes 1 to 3.
    await stageRoles(cluster, [{ index: 3 }]);
    await applyLayout(cluster, 2);
    await waitForOnlyVersion(cluster, [0, 1, 2, 3], 2);
    const joined = await itemsOn(cluster, 3);
    // Nodes 1 to 3 each handed off the partitions they lost to node 4 once version 1 retired.
    await waitFor(async () => (await Promise.all(SERVING.map((index) => statsOf(cluster, index)))).every((stats) => stats.tables.test_items!.sync.rowsHandedOff > 0), {
      what: 'nodes 1 to 3 to hand off what moved to node 4',
      timeoutMs: 60_000,
      intervalMs: 500,
    });

    // Node 4 leaves again: its partitions go back, and it hands off everything it holds.
    await stageRoles(cluster, [{ index: 3, remove: true }]);
    await applyLayout(cluster, 3);
    await waitForOnlyVersion(cluster, [0, 1, 2, 3], 3);
    const result = await stream.stop();
    stream = null;
    await waitFor(async () => (await itemsOn(cluster, 3)) === 0, { what: 'node 4 to hand off and drop every row', timeoutMs: 60_000, intervalMs: 500 });

    expect(joined).toBeGreaterThan(0);
    expect(result.failedWrites).toEqual([]);
    expect(result.staleReads).toEqual([]);
    expect(result.acknowledged.length).toBeGreaterThan(50);
    for (const item of result.acknowledged) {
      for (const index of SERVING) expect((await readItem(cluster, index, item.pk, item.sk))?.value.value).toBe(item.value);
    }
    const converged = await waitFor(
      async () => {
        const stats = await Promise.all(SERVING.map(async (index) => (await statsOf(cluster, index)).tables.test_items!));
        return stats.every((table) => table.items === result.acknowledged.length && table.merkleDigest === stats[0]!.merkleDigest) ? stats : undefined;
      },
      { what: 'nodes 1 to 3 to converge on every acknowledged item', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(new Set(converged.map((table) => table.merkleDigest)).size).toBe(1);
    console.log(`layout change test: ${result.acknowledged.length} writes acknowledged and read back during two layout changes; node 4 held ${joined} rows after joining`);
  });
});
