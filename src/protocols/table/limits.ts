// Bounds of the generic table core (TigerBeetle style: every input, batch and depth is bounded).
// Relations between them and with the RPC limits are asserted below, at load time.
import { RPC_LIMITS } from '../rpc/limits';

export const TABLE_LIMITS = {
  /** A table name is an actor path segment (`tables/<name>/...`) and a storage tree name. */
  tableNameLengthMax: 64,
  /** K2V's partition key is a bucket id plus a user key; S3 keys are at most 1024 bytes. */
  partitionKeyBytesMax: 2048,
  /** S3 object keys (1024 bytes) and K2V sort keys fit with room to spare. */
  sortKeyBytesMax: 4096,
  /**
   * One encoded entry, stored or sent. It must fit in one RPC message with its envelope; a version
   * entry listing every block of a 5 GiB part (about 5,000 blocks) is well under 1 MiB.
   */
  entryBytesMax: 16 * 1024 * 1024,
  /** Nesting depth of a wire value: entries are records of lists of records, never deep. */
  wireDepthMax: 32,
  /** Writes one `updated` hook may queue: a cascade is a few rows (a version's block refs at most). */
  effectsPerUpdateMax: 10_000,
  /** Items of the Merkle todo queue applied in one transaction: keeps a transaction short. */
  merkleBatchMax: 256,
} as const;

/** Merkle trie depth: one level per byte of the key hash (sha256, 32 bytes). */
export const MERKLE_DEPTH_MAX = 32;
export const MERKLE_BATCH_MAX = TABLE_LIMITS.merkleBatchMax;

// An encoded entry plus its envelope must fit in one message, or a replica could store what it
// can never send to another.
if (TABLE_LIMITS.entryBytesMax + 64 * 1024 > RPC_LIMITS.messageBytesMax) {
  throw new Error('table limits: an entry of entryBytesMax would not fit in one RPC message');
}
if (TABLE_LIMITS.merkleBatchMax < 1) throw new Error('table limits: a Merkle batch must apply at least one item');
