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
  /**
   * Items of the Merkle todo queue applied in one transaction: keeps a transaction short (about
   * 20 ms here). Larger batches share more upper nodes of each trie: from 256 to 512 (with the
   * updater's wake delay from 100 to 250 ms) cut a replica's CPU per write by about 10% in
   * bench/tables; 1024 saved no more and lengthened the p99 of writes.
   */
  merkleBatchMax: 512,
  /**
   * Questions in one anti-entropy request: a walk asks about a whole level of differing subtrees at
   * once (one round trip per level, not per node). A walk over a few hundred differing rows of a
   * partition asks fewer; a larger one takes more round trips, each a bounded message.
   */
  merkleQueryNodesMax: 64,
  /**
   * Rows a peer sends in place of its node where the asker holds nothing under the prefix (a node
   * that joins or lost everything there): all of them are pulled anyway, so the node is skipped.
   */
  merkleAnswerRowsMax: 1000,
  /**
   * Entry bytes in the answers to one request: rows past it are sent as nodes instead (the asker
   * descends, or pulls by key), so an answer stays one bounded message whatever the entries.
   */
  merkleAnswerRowBytesMax: 1024 * 1024,
  /**
   * Rows (and their bytes) a peer sends in place of its node where the asker holds something: a
   * few small rows cost less than the node and the round trip that would lead to them, though the
   * asker may hold some of them already. Tuned on bench/tables (45-byte rows, 390 per partition).
   */
  merkleRowsInPlaceMax: 4,
  merkleRowsInPlaceBytesMax: 512,
} as const;

/** Merkle trie depth: one level per digit (4 bits) of the key hash (sha256, 32 bytes). */
export const MERKLE_DEPTH_MAX = 64;
export const MERKLE_BATCH_MAX = TABLE_LIMITS.merkleBatchMax;

// An encoded entry plus its envelope must fit in one message, or a replica could store what it
// can never send to another.
if (TABLE_LIMITS.entryBytesMax + 64 * 1024 > RPC_LIMITS.messageBytesMax) {
  throw new Error('table limits: an entry of entryBytesMax would not fit in one RPC message');
}
if (TABLE_LIMITS.merkleBatchMax < 1) throw new Error('table limits: a Merkle batch must apply at least one item');
// The answers to one request carry rows up to merkleAnswerRowBytesMax plus, per question, up to
// 16 nodes (a child each; at most a leaf with the longest row key): all of it must fit in one
// message with its envelope.
const MERKLE_NODE_BYTES_MAX = 2 + 8 + 32 + TABLE_LIMITS.sortKeyBytesMax;
if (TABLE_LIMITS.merkleAnswerRowBytesMax + TABLE_LIMITS.merkleQueryNodesMax * 16 * MERKLE_NODE_BYTES_MAX + 64 * 1024 > RPC_LIMITS.messageBytesMax) {
  throw new Error('table limits: a Merkle answer of merkleAnswerRowBytesMax would not fit in one RPC message');
}
