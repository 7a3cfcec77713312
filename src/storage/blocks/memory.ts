// The block store in memory, for unit tests of its callers (the block manager): same checks and
// answers as the disk store, no files. It never finds corruption unless a test plants it.
import { BlockCorruptError, BlockHashMismatchError, BlockTooLargeError } from './errors';
import { blockHash, checkBlockHash } from './hash';
import { BLOCK_BYTES_MAX } from './limits';
import { emptyBlockStoreStats, type BlockStore, type BlockStoreStats } from './types';

export interface MemoryBlockStore extends BlockStore {
  /** Test hook: replaces the stored bytes of a block, as bit rot would. */
  damage(hash: Buffer, bytes: Buffer): void;
}

export function openMemoryBlockStore(): MemoryBlockStore {
  const blocks = new Map<string, Buffer>();
  const counters = emptyBlockStoreStats();
  counters.blocks = 0;
  return {
    async put(hash, data) {
      checkBlockHash(hash);
      if (data.length > BLOCK_BYTES_MAX) throw new BlockTooLargeError(hash, data.length, BLOCK_BYTES_MAX);
      if (!blockHash(data).equals(hash)) throw new BlockHashMismatchError(hash);
      const key = hash.toString('hex');
      const existing = blocks.get(key);
      if (existing !== undefined) {
        if (blockHash(existing).equals(hash)) return { written: false };
        counters.corruptFound++; // a damaged copy, replaced as the disk store does
      }
      blocks.set(key, Buffer.from(data)); // a copy: the caller may reuse its buffer
      counters.blocksWritten++;
      counters.bytesWritten += data.length;
      counters.blocks = blocks.size;
      return { written: true };
    },
    async get(hash) {
      checkBlockHash(hash);
      const key = hash.toString('hex');
      const stored = blocks.get(key);
      if (stored === undefined) return null;
      counters.blocksRead++;
      counters.bytesRead += stored.length;
      if (!blockHash(stored).equals(hash)) {
        counters.corruptFound++;
        blocks.delete(key);
        counters.blocks = blocks.size;
        throw new BlockCorruptError(hash, 'content does not match its hash');
      }
      return Buffer.from(stored);
    },
    async has(hash) {
      checkBlockHash(hash);
      return blocks.has(hash.toString('hex'));
    },
    async delete(hash) {
      checkBlockHash(hash);
      const removed = blocks.delete(hash.toString('hex'));
      if (removed) counters.blocksDeleted++;
      counters.blocks = blocks.size;
      return removed;
    },
    async *list(after?: Buffer) {
      const afterHex = after === undefined ? null : after.toString('hex');
      for (const key of [...blocks.keys()].sort()) if (afterHex === null || key > afterHex) yield Buffer.from(key, 'hex');
    },
    stats(): BlockStoreStats {
      return { ...counters };
    },
    damage(hash, bytes) {
      blocks.set(hash.toString('hex'), Buffer.from(bytes));
    },
  };
}
