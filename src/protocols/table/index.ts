// Public surface of the generic table core: schemas and keys, canonical encoding, the write-path
// merge, CRDT helpers, Merkle tries (incremental update, todo queue, diff steps) and quorum math.
// Actors (partition replicas, syncers, GC) and storage adapters import from here; tests may reach
// inside.
export * as crdt from './crdt';
export {
  decodeEntry,
  decodeWire,
  encodeCanonical,
  encodeEntry,
  ENTRY_FORMAT_VERSION_DEFAULT,
  formatVersionOf,
  fromWireChecked,
  isWireValue,
  type WireValue,
} from './encoding';
export { TableError, type TableErrorReason } from './errors';
export { checkLocalRows, decodeGcTodo, GC_LIMITS, GC_TODO_FORMAT, GC_TODO_TIME_BYTES, gcDueBound, gcTargets, gcTodoKey, gcTodoValue, groupGcByPartition, selectGcBatch, type GcCandidate, type GcTodoRecord } from './gc';
export { CONTENT_HASH_BYTES, entryHash, initHashing, KEY_HASH_BYTES, sha256, type Hasher } from './hash';
export { answerRoots, decodePartitionSet, differingPartitions, encodePartitionSet, rootsDigest, rootsQuestion, type RootsAnswer, type RootsQuestion } from './merkle-roots';
export { MERKLE_BATCH_MAX, MERKLE_DEPTH_MAX, TABLE_LIMITS } from './limits';
export {
  childPrefix,
  decodeMerkleNode,
  EMPTY_MERKLE_NODE,
  EMPTY_NODE_HASH,
  encodeMerkleNode,
  MERKLE_NODE_FORMAT,
  MERKLE_ROOT_PREFIX,
  merkleKeyHash,
  merkleLeavesUnder,
  merkleNode,
  merkleNodeHash,
  merkleNodeKey,
  merkleNodesEqual,
  merkleRoot,
  updateMerkle,
  type MerkleChild,
  type MerkleLeaf,
  type MerkleNode,
  type MerkleNodeStore,
} from './merkle';
export { diffPlan, exchangePlan, type DescendStep, type ExchangeOptions, type ExchangePlan } from './merkle-diff';
export {
  applyTodo,
  decodeMerkleTodoValue,
  merkleTodoValue,
  runTodoBatch,
  takeTodo,
  type MerkleTodoItem,
  type MerkleTodoQueue,
  type TodoBatchResult,
} from './merkle-todo';
export { adjustCounter, decodeCounter, encodeCounter, isDeletable, type LocalCounter } from './counter';
export { mergeRangeReplies, type RangeMerge } from './range-merge';
export { isWriteDone, isWriteLost, placementOf, syncQuorum, type Placement, type PlacementPolicy, type WriteSet } from './placement';
export {
  fullCopyQuorums,
  isReadQuorumReached,
  isReadQuorumUnreachable,
  isWriteQuorumReached,
  isWriteQuorumUnreachable,
  quorums,
  readTargets,
  REPLICATION_FACTOR_MAX,
  writeTargets,
  type ConsistencyMode,
  type NodeProximity,
  type Quorums,
} from './quorum';
export {
  matchesFilter,
  partitionHash,
  partitionKeyRange,
  partitionOfKey,
  partitionOfRowKey,
  partitionRange,
  rowKey,
  rowKeyOf,
  schemaRegistry,
  splitRowKey,
  validateSchema,
  type CounterDelta,
  type QueuedWrite,
  type Replication,
  type TableEffects,
  type TableSchema,
} from './schema';
export { EffectsCollector, planUpdate, type RowUpdate } from './update';
