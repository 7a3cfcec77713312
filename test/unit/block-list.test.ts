// Listing blocks in hash order, and resuming after a hash (what a scrub does after a restart), on
// both block stores and over two data directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash, openBlockStore, openMemoryBlockStore, type BlockStore } from '../../src/storage/blocks';

async function collect(hashes: AsyncIterable<Buffer>): Promise<string[]> {
  const out: string[] = [];
  for await (const hash of hashes) out.push(hash.toString('hex'));
  return out;
}

describe('block listing order', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'grange-block-list-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const stores: [string, () => BlockStore][] = [
    ['memory', () => openMemoryBlockStore()],
    [
      'disk, two directories',
      () =>
        openBlockStore({
          config: { dataDir: [{ path: join(root, 'a'), capacity: 1, readOnly: false }, { path: join(root, 'b'), capacity: 1, readOnly: false }], dataFsync: false, compressionLevel: 'none', blockSize: 1 << 20 },
        }),
    ],
  ];

  it.each(stores)('%s: lists in ascending hash order and resumes after a given hash', async (_label, open) => {
    const store = open();
    const datas = Array.from({ length: 40 }, (_, i) => Buffer.from(`block ${i}`));
    for (const data of datas) await store.put(blockHash(data), data);
    const sorted = datas.map((data) => blockHash(data).toString('hex')).sort();
    expect(await collect(store.list())).toEqual(sorted);
    expect(await collect(store.list(Buffer.from(sorted[16]!, 'hex')))).toEqual(sorted.slice(17));
    expect(await collect(store.list(Buffer.from(sorted[39]!, 'hex')))).toEqual([]);
    expect(await collect(store.list(Buffer.alloc(32)))).toEqual(sorted);
  });
});
