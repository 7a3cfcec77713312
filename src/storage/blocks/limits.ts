// Every bound of the block store in one place (TigerBeetle style): units last in each name.
// Relations between them are asserted at load time (bottom of file).
import { RPC_LIMITS } from '../../protocols/rpc/limits';

const MIB_BYTES = 1024 * 1024;

/**
 * Largest block the store accepts or reads back. A block travels between nodes as one RPC message
 * (RPC_LIMITS.messageBytesMax: 16 MiB plus its envelope), so a larger block could be stored here
 * but never replicated. block_size must stay at or below it (checked when the store opens).
 */
export const BLOCK_BYTES_MAX = 16 * MIB_BYTES;

/**
 * Slices of the hash space that are each given one primary data directory (as in Garage). 1024
 * slices place capacities to within about 0.1% of a directory's share.
 */
export const DIRECTORY_SLICES = 1024;

/**
 * A temporary file older than this is the leftover of a crash between write and rename (one
 * write of BLOCK_BYTES_MAX takes well under a second), and list() removes it.
 */
export const TEMP_FILE_STALE_MS = 60 * 60 * 1000;

/**
 * A compressed copy is kept only if it saves at least this fraction of the block: decompressing on
 * every read costs CPU, which a saving of a few percent does not repay.
 */
export const COMPRESSION_SAVING_FRACTION_MIN = 1 / 32;

/**
 * How much of a block is compressed first to decide whether compressing the whole is worth it:
 * 1/16 of a default block, so an incompressible block costs 1/16 of a full attempt.
 */
export const COMPRESSION_SAMPLE_BYTES = 64 * 1024;

/** zstd's own default, which zstd (and so Garage) uses for compression_level = 0. */
export const ZSTD_LEVEL_DEFAULT = 3;
/** Brotli qualities run from 0 to 11; 1 is the fastest useful one (0 is slower on text, see codec.ts). */
export const BROTLI_QUALITY_MIN = 1;
export const BROTLI_QUALITY_MAX = 11;

function assertLimit(holds: boolean, relation: string): void {
  if (!holds) throw new Error(`block store limits are inconsistent: ${relation}`);
}

assertLimit(BLOCK_BYTES_MAX < RPC_LIMITS.messageBytesMax, 'a block of BLOCK_BYTES_MAX fits in one RPC message');
assertLimit(BLOCK_BYTES_MAX < 2 ** 32, 'a block length fits in the u32 of the file header');
assertLimit(DIRECTORY_SLICES <= 2 ** 16, 'a slice index is read from two bytes of the hash');
assertLimit(2 * COMPRESSION_SAMPLE_BYTES <= BLOCK_BYTES_MAX, 'a sample is a small part of a large block');
assertLimit(COMPRESSION_SAVING_FRACTION_MIN > 0 && COMPRESSION_SAVING_FRACTION_MIN < 1, 'the compression saving is a fraction');
