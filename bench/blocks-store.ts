// bench/blocks-store: put and get MB/s of 1 MiB blocks through the disk block store, next to the
// baseline of the same bytes hashed and written with a plain writeFile (read back with readFile and
// hashed), in the same run, with the ratio. Cases: random bytes without compression; random bytes
// with compression level 1 (the store tries brotli and keeps the plain copy); compressible text with
// level 1. A put is timed as a caller does it: hash the block, then put it (the store hashes again to
// verify). Reads come from the page cache in both columns. Prints figures; decides nothing.
// Run: npx tsc -p tsconfig.build.json && node dist/bench/blocks-store.js
//      (options: BLOCKS=128 IN_FLIGHT=4 ROUNDS=5 FSYNC=1 BENCH_DIR=/path/on/the/disk/to/measure)
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash, openBlockStore, type BlockStore } from '../src/storage/blocks';

const BLOCKS = Number(process.env.BLOCKS ?? 128);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 4);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const FSYNC = process.env.FSYNC === '1';
const BENCH_DIR = process.env.BENCH_DIR ?? tmpdir();
const BLOCK_BYTES = 1024 * 1024;
const MB = 1_000_000;

interface Figures {
  put: number;
  get: number;
}

interface RoundResult {
  plain: Figures;
  stored: Figures;
  /** Bytes the store wrote over the bytes of the blocks. */
  storedFraction: number;
}

interface Block {
  hash: Buffer;
  data: Buffer;
}

/** Runs `operation` for every block, IN_FLIGHT at a time; returns MB/s. */
async function throughput(blocks: readonly Block[], operation: (block: Block) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < blocks.length) await operation(blocks[next++]!);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const seconds = (performance.now() - started) / 1000;
  return (blocks.length * BLOCK_BYTES) / MB / seconds;
}

function randomBlocks(): Buffer[] {
  return Array.from({ length: BLOCKS }, () => randomBytes(BLOCK_BYTES));
}

/** Text-like blocks (compress to about a third with brotli quality 1), each different. */
function compressibleBlocks(): Buffer[] {
  const words = ['object', 'bucket', 'garage', 'grange', 'replica', 'layout', 'partition', 'block', 'node', 'zone', 'version', 'upload'];
  return Array.from({ length: BLOCKS }, () => {
    const picks = randomBytes(BLOCK_BYTES / 4);
    const parts: string[] = [];
    let length = 0;
    for (let index = 0; length < BLOCK_BYTES; index++) {
      const word = words[picks[index % picks.length]! % words.length]!;
      parts.push(index % 7 === 0 ? `${word}-${picks[index % picks.length]}` : word);
      length += parts[parts.length - 1]!.length + 1;
    }
    return Buffer.from(parts.join(' '), 'latin1').subarray(0, BLOCK_BYTES);
  });
}

async function writeBaseline(path: string, data: Buffer): Promise<void> {
  if (!FSYNC) return writeFile(path, data);
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function baseline(datas: readonly Buffer[], directory: string): Promise<Figures> {
  const blocks: Block[] = datas.map((data) => ({ hash: Buffer.alloc(0), data }));
  const put = await throughput(blocks, async (block) => {
    block.hash = blockHash(block.data);
    await writeBaseline(join(directory, block.hash.toString('hex')), block.data);
  });
  const get = await throughput(blocks, async (block) => {
    const data = await readFile(join(directory, block.hash.toString('hex')));
    if (!blockHash(data).equals(block.hash)) throw new Error('baseline read back other bytes');
  });
  return { put, get };
}

async function throughStore(datas: readonly Buffer[], store: BlockStore): Promise<Figures> {
  const blocks: Block[] = datas.map((data) => ({ hash: Buffer.alloc(0), data }));
  const put = await throughput(blocks, async (block) => {
    block.hash = blockHash(block.data);
    await store.put(block.hash, block.data);
  });
  const get = await throughput(blocks, async (block) => {
    if ((await store.get(block.hash)) === null) throw new Error('store lost a block');
  });
  return { put, get };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** One round: the baseline, then the store, each in a fresh folder. */
async function round(datas: readonly Buffer[], compressionLevel: number | 'none'): Promise<RoundResult> {
  const root = mkdtempSync(join(BENCH_DIR, 'grange-bench-blocks-'));
  try {
    mkdirSync(join(root, 'baseline'));
    const plain = await baseline(datas, join(root, 'baseline'));
    const store = openBlockStore({ config: { dataDir: [{ path: join(root, 'data'), readOnly: false }], dataFsync: FSYNC, compressionLevel, blockSize: BLOCK_BYTES } });
    const stored = await throughStore(datas, store);
    return { plain, stored, storedFraction: store.stats().bytesWritten / (datas.length * BLOCK_BYTES) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function compare(label: string, datas: readonly Buffer[], compressionLevel: number | 'none'): Promise<void> {
  const rounds: RoundResult[] = [];
  for (let index = 0; index < ROUNDS; index++) rounds.push(await round(datas, compressionLevel));
  const figure = (side: 'plain' | 'stored', operation: keyof Figures): number => median(rounds.map((result) => result[side][operation]));
  const row = (operation: keyof Figures): string => {
    const [stored, plain] = [figure('stored', operation), figure('plain', operation)];
    return `  ${operation}  store ${stored.toFixed(0).padStart(5)} MB/s   baseline ${plain.toFixed(0).padStart(5)} MB/s   ratio ${(stored / plain).toFixed(2)}`;
  };
  console.log(`${label} (stored size ${(rounds[0]!.storedFraction * 100).toFixed(0)}% of the data)`);
  console.log(row('put'));
  console.log(row('get'));
}

async function main(): Promise<void> {
  console.log(`${BLOCKS} blocks of 1 MiB, ${IN_FLIGHT} in flight, fsync ${FSYNC ? 'on' : 'off'}, in ${BENCH_DIR}; medians of ${ROUNDS} rounds`);
  const random = randomBlocks();
  await compare('random bytes, compression none', random, 'none');
  await compare('random bytes, compression level 1', random, 1);
  await compare('compressible text, compression level 1', compressibleBlocks(), 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
