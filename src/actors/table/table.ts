// The table actor: one per table on each node. It runs the replicas of the partitions this node
// stores (as the layout says) and coordinates quorum operations for callers on this node:
// a write returns after W acks in the write set of every live layout version; a read returns
// after R replies, merged, and repairs the replicas that answered with an older copy.
import { createHash } from 'node:crypto';
import { assertNever, defineActor, errorMessage, restartWithBackoff, workerRunner, type ActorContext, type InitContext, type Outcome, type Ref, type WorkerRunnerMessage } from '../runtime';
import type { MetadataStore } from '../../storage/metadata';
import type { LayoutHistory } from '../../protocols/layout';
import { PARTITION_COUNT } from '../../protocols/layout';
import {
  answerRoots,
  decodeEntry,
  encodeEntry,
  isReadQuorumReached,
  isReadQuorumUnreachable,
  isWriteDone,
  isWriteLost,
  placementOf,
  mergeRangeReplies,
  merkleRoot,
  partitionKeyRange,
  partitionOfKey,
  quorums,
  partitionOfRowKey,
  rowKey,
  rowKeyOf,
  writeTargets,
  type Hasher,
  type ConsistencyMode,
  type Placement,
  type TableSchema,
} from '../../protocols/table';
import { REPLICA_RANGE_LIMIT_MAX, type ReplicaMessage, type ReplicaUpdateReply } from './replica';
import { REPLICA_SET_NAME, replicaPath, replicaSetActor, type ReplicaSetMessage } from './replica-set';
import { merkleNodeStore, merkleWorker } from './merkle-worker';
import { dataTreeName, gcTodoTreeName, merkleTodoTreeName, merkleTreeName, migrateMerkleFormat, partitionHasRows } from './storage';
import { gcPollDelayMs, gcWorker, type GcStatus } from './gc-worker';
import { insertQueueWorker } from './insert-queue-worker';
import type { SchemaLookup } from './storage';
import { checkCounterQuery, localCounterRows, mergeCounterRows, type CounterQuery, type CounterRow } from './counter-scan';
import { answerBatch, checkBatchItems, type BatchItem, type ReplicaBatchMessage } from './replica-batch';
import { syncWorker, type RoundReport, type SyncStatus, type TableRootsMessage } from './sync-worker';

const MERKLE_WORKER = 'merkle';
const SYNC_WORKER = 'sync';
const INSERT_WORKER = 'insert';
/** The insert worker is woken by each write that queues for it; this is only its fallback poll. */
const INSERT_QUEUE_IDLE_DELAY_MS = 5_000;
const GC_WORKER = 'gc';
/** The Merkle updater is woken by every write; this is only its fallback poll. */
const MERKLE_IDLE_DELAY_MS = 5_000;
/**
 * While this node has not synced the current layout version (a peer down, a failed walk), rounds
 * come this often rather than at the interval: reads stay on the old version until it is done.
 */
const SYNC_RETRY_UNSYNCED_MS = 10_000;
/**
 * A round in which some pairs failed (a peer down, or not connected yet: a node's first round
 * starts before its connections) is run again this soon rather than a whole interval later, so a
 * node that comes back pulls what it missed at once; then twice as late after each failed retry
 * (up to the interval), so a peer down for long costs little. A retry round costs one small
 * message per reachable peer and table, and nothing for one that is unreachable.
 */
const SYNC_RETRY_FAILED_FIRST_MS = 1_000;
const SYNC_RETRY_TIMER = 'sync-retry';

/** The write or read quorum could not be reached (too many replicas down or failing). */
export class QuorumError extends Error {
  override readonly name = 'QuorumError';
}

export type TableWriteReply = { ok: true };

export type TableMessage =
  | { type: 'insert'; entries: Buffer[]; replyTo: Ref<TableWriteReply> }
  // From the tables actor: answer once no write begun under a version older than `version` is
  // still in flight, so that the layout may acknowledge it.
  | { type: 'drainWrites'; version: number; replyTo: Ref<null> }
  // Internal:
  | { type: 'inserted'; version: number; replyTo: Ref<TableWriteReply>; outcome: Outcome<TableWriteReply> }
  | { type: 'syncRound'; report: RoundReport }
  | { type: 'wakeSync' }
  | { type: 'get'; partitionKey: Buffer; sortKey: Buffer; replyTo: Ref<Buffer | null> }
  | { type: 'range'; partitionKey: Buffer; start: Buffer | null; end: Buffer | null; limit: number; reverse: boolean; replyTo: Ref<Buffer[]> }
  // Node-local counters keyed by a partition key (adjusted by `updated` hooks on each replica):
  // the largest value among a read quorum of the key's replicas, per counter.
  | { type: 'counters'; partitionKey: Buffer; counters: string[]; replyTo: Ref<number[]> }
  | { type: 'layoutChanged'; history: LayoutHistory }
  | { type: 'stats'; replyTo: Ref<TableStats> }
  // A peer's syncer: do this node's roots of these partitions equal its own (merkle-roots.ts)?
  | TableRootsMessage
  // A peer's syncer: requests to several of this node's replicas at once (replica-batch.ts).
  | ReplicaBatchMessage
  // Node-local counters over a key range, from every storage node, merged (counter-scan.ts);
  // and one node's own, asked by the node that merges.
  | { type: 'counterScan'; query: CounterQuery; replyTo: Ref<CounterRow[]> }
  | { type: 'localCounters'; query: CounterQuery; replyTo: Ref<CounterRow[]> }
  | { type: 'done'; replyTo: Ref<unknown>; outcome: Outcome<unknown> };

export interface TableStats {
  items: number;
  /** Over this node's Merkle roots of the partitions it stores: equal on converged replicas. */
  merkleDigest: string;
  merkleTodo: number;
  sync: SyncStatus & { pendingTasks: number };
  /** Tombstones recorded for GC on this node, collected or not yet. */
  gcTodo: number;
  gc: GcStatus;
}

export const TABLE_REMOTE_TYPES = ['insert', 'get', 'range', 'counters', 'stats', 'compareRoots', 'replicaBatch', 'localCounters'] as const;

export interface TableComponents {
  schema: TableSchema<unknown>;
  store: MetadataStore;
  hasher: Hasher;
  selfId: string;
  /** Replication factor and consistency mode, from the config; the schema says sharded or full. */
  policy: { replicationFactor: number; consistencyMode: ConsistencyMode };
  initialLayout: LayoutHistory;
  /** How long a replica has to answer one request. */
  replicaTimeoutMs: number;
  /** Anti-entropy runs a full round this often, and at once after a layout change. */
  syncIntervalMs: number;
  /** Tombstones older than this are collected once every replica holds them. */
  gcDelayMs: number;
  /** Every table this node serves, by name: where `updated` hooks' writes go. */
  schemaOf: SchemaLookup;
}

/** What a table tells its parent when it has synced a newer layout version. */
export interface TableSyncedReport {
  type: 'tableSynced';
  table: string;
  version: number;
}

interface TableState {
  layout: LayoutHistory;
  /** Where rows live under `layout`; replaced with it. */
  placement: Placement;
  /** Writes in flight, by the layout version current when each began. */
  inFlight: Map<number, number>;
  drains: { version: number; replyTo: Ref<null> }[];
  /** The newest layout version a sync round proved this node holds. */
  syncedVersion: number;
  /** Delay before retrying a round that had failed pairs; 0 after a round without. */
  failedRetryMs: number;
  sync: ReturnType<typeof syncWorker>;
  gc: ReturnType<typeof gcWorker>;
  replicaCount: number;
  writes: number;
  reads: number;
  repairs: number;
}

type Context = ActorContext<TableMessage, TableState, TableComponents>;

export const tableActor = defineActor<TableMessage, TableState, TableComponents>({
  kind: 'table',
  remote: { accepts: TABLE_REMOTE_TYPES },
  supervision: restartWithBackoff(),
  init(context) {
    const { schema, store, hasher, selfId, replicaTimeoutMs, syncIntervalMs, gcDelayMs } = context.components;
    // Before any worker reads the trie: an older node format is rebuilt from the rows, not refused.
    store.transaction((tx) => migrateMerkleFormat(tx, schema.name, hasher));
    const state = { layout: context.components.initialLayout, placement: placementFor(context.components.initialLayout, context.components), inFlight: new Map<number, number>(), drains: [] as TableState['drains'], syncedVersion: 0, failedRetryMs: 0, replicaCount: 0, writes: 0, reads: 0, repairs: 0 } as TableState;
    // The sync worker reads the layout when it plans a round: an immutable value, swapped whole
    // by this actor's handler, so reading it from the worker's step is safe.
    state.sync = syncWorker(
      {
        table: schema.name,
        tablePath: context.path,
        selfId,
        store,
        hasher,
        layout: () => state.layout,
        placement: () => state.placement,
        ask: context.ask,
        askTimeoutMs: replicaTimeoutMs,
        onRoundDone: (report) => context.tell(context.self, { type: 'syncRound', report }),
      },
      Date.now,
    );
    context.spawn(workerRunner, MERKLE_WORKER, { worker: merkleWorker(schema.name, store, hasher), idleDelayMs: MERKLE_IDLE_DELAY_MS });
    context.spawn(workerRunner, SYNC_WORKER, { worker: state.sync, idleDelayMs: syncIntervalMs });
    state.gc = gcWorker({ table: schema.name, tablePath: context.path, selfId, store, hasher, placement: () => state.placement, delayMs: gcDelayMs, ask: context.ask, askTimeoutMs: replicaTimeoutMs, nowMs: Date.now, random: Math.random });
    context.spawn(workerRunner, GC_WORKER, { worker: state.gc, idleDelayMs: gcPollDelayMs(gcDelayMs) });
    const insert = (entries: Buffer[]): Promise<void> =>
      context.ask(context.self, (replyTo: Ref<TableWriteReply>) => ({ type: 'insert' as const, entries, replyTo }), 2 * replicaTimeoutMs).then(() => undefined);
    context.spawn(workerRunner, INSERT_WORKER, { worker: insertQueueWorker({ table: schema.name, store, insert }), idleDelayMs: INSERT_QUEUE_IDLE_DELAY_MS });
    // Sibling tables' insert workers, by path: a hook's write wakes the target table's worker.
    const tablesPath = context.path.slice(0, context.path.lastIndexOf('/'));
    const insertWorkerOf = (table: string): Ref<WorkerRunnerMessage> => ({ path: `${tablesPath}/${table}/${INSERT_WORKER}` });
    context.spawn(replicaSetActor, REPLICA_SET_NAME, { schema, store, hasher, merkleWorker: context.child<WorkerRunnerMessage>(MERKLE_WORKER)!, schemaOf: context.components.schemaOf, insertWorkerOf });
    spawnStoredReplicas(state, context);
    return state;
  },
  handle(message, context) {
    switch (message.type) {
      case 'insert': return onInsert(message.entries, message.replyTo, context);
      case 'inserted': return onInserted(message, context);
      case 'drainWrites': return onDrainWrites(message.version, message.replyTo, context);
      case 'syncRound': return onSyncRound(message.report, context);
      case 'wakeSync': return context.tell(context.child<WorkerRunnerMessage>(SYNC_WORKER)!, { type: 'wake' });
      case 'get': return onGet(message.partitionKey, message.sortKey, message.replyTo, context);
      case 'range': return onRange(message, context);
      case 'counters': return onCounters(message, context);
      case 'layoutChanged': return onLayoutChanged(message.history, context);
      case 'stats': return context.tell(message.replyTo, tableStats(context));
      case 'compareRoots': return onCompareRoots(message, context);
      case 'replicaBatch': return onReplicaBatch(message, context);
      case 'counterScan': return onCounterScan(message, context);
      case 'localCounters': return onLocalCounters(message, context);
      case 'done': return message.outcome.ok ? context.tell(message.replyTo, message.outcome.value) : context.replyError(message.replyTo, message.outcome.error);
      default: return assertNever(message);
    }
  },
  status: (context) => ({ replicas: context.state.replicaCount, layoutVersion: context.state.layout.current.version, writes: context.state.writes, reads: context.state.reads, repairs: context.state.repairs }),
});

/**
 * Replicas of every partition this node stores in any live version, and of every partition it
 * still has rows of: the syncer hands those off through their replica, which owns their writes.
 * A replica, once started, stays (it holds no memory of note).
 */
function spawnStoredReplicas(state: TableState, context: InitContext<TableMessage, TableComponents>): void {
  const { selfId, store, schema } = context.components;
  const data = store.tree(dataTreeName(schema.name));
  const partitions: number[] = [];
  for (let partition = 0; partition < PARTITION_COUNT; partition++) {
    if (state.placement.holders(partition).includes(selfId) || partitionHasRows(data, partition)) partitions.push(partition);
  }
  state.replicaCount = partitions.length;
  context.tell(context.child<ReplicaSetMessage>(REPLICA_SET_NAME)!, { type: 'ensure', partitions });
}

function placementFor(layout: LayoutHistory, components: TableComponents): Placement {
  return placementOf(layout, { replication: components.schema.replication, selfId: components.selfId, ...components.policy });
}

function onLayoutChanged(history: LayoutHistory, context: Context): void {
  const before = context.state.layout;
  context.state.layout = history;
  context.state.placement = placementFor(history, context.components);
  spawnStoredReplicas(context.state, context);
  // New holders need their data now, not at the next interval; and once every node writes to the
  // current version, a round can prove this node synced it.
  const versionChanged = history.current.version !== before.current.version;
  if (!versionChanged && history.allAcknowledged() === before.allAcknowledged() && history.oldestLive.version === before.oldestLive.version) return;
  context.state.sync.restart();
  context.tell(context.child<WorkerRunnerMessage>(SYNC_WORKER)!, { type: 'wake' });
}

function onSyncRound(report: RoundReport, context: Context): void {
  const state = context.state;
  if (report.syncedVersion !== null && report.syncedVersion > state.syncedVersion) {
    state.syncedVersion = report.syncedVersion;
    if (context.parent) context.tell(context.parent as Ref<TableSyncedReport>, { type: 'tableSynced', table: context.components.schema.name, version: report.syncedVersion });
  }
  state.failedRetryMs = report.pairsFailed > 0 ? Math.min(context.components.syncIntervalMs, state.failedRetryMs * 2 || SYNC_RETRY_FAILED_FIRST_MS) : 0;
  if (state.failedRetryMs > 0) context.startTimer(SYNC_RETRY_TIMER, state.failedRetryMs, { type: 'wakeSync' });
  else if (state.syncedVersion < state.layout.current.version) context.startTimer(SYNC_RETRY_TIMER, SYNC_RETRY_UNSYNCED_MS, { type: 'wakeSync' });
}

function onDrainWrites(version: number, replyTo: Ref<null>, context: Context): void {
  context.state.drains.push({ version, replyTo });
  answerDrains(context);
}

/** Answers every drain whose older writes have all finished. */
function answerDrains(context: Context): void {
  const state = context.state;
  state.drains = state.drains.filter((drain) => {
    for (const [version, count] of state.inFlight) if (version < drain.version && count > 0) return true;
    context.tell(drain.replyTo, null);
    return false;
  });
}

function tableStats(context: Context): TableStats {
  const { store, schema, hasher, selfId } = context.components;
  const nodes = merkleNodeStore(store.tree(merkleTreeName(schema.name)));
  const digest = createHash('sha256');
  for (let partition = 0; partition < PARTITION_COUNT; partition++) {
    if (!context.state.placement.holders(partition).includes(selfId)) continue;
    digest.update(Buffer.from([partition]));
    digest.update(merkleRoot(nodes, hasher, partition));
  }
  return {
    items: store.tree(dataTreeName(schema.name)).count(),
    merkleDigest: digest.digest('hex'),
    merkleTodo: store.tree(merkleTodoTreeName(schema.name)).count(),
    sync: context.state.sync.syncStatus(),
    gcTodo: store.tree(gcTodoTreeName(schema.name)).count(),
    gc: context.state.gc.gcStatus(),
  };
}

/** Answered from this node's tries as they are (a lagging trie differs; the walk then folds it). */
function onCompareRoots(message: TableRootsMessage, context: Context): void {
  const { store, schema, hasher } = context.components;
  const nodes = merkleNodeStore(store.tree(merkleTreeName(schema.name)));
  try {
    context.tell(message.replyTo, answerRoots(hasher, message.question, (partition) => merkleRoot(nodes, hasher, partition)));
  } catch (error) {
    context.replyError(message.replyTo, error as Error);
  }
}

function onReplicaBatch(message: ReplicaBatchMessage, context: Context): void {
  let items: BatchItem[];
  try {
    items = checkBatchItems(message.items);
  } catch (error) {
    return context.replyError(message.replyTo, error as Error);
  }
  const { selfId, replicaTimeoutMs } = context.components;
  const replies = answerBatch(items, (partition, makeMessage) => context.ask(replicaRef(context, selfId, partition), makeMessage, replicaTimeoutMs));
  context.pipeToSelf(replies, (outcome) => ({ type: 'done', replyTo: message.replyTo as Ref<unknown>, outcome }));
}

function replicaRef(context: Context, nodeId: string, partition: number): Ref<ReplicaMessage> {
  return { node: nodeId, path: replicaPath(context.path, partition) };
}

// ---- writes ------------------------------------------------------------------------------------

function onInsert(entries: Buffer[], replyTo: Ref<TableWriteReply>, context: Context): void {
  let byPartition: Map<number, Buffer[]>;
  try {
    byPartition = groupByPartition(entries, context.components.schema);
  } catch (error) {
    return context.replyError(replyTo, error as Error);
  }
  const state = context.state;
  state.writes++;
  const version = state.layout.current.version;
  state.inFlight.set(version, (state.inFlight.get(version) ?? 0) + 1);
  const writes = [...byPartition].map(([partition, partitionEntries]) => writePartition(partition, partitionEntries, context));
  context.pipeToSelf(Promise.all(writes).then(() => ({ ok: true as const })), (outcome) => ({ type: 'inserted', version, replyTo, outcome }));
}

function onInserted(message: Extract<TableMessage, { type: 'inserted' }>, context: Context): void {
  const { inFlight } = context.state;
  const left = (inFlight.get(message.version) ?? 1) - 1;
  if (left > 0) inFlight.set(message.version, left);
  else inFlight.delete(message.version);
  if (context.state.drains.length > 0) answerDrains(context);
  if (message.outcome.ok) context.tell(message.replyTo, message.outcome.value);
  else context.replyError(message.replyTo, message.outcome.error);
}

function groupByPartition(entries: Buffer[], schema: TableSchema<unknown>): Map<number, Buffer[]> {
  if (!Array.isArray(entries) || entries.length === 0) throw new Error('insert: give at least one encoded entry');
  const groups = new Map<number, Buffer[]>();
  for (const bytes of entries) {
    const partition = partitionOfRowKey(rowKey(schema, decodeEntry(schema, bytes)));
    groups.set(partition, [...(groups.get(partition) ?? []), bytes]);
  }
  return groups;
}

/** Sends the entries to every node of every live write set; resolves once each set has its quorum. */
function writePartition(partition: number, entries: Buffer[], context: Context): Promise<void> {
  const writeSets = context.state.placement.writeSets(partition);
  if (writeSets.every((set) => set.nodes.length === 0)) return Promise.reject(new QuorumError(`no node stores partition ${partition}: apply a layout first (grange layout)`));
  return new Promise((resolve, reject) => {
    const acked = new Set<string>();
    const failed = new Set<string>();
    const errors: string[] = [];
    let settled = false;
    for (const nodeId of writeTargets(writeSets.map((set) => set.nodes))) {
      const ack = context.ask(replicaRef(context, nodeId, partition), (replyTo: Ref<ReplicaUpdateReply>) => ({ type: 'update' as const, entries, replyTo }), context.components.replicaTimeoutMs);
      ack.then(
        () => {
          acked.add(nodeId);
          if (!settled && isWriteDone(writeSets, acked)) {
            settled = true;
            resolve();
          }
        },
        (error) => {
          failed.add(nodeId);
          errors.push(`${nodeId.slice(0, 8)}: ${errorMessage(error)}`);
          if (!settled && isWriteLost(writeSets, failed)) {
            settled = true;
            reject(new QuorumError(`write quorum (${writeSets.map((set) => set.quorum).join(', ')}) not reached for partition ${partition}: ${errors.join('; ')}`));
          }
        },
      );
    }
  });
}

// ---- reads -------------------------------------------------------------------------------------

function onGet(partitionKey: Buffer, sortKey: Buffer, replyTo: Ref<Buffer | null>, context: Context): void {
  if (!Buffer.isBuffer(partitionKey) || !Buffer.isBuffer(sortKey)) return context.replyError(replyTo, new Error('get: partitionKey and sortKey must be bytes'));
  context.state.reads++;
  const key = rowKeyOf(partitionKey, sortKey);
  const read = readRow(partitionOfRowKey(key), key, context);
  context.pipeToSelf(read, (outcome) => ({ type: 'done', replyTo: replyTo as Ref<unknown>, outcome }));
}

/** Asks every node of the read set; merges the first R answers; repairs those that were stale. */
function readRow(partition: number, key: Buffer, context: Context): Promise<Buffer | null> {
  const replies = quorumRead(partition, context, (replica) =>
    context.ask(replica, (replyTo: Ref<Buffer | null>) => ({ type: 'get' as const, rowKey: key, replyTo }), context.components.replicaTimeoutMs),
  );
  return replies.then((answers) => mergeAndRepair(partition, answers, context));
}

/**
 * Sends one request to every node of the partition's read set and resolves with the first R
 * answers by node id; rejects with QuorumError once R can no longer be reached.
 */
function quorumRead<T>(partition: number, context: Context, request: (replica: Ref<ReplicaMessage>) => Promise<T>): Promise<Map<string, T>> {
  const { nodes: readSet, quorum: read } = context.state.placement.readSet(partition);
  if (readSet.length === 0) return Promise.reject(new QuorumError(`no node stores partition ${partition}: apply a layout first (grange layout)`));
  return new Promise((resolve, reject) => {
    const replies = new Map<string, T>();
    const failed = new Set<string>();
    let settled = false;
    for (const nodeId of readSet) {
      request(replicaRef(context, nodeId, partition)).then(
        (answer) => {
          if (settled) return;
          replies.set(nodeId, answer);
          if (!isReadQuorumReached(readSet, new Set(replies.keys()), read)) return;
          settled = true;
          resolve(replies);
        },
        (error) => {
          failed.add(nodeId);
          if (!settled && isReadQuorumUnreachable(readSet, failed, read)) {
            settled = true;
            reject(new QuorumError(`read quorum (${read}) not reached for partition ${partition}: ${errorMessage(error)}`));
          }
        },
      );
    }
  });
}

function mergeAndRepair(partition: number, replies: Map<string, Buffer | null>, context: Context): Buffer | null {
  const schema = context.components.schema;
  const copies = [...replies.values()].filter((bytes): bytes is Buffer => bytes !== null);
  if (copies.length === 0) return null;
  const merged = copies.map((bytes) => decodeEntry(schema, bytes)).reduce((a, b) => schema.merge(a, b));
  const mergedBytes = encodeEntry(schema, merged);
  for (const [nodeId, bytes] of replies) {
    if (bytes === null || !bytes.equals(mergedBytes)) sendRepair(partition, nodeId, [mergedBytes], context);
  }
  return mergedBytes;
}

/** Read repair, in the background: the caller already has its answer. */
function sendRepair(partition: number, nodeId: string, entries: Buffer[], context: Context): void {
  context.state.repairs++;
  const repair = context.ask(replicaRef(context, nodeId, partition), (replyTo: Ref<ReplicaUpdateReply>) => ({ type: 'update' as const, entries, replyTo }), context.components.replicaTimeoutMs);
  repair.catch((error) => context.log.debug('read repair failed', { node: nodeId.slice(0, 16), error: errorMessage(error) }));
}

/**
 * Each replica counts what it stores, so a replica that missed writes counts less, or more after
 * missing deletes; the largest count of R replicas is the one closest to a synced replica's.
 */
function onCounters(message: Extract<TableMessage, { type: 'counters' }>, context: Context): void {
  const { partitionKey, counters, replyTo } = message;
  if (!Buffer.isBuffer(partitionKey) || !Array.isArray(counters)) return context.replyError(replyTo, new Error('counters: partitionKey must be bytes, counters a list of names'));
  const replies = quorumRead(partitionOfKey(partitionKey), context, (replica) =>
    context.ask(replica, (reply: Ref<number[]>) => ({ type: 'readCounters' as const, counters, key: partitionKey, replyTo: reply }), context.components.replicaTimeoutMs),
  );
  const merged = replies.then((answers) => counters.map((_, index) => Math.max(0, ...[...answers.values()].map((values) => values[index] ?? 0))));
  context.pipeToSelf(merged, (outcome) => ({ type: 'done', replyTo: replyTo as Ref<unknown>, outcome }));
}

// ---- counter scans -----------------------------------------------------------------------------

function onLocalCounters(message: Extract<TableMessage, { type: 'localCounters' }>, context: Context): void {
  try {
    context.tell(message.replyTo, localCounterRows(context.components.store, checkCounterQuery(message.query)));
  } catch (error) {
    context.replyError(message.replyTo, error as Error);
  }
}

/**
 * Asks every storage node of the live layout versions; fails when more nodes are silent than a
 * read quorum allows to miss (RF - R): past that, a key could have no holder among the answers.
 */
function onCounterScan(message: Extract<TableMessage, { type: 'counterScan' }>, context: Context): void {
  let query: CounterQuery;
  try {
    query = checkCounterQuery(message.query);
  } catch (error) {
    return context.replyError(message.replyTo, error as Error);
  }
  const { replicaTimeoutMs, policy } = context.components;
  const nodes = new Set<string>();
  for (let partition = 0; partition < PARTITION_COUNT; partition++) for (const node of context.state.placement.holders(partition)) nodes.add(node);
  const tableAt = (node: string): Ref<TableMessage> => ({ node, path: context.path });
  const asks = [...nodes].map((node) => context.ask(tableAt(node), (replyTo: Ref<CounterRow[]>) => ({ type: 'localCounters' as const, query, replyTo }), replicaTimeoutMs));
  const mayMiss = policy.replicationFactor - quorums(policy.replicationFactor, policy.consistencyMode).read;
  const merged = Promise.allSettled(asks).then((outcomes) => {
    const replies = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    if (outcomes.length - replies.length > mayMiss) throw new QuorumError(`counter scan: ${outcomes.length - replies.length} of ${outcomes.length} nodes did not answer`);
    return mergeCounterRows(replies, query.limit, query.reverse);
  });
  context.pipeToSelf(merged, (outcome) => ({ type: 'done', replyTo: message.replyTo as Ref<unknown>, outcome }));
}

// ---- range reads -------------------------------------------------------------------------------

/**
 * Rows of one partition key, sort keys in [start, end), at most `limit`, in either direction.
 * Each replica returns the first `limit` rows it has; the merge of R such lists, cut at `limit`,
 * is exact, since every acknowledged row is on at least one of any R replicas. Replicas that
 * lacked or held differently a row they should have returned are repaired in the background.
 */
function onRange(message: Extract<TableMessage, { type: 'range' }>, context: Context): void {
  const { partitionKey, replyTo } = message;
  if (!Buffer.isBuffer(partitionKey)) return context.replyError(replyTo, new Error('range: partitionKey must be bytes'));
  const limit = Math.max(1, Math.min(REPLICA_RANGE_LIMIT_MAX, Math.floor(Number(message.limit) || REPLICA_RANGE_LIMIT_MAX)));
  const bounds = partitionKeyRange(partitionKey);
  const start = Buffer.isBuffer(message.start) ? Buffer.concat([bounds.start, message.start]) : bounds.start;
  const end = Buffer.isBuffer(message.end) ? Buffer.concat([bounds.start, message.end]) : bounds.end;
  const partition = partitionOfKey(partitionKey);
  context.state.reads++;
  const rows = readRange(partition, { start, end, limit, reverse: message.reverse === true }, context);
  context.pipeToSelf(rows, (outcome) => ({ type: 'done', replyTo: replyTo as Ref<unknown>, outcome }));
}

interface RowRange {
  start: Buffer;
  end: Buffer | null;
  limit: number;
  reverse: boolean;
}

function readRange(partition: number, range: RowRange, context: Context): Promise<Buffer[]> {
  const replies = quorumRead(partition, context, (replica) =>
    context.ask(replica, (replyTo: Ref<Buffer[]>) => ({ type: 'range' as const, ...range, replyTo }), context.components.replicaTimeoutMs),
  );
  return replies.then((answers) => {
    const { rows, repairs } = mergeRangeReplies(context.components.schema, answers, range.limit, range.reverse);
    for (const [nodeId, entries] of repairs) sendRepair(partition, nodeId, entries, context);
    return rows;
  });
}
