// Merkle anti-entropy and hand-off for one table on this node.
//
// A round takes a snapshot of the layout and visits, one per step:
//   - each peer that shares partitions with this node: one comparison of the roots of all of them
//     (merkle-roots.ts), which queues a walk for each partition whose roots differ;
//   - then, for those partitions side by side, a walk of the two tries from the root, descending
//     only into subtrees that differ, pushing the rows the peer lacks or holds differently and
//     pulling the rows this node lacks or holds differently (the walks' requests to the peer made
//     in the same turn travel in one message: replica-batch.ts);
//   - each partition this node still has rows of but no longer stores (hand-off): its rows are
//     pushed to every holder, and deleted here, each only if unchanged, once all of them took them.
// A round proves this node synced the layout's current version when everyone already wrote to it
// (so no acknowledged write can still arrive at the old holders only) and, for every partition it
// stores there, it walked with enough holders of each live version to meet every write quorum of
// that version. The table actor reports such rounds to the layout's sync tracker.
import type { Ref, Worker, WorkerStepResult } from '../runtime';
import type { MetadataStore } from '../../storage/metadata';
import type { LayoutHistory } from '../../protocols/layout';
import { PARTITION_COUNT } from '../../protocols/layout';
import {
  entryHash,
  exchangePlan,
  merkleNode,
  merkleNodeHash,
  merkleNodesEqual,
  merkleRoot,
  MERKLE_ROOT_PREFIX,
  partitionRange,
  differingPartitions,
  rootsQuestion,
  runTodoBatch,
  syncQuorum,
  TABLE_LIMITS,
  TableError,
  type DescendStep,
  type Hasher,
  type MerkleNode,
  type MerkleTodoQueue,
  type Placement,
  type RootsAnswer,
  type RootsQuestion,
} from '../../protocols/table';
import {
  decodeMerkleAnswer,
  encodeMerkleQuery,
  planAnswer,
  type ExchangePlan,
  type LocalTrie,
  type MerkleAnswer,
  type MerkleQuery,
  type SendItem,
} from '../../protocols/table/merkle-diff';
import { MERKLE_WAKE_DELAY_MS, merkleNodeStore } from './merkle-worker';
import { dataTreeName, merkleTodoTreeName, merkleTreeName, partitionHasRows } from './storage';
import type { MerkleNodeReply, ReplicaMessage, ReplicaUpdateReply } from './replica';
import { replicaPath } from './replica-set';
import { peerReplicas, type BatchReplyItem, type PeerReplicas, type ReplicaBatchMessage } from './replica-batch';

/** The message a peer's table actor answers for a roots comparison. */
export interface TableRootsMessage {
  type: 'compareRoots';
  question: RootsQuestion;
  replyTo: Ref<RootsReply>;
}

/** Rows pushed to a peer, or pulled from it, in one message. */
export const SYNC_BATCH_ROWS = 256;
/** Rows of a partition handed off (pushed, then deleted here) per step. */
export const HANDOFF_BATCH_ROWS = 1000;

export interface SyncWorkerInit {
  table: string;
  tablePath: string;
  selfId: string;
  store: MetadataStore;
  hasher: Hasher;
  layout: () => LayoutHistory;
  /** Where rows live under that layout (read together with it). */
  placement: () => Placement;
  ask: <M, R>(ref: Ref<M>, makeMessage: (replyTo: Ref<R>) => M, timeoutMs: number) => Promise<R>;
  askTimeoutMs: number;
  /** Told at the end of each round; `syncedVersion` is null if the round proves nothing. */
  onRoundDone: (report: RoundReport) => void;
}

export interface RoundReport {
  layoutVersion: number;
  syncedVersion: number | null;
  /** Pairs (partition, peer) this round could not sync. */
  pairsFailed: number;
}

export interface SyncStatus {
  rounds: number;
  pairsSynced: number;
  rowsPushed: number;
  rowsPulled: number;
  nodesFetched: number;
  rowsHandedOff: number;
  lastRoundAtMs: number | null;
  pairsFailed: number;
  lastError: string | null;
}

type Task =
  | { kind: 'compare'; peer: string; partitions: number[] }
  | { kind: 'walks'; partitions: number[]; peer: string }
  | { kind: 'handoff'; partition: number };

/** What a table answers to a roots comparison (see merkle-roots.ts). */
export type RootsReply = RootsAnswer;

interface Round {
  layout: LayoutHistory;
  placement: Placement;
  tasks: Task[];
  /** Peers each partition walked with successfully this round. */
  walked: Map<number, Set<string>>;
  /** The failed-pairs counter when the round began. */
  failedBefore: number;
}

export function syncWorker(init: SyncWorkerInit, nowMs: () => number): Worker & { restart(): void; syncStatus(): SyncStatus & { pendingTasks: number } } {
  let round: Round | null = null;
  const stats: SyncStatus = { rounds: 0, pairsSynced: 0, rowsPushed: 0, rowsPulled: 0, nodesFetched: 0, rowsHandedOff: 0, lastRoundAtMs: null, pairsFailed: 0, lastError: null };
  return {
    async step(): Promise<WorkerStepResult> {
      round ??= planRound(init, stats);
      const current = round;
      const task = current.tasks.shift();
      if (task) await runTask(init, current, task, stats);
      // A restart (layout change) during the task dropped this round: the next step plans anew.
      if (round !== current) return 'busy';
      if (current.tasks.length > 0) return 'busy';
      round = null;
      stats.rounds++;
      stats.lastRoundAtMs = nowMs();
      init.onRoundDone({ layoutVersion: current.layout.current.version, syncedVersion: provesSync(init, current) ? current.layout.current.version : null, pairsFailed: stats.pairsFailed - current.failedBefore });
      return 'idle';
    },
    /** A layout change: start a fresh round with the new holders. */
    restart: () => {
      round = null;
    },
    syncStatus: () => ({ ...stats, pendingTasks: round?.tasks.length ?? 0 }),
    status: () => ({ ...stats, pending: round?.tasks.length ?? 0 }),
  };
}

function planRound(init: SyncWorkerInit, stats: SyncStatus): Round {
  const layout = init.layout();
  const placement = init.placement();
  const handoffs: Task[] = [];
  const shared = new Map<string, number[]>();
  const data = init.store.tree(dataTreeName(init.table));
  for (let partition = 0; partition < PARTITION_COUNT; partition++) {
    const holders = placement.holders(partition);
    if (holders.includes(init.selfId)) {
      for (const peer of holders) if (peer !== init.selfId) shared.set(peer, [...(shared.get(peer) ?? []), partition]);
    } else if (holders.length > 0 && partitionHasRows(data, partition)) {
      handoffs.push({ kind: 'handoff', partition });
    }
  }
  const compares = [...shared].map(([peer, partitions]): Task => ({ kind: 'compare', peer, partitions }));
  return { layout, placement, tasks: [...compares, ...handoffs], walked: new Map(), failedBefore: stats.pairsFailed };
}

async function runTask(init: SyncWorkerInit, round: Round, task: Task, stats: SyncStatus): Promise<void> {
  // A peer that is down fails its task only: the others go on, it is retried next round.
  try {
    if (task.kind === 'compare') {
      const differing = await compareRoots(init, task.peer, task.partitions);
      for (const partition of task.partitions) if (!differing.has(partition)) markWalked(round, partition, task.peer, stats);
      // Walks next, before the other peers' comparisons: the rows a walk brings here then make
      // this node's roots equal to theirs too.
      if (differing.size > 0) round.tasks.unshift({ kind: 'walks', partitions: [...differing], peer: task.peer });
    } else if (task.kind === 'walks') {
      await walkSideBySide(init, round, task.peer, task.partitions, stats);
    } else {
      await handOff(init, round.placement, task.partition, stats);
    }
  } catch (error) {
    stats.pairsFailed += task.kind === 'handoff' ? 1 : task.partitions.length;
    stats.lastError = task.kind === 'handoff' ? `hand-off p${task.partition}: ${(error as Error).message}` : `${task.peer.slice(0, 16)} roots: ${(error as Error).message}`;
  }
}

/** Walks with one peer at most this many partitions at once (their requests share messages). */
export const WALKS_SIDE_BY_SIDE_MAX = 64;

/** Walks `partitions` with `peer`, side by side; a failed walk fails its pair only. */
async function walkSideBySide(init: SyncWorkerInit, round: Round, peer: string, partitions: number[], stats: SyncStatus): Promise<void> {
  const replicas = peerReplicas(
    (items) => init.ask({ node: peer, path: init.tablePath } as Ref<ReplicaBatchMessage>, (replyTo: Ref<BatchReplyItem[]>) => ({ type: 'replicaBatch' as const, items, replyTo }), init.askTimeoutMs),
    (partition, request) => init.ask({ node: peer, path: replicaPath(init.tablePath, partition) } as Ref<ReplicaMessage>, (replyTo: Ref<unknown>) => ({ ...request, replyTo }) as ReplicaMessage, init.askTimeoutMs),
  );
  const queue = [...partitions];
  const lane = async (): Promise<void> => {
    for (let partition = queue.shift(); partition !== undefined; partition = queue.shift()) {
      try {
        await walkPair(init, partition, replicas, stats);
        markWalked(round, partition, peer, stats);
      } catch (error) {
        stats.pairsFailed++;
        stats.lastError = `${peer.slice(0, 16)} p${partition}: ${(error as Error).message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WALKS_SIDE_BY_SIDE_MAX, partitions.length) }, lane));
}

function markWalked(round: Round, partition: number, peer: string, stats: SyncStatus): void {
  stats.pairsSynced++;
  round.walked.set(partition, (round.walked.get(partition) ?? new Set()).add(peer));
}

/**
 * The partitions among `partitions` whose roots differ from the peer's: one round trip for all of
 * them, a few dozen bytes when none differs (merkle-roots.ts).
 */
async function compareRoots(init: SyncWorkerInit, peer: string, partitions: number[]): Promise<Set<number>> {
  const nodes = merkleNodeStore(init.store.tree(merkleTreeName(init.table)));
  const roots = partitions.map((partition) => merkleRoot(nodes, init.hasher, partition));
  const question = rootsQuestion(init.hasher, partitions, roots);
  const tableRef: Ref<TableRootsMessage> = { node: peer, path: init.tablePath };
  const answer = await init.ask(tableRef, (replyTo: Ref<RootsReply>) => ({ type: 'compareRoots' as const, question, replyTo }), init.askTimeoutMs);
  return new Set(differingPartitions(partitions, roots, answer));
}

/**
 * Whether the round proves this node holds, for every partition it stores in the current
 * version, every write acknowledged by any live version's write set: it walked with (or is)
 * enough nodes of each set to meet every write quorum there.
 */
function provesSync(init: SyncWorkerInit, round: Round): boolean {
  if (round.layout.allAcknowledged() < round.layout.current.version) return false;
  for (const partition of round.placement.heldNow(init.selfId)) {
    const reached = new Set([init.selfId, ...(round.walked.get(partition) ?? [])]);
    for (const set of round.placement.writeSets(partition)) {
      if (set.nodes.filter((nodeId) => reached.has(nodeId)).length < syncQuorum(set)) return false;
    }
  }
  return true;
}

// ---- the walk ----------------------------------------------------------------------------------

/**
 * A peer whose trie is still taking in writes of the partition (often the rows another walk just
 * brought it) is asked again once, after a pause longer than its Merkle updater's wake delay: its
 * root then likely equals ours, and the rows are not sent twice. Once only: in a partition under
 * steady writes a walk waits this long at most.
 */
export const WALK_PEER_SETTLE_DELAY_MS = MERKLE_WAKE_DELAY_MS + 50;
export const WALK_PEER_SETTLE_RETRIES = 1;
/** Batches of this node's pending Merkle updates a walk folds in before comparing (bounded). */
const WALK_FOLD_BATCHES_MAX = 8;

interface Walk {
  init: SyncWorkerInit;
  partition: number;
  /** The peer's replicas, asked through batches. */
  peer: PeerReplicas;
  self: Ref<ReplicaMessage>;
  stats: SyncStatus;
  /** This node's trie of the partition (its store reads the metadata tree as it is now). */
  trie: LocalTrie;
  toSend: SendItem[];
  toPull: Buffer[];
  toMerge: Buffer[];
}

/** A question asked, with this node's node at its prefix as it was when asked. */
interface Asked {
  query: MerkleQuery;
  local: MerkleNode;
}

/**
 * One walk of a partition's tries with a peer, both ways, two levels of differing subtrees per
 * round trip (merkle-diff.ts). Rows found different are pulled and merged first, then pushed only
 * where this node's copy still differs from the peer's, so a repaired row crosses the link once.
 */
async function walkPair(init: SyncWorkerInit, partition: number, peer: PeerReplicas, stats: SyncStatus): Promise<void> {
  const walk: Walk = {
    init,
    partition,
    peer,
    self: { node: init.selfId, path: replicaPath(init.tablePath, partition) },
    stats,
    trie: { store: merkleNodeStore(init.store.tree(merkleTreeName(init.table))), partition },
    toSend: [],
    toPull: [],
    toMerge: [],
  };
  const stack = await rootSteps(walk);
  while (stack.length > 0) {
    // The deepest steps first, up to a request's worth: a whole level of a small walk in one round
    // trip, and a bounded stack in a large one.
    const batch = stack.splice(Math.max(0, stack.length - TABLE_LIMITS.merkleQueryNodesMax));
    const asked: Asked[] = [];
    for (const step of batch) {
      const local = step.local ?? merkleNode(walk.trie.store, partition, step.prefix);
      if (step.remote !== null) stack.push(...record(walk, exchangePlan(step.prefix, local, step.remote)));
      else asked.push({ query: { kind: 'node', prefix: step.prefix, node: local }, local });
    }
    if (asked.length > 0) {
      const answers = (await askPeer(walk, asked)).answers;
      asked.forEach((item, index) => stack.push(...record(walk, planAnswer(walk.trie, item.query.prefix, item.local, decodeAnswer(walk, item.query, answers[index])))));
    }
    await flush(walk, SYNC_BATCH_ROWS);
  }
  await flush(walk, 1);
}

/** The steps below the roots; none when they are equal (one round trip, a few bytes). */
async function rootSteps(walk: Walk): Promise<DescendStep[]> {
  let folded = false;
  for (let retries = WALK_PEER_SETTLE_RETRIES; ; ) {
    let local = merkleNode(walk.trie.store, walk.partition, MERKLE_ROOT_PREFIX);
    const query: MerkleQuery = { kind: 'hash', prefix: MERKLE_ROOT_PREFIX, hash: merkleNodeHash(walk.init.hasher, local) };
    const reply = await askPeer(walk, [{ query, local }]);
    const answer = decodeAnswer(walk, query, reply.answers[0]);
    if (answer.kind === 'same') return [];
    // A trie that lags its rows differs from the peer's where the rows do not: the rows this node
    // just pulled from another holder would be pulled again. So fold them in before comparing.
    // Only now, not before asking: equal roots (nearly every walk) then cost no read of the todo
    // tree, and writes not in the trie yet go next round. The price: right after a pull of this
    // partition the peer's root comes back once for nothing. It still answers the fresh root;
    // only rows, sent for what this node held when it asked, call for asking again.
    if (!folded) {
      folded = true;
      if (await foldPendingWrites(walk)) {
        local = merkleNode(walk.trie.store, walk.partition, MERKLE_ROOT_PREFIX);
        if (answer.kind !== 'here' || answer.view.kind === 'rows') continue;
        if (merkleNodesEqual(local, answer.view)) return [];
      }
    }
    // The peer is still folding writes into this partition's trie, likely the very rows another
    // walk just brought it: its root may be about to equal ours.
    if (reply.pending === true && retries-- > 0) {
      await delay(WALK_PEER_SETTLE_DELAY_MS);
      continue;
    }
    return record(walk, planAnswer(walk.trie, MERKLE_ROOT_PREFIX, local, answer));
  }
}

async function askPeer(walk: Walk, asked: readonly Asked[]): Promise<MerkleNodeReply> {
  const queries = asked.map((item) => encodeMerkleQuery(item.query));
  const reply = await walk.peer.ask<MerkleNodeReply>(walk.partition, { type: 'merkleNode', queries });
  if (!Array.isArray(reply?.answers) || reply.answers.length !== asked.length) throw new TableError('malformed', 'Merkle reply: one answer per question expected');
  return reply;
}

function decodeAnswer(walk: Walk, query: MerkleQuery, wire: unknown): MerkleAnswer {
  const answer = decodeMerkleAnswer(walk.init.hasher, query, wire);
  const views = answer.kind === 'here' ? [answer.view] : answer.kind === 'below' ? answer.children.map((child) => child.view) : [];
  walk.stats.nodesFetched += views.filter((view) => view.kind !== 'rows').length;
  return answer;
}

/** Records what a plan moves, and returns where to look next. */
function record(walk: Walk, plan: ExchangePlan): DescendStep[] {
  walk.toSend.push(...plan.send);
  walk.toPull.push(...plan.pull);
  walk.toMerge.push(...plan.merge);
  return [...plan.descend];
}

/**
 * Moves the rows found so far once `atLeast` have piled up: pulls and merges first, then pushes
 * what still differs from the peer's copy (a pulled row merged here may now equal it).
 */
async function flush(walk: Walk, atLeast: number): Promise<void> {
  if (walk.toSend.length + walk.toPull.length + walk.toMerge.length < atLeast) return;
  const [merge, pull, send] = [walk.toMerge, walk.toPull, walk.toSend];
  [walk.toMerge, walk.toPull, walk.toSend] = [[], [], []];
  for (let start = 0; start < merge.length; start += SYNC_BATCH_ROWS) await applyHere(walk, merge.slice(start, start + SYNC_BATCH_ROWS));
  for (let start = 0; start < pull.length; start += SYNC_BATCH_ROWS) {
    const rowKeys = pull.slice(start, start + SYNC_BATCH_ROWS);
    await applyHere(walk, await walk.peer.ask<Buffer[]>(walk.partition, { type: 'getRows', rowKeys }));
  }
  const entries = rowsToPush(walk, send);
  for (let start = 0; start < entries.length; start += SYNC_BATCH_ROWS) {
    const batch = entries.slice(start, start + SYNC_BATCH_ROWS);
    await walk.peer.ask<ReplicaUpdateReply>(walk.partition, { type: 'update', entries: batch });
    walk.stats.rowsPushed += batch.length;
  }
}

/** This node's copies of the rows to send, except those now equal to one the peer holds. */
function rowsToPush(walk: Walk, send: readonly SendItem[]): Buffer[] {
  const data = walk.init.store.tree(dataTreeName(walk.init.table));
  const entries: Buffer[] = [];
  for (const item of send) {
    const entry = data.get(item.rowKey);
    if (entry === null) continue;
    const hash = entryHash(walk.init.hasher, entry);
    if (!item.peerHashes.some((peerHash) => peerHash.equals(hash))) entries.push(entry);
  }
  return entries;
}

/** Merges pulled rows through this node's replica, whose mailbox owns every write here. */
async function applyHere(walk: Walk, entries: Buffer[]): Promise<void> {
  if (entries.length === 0) return;
  await walk.init.ask(walk.self, (replyTo: Ref<ReplicaUpdateReply>) => ({ type: 'update' as const, entries, replyTo }), walk.init.askTimeoutMs);
  walk.stats.rowsPulled += entries.length;
}

/**
 * Folds this partition's pending Merkle updates into its trie, as the table's Merkle updater would
 * a little later: the same batches, each in one transaction. Racing the updater is harmless
 * (transactions are serial and updates idempotent). Returns whether the trie changed.
 */
async function foldPendingWrites(walk: Walk): Promise<boolean> {
  const { store, table, hasher } = walk.init;
  const bounds = partitionRange(walk.partition);
  const range = { start: bounds.start, ...(bounds.end ? { end: bounds.end } : {}) };
  let changed = false;
  for (let batch = 0; batch < WALK_FOLD_BATCHES_MAX; batch++) {
    if (store.tree(merkleTodoTreeName(table)).range({ ...range, limit: 1 }).length === 0) break;
    const result = await store.transactAsync((tx) => {
      const todo = tx.tree(merkleTodoTreeName(table));
      const queue: MerkleTodoQueue = {
        first: (limit) => todo.range({ ...range, limit }).map((row): [Buffer, Buffer] => [row.key, row.value]),
        delete: (key) => {
          todo.remove(key);
        },
      };
      return runTodoBatch(queue, merkleNodeStore(tx.tree(merkleTreeName(table))), hasher);
    });
    changed ||= result.changed > 0;
  }
  return changed;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- hand-off ----------------------------------------------------------------------------------

/**
 * Pushes a batch of this partition's rows to every node that stores it, then deletes each of them
 * here only if it is still the copy that was pushed: a write that arrived meanwhile stays, and is
 * handed off next round. Nothing is deleted unless every holder took the batch.
 */
async function handOff(init: SyncWorkerInit, placement: Placement, partition: number, stats: SyncStatus): Promise<void> {
  const bounds = partitionRange(partition);
  const rows = init.store.tree(dataTreeName(init.table)).range({ start: bounds.start, ...(bounds.end ? { end: bounds.end } : {}), limit: HANDOFF_BATCH_ROWS });
  if (rows.length === 0) return;
  const entries = rows.map((row) => row.value);
  const holders = placement.holders(partition);
  await Promise.all(
    holders.map((nodeId) =>
      init.ask({ node: nodeId, path: replicaPath(init.tablePath, partition) } as Ref<ReplicaMessage>, (replyTo: Ref<ReplicaUpdateReply>) => ({ type: 'update' as const, entries, replyTo }), init.askTimeoutMs),
    ),
  );
  const items = rows.map((row) => ({ rowKey: row.key, entryHash: entryHash(init.hasher, row.value) }));
  const self: Ref<ReplicaMessage> = { node: init.selfId, path: replicaPath(init.tablePath, partition) };
  await init.ask(self, (replyTo: Ref<ReplicaUpdateReply>) => ({ type: 'deleteIfEqual' as const, items, replyTo }), init.askTimeoutMs);
  stats.rowsHandedOff += rows.length;
}
