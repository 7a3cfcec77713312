// The block store: the public surface. types.ts holds the contract, disk.ts the files under
// data_dir, memory.ts a stand-in for unit tests, format.ts the file format, limits.ts the bounds.
export type { BlockStore, BlockStoreConfig, BlockStoreInit, BlockStoreStats } from './types';
export type { BlockDirectory } from './placement';
export { BLOCK_HASH_BYTES, blockHash } from './hash';
export { openBlockStore } from './disk';
export { openMemoryBlockStore, type MemoryBlockStore } from './memory';
export {
  BlockCorruptError,
  BlockFormatError,
  BlockHashMismatchError,
  BlockStoreConfigError,
  BlockStoreError,
  BlockTooLargeError,
  InvalidBlockHashError,
} from './errors';
export { BLOCK_FILE_FORMAT, BLOCK_FILE_HEADER_BYTES } from './format';
export { BLOCK_BYTES_MAX, DIRECTORY_SLICES, TEMP_FILE_STALE_MS } from './limits';
