// Scrub on real node processes (RF 3): a block file damaged on one node is still served right
// (another holder's copy), and `grange repair scrub start` finds a damaged file nobody read, moves
// it aside and has resync fetch a good copy back.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTableCluster } from '../../harness/tables';
import { getBlock, inspectBlock, inspectBlocks, putBlock, randomBlock, writeBlockRefs } from '../../harness/blocks';
import { runCliAsync } from '../../harness/cli';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(120_000);

const REPAIR_TIMEOUT_MS = 60_000;

function blockFile(cluster: Cluster, index: number, hash: Buffer): string {
  const hex = hash.toString('hex');
  return join(cluster.nodes[index]!.folder, 'data', hex.slice(0, 2), hex.slice(2, 4), hex);
}

function corruptedFile(cluster: Cluster, index: number, hash: Buffer): string {
  return join(cluster.nodes[index]!.folder, 'data', 'corrupted', hash.toString('hex'));
}

/** Flips bytes in the middle of the file (past its header): the content no longer hashes right. */
function flipBytes(path: string): void {
  const bytes = readFileSync(path);
  for (let offset = Math.floor(bytes.length / 2); offset < Math.floor(bytes.length / 2) + 16; offset++) bytes[offset] = bytes[offset]! ^ 0xff;
  writeFileSync(path, bytes);
}

async function cli(cluster: Cluster, index: number, args: string[]): Promise<string> {
  const result = await runCliAsync(['-c', cluster.nodes[index]!.configPath, ...args]);
  if (result.status !== 0) throw new Error(`grange ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

describe('block scrub', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('serves a damaged block from another holder, and scrub repairs a damaged file', async () => {
    cluster = await startTableCluster(3);
    const [read, scrubbed] = [randomBlock(100_000), randomBlock(150_000)];
    for (const block of [read, scrubbed]) await putBlock(cluster, 0, block);
    await writeBlockRefs(cluster, 0, [read, scrubbed].map((block, i) => ({ block: block.hash, version: Buffer.from(`v${i}`), deleted: false })));
    await waitFor(async () => (await inspectBlocks(cluster, 0, [read.hash, scrubbed.hash])).every((state) => state.refcount === 1), {
      what: 'node 1 to count a reference to both blocks',
    });
    for (const block of [read, scrubbed]) flipBytes(blockFile(cluster, 0, block.hash));

    // A get through the damaged node answers the right bytes (and the read moves the file aside).
    expect((await getBlock(cluster, 0, read.hash)).equals(read.data)).toBe(true);
    expect(existsSync(corruptedFile(cluster, 0, read.hash))).toBe(true);
    // Nobody read the other one: it is still in place, damaged.
    expect(existsSync(corruptedFile(cluster, 0, scrubbed.hash))).toBe(false);

    const started = await cli(cluster, 0, ['repair', 'scrub', 'start']);
    expect(started).toMatch(/Scrub running/);
    await waitFor(async () => existsSync(corruptedFile(cluster, 0, scrubbed.hash)) && (await inspectBlock(cluster, 0, scrubbed.hash)).present, {
      what: 'scrub to move the damaged file aside and resync to fetch a good copy',
      timeoutMs: REPAIR_TIMEOUT_MS,
      intervalMs: 200,
    });
    await waitFor(async () => (await inspectBlock(cluster, 0, read.hash)).present, { what: 'the block found damaged by a get to be fetched back', timeoutMs: REPAIR_TIMEOUT_MS, intervalMs: 200 });
    await waitFor(
      async () => {
        const workers = JSON.parse(await cli(cluster, 0, ['worker', 'list', '--json'])) as { name: string; state: string; errors: number; progress: string }[];
        const scrub = workers.find((worker) => worker.name === 'scrub')!;
        return scrub.state.startsWith('idle') && /last completed \d{4}-/.test(scrub.progress) && scrub.errors >= 1;
      },
      { what: 'the scrub pass to complete with its corruption counted', timeoutMs: REPAIR_TIMEOUT_MS, intervalMs: 200 },
    );
    // A second start is a new pass; pause, resume and cancel answer for it; bad transitions are refused.
    expect(await cli(cluster, 0, ['repair', 'scrub', 'start'])).toMatch(/Scrub running/);
    const pausedOrDone = await runCliAsync(['-c', cluster.nodes[0]!.configPath, 'repair', 'scrub', 'resume']);
    expect(pausedOrDone.status).not.toBe(0);
    expect(pausedOrDone.stderr).toMatch(/no scrub is paused/);

    // With the other holders down, node 1 serves both blocks from its own, repaired files.
    await cluster.kill(1);
    await cluster.kill(2);
    for (const block of [read, scrubbed]) expect((await getBlock(cluster, 0, block.hash)).equals(block.data)).toBe(true);
  });
});
