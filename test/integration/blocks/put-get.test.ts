// Block puts and gets on real node processes (RF 3): writes succeed with one node down, and a get
// falls back to the next holder when the closest one is down or lacks the block.
import { layoutOf, startTableCluster } from '../../harness/tables';
import { getBlock, putBlock, randomBlock } from '../../harness/blocks';
import type { Cluster } from '../../harness/cluster';

jest.setTimeout(120_000);

describe('block manager', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('puts and gets with one node of three down, and serves a node that missed the blocks', async () => {
    cluster = await startTableCluster(3);
    await cluster.kill(2);
    const blocks = Array.from({ length: 6 }, (_, i) => randomBlock(64 * 1024 * (i + 1)));
    for (const block of blocks) await putBlock(cluster, 0, block);
    for (const block of blocks) expect((await getBlock(cluster, 1, block.hash)).equals(block.data)).toBe(true);
    // Node 3 was down for every put: its own copy is missing, so its gets fall back to the others.
    await cluster.restart(2, { bootstrap: true });
    await cluster.waitForMesh();
    for (const block of blocks) expect((await getBlock(cluster, 2, block.hash)).equals(block.data)).toBe(true);
  });

  it('falls back to another holder when the closest one is down', async () => {
    cluster = await startTableCluster(4);
    const layout = await layoutOf(cluster, 0);
    const block = randomBlock(200_000);
    await putBlock(cluster, 0, block);
    const holders = layout.current.table[block.hash[0]!]!;
    const coordinator = cluster.nodes.find((node) => !holders.includes(node.nodeId))!;
    // With no shared zone and no RTT yet, the closest holder is the smallest id.
    const closest = cluster.nodes.find((node) => node.nodeId === [...holders].sort()[0])!;
    await cluster.kill(closest.index);
    expect((await getBlock(cluster, coordinator.index, block.hash)).equals(block.data)).toBe(true);
  });

  it('refuses a block whose bytes do not match its hash', async () => {
    cluster = await startTableCluster(3);
    const block = randomBlock(1000);
    await expect(putBlock(cluster, 0, { hash: block.hash, data: Buffer.concat([block.data, Buffer.from('x')]) })).rejects.toThrow(/does not hash/);
  });
});
