// Merkle anti-entropy and hand-off for one table on this node.
//
// A round takes a snapshot of the layout and visits, one per step:
//   - each (partition, peer) pair where both hold the partition in a live version: a walk of the
//     two tries from the root, descending only into subtrees that differ, pushing the rows the peer
//     lacks or holds differently and pulling the rows this node lacks or holds differently;
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
  decodeMerkleNode,
  EMPTY_MERKLE_NODE,
  entryHash,
  exchangePlan,
  merkleNode,
  merkleNodeHash,
  MERKLE_ROOT_PREFIX,
  partitionRange,
  syncQuorum,
  type DescendStep,
  type Hasher,
  type MerkleNode,
  type Placement,
} from '../../protocols/table';
import { merkleNodeStore } from './merkle-worker';
import { dataTreeName, merkleTreeName, partitionHasRows } from './storage';
import { REPLICA_PULL_ROWS_MAX, type ReplicaMessage, type ReplicaUpdateReply, type SubtreeRows } from './replica';
import { replicaPath } from './replica-set';

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

type Task = { kind: 'walk'; partition: number; peer: string } | { kind: 'handoff'; partition: number };

interface Round {
  layout: LayoutHistory;
  placement: Placement;
  tasks: Task[];
  /** Peers each partition walked with successfully this round. */
  walked: Map<number, Set<string>>;
}

export function syncWorker(init: SyncWorkerInit, nowMs: () => number): Worker & { restart(): void; syncStatus(): SyncStatus & { pendingTasks: number } } {
  let round: Round | null = null;
  const stats: SyncStatus = { rounds: 0, pairsSynced: 0, rowsPushed: 0, rowsPulled: 0, nodesFetched: 0, rowsHandedOff: 0, lastRoundAtMs: null, pairsFailed: 0, lastError: null };
  return {
    async step(): Promise<WorkerStepResult> {
      round ??= planRound(init);
      const current = round;
      const task = current.tasks.shift();
      if (task) await runTask(init, current, task, stats);
      // A restart (layout change) during the task dropped this round: the next step plans anew.
      if (round !== current) return 'busy';
      if (current.tasks.length > 0) return 'busy';
      round = null;
      stats.rounds++;
      stats.lastRoundAtMs = nowMs();
      init.onRoundDone({ layoutVersion: current.layout.current.version, syncedVersion: provesSync(init, current) ? current.layout.current.version : null });
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

function planRound(init: SyncWorkerInit): Round {
  const layout = init.layout();
  const placement = init.placement();
  const tasks: Task[] = [];
  const data = init.store.tree(dataTreeName(init.table));
  for (let partition = 0; partition < PARTITION_COUNT; partition++) {
    const holders = placement.holders(partition);
    if (holders.includes(init.selfId)) {
      for (const peer of holders) if (peer !== init.selfId) tasks.push({ kind: 'walk', partition, peer });
    } else if (holders.length > 0 && partitionHasRows(data, partition)) {
      tasks.push({ kind: 'handoff', partition });
    }
  }
  return { layout, placement, tasks, walked: new Map() };
}

async function runTask(init: SyncWorkerInit, round: Round, task: Task, stats: SyncStatus): Promise<void> {
  // A peer that is down fails its task only: the others go on, it is retried next round.
  try {
    if (task.kind === 'walk') {
      await walkPair(init, task.partition, task.peer, stats);
      stats.pairsSynced++;
      round.walked.set(task.partition, (round.walked.get(task.partition) ?? new Set()).add(task.peer));
    } else {
      await handOff(init, round.placement, task.partition, stats);
    }
  } catch (error) {
    stats.pairsFailed++;
    const target = task.kind === 'walk' ? task.peer.slice(0, 16) : 'hand-off';
    stats.lastError = `${target} p${task.partition}: ${(error as Error).message}`;
  }
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

interface Walk {
  init: SyncWorkerInit;
  partition: number;
  replica: Ref<ReplicaMessage>;
  self: Ref<ReplicaMessage>;
  stats: SyncStatus;
  toSend: Buffer[];
  toPull: Buffer[];
}

async function walkPair(init: SyncWorkerInit, partition: number, peer: string, stats: SyncStatus): Promise<void> {
  const local = merkleNodeStore(init.store.tree(merkleTreeName(init.table)));
  const walk: Walk = {
    init,
    partition,
    replica: { node: peer, path: replicaPath(init.tablePath, partition) },
    self: { node: init.selfId, path: replicaPath(init.tablePath, partition) },
    stats,
    toSend: [],
    toPull: [],
  };
  // Roots first, by hash alone: most rounds find most partitions equal, at 8 bytes each.
  const localRoot = merkleNode(local, partition, MERKLE_ROOT_PREFIX);
  stats.nodesFetched++;
  const remoteRootHash = await init.ask(walk.replica, (replyTo: Ref<Buffer>) => ({ type: 'merkleNode' as const, prefix: MERKLE_ROOT_PREFIX, hashOnly: true, replyTo }), init.askTimeoutMs);
  if (Buffer.isBuffer(remoteRootHash) && remoteRootHash.equals(merkleNodeHash(init.hasher, localRoot))) return;
  const pending: DescendStep[] = [{ prefix: MERKLE_ROOT_PREFIX, local: localRoot, remote: null }];
  while (pending.length > 0) {
    const step = pending.pop()!;
    const localNode = step.local ?? merkleNode(local, partition, step.prefix);
    // Nothing here under this prefix: take the peer's whole subtree in one request if it is small.
    if (localNode.kind === 'empty' && step.remote === null && (await pullSubtree(walk, step.prefix))) continue;
    const remoteNode = step.remote ?? (await fetchRemote(walk, step.prefix));
    const plan = exchangePlan(step.prefix, localNode, remoteNode);
    walk.toSend.push(...plan.send);
    walk.toPull.push(...plan.pull);
    pending.push(...plan.descend);
    await flush(walk, SYNC_BATCH_ROWS);
  }
  await flush(walk, 1);
}

async function fetchRemote(walk: Walk, prefix: Buffer): Promise<MerkleNode> {
  walk.stats.nodesFetched++;
  const bytes = await walk.init.ask(walk.replica, (replyTo: Ref<Buffer>) => ({ type: 'merkleNode' as const, prefix, replyTo }), walk.init.askTimeoutMs);
  return bytes.length === 0 ? EMPTY_MERKLE_NODE : decodeMerkleNode(bytes);
}

/** True if the peer sent every row under `prefix` (now merged here); false if there were too many. */
async function pullSubtree(walk: Walk, prefix: Buffer): Promise<boolean> {
  const reply = await walk.init.ask(walk.replica, (replyTo: Ref<SubtreeRows>) => ({ type: 'subtreeRows' as const, prefix, limit: REPLICA_PULL_ROWS_MAX, replyTo }), walk.init.askTimeoutMs);
  if (!reply.complete) return false;
  await applyHere(walk, reply.entries);
  return true;
}

/** Sends and pulls the rows found so far once `atLeast` of either have piled up. */
async function flush(walk: Walk, atLeast: number): Promise<void> {
  if (walk.toSend.length >= atLeast) {
    const keys = walk.toSend;
    walk.toSend = [];
    const data = walk.init.store.tree(dataTreeName(walk.init.table));
    const entries = keys.map((key) => data.get(key)).filter((bytes): bytes is Buffer => bytes !== null);
    if (entries.length > 0) await walk.init.ask(walk.replica, (replyTo: Ref<ReplicaUpdateReply>) => ({ type: 'update' as const, entries, replyTo }), walk.init.askTimeoutMs);
    walk.stats.rowsPushed += entries.length;
  }
  if (walk.toPull.length >= atLeast) {
    const rowKeys = walk.toPull;
    walk.toPull = [];
    const entries = await walk.init.ask(walk.replica, (replyTo: Ref<Buffer[]>) => ({ type: 'getRows' as const, rowKeys, replyTo }), walk.init.askTimeoutMs);
    await applyHere(walk, entries);
  }
}

/** Merges pulled rows through this node's replica, whose mailbox owns every write here. */
async function applyHere(walk: Walk, entries: Buffer[]): Promise<void> {
  if (entries.length === 0) return;
  await walk.init.ask(walk.self, (replyTo: Ref<ReplicaUpdateReply>) => ({ type: 'update' as const, entries, replyTo }), walk.init.askTimeoutMs);
  walk.stats.rowsPulled += entries.length;
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
