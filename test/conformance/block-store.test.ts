// One suite, every block store: the in-memory one and the disk one (plain, compressed, fsync) must
// answer alike, since the block manager's unit tests run on the first and nodes on the second.
// Then what only the disk store has, on real temporary folders: the file layout and format,
// corruption found and moved aside, several data directories, and crashes between write and rename.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BLOCK_BYTES_MAX,
  BLOCK_FILE_FORMAT,
  BLOCK_FILE_HEADER_BYTES,
  BLOCK_HASH_BYTES,
  BlockCorruptError,
  BlockFormatError,
  BlockHashMismatchError,
  BlockStoreConfigError,
  BlockTooLargeError,
  blockHash,
  DIRECTORY_SLICES,
  InvalidBlockHashError,
  openBlockStore,
  openMemoryBlockStore,
  TEMP_FILE_STALE_MS,
  type BlockDirectory,
  type BlockStore,
  type BlockStoreConfig,
} from '../../src/storage/blocks';
import { brotliQualityFor } from '../../src/storage/blocks/codec';
import { COMPRESSION_KINDS } from '../../src/storage/blocks/format';
import { placeDirectories } from '../../src/storage/blocks/placement';
import { seededRandom } from '../harness/prng';

const KIB = 1024;

let root = '';
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'grange-blocks-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function block(data: Buffer): { hash: Buffer; data: Buffer } {
  return { hash: blockHash(data), data };
}

/** Text-like bytes that compress well but differ from seed to seed. */
function compressible(bytes: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const words = ['object', 'bucket', 'garage', 'grange', 'replica', 'layout', 'partition', 'block', 'node', 'zone'];
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const word = words[Math.floor(random() * words.length)]!;
    parts.push(word);
    length += word.length + 1;
  }
  return Buffer.from(parts.join(' '), 'latin1').subarray(0, bytes);
}

function config(overrides: Partial<BlockStoreConfig> = {}): BlockStoreConfig {
  return { dataDir: [{ path: join(root, 'data'), readOnly: false }], dataFsync: false, compressionLevel: 'none', blockSize: 1024 * KIB, ...overrides };
}

async function collect(hashes: AsyncIterable<Buffer>): Promise<string[]> {
  const found: string[] = [];
  for await (const hash of hashes) found.push(hash.toString('hex'));
  return found.sort();
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

interface StoreFactory {
  label: string;
  open(): BlockStore;
}

const factories: StoreFactory[] = [
  { label: 'memory', open: () => openMemoryBlockStore() },
  { label: 'disk, plain', open: () => openBlockStore({ config: config() }) },
  { label: 'disk, compression level 1', open: () => openBlockStore({ config: config({ compressionLevel: 1 }) }) },
  { label: 'disk, compression level 19, fsync', open: () => openBlockStore({ config: config({ compressionLevel: 19, dataFsync: true }) }) },
];

describe.each(factories)('block store: $label', (factory) => {
  let store: BlockStore;
  beforeEach(() => {
    store = factory.open();
  });

  test('put then get returns the same bytes, for random, compressible and empty blocks', async () => {
    const blocks = [block(randomBytes(1024 * KIB)), block(compressible(1024 * KIB, 1)), block(compressible(3000, 2)), block(Buffer.alloc(0))];
    for (const { hash, data } of blocks) expect(await store.put(hash, data)).toEqual({ written: true });
    for (const { hash, data } of blocks) {
      expect((await store.get(hash))?.equals(data)).toBe(true);
      expect(await store.has(hash)).toBe(true);
    }
    expect(store.stats()).toMatchObject({ blocksWritten: 4, corruptFound: 0 });
  });

  test('put is idempotent: the second put of a block writes nothing', async () => {
    const { hash, data } = block(compressible(200 * KIB, 3));
    expect(await store.put(hash, data)).toEqual({ written: true });
    expect(await store.put(hash, Buffer.from(data))).toEqual({ written: false });
    expect(store.stats().blocksWritten).toBe(1);
    expect(await collect(store.list())).toEqual([hash.toString('hex')]);
  });

  test('concurrent puts of one block write it once', async () => {
    const { hash, data } = block(randomBytes(300 * KIB));
    const results = await Promise.all(Array.from({ length: 5 }, () => store.put(hash, data)));
    expect(results.filter((result) => result.written)).toHaveLength(1);
    expect((await store.get(hash))?.equals(data)).toBe(true);
  });

  test('a block is refused when its data does not match its hash, or it is too large', async () => {
    const { hash } = block(randomBytes(KIB));
    const error = await rejection(store.put(hash, randomBytes(KIB)));
    expect(error).toBeInstanceOf(BlockHashMismatchError);
    expect((error as BlockHashMismatchError).hash.equals(hash)).toBe(true);
    expect(await store.has(hash)).toBe(false);
    expect(await store.get(hash)).toBeNull();

    const big = block(Buffer.alloc(BLOCK_BYTES_MAX + 1));
    expect(await rejection(store.put(big.hash, big.data))).toBeInstanceOf(BlockTooLargeError);
    expect(await store.has(big.hash)).toBe(false);
    expect(store.stats().blocksWritten).toBe(0);
  });

  test('a hash of the wrong length is a programmer error', async () => {
    for (const hash of [Buffer.alloc(BLOCK_HASH_BYTES - 1), Buffer.alloc(BLOCK_HASH_BYTES + 1)]) {
      expect(await rejection(store.get(hash))).toBeInstanceOf(InvalidBlockHashError);
      expect(await rejection(store.put(hash, Buffer.alloc(0)))).toBeInstanceOf(InvalidBlockHashError);
      expect(await rejection(store.delete(hash))).toBeInstanceOf(InvalidBlockHashError);
    }
  });

  test('a block never stored is absent', async () => {
    const { hash } = block(randomBytes(100));
    expect(await store.get(hash)).toBeNull();
    expect(await store.has(hash)).toBe(false);
    expect(await store.delete(hash)).toBe(false);
  });

  test('delete removes the local copy once', async () => {
    const kept = block(randomBytes(10 * KIB));
    const deleted = block(randomBytes(10 * KIB));
    await store.put(kept.hash, kept.data);
    await store.put(deleted.hash, deleted.data);
    expect(await store.delete(deleted.hash)).toBe(true);
    expect(await store.delete(deleted.hash)).toBe(false);
    expect(await store.get(deleted.hash)).toBeNull();
    expect(await store.has(deleted.hash)).toBe(false);
    expect((await store.get(kept.hash))?.equals(kept.data)).toBe(true);
    expect(store.stats().blocksDeleted).toBe(1);
    // Put again after a delete: stored anew.
    expect(await store.put(deleted.hash, deleted.data)).toEqual({ written: true });
  });

  test('list yields every stored block once, and the count follows puts and deletes', async () => {
    const blocks = Array.from({ length: 40 }, (_, index) => block(index % 2 ? randomBytes(2 * KIB) : compressible(2 * KIB, index)));
    for (const { hash, data } of blocks) await store.put(hash, data);
    expect(await collect(store.list())).toEqual(blocks.map(({ hash }) => hash.toString('hex')).sort());
    expect(store.stats().blocks).toBe(40);
    await store.delete(blocks[0]!.hash);
    const extra = block(randomBytes(KIB));
    await store.put(extra.hash, extra.data);
    await store.put(extra.hash, extra.data);
    expect(store.stats().blocks).toBe(40);
  });
});

describe('memory block store', () => {
  test('damaged bytes are found, counted and dropped', async () => {
    const store = openMemoryBlockStore();
    const { hash, data } = block(randomBytes(KIB));
    await store.put(hash, data);
    store.damage(hash, randomBytes(KIB));
    expect(await rejection(store.get(hash))).toBeInstanceOf(BlockCorruptError);
    expect(store.stats().corruptFound).toBe(1);
    expect(await store.get(hash)).toBeNull();
    // A put over a damaged copy replaces it.
    store.damage(hash, randomBytes(KIB));
    expect(await store.put(hash, data)).toEqual({ written: true });
    expect(store.stats().corruptFound).toBe(2);
    expect((await store.get(hash))?.equals(data)).toBe(true);
  });
});

// ---- the disk store only ------------------------------------------------------------------------

function filePath(directory: string, hash: Buffer): string {
  const hex = hash.toString('hex');
  return join(directory, hex.slice(0, 2), hex.slice(2, 4), hex);
}

/** Every block file name under a data directory (any depth, excluding the corrupted folder). */
function blockFilesIn(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /^[0-9a-f]{64}$/.test(entry.name) && !entry.path.includes('corrupted'))
    .map((entry) => entry.name);
}

describe('disk block store: files', () => {
  test('a block lives under two hex folders named by its hash, with a header', async () => {
    const directory = join(root, 'data');
    const store = openBlockStore({ config: config() });
    const { hash, data } = block(randomBytes(5000));
    await store.put(hash, data);
    const file = readFileSync(filePath(directory, hash));
    expect(file.subarray(0, 4).toString('latin1')).toBe('GRBK');
    expect(file[4]).toBe(BLOCK_FILE_FORMAT);
    expect(file[5]).toBe(COMPRESSION_KINDS.none);
    expect(file.readUInt32BE(8)).toBe(data.length);
    expect(file.subarray(BLOCK_FILE_HEADER_BYTES).equals(data)).toBe(true);
    expect(store.stats()).toMatchObject({ bytesWritten: file.length, blocksCompressed: 0 });
  });

  test('compression is kept only where it saves space', async () => {
    const directory = join(root, 'data');
    const store = openBlockStore({ config: config({ compressionLevel: 1 }) });
    const text = block(compressible(1024 * KIB, 7));
    const noise = block(randomBytes(1024 * KIB));
    await store.put(text.hash, text.data);
    await store.put(noise.hash, noise.data);
    const textFile = readFileSync(filePath(directory, text.hash));
    const noiseFile = readFileSync(filePath(directory, noise.hash));
    expect(textFile[5]).toBe(COMPRESSION_KINDS.brotli);
    expect(textFile.length).toBeLessThan(text.data.length / 2);
    expect(noiseFile[5]).toBe(COMPRESSION_KINDS.none);
    expect(noiseFile.length).toBe(BLOCK_FILE_HEADER_BYTES + noise.data.length);
    expect(store.stats().blocksCompressed).toBe(1);
    // A store without compression reads compressed files: the header says how each is stored.
    const plainStore = openBlockStore({ config: config({ compressionLevel: 'none' }) });
    expect((await plainStore.get(text.hash))?.equals(text.data)).toBe(true);
  });

  test('zstd levels map onto brotli qualities', () => {
    expect(brotliQualityFor('none')).toBeNull();
    expect([-99, -1, 1, 2, 3, 19, 22].map((level) => brotliQualityFor(level))).toEqual([1, 1, 1, 1, 2, 10, 11]);
    expect(brotliQualityFor(0)).toBe(brotliQualityFor(3)); // 0 is zstd's default, 3
  });

  test('a block_size above the largest block is refused when the store opens', () => {
    expect(() => openBlockStore({ config: config({ blockSize: BLOCK_BYTES_MAX + 1 }) })).toThrow(BlockStoreConfigError);
    expect(() => openBlockStore({ config: config({ dataDir: [{ path: join(root, 'old'), readOnly: true }] }) })).toThrow(BlockStoreConfigError);
  });
});

describe('disk block store: corruption', () => {
  const damages: Array<[string, (file: Buffer) => Buffer]> = [
    ['a flipped byte in the data', (file) => Buffer.from(file.map((byte, index) => (index === file.length - 100 ? byte ^ 0xff : byte)))],
    ['a flipped byte in the header', (file) => Buffer.from(file.map((byte, index) => (index === 1 ? byte ^ 0x01 : byte)))],
    ['a truncated file', (file) => file.subarray(0, file.length - 1)],
    ['an empty file', () => Buffer.alloc(0)],
  ];

  describe.each([['plain', 'none' as const], ['compressed', 1]])('%s blocks', (_label, compressionLevel) => {
    test.each(damages)('%s is detected, moved aside and counted', async (_damage, damage) => {
      const directory = join(root, 'data');
      const store = openBlockStore({ config: config({ compressionLevel }) });
      const { hash, data } = block(compressible(100 * KIB, 11));
      await store.put(hash, data);
      const path = filePath(directory, hash);
      const damaged = damage(readFileSync(path));
      writeFileSync(path, damaged);

      const error = await rejection(store.get(hash));
      expect(error).toBeInstanceOf(BlockCorruptError);
      expect((error as BlockCorruptError).hash.equals(hash)).toBe(true);
      expect(store.stats().corruptFound).toBe(1);
      expect(existsSync(path)).toBe(false);
      expect(readFileSync(join(directory, 'corrupted', hash.toString('hex'))).equals(damaged)).toBe(true);
      // Gone from the store, not listed, and a put (a repair from another node) restores it.
      expect(await store.get(hash)).toBeNull();
      expect(await store.has(hash)).toBe(false);
      expect(await collect(store.list())).toEqual([]);
      expect(await store.put(hash, data)).toEqual({ written: true });
      expect((await store.get(hash))?.equals(data)).toBe(true);
    });
  });

  test('a put over a damaged copy replaces it instead of keeping it', async () => {
    const directory = join(root, 'data');
    const store = openBlockStore({ config: config() });
    const { hash, data } = block(randomBytes(10 * KIB));
    await store.put(hash, data);
    writeFileSync(filePath(directory, hash), randomBytes(10 * KIB));
    expect(await store.put(hash, data)).toEqual({ written: true });
    expect(store.stats().corruptFound).toBe(1);
    expect((await store.get(hash))?.equals(data)).toBe(true);
  });

  test('a file larger than any block file is corrupt and never read whole', async () => {
    const directory = join(root, 'data');
    const store = openBlockStore({ config: config() });
    const { hash, data } = block(randomBytes(KIB));
    await store.put(hash, data);
    writeFileSync(filePath(directory, hash), Buffer.alloc(BLOCK_FILE_HEADER_BYTES + BLOCK_BYTES_MAX + 1));
    expect(await rejection(store.get(hash))).toBeInstanceOf(BlockCorruptError);
    expect(store.stats().bytesRead).toBe(0);
  });

  test('a file in a newer format is refused and left in place', async () => {
    const directory = join(root, 'data');
    const store = openBlockStore({ config: config() });
    const { hash, data } = block(randomBytes(KIB));
    await store.put(hash, data);
    const path = filePath(directory, hash);
    const file = readFileSync(path);
    file[4] = BLOCK_FILE_FORMAT + 1;
    writeFileSync(path, file);
    const error = await rejection(store.get(hash));
    expect(error).toBeInstanceOf(BlockFormatError);
    expect((error as BlockFormatError).formatVersion).toBe(BLOCK_FILE_FORMAT + 1);
    expect(existsSync(path)).toBe(true);
    expect(store.stats().corruptFound).toBe(0);
  });
});

describe('disk block store: several data directories', () => {
  const directory = (name: string, capacity?: number): BlockDirectory =>
    capacity === undefined ? { path: join(root, name), readOnly: true } : { path: join(root, name), capacity, readOnly: false };

  test('blocks spread over writable directories in proportion to capacity; read-only ones get none', async () => {
    const dataDir = [directory('hdd1', 1e12), directory('hdd2', 2e12), directory('old'), directory('hdd3', 1e12)];
    const store = openBlockStore({ config: config({ dataDir }) });
    const blocks = Array.from({ length: 2000 }, () => block(randomBytes(64)));
    await Promise.all(blocks.map(({ hash, data }) => store.put(hash, data)));
    const counts = dataDir.map((entry) => blockFilesIn(entry.path).length);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(blocks.length);
    expect(counts[2]).toBe(0);
    // Expected shares 1/4, 1/2, 1/4; allow for the sampling of 2000 blocks and of 1024 slices.
    const shares = counts.map((count) => count / blocks.length);
    expect(shares[0]).toBeGreaterThan(0.19);
    expect(shares[0]).toBeLessThan(0.31);
    expect(shares[1]).toBeGreaterThan(0.43);
    expect(shares[1]).toBeLessThan(0.57);
    expect(shares[3]).toBeGreaterThan(0.19);
    expect(shares[3]).toBeLessThan(0.31);
    for (const { hash, data } of blocks.slice(0, 50)) expect((await store.get(hash))?.equals(data)).toBe(true);
    expect((await collect(store.list())).length).toBe(blocks.length);
  });

  test('placement is decided by the hash alone: a store reopened with the same directories finds every block first time', async () => {
    const dataDir = [directory('hdd1', 3e12), directory('hdd2', 1e12)];
    const blocks = Array.from({ length: 200 }, () => block(randomBytes(64)));
    const first = openBlockStore({ config: config({ dataDir }) });
    for (const { hash, data } of blocks) await first.put(hash, data);
    const placement = placeDirectories(dataDir);
    for (const { hash } of blocks) expect(existsSync(filePath(dataDir[placement.primaryOf(hash)]!.path, hash))).toBe(true);
  });

  test('adding a directory takes slices only for itself; removing one gives only its own away', () => {
    const before = [directory('hdd1', 2e12), directory('hdd2', 2e12)];
    const after = [...before, directory('hdd3', 4e12)];
    const primaries = (dirs: BlockDirectory[]): string[] => {
      const placement = placeDirectories(dirs);
      return Array.from({ length: DIRECTORY_SLICES }, (_, slice) => {
        const hash = Buffer.alloc(BLOCK_HASH_BYTES);
        hash.writeUInt16BE(slice, 2);
        return dirs[placement.primaryOf(hash)]!.path;
      });
    };
    const old = primaries(before);
    const grown = primaries(after);
    const moved = grown.filter((path, slice) => path !== old[slice]);
    expect(moved.every((path) => path === after[2]!.path)).toBe(true);
    // The new directory holds half the capacity: about half the slices move to it.
    expect(moved.length / DIRECTORY_SLICES).toBeGreaterThan(0.4);
    expect(moved.length / DIRECTORY_SLICES).toBeLessThan(0.6);
    // Removing hdd2 again: only its slices move, and only to the directories that remain.
    const shrunk = primaries([after[0]!, after[2]!]);
    expect(shrunk.every((path, slice) => grown[slice] === after[1]!.path || path === grown[slice])).toBe(true);
    expect(shrunk.some((path, slice) => path !== grown[slice])).toBe(true);
  });

  test('reads find blocks in read-only directories and under an older directory list; a put moves them to their primary', async () => {
    const single = directory('hdd1', 1e12);
    const blocks = Array.from({ length: 60 }, (_, index) => block(compressible(4 * KIB, index)));
    const old = openBlockStore({ config: config({ dataDir: [single], compressionLevel: 1 }) });
    for (const { hash, data } of blocks) await old.put(hash, data);

    // hdd1 becomes read-only (a disk being retired); two new disks take the writes.
    const dataDir = [{ ...single, capacity: undefined, readOnly: true }, directory('hdd2', 1e12), directory('hdd3', 1e12)];
    const store = openBlockStore({ config: config({ dataDir }) });
    for (const { hash, data } of blocks) {
      expect(await store.has(hash)).toBe(true);
      expect((await store.get(hash))?.equals(data)).toBe(true);
    }
    expect((await collect(store.list())).length).toBe(blocks.length);

    for (const { hash, data } of blocks.slice(0, 20)) expect(await store.put(hash, data)).toEqual({ written: true });
    expect(store.stats().blocksMoved).toBe(20);
    expect(blockFilesIn(single.path)).toHaveLength(40);
    for (const { hash, data } of blocks) expect((await store.get(hash))?.equals(data)).toBe(true);
    // Once in its primary directory, a block is not written again.
    for (const { hash, data } of blocks.slice(0, 20)) expect(await store.put(hash, data)).toEqual({ written: false });

    // Deleting removes every copy, wherever it is.
    for (const { hash } of blocks) expect(await store.delete(hash)).toBe(true);
    expect(dataDir.flatMap((entry) => blockFilesIn(entry.path))).toEqual([]);
  });

  test('a copy in another directory serves a read when the primary copy is damaged', async () => {
    const dataDir = [directory('hdd1', 1e12), directory('hdd2', 1e12)];
    const store = openBlockStore({ config: config({ dataDir }) });
    const { hash, data } = block(randomBytes(8 * KIB));
    await store.put(hash, data);
    const placement = placeDirectories(dataDir);
    const primary = dataDir[placement.primaryOf(hash)]!.path;
    const other = dataDir[1 - placement.primaryOf(hash)]!.path;
    mkdirSync(join(filePath(other, hash), '..'), { recursive: true });
    writeFileSync(filePath(other, hash), readFileSync(filePath(primary, hash)));
    writeFileSync(filePath(primary, hash), randomBytes(100));
    expect((await store.get(hash))?.equals(data)).toBe(true);
    expect(store.stats().corruptFound).toBe(1);
    expect(existsSync(join(primary, 'corrupted', hash.toString('hex')))).toBe(true);
  });

  test('a block with copies in two directories is listed once', async () => {
    const dataDir = [directory('hdd1', 1e12), directory('hdd2', 1e12)];
    const store = openBlockStore({ config: config({ dataDir }) });
    const blocks = Array.from({ length: 30 }, () => block(randomBytes(256)));
    for (const { hash, data } of blocks) {
      await store.put(hash, data);
      for (const entry of dataDir) {
        mkdirSync(join(filePath(entry.path, hash), '..'), { recursive: true });
        writeFileSync(filePath(entry.path, hash), readFileSync(filePath(dataDir[placeDirectories(dataDir).primaryOf(hash)]!.path, hash)));
      }
    }
    expect(dataDir.flatMap((entry) => blockFilesIn(entry.path))).toHaveLength(60);
    expect(await collect(store.list())).toEqual(blocks.map(({ hash }) => hash.toString('hex')).sort());
  });
});

describe('disk block store: a crash between write and rename', () => {
  /** What a crash leaves: the temporary file, partly written, and no block file. */
  function crashedWrite(directory: string, hash: Buffer, bytes: Buffer): string {
    const path = filePath(directory, hash) + '.tmp';
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, bytes);
    return path;
  }

  test('a temporary file is never seen as a block, and a later put overwrites it', async () => {
    const directory = join(root, 'data');
    const store = openBlockStore({ config: config() });
    const { hash, data } = block(randomBytes(64 * KIB));
    const temp = crashedWrite(directory, hash, data.subarray(0, 1000));
    expect(await store.get(hash)).toBeNull();
    expect(await store.has(hash)).toBe(false);
    expect(await collect(store.list())).toEqual([]);
    expect(existsSync(temp)).toBe(true); // fresh: it could be a write in progress

    expect(await store.put(hash, data)).toEqual({ written: true });
    expect(existsSync(temp)).toBe(false);
    expect((await store.get(hash))?.equals(data)).toBe(true);
  });

  test('list removes temporary files once they are stale', async () => {
    const directory = join(root, 'data');
    let nowMs = Date.now();
    const store = openBlockStore({ config: config(), nowMs: () => nowMs });
    const kept = block(randomBytes(KIB));
    await store.put(kept.hash, kept.data);
    const stale = crashedWrite(directory, block(randomBytes(KIB)).hash, randomBytes(10));
    const fresh = crashedWrite(directory, block(randomBytes(KIB)).hash, randomBytes(10));
    const old = new Date(nowMs - TEMP_FILE_STALE_MS - 1000);
    utimesSync(stale, old, old);
    expect(await collect(store.list())).toEqual([kept.hash.toString('hex')]);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(store.stats().tempFilesRemoved).toBe(1);
    nowMs += TEMP_FILE_STALE_MS + 1000;
    await collect(store.list());
    expect(existsSync(fresh)).toBe(false);
    expect(store.stats().tempFilesRemoved).toBe(2);
  });

  test('files that are not blocks are ignored by list', async () => {
    const directory = join(root, 'data');
    const store = openBlockStore({ config: config() });
    const { hash, data } = block(randomBytes(KIB));
    await store.put(hash, data);
    const hex = hash.toString('hex');
    // A block file in the wrong folder, a stray file, and a damaged block moved aside.
    const wrongFolder = join(directory, 'ff', 'ff');
    mkdirSync(wrongFolder, { recursive: true });
    writeFileSync(join(wrongFolder, '00'.repeat(32)), data);
    writeFileSync(join(directory, hex.slice(0, 2), hex.slice(2, 4), 'notes.txt'), 'hello');
    mkdirSync(join(directory, 'corrupted'), { recursive: true });
    writeFileSync(join(directory, 'corrupted', 'ab'.repeat(32)), data);
    expect(await collect(store.list())).toEqual([hex]);
  });
});
