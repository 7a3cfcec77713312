// Named errors of the block store. Callers branch on the class (instanceof), never on message text.
// Disk errors other than these (EIO, ENOSPC, EACCES...) pass through as Node's own errors, which
// carry their `code` and `path`.

function shortHash(hash: Buffer): string {
  return hash.toString('hex').slice(0, 16);
}

export abstract class BlockStoreError extends Error {}

/** Programmer error: a block hash that is not BLOCK_HASH_BYTES bytes. */
export class InvalidBlockHashError extends BlockStoreError {
  override readonly name = 'InvalidBlockHashError';
}

/** The data given to put() does not hash to the hash given with it; nothing was written. */
export class BlockHashMismatchError extends BlockStoreError {
  override readonly name = 'BlockHashMismatchError';
  constructor(readonly hash: Buffer) {
    super(`block ${shortHash(hash)}: the data does not hash to the given block hash`);
  }
}

/** A block larger than the store accepts (BLOCK_BYTES_MAX); nothing was written. */
export class BlockTooLargeError extends BlockStoreError {
  override readonly name = 'BlockTooLargeError';
  constructor(readonly hash: Buffer, readonly bytes: number, readonly bytesMax: number) {
    super(`block ${shortHash(hash)}: ${bytes} bytes, more than the ${bytesMax} a block may have`);
  }
}

/**
 * The local copy was damaged (bad header, bad compressed stream, wrong length or wrong hash). It
 * has been moved into the `corrupted` folder of its data directory and counted: fetch the block
 * from another holder, and put it back here.
 */
export class BlockCorruptError extends BlockStoreError {
  override readonly name = 'BlockCorruptError';
  constructor(readonly hash: Buffer, readonly reason: string) {
    super(`block ${shortHash(hash)} is corrupt on disk (${reason}); the file was moved aside`);
  }
}

/**
 * The block file was written in a format this build does not know (a newer Grange wrote it). It is
 * left in place, since a newer build can still read it.
 */
export class BlockFormatError extends BlockStoreError {
  override readonly name = 'BlockFormatError';
  constructor(readonly hash: Buffer, readonly formatVersion: number) {
    super(`block ${shortHash(hash)} is stored in format ${formatVersion}, which this version of Grange cannot read`);
  }
}

/** The configuration cannot work with this store (e.g. block_size above BLOCK_BYTES_MAX). */
export class BlockStoreConfigError extends BlockStoreError {
  override readonly name = 'BlockStoreConfigError';
}
