// One replica of one partition of one table on this node. Invariant: every write to this
// partition on this node goes through this mailbox and one store transaction, so read-merge-write
// needs no lock. Reads are answered from the store directly (SQLite reads are short and local).
import { assertNever, defineActor, type ActorContext, type Outcome, type Ref, type WorkerRunnerMessage } from '../runtime';
import type { MetadataStore } from '../../storage/metadata';
import type { Hasher, TableSchema } from '../../protocols/table';
import { decodeCounter, merkleLeavesUnder, MERKLE_DEPTH_MAX, partitionRange } from '../../protocols/table';
import { isMerklePrefix, MERKLE_ARITY } from '../../protocols/table/merkle';
import { answerMerkleQueries, decodeMerkleQueries, type MerkleAnswerWire, type MerkleQuery, type MerkleQueryWire } from '../../protocols/table/merkle-diff';
import { merkleNodeStore } from './merkle-worker';
import { applyEntries, dataTreeName, deleteRowsIfUnchanged, localCounterTreeName, merkleTodoTreeName, merkleTreeName, partitionHasRows, type ConditionalDelete, type SchemaLookup } from './storage';

/** Largest page a range read returns at once. */
export const REPLICA_RANGE_LIMIT_MAX = 1000;

/** Largest number of rows one pull request asks for or returns. */
export const REPLICA_PULL_ROWS_MAX = 1000;

export interface SubtreeRows {
  entries: Buffer[];
  /** False when the subtree has more rows than asked for: walk it node by node instead. */
  complete: boolean;
}

export interface MerkleNodeReply {
  /** One per question, in order. */
  answers: MerkleAnswerWire[];
  /**
   * Present (true) when this partition has writes not yet folded into its trie, so its root may
   * be about to change: a walker that finds the roots differ may wait and ask again rather than
   * send rows that just arrived here. Only reported to a question that carries a hash (the root).
   */
  pending?: true;
}

export interface ReplicaUpdateReply {
  changed: number;
}

export type ReplicaMessage =
  | { type: 'update'; entries: Buffer[]; replyTo: Ref<ReplicaUpdateReply> }
  | { type: 'get'; rowKey: Buffer; replyTo: Ref<Buffer | null> }
  | { type: 'range'; start: Buffer; end: Buffer | null; limit: number; reverse: boolean; replyTo: Ref<Buffer[]> }
  // Anti-entropy: questions of a walk about several prefixes at once (merkle-diff.ts, MerkleQuery).
  | { type: 'merkleNode'; queries: MerkleQueryWire[]; replyTo: Ref<MerkleNodeReply> }
  // Anti-entropy pulls: given rows, and every row under a Merkle prefix (at most `limit`).
  | { type: 'getRows'; rowKeys: Buffer[]; replyTo: Ref<Buffer[]> }
  | { type: 'subtreeRows'; prefix: Buffer; limit: number; replyTo: Ref<SubtreeRows> }
  // Hand-off and tombstone GC: delete rows, each only if still the copy named by its hash.
  | { type: 'deleteIfEqual'; items: ConditionalDelete[]; replyTo: Ref<ReplicaUpdateReply> }
  // This node's local counters (what `updated` hooks adjust) for one key, in the order asked.
  | { type: 'readCounters'; counters: string[]; key: Buffer; replyTo: Ref<number[]> }
  | { type: 'updateDone'; replyTo: Ref<ReplicaUpdateReply>; outcome: Outcome<number>; queuedTables?: string[] };

export const REPLICA_REMOTE_TYPES = ['update', 'get', 'range', 'merkleNode', 'getRows', 'subtreeRows', 'deleteIfEqual', 'readCounters'] as const;
/** Counters one readCounters may ask for. */
const REPLICA_COUNTERS_MAX = 16;

export interface ReplicaComponents {
  schema: TableSchema<unknown>;
  partition: number;
  store: MetadataStore;
  hasher: Hasher;
  /** The table's Merkle updater, woken after each write that changed rows. */
  merkleWorker: Ref<WorkerRunnerMessage>;
  /** Stamps the GC todo record of a row that becomes a tombstone; Date.now when absent. */
  nowMs?: () => number;
  /** The tables `updated` hooks may write to, and their insert workers (woken after a write). */
  schemaOf: SchemaLookup;
  insertWorkerOf: (table: string) => Ref<WorkerRunnerMessage>;
}

interface ReplicaState {
  updates: number;
  rowsChanged: number;
}

type Context = ActorContext<ReplicaMessage, ReplicaState, ReplicaComponents>;

export function replicaName(partition: number): string {
  return `p${String(partition).padStart(3, '0')}`;
}

export const replicaActor = defineActor<ReplicaMessage, ReplicaState, ReplicaComponents>({
  kind: 'table-replica',
  remote: { accepts: REPLICA_REMOTE_TYPES },
  // A failed transaction is answered as an error; a handler crash (a bug) is logged and counted
  // in the registry, and the replica goes on serving its partition.
  supervision: { strategy: 'resume' },
  init: () => ({ updates: 0, rowsChanged: 0 }),
  handle(message, context) {
    switch (message.type) {
      case 'update': return onUpdate(message.entries, message.replyTo, context);
      case 'updateDone': return onUpdateDone(message.replyTo, message.outcome, message.queuedTables ?? [], context);
      case 'get': return onGet(message.rowKey, message.replyTo, context);
      case 'range': return onRange(message, context);
      case 'merkleNode': return onMerkleNode(message.queries, message.replyTo, context);
      case 'deleteIfEqual': return onDeleteIfEqual(message.items, message.replyTo, context);
      case 'getRows': return onGetRows(message.rowKeys, message.replyTo, context);
      case 'readCounters': return onReadCounters(message, context);
      case 'subtreeRows': return onSubtreeRows(message.prefix, message.limit, message.replyTo, context);
      default: return assertNever(message);
    }
  },
  status: (context) => ({ updates: context.state.updates, rowsChanged: context.state.rowsChanged }),
});

function onUpdate(entries: Buffer[], replyTo: Ref<ReplicaUpdateReply>, context: Context): void {
  const { store, schema, hasher, partition } = context.components;
  if (!Array.isArray(entries) || !entries.every((entry) => Buffer.isBuffer(entry))) {
    return context.replyError(replyTo, new Error('update: entries must be a list of encoded entries'));
  }
  const nowMs = (context.components.nowMs ?? Date.now)();
  // Group commit: concurrent updates share one SQLite transaction (each in its own savepoint).
  const queued = new Set<string>();
  const work = store.transactAsync((tx) => applyEntries(tx, schema, hasher, partition, entries, nowMs, context.components.schemaOf, queued));
  context.pipeToSelf(work, (outcome) => ({ type: 'updateDone', replyTo, outcome, queuedTables: [...queued] }));
}

function onDeleteIfEqual(items: ConditionalDelete[], replyTo: Ref<ReplicaUpdateReply>, context: Context): void {
  const { store, schema, hasher, partition } = context.components;
  if (!Array.isArray(items) || items.length > REPLICA_PULL_ROWS_MAX || !items.every((item) => Buffer.isBuffer(item?.rowKey) && Buffer.isBuffer(item?.entryHash))) {
    return context.replyError(replyTo, new Error(`deleteIfEqual: items must be at most ${REPLICA_PULL_ROWS_MAX} {rowKey, entryHash} pairs`));
  }
  const work = store.transactAsync((tx) => deleteRowsIfUnchanged(tx, schema.name, hasher, partition, items));
  context.pipeToSelf(work, (outcome) => ({ type: 'updateDone', replyTo, outcome }));
}

function onUpdateDone(replyTo: Ref<ReplicaUpdateReply>, outcome: Outcome<number>, queuedTables: string[], context: Context): void {
  if (!outcome.ok) return context.replyError(replyTo, outcome.error);
  context.state.updates++;
  context.state.rowsChanged += outcome.value;
  if (outcome.value > 0) context.tell(context.components.merkleWorker, { type: 'wake' });
  for (const table of queuedTables) context.tell(context.components.insertWorkerOf(table), { type: 'wake' });
  context.tell(replyTo, { changed: outcome.value });
}

/**
 * Answers questions of a peer's anti-entropy walk from this partition's Merkle trie: for each
 * prefix asked, "same", this node's node or rows there, or its differing children (merkle-diff.ts
 * decides). Malformed questions are refused, never misread.
 */
function onMerkleNode(wire: unknown, replyTo: Ref<MerkleNodeReply>, context: Context): void {
  const { store, schema, partition, hasher } = context.components;
  let queries: MerkleQuery[];
  try {
    queries = decodeMerkleQueries(wire);
  } catch (error) {
    return context.replyError(replyTo, error as Error);
  }
  const data = store.tree(dataTreeName(schema.name));
  const answers = answerMerkleQueries(merkleNodeStore(store.tree(merkleTreeName(schema.name))), hasher, partition, queries, (rowKey) => data.get(rowKey));
  // Only where a root differs: equal roots, the common case, cost no extra read.
  const pending = queries.some((query, index) => query.kind === 'hash' && answers[index] !== null) && partitionHasRows(store.tree(merkleTodoTreeName(schema.name)), partition);
  context.tell(replyTo, pending ? { answers, pending } : { answers });
}

function onReadCounters(message: Extract<ReplicaMessage, { type: 'readCounters' }>, context: Context): void {
  const { counters, key, replyTo } = message;
  if (!Array.isArray(counters) || counters.length > REPLICA_COUNTERS_MAX || !counters.every((name) => typeof name === 'string' && /^[a-z0-9_]+$/.test(name)) || !Buffer.isBuffer(key)) {
    return context.replyError(replyTo, new Error(`readCounters: counters must be at most ${REPLICA_COUNTERS_MAX} names [a-z0-9_], key bytes`));
  }
  const { store } = context.components;
  context.tell(replyTo, counters.map((name) => {
    const bytes = store.tree(localCounterTreeName(name)).get(key);
    return bytes === null ? 0 : decodeCounter(bytes).count;
  }));
}

function onGetRows(rowKeys: Buffer[], replyTo: Ref<Buffer[]>, context: Context): void {
  if (!Array.isArray(rowKeys) || rowKeys.length > REPLICA_PULL_ROWS_MAX || !rowKeys.every((key) => Buffer.isBuffer(key))) {
    return context.replyError(replyTo, new Error(`getRows: rowKeys must be a list of at most ${REPLICA_PULL_ROWS_MAX} keys`));
  }
  const data = context.components.store.tree(dataTreeName(context.components.schema.name));
  context.tell(replyTo, rowKeys.map((key) => data.get(key)).filter((bytes): bytes is Buffer => bytes !== null));
}

function onSubtreeRows(prefix: Buffer, limit: number, replyTo: Ref<SubtreeRows>, context: Context): void {
  const { store, schema, partition } = context.components;
  if (!Buffer.isBuffer(prefix) || !isMerklePrefix(prefix)) return context.replyError(replyTo, new Error(`subtreeRows: prefix must be at most ${MERKLE_DEPTH_MAX} digits, each below ${MERKLE_ARITY}`));
  const rowsMax = Math.max(1, Math.min(REPLICA_PULL_ROWS_MAX, Math.floor(Number(limit) || REPLICA_PULL_ROWS_MAX)));
  const { rowKeys, complete } = merkleLeavesUnder(merkleNodeStore(store.tree(merkleTreeName(schema.name))), partition, prefix, rowsMax);
  const data = store.tree(dataTreeName(schema.name));
  context.tell(replyTo, { entries: rowKeys.map((key) => data.get(key)).filter((bytes): bytes is Buffer => bytes !== null), complete });
}

function onGet(rowKey: Buffer, replyTo: Ref<Buffer | null>, context: Context): void {
  const { store, schema } = context.components;
  if (!Buffer.isBuffer(rowKey)) return context.replyError(replyTo, new Error('get: rowKey must be bytes'));
  context.tell(replyTo, store.tree(dataTreeName(schema.name)).get(rowKey));
}

function onRange(message: Extract<ReplicaMessage, { type: 'range' }>, context: Context): void {
  const { store, schema, partition } = context.components;
  const bounds = partitionRange(partition);
  const start = Buffer.isBuffer(message.start) && Buffer.compare(message.start, bounds.start) > 0 ? message.start : bounds.start;
  const end = Buffer.isBuffer(message.end) && (bounds.end === null || Buffer.compare(message.end, bounds.end) < 0) ? message.end : bounds.end;
  const limit = Math.max(0, Math.min(REPLICA_RANGE_LIMIT_MAX, Number(message.limit) || 0));
  const rows = store.tree(dataTreeName(schema.name)).range({ start, ...(end ? { end } : {}), limit, reverse: message.reverse === true });
  context.tell(message.replyTo, rows.map((row) => row.value));
}
