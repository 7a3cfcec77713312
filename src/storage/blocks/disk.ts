// The block store on disk: one file per block under the data directories (see placement.ts for
// where, format.ts for what a file holds, files.ts for how it is written).
// Invariant: every put, delete, quarantine and temp-file cleanup of one hash runs under that hash's
// lock (HashLocks); reads need none, since a file is only ever replaced whole, by rename.
import { access, stat } from 'node:fs/promises';
import { brotliQualityFor, decodeBlockFile, encodeBlockFile } from './codec';
import { BlockCorruptError, BlockFormatError, BlockHashMismatchError, BlockStoreConfigError, BlockTooLargeError } from './errors';
import { isMissing, moveIfSameFile, readFileBounded, removeIfPresent, writeFileAtomically } from './files';
import { BLOCK_FILE_HEADER_BYTES } from './format';
import { blockHash, checkBlockHash } from './hash';
import { HashLocks } from './hash-locks';
import { BLOCK_BYTES_MAX, TEMP_FILE_STALE_MS } from './limits';
import { listBlockHashes } from './list';
import { blockFilePath, corruptedFilePath, placeDirectories, type DirectoryPlacement } from './placement';
import { emptyBlockStoreStats, type BlockStore, type BlockStoreConfig, type BlockStoreInit, type BlockStoreStats } from './types';

/** A block file is never larger than its header plus the largest block: compression must save space. */
const BLOCK_FILE_BYTES_MAX = BLOCK_FILE_HEADER_BYTES + BLOCK_BYTES_MAX;

type Found =
  | { status: 'absent' }
  | { status: 'ok'; data: Buffer }
  | { status: 'corrupt'; reason: string; inode: bigint }
  | { status: 'newer-format'; formatVersion: number };

function checkConfig(config: BlockStoreConfig): void {
  if (config.blockSize > BLOCK_BYTES_MAX) {
    throw new BlockStoreConfigError(
      `block_size is ${config.blockSize} bytes, more than the ${BLOCK_BYTES_MAX} bytes a block may have (a block travels as one message between nodes)`,
    );
  }
  if (!config.dataDir.some((directory) => !directory.readOnly)) throw new BlockStoreConfigError('data_dir has no writable directory');
}

/** Opens the store over config.dataDir. Folders are created on first write; nothing is read now. */
export function openBlockStore(init: BlockStoreInit): BlockStore {
  checkConfig(init.config);
  return new DiskBlockStore(init.config, init.nowMs ?? Date.now);
}

class DiskBlockStore implements BlockStore {
  private readonly counters = emptyBlockStoreStats();
  private readonly locks = new HashLocks();
  private readonly placement: DirectoryPlacement;
  private readonly paths: string[];
  private readonly brotliQuality: number | null;

  constructor(private readonly config: BlockStoreConfig, private readonly nowMs: () => number) {
    this.placement = placeDirectories(config.dataDir);
    this.paths = config.dataDir.map((directory) => directory.path);
    this.brotliQuality = brotliQualityFor(config.compressionLevel);
  }

  async put(hash: Buffer, data: Buffer): Promise<{ written: boolean }> {
    checkBlockHash(hash);
    if (data.length > BLOCK_BYTES_MAX) throw new BlockTooLargeError(hash, data.length, BLOCK_BYTES_MAX);
    if (!blockHash(data).equals(hash)) throw new BlockHashMismatchError(hash);
    const hashHex = hash.toString('hex');
    return this.locks.run(hashHex, () => this.putLocked(hash, hashHex, data));
  }

  private async putLocked(hash: Buffer, hashHex: string, data: Buffer): Promise<{ written: boolean }> {
    const primary = this.placement.primaryOf(hash);
    const existing = await this.readVerified(primary, hash, hashHex);
    if (existing.status === 'ok') return { written: false };
    if (existing.status === 'newer-format') throw new BlockFormatError(hash, existing.formatVersion);
    if (existing.status === 'corrupt') await this.quarantine(primary, hashHex, existing.inode);
    const file = await encodeBlockFile(data, this.brotliQuality);
    await writeFileAtomically(blockFilePath(this.paths[primary]!, hashHex), file.parts, this.config.dataFsync);
    this.counters.blocksWritten++;
    this.counters.bytesWritten += file.bytes;
    if (file.compression !== 'none') this.counters.blocksCompressed++;
    const moved = await this.removeCopiesOutside(primary, hashHex);
    if (moved) this.counters.blocksMoved++;
    if (existing.status === 'absent' && !moved) this.countBlocks(+1);
    return { written: true };
  }

  /**
   * Lazy rebalancing, as in Garage: once the block is in its primary directory, copies elsewhere go.
   * A copy that cannot be removed (a read-only mount) stays; reads look in the primary first.
   */
  private async removeCopiesOutside(primary: number, hashHex: string): Promise<boolean> {
    let removed = false;
    for (const [index, path] of this.paths.entries()) {
      if (index === primary) continue;
      removed = (await removeIfPresent(blockFilePath(path, hashHex)).catch(() => false)) || removed;
    }
    return removed;
  }

  async get(hash: Buffer): Promise<Buffer | null> {
    checkBlockHash(hash);
    const hashHex = hash.toString('hex');
    let corruptReason: string | null = null;
    for (const index of this.placement.searchOrder(hash)) {
      const found = await this.readVerified(index, hash, hashHex);
      if (found.status === 'ok') return found.data;
      if (found.status === 'newer-format') throw new BlockFormatError(hash, found.formatVersion);
      if (found.status === 'corrupt') {
        corruptReason ??= found.reason;
        await this.locks.run(hashHex, () => this.quarantine(index, hashHex, found.inode));
      }
    }
    if (corruptReason === null) return null;
    this.countBlocks(-1); // no good copy is left here
    throw new BlockCorruptError(hash, corruptReason);
  }

  /** Reads and verifies the block's file in one directory; never throws for a damaged file. */
  private async readVerified(index: number, hash: Buffer, hashHex: string): Promise<Found> {
    const read = await readFileBounded(blockFilePath(this.paths[index]!, hashHex), BLOCK_FILE_BYTES_MAX);
    if (read.status === 'absent') return read;
    if (read.status === 'too-large') return { status: 'corrupt', reason: `file of ${read.size} bytes is larger than any block file`, inode: read.inode };
    this.counters.blocksRead++;
    this.counters.bytesRead += read.bytes.length;
    const decoded = await decodeBlockFile(read.bytes, hash);
    return decoded.status === 'corrupt' ? { ...decoded, inode: read.inode } : decoded;
  }

  /**
   * Counts a damaged file and moves it into <data dir>/corrupted/ (replacing an older damaged copy
   * of the same block there), for an operator to inspect. If it cannot be moved (a read-only
   * mount), it stays: the next read finds and reports it again, and a put replaces it.
   */
  private async quarantine(index: number, hashHex: string, inode: bigint): Promise<void> {
    this.counters.corruptFound++;
    const directory = this.paths[index]!;
    await moveIfSameFile(blockFilePath(directory, hashHex), inode, corruptedFilePath(directory, hashHex)).catch(() => false);
  }

  async has(hash: Buffer): Promise<boolean> {
    checkBlockHash(hash);
    const hashHex = hash.toString('hex');
    for (const index of this.placement.searchOrder(hash)) {
      try {
        await access(blockFilePath(this.paths[index]!, hashHex));
        return true;
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    return false;
  }

  async delete(hash: Buffer): Promise<boolean> {
    checkBlockHash(hash);
    const hashHex = hash.toString('hex');
    return this.locks.run(hashHex, () => this.deleteLocked(hashHex));
  }

  /** Removes the file from every directory; a failure in one is thrown after trying them all. */
  private async deleteLocked(hashHex: string): Promise<boolean> {
    let removed = false;
    let failure: unknown = null;
    for (const path of this.paths) {
      try {
        removed = (await removeIfPresent(blockFilePath(path, hashHex))) || removed;
      } catch (error) {
        failure ??= error;
      }
    }
    if (removed) {
      this.counters.blocksDeleted++;
      this.countBlocks(-1);
    }
    if (failure !== null) throw failure;
    return removed;
  }

  async *list(after?: Buffer): AsyncGenerator<Buffer> {
    let count = 0;
    const afterHex = after === undefined ? null : after.toString('hex');
    for await (const hash of listBlockHashes(this.paths, (path, hashHex) => this.removeStaleTemp(path, hashHex), afterHex)) {
      count++;
      yield hash;
    }
    if (afterHex === null) this.counters.blocks = count; // a partial listing counts only part
  }

  /**
   * A temp file left by a crash between write and rename; a recent one may be a write in progress.
   * Best effort: a listing must not fail because a leftover cannot be removed (read-only mount).
   */
  private async removeStaleTemp(path: string, hashHex: string): Promise<void> {
    await this.locks.run(hashHex, async () => {
      const info = await stat(path).catch(() => null);
      if (info === null || this.nowMs() - info.mtimeMs < TEMP_FILE_STALE_MS) return;
      if (await removeIfPresent(path).catch(() => false)) this.counters.tempFilesRemoved++;
    });
  }

  private countBlocks(delta: number): void {
    if (this.counters.blocks !== undefined) this.counters.blocks = Math.max(0, this.counters.blocks + delta);
  }

  stats(): BlockStoreStats {
    return { ...this.counters };
  }
}
