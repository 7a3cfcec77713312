// bench/blocks: the block layer on three node processes (RF 3, consistent mode, 127.0.0.1).
// Puts then gets BLOCKS random 1 MiB blocks through node 1's block manager, from an RPC client,
// IN_FLIGHT at a time, and prints MB/s. In the same run, the baseline on this machine: hash each
// block (SHA-256) and write it to three local files (fsync as the nodes' data_fsync, here the
// default: off), then read one copy back and hash it again, as a get does; and the ratios
// (target: at least 50% of the baseline for both). Prints figures; decides nothing.
// Run: npm run bench:blocks   (options: BLOCKS=200 IN_FLIGHT=4 DATA_FSYNC=true)
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockManagerMessage, BlockPutReply } from '../src/actors/block/manager';
import type { NodeClient } from '../src/client/node-client';
import { blockHash } from '../src/storage/blocks';
import { startTableCluster } from '../test/harness/tables';

const BLOCKS = Number(process.env.BLOCKS ?? 200);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 4);
const DATA_FSYNC = process.env.DATA_FSYNC === 'true';
const BLOCK_BYTES = 1024 * 1024;
const COPIES = 3;
const ASK_TIMEOUT_MS = 60_000;
const BLOCKS_PATH = '/node/blocks';

interface Block {
  hash: Buffer;
  data: Buffer;
}

/** Runs `operation` over 0..count-1, `inFlight` at a time; MB/s of `bytesEach` per operation. */
async function throughput(count: number, inFlight: number, operation: (index: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) await operation(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - started) / 1000;
  return (count * BLOCK_BYTES) / 1e6 / seconds;
}

async function writeCopy(path: string, data: Buffer): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    if (DATA_FSYNC) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

async function baseline(blocks: Block[]): Promise<{ put: number; get: number }> {
  const root = mkdtempSync(join(tmpdir(), 'grange-bench-blocks-'));
  const folders = Array.from({ length: COPIES }, (_, copy) => join(root, `copy${copy}`));
  for (const folder of folders) mkdirSync(folder);
  try {
    const put = await throughput(blocks.length, IN_FLIGHT, async (index) => {
      const block = blocks[index]!;
      const name = createHash('sha256').update(block.data).digest('hex');
      await Promise.all(folders.map((folder) => writeCopy(join(folder, name), block.data)));
    });
    const get = await throughput(blocks.length, IN_FLIGHT, async (index) => {
      const block = blocks[index]!;
      const data = await readFile(join(folders[index % COPIES]!, block.hash.toString('hex')));
      if (!createHash('sha256').update(data).digest().equals(block.hash)) throw new Error('baseline read back other bytes');
    });
    return { put, get };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function cluster3(blocks: Block[]): Promise<{ put: number; get: number }> {
  const cluster = await startTableCluster(3, { testTables: false, ...(DATA_FSYNC ? { extraConfig: 'data_fsync = true' } : {}) });
  let client: NodeClient | null = null;
  try {
    client = await cluster.client(0);
    const ask = client.ask.bind(client);
    const put = await throughput(blocks.length, IN_FLIGHT, (index) =>
      ask<BlockManagerMessage, BlockPutReply>(BLOCKS_PATH, (replyTo) => ({ type: 'put', hash: blocks[index]!.hash, data: blocks[index]!.data, replyTo }), ASK_TIMEOUT_MS),
    );
    const get = await throughput(blocks.length, IN_FLIGHT, async (index) => {
      const data = await ask<BlockManagerMessage, Buffer>(BLOCKS_PATH, (replyTo) => ({ type: 'get', hash: blocks[index]!.hash, replyTo }), ASK_TIMEOUT_MS);
      if (!Buffer.from(data).equals(blocks[index]!.data)) throw new Error('the cluster returned other bytes');
    });
    return { put, get };
  } finally {
    await client?.close();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  console.log(`bench/blocks  (three node processes on 127.0.0.1, RF 3, consistent; ${BLOCKS} x 1 MiB random blocks, ${IN_FLIGHT} in flight, data_fsync ${DATA_FSYNC}; node ${process.version})`);
  const blocks = Array.from({ length: BLOCKS }, () => {
    const data = randomBytes(BLOCK_BYTES);
    return { hash: blockHash(data), data };
  });
  const local = await baseline(blocks);
  const nodes = await cluster3(blocks);
  const line = (what: string, value: number, base: number): string =>
    `${what.padEnd(5)} cluster ${value.toFixed(1).padStart(7)} MB/s   baseline ${base.toFixed(1).padStart(7)} MB/s   ratio ${((100 * value) / base).toFixed(0).padStart(3)}%   target >= 50%`;
  console.log(line('put', nodes.put, local.put));
  console.log(line('get', nodes.get, local.get));
  console.log('baseline: sha256 + write to 3 local files (temp + rename) / read one copy back + sha256; cluster: block manager put (3 copies, quorum 2) / get (local copy first), over RPC');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
