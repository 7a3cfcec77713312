// Block puts racing each other, and block GC waiting for the other holders, on real node processes
// (RF 3): the same block put through two nodes at once is stored once per holder with the right
// refcount, and a block never referenced is deleted after the delay, yet only once every other
// holder could be asked whether it needs it (the hand-over itself is in test/unit/block-workers).
import { startTableCluster } from '../../harness/tables';
import { blockFilesOf, getBlock, inspectBlock, putBlock, randomBlock, writeBlockRefs } from '../../harness/blocks';
import { runCliAsync } from '../../harness/cli';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(120_000);

const GC_DELAY_MS = 4_000;
/** Test hook read by `grange server`: blocks at refcount zero become deletable after GC_DELAY_MS. */
const GC_ENV = { GRANGE_TEST_BLOCK_GC_DELAY_MS: String(GC_DELAY_MS) };
const GC_TIMEOUT_MS = 60_000;
const ALL = [0, 1, 2];

async function cli(cluster: Cluster, index: number, args: string[]): Promise<string> {
  const result = await runCliAsync(['-c', cluster.nodes[index]!.configPath, ...args]);
  if (result.status !== 0) throw new Error(`grange ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

describe('block GC and concurrent puts', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('stores a block put through two nodes at once exactly once per holder, with the right refcount', async () => {
    cluster = await startTableCluster(3, { env: GC_ENV });
    const blocks = Array.from({ length: 4 }, () => randomBlock(300_000));
    // Each block through nodes 1 and 2 at the same time, all blocks at once.
    await Promise.all(blocks.flatMap((block) => [putBlock(cluster, 0, block), putBlock(cluster, 1, block)]));
    // Two objects use each block, referenced through two coordinators at once.
    await Promise.all([
      writeBlockRefs(cluster, 0, blocks.map((block) => ({ block: block.hash, version: Buffer.from('object-a'), deleted: false }))),
      writeBlockRefs(cluster, 1, blocks.map((block) => ({ block: block.hash, version: Buffer.from('object-b'), deleted: false }))),
    ]);
    await waitFor(async () => (await Promise.all(blocks.flatMap((block) => ALL.map((index) => inspectBlock(cluster, index, block.hash))))).every((state) => state.refcount === 2), {
      what: 'every holder to count both references to every block',
    });
    for (const block of blocks) {
      for (const index of ALL) {
        const files = blockFilesOf(cluster, index, block.hash);
        expect(files.map((path) => path.slice(-64))).toEqual([block.hash.toString('hex')]); // one file, no temporary left
      }
      expect((await getBlock(cluster, 2, block.hash)).equals(block.data)).toBe(true);
    }
    // Still referenced once a block put after them and never referenced has been collected (so the
    // GC delay has passed and the GC has run): kept everywhere.
    const sentinel = randomBlock(1_000);
    await putBlock(cluster, 2, sentinel);
    await waitFor(async () => (await Promise.all(ALL.map((index) => inspectBlock(cluster, index, sentinel.hash)))).every((state) => !state.present), {
      what: 'the unreferenced sentinel block to be collected',
      timeoutMs: GC_TIMEOUT_MS,
      intervalMs: 200,
    });
    for (const block of blocks) expect((await Promise.all(ALL.map((index) => inspectBlock(cluster, index, block.hash)))).every((state) => state.present && state.refcount === 2)).toBe(true);
  });

  it('deletes an unreferenced block only once every other holder has been asked', async () => {
    cluster = await startTableCluster(3, { env: GC_ENV });
    const block = randomBlock(120_000);
    const hex = block.hash.toString('hex');
    await putBlock(cluster, 0, block); // put, never referenced: counted at zero from now
    const putAtMs = Date.now();
    // The put answered at the write quorum: the third copy may still be on its way.
    const states = async (): Promise<string> => JSON.stringify((await Promise.all(ALL.map((index) => inspectBlock(cluster, index, block.hash)))).map((state) => [state.present, state.refcount]));
    await waitFor(async () => (await states()) === JSON.stringify([[true, 0], [true, 0], [true, 0]]), { what: 'every holder to store the block, unreferenced', intervalMs: 50 });
    // Node 3 is down when the delay ends: nodes 1 and 2 cannot ask it, so they keep their copies.
    await cluster.kill(2);
    await waitFor(
      async () => {
        const errors = JSON.parse(await cli(cluster, 0, ['block', 'list-errors', '--json'])) as { hash: string; lastError: string }[];
        return errors.find((error) => error.hash === hex);
      },
      { what: 'node 1 to fail to ask node 3 about the block', timeoutMs: GC_TIMEOUT_MS, intervalMs: 200 },
    );
    expect(Date.now() - putAtMs).toBeGreaterThanOrEqual(GC_DELAY_MS);
    expect((await Promise.all([0, 1].map((index) => inspectBlock(cluster, index, block.hash)))).every((state) => state.present)).toBe(true);

    // Node 3 back: it answers that it does not need the block, and every holder deletes it.
    await cluster.restart(2, { bootstrap: true });
    await cluster.waitForMesh();
    await cli(cluster, 0, ['block', 'retry-now', '--all']);
    await waitFor(async () => (await Promise.all(ALL.map((index) => inspectBlock(cluster, index, block.hash)))).every((state) => !state.present), {
      what: 'every holder to delete the block',
      timeoutMs: GC_TIMEOUT_MS,
      intervalMs: 200,
    });
    expect((await cli(cluster, 0, ['block', 'list-errors'])).trim()).toBe('No block errors.');
  });
});
