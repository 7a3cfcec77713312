// The block store: content-addressed data blocks on this node's disks. Two implementations behave
// alike (files under data_dir, and a Map for unit tests); test/conformance/block-store.test.ts
// holds them to it. Callers (the block manager actor) talk to this interface only.
import type { BlockDirectory } from './placement';

export interface BlockStore {
  /**
   * Stores a block. Verifies first that `data` hashes to `hash` (BlockHashMismatchError) and is at
   * most BLOCK_BYTES_MAX (BlockTooLargeError). Idempotent: if a valid copy is already where it
   * belongs, it is kept and `written` is false. A damaged copy is replaced; a copy in another data
   * directory (older directory list, read-only disk) is moved to its primary directory.
   * Concurrent puts of one hash are serialized: the block is written once.
   */
  put(hash: Buffer, data: Buffer): Promise<{ written: boolean }>;
  /**
   * The block's bytes, verified against its hash; null if no data directory has it. A damaged file
   * is moved aside (into the `corrupted` folder of its data directory) and counted; if no other
   * directory holds a good copy, BlockCorruptError is thrown so the caller fetches it elsewhere.
   * BlockFormatError: the file is in a newer format (left in place).
   */
  get(hash: Buffer): Promise<Buffer | null>;
  /** Whether some data directory has a file for this block (not verified: get() does that). */
  has(hash: Buffer): Promise<boolean>;
  /** Removes the local copy (from every data directory); false if there was none. */
  delete(hash: Buffer): Promise<boolean>;
  /**
   * Every block hash stored here, each once, in ascending order (only those above `after` when it
   * is given: a scrub resumes there), without reading the blocks (for scrub and resync). Memory
   * stays at one folder's worth of names. Stale temporary files met on the way (a crash between
   * write and rename) are removed.
   */
  list(after?: Buffer): AsyncIterable<Buffer>;
  stats(): BlockStoreStats;
}

export interface BlockStoreStats {
  /**
   * Blocks held: known once a list() has run to its end, then kept up to date by puts, deletes and
   * corruption found. Approximate if blocks were written while that list() ran.
   */
  blocks?: number;
  /** Block files written (new blocks, repairs and moves between directories). */
  blocksWritten: number;
  /** Bytes of those files, as stored (after compression, with headers). */
  bytesWritten: number;
  /** Of the block files written, those stored compressed. */
  blocksCompressed: number;
  /** Blocks read and verified by get() (and by put(), which checks an existing copy). */
  blocksRead: number;
  /** Bytes of those files, as stored. */
  bytesRead: number;
  blocksDeleted: number;
  /** Damaged files found (each time one is found). */
  corruptFound: number;
  /** Blocks put again while stored outside their primary directory, and moved there (lazy rebalance). */
  blocksMoved: number;
  /** Temporary files left by a crash between write and rename, removed by list(). */
  tempFilesRemoved: number;
}

/** The settings the store reads from the node's config (GrangeConfig has them all). */
export interface BlockStoreConfig {
  /** data_dir, as a list (a single path is one writable directory without capacity). */
  dataDir: readonly BlockDirectory[];
  /** data_fsync: fsync each block file before its rename, and its folder after. */
  dataFsync: boolean;
  /** compression_level: a zstd level (mapped to brotli, see codec.ts), or 'none'. */
  compressionLevel: number | 'none';
  /** block_size: checked against BLOCK_BYTES_MAX when the store opens. */
  blockSize: number;
}

export interface BlockStoreInit {
  config: BlockStoreConfig;
  /** Clock, for the age of temporary files; Date.now by default. */
  nowMs?: () => number;
}

export function emptyBlockStoreStats(): BlockStoreStats {
  return {
    blocksWritten: 0,
    bytesWritten: 0,
    blocksCompressed: 0,
    blocksRead: 0,
    bytesRead: 0,
    blocksDeleted: 0,
    corruptFound: 0,
    blocksMoved: 0,
    tempFilesRemoved: 0,
  };
}
