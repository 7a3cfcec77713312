// Tombstone garbage collection for one table on this node (the algorithm and why it is safe:
// protocols/table/gc.ts). Each step takes a bounded batch of due todo records, drops those whose
// row is no longer that tombstone, and for each partition of the rest asks every holder to take
// the tombstones (A), then to delete them if unchanged (B); only then does it remove its records.
// Run by the runtime's worker runner; the table actor reads its counters for `grange stats`.
import { backoffDelayMs, type Backoff, type DeliveryOptions, type Ref, type Worker, type WorkerStepResult } from '../runtime';
import type { MetadataStore, Transaction } from '../../storage/metadata';
import {
  checkLocalRows,
  decodeGcTodo,
  GC_LIMITS,
  gcDueBound,
  gcTargets,
  groupGcByPartition,
  selectGcBatch,
  type GcCandidate,
  type GcTodoRecord,
  type Hasher,
  type Placement,
} from '../../protocols/table';
import type { ReplicaMessage, ReplicaUpdateReply } from './replica';
import { replicaPath } from './replica-set';
import { dataTreeName, gcTodoTreeName, removeGcTodo } from './storage';

/** The worker looks for due records this many times per GC delay, within the bounds below. */
const GC_POLLS_PER_DELAY = 4;
const GC_POLL_MIN_MS = 100;
/** With the default 24 h delay: a tombstone is collected at most a minute after it is due. */
const GC_POLL_MAX_MS = 60_000;
/**
 * Retry of a partition whose holders did not all confirm (one down, say): doubling from the
 * minimum, never above the maximum nor above the GC delay itself, so a tombstone is collected
 * within about one more delay once every holder is back.
 */
const GC_RETRY_BACKOFF: Backoff = { minMs: 1_000, maxMs: 10 * 60_000, jitter: 0.2 };
const BACKGROUND: DeliveryOptions = { priority: 'background' };

export interface GcWorkerInit {
  table: string;
  tablePath: string;
  selfId: string;
  store: MetadataStore;
  hasher: Hasher;
  /** Where rows live now: every holder must take a tombstone before it is deleted. */
  placement: () => Placement;
  /** A tombstone is collected only once it is older than this on this node. */
  delayMs: number;
  ask: <M, R>(ref: Ref<M>, makeMessage: (replyTo: Ref<R>) => M, timeoutMs: number, options?: DeliveryOptions) => Promise<R>;
  askTimeoutMs: number;
  nowMs: () => number;
  random: () => number;
}

export interface GcStatus {
  /** Tombstones this node's GC deleted from every holder. */
  deleted: number;
  /** Todo records dropped: the row was rewritten or already gone (deleted by another node's GC). */
  dropped: number;
  /** Due tombstones not collected at the last step: some holder did not confirm yet. */
  pending: number;
  /** Partition batches that failed, since start; each waits for a retry with backoff. */
  failures: number;
  lastError: string | null;
}

/** How often the runner polls an idle GC worker: tombstones become due by the clock alone. */
export function gcPollDelayMs(delayMs: number): number {
  return Math.min(GC_POLL_MAX_MS, Math.max(GC_POLL_MIN_MS, Math.floor(delayMs / GC_POLLS_PER_DELAY)));
}

interface Retry {
  attempts: number;
  atMs: number;
}

export function gcWorker(init: GcWorkerInit): Worker & { gcStatus(): GcStatus } {
  const retries = new Map<number, Retry>();
  const backoff: Backoff = { ...GC_RETRY_BACKOFF, maxMs: Math.max(GC_RETRY_BACKOFF.minMs, Math.min(GC_RETRY_BACKOFF.maxMs, init.delayMs)) };
  const stats: GcStatus = { deleted: 0, dropped: 0, pending: 0, failures: 0, lastError: null };
  return {
    async step(): Promise<WorkerStepResult> {
      const nowMs = init.nowMs();
      const { due, malformed } = readDue(init, nowMs);
      const waiting = (partition: number): boolean => (retries.get(partition)?.atMs ?? 0) > nowMs;
      const batch = selectGcBatch(due, nowMs - init.delayMs, waiting);
      const data = init.store.tree(dataTreeName(init.table));
      const { collect, drop } = checkLocalRows(batch, (key) => data.get(key), init.hasher);
      if (drop.length > 0 || malformed.length > 0) await init.store.transactAsync((tx) => removeStale(tx, init.table, drop, malformed));
      stats.dropped += drop.length + malformed.length;
      let deleted = 0;
      const groups = [...groupGcByPartition(collect)];
      const outcomes = await Promise.all(groups.map(([partition, items]) => collectPartition(init, partition, items).then(() => null, (error: Error) => error)));
      const failedAtMs = init.nowMs();
      groups.forEach(([partition, items], index) => {
        const error = outcomes[index];
        if (!error) {
          retries.delete(partition);
          deleted += items.length;
          return;
        }
        const attempts = (retries.get(partition)?.attempts ?? 0) + 1;
        retries.set(partition, { attempts, atMs: failedAtMs + backoffDelayMs(backoff, attempts - 1, init.random) });
        stats.failures++;
        stats.lastError = `p${partition}: ${error.message}`;
      });
      stats.deleted += deleted;
      stats.pending = due.length - drop.length - deleted;
      // Progress made: more records may be due right away. Otherwise wait for the clock.
      return drop.length + malformed.length + deleted > 0 ? 'busy' : 'idle';
    },
    gcStatus: () => ({ ...stats }),
    status: () => ({ ...stats, todo: init.store.tree(gcTodoTreeName(init.table)).count(), waitingPartitions: retries.size }),
  };
}

/** Due records, oldest first (at most one scan's worth), and the keys of unreadable records. */
function readDue(init: GcWorkerInit, nowMs: number): { due: GcTodoRecord[]; malformed: Buffer[] } {
  const rows = init.store.tree(gcTodoTreeName(init.table)).range({ end: gcDueBound(nowMs, init.delayMs), limit: GC_LIMITS.gcScanRecordsMax });
  const due: GcTodoRecord[] = [];
  const malformed: Buffer[] = [];
  for (const row of rows) {
    // A record this code cannot read can never be collected: drop it rather than stall on it.
    try {
      due.push(decodeGcTodo(row.key, row.value));
    } catch {
      malformed.push(row.key);
    }
  }
  return { due, malformed };
}

function removeStale(tx: Transaction, table: string, drop: GcTodoRecord[], malformed: Buffer[]): void {
  removeGcTodo(tx, table, drop);
  const tree = tx.tree(gcTodoTreeName(table));
  for (const key of malformed) tree.remove(key);
}

/**
 * Steps A and B for one partition's tombstones; rejects unless every holder confirmed both. Its
 * own todo records go last: a crash before that only makes the next pass drop them (row gone).
 */
async function collectPartition(init: GcWorkerInit, partition: number, items: GcCandidate[]): Promise<void> {
  const targets = gcTargets(init.placement().holders(partition), init.selfId);
  if (targets.length === 0) throw new Error(`no layout version stores partition ${partition}`);
  const replicas = targets.map((node): Ref<ReplicaMessage> => ({ node, path: replicaPath(init.tablePath, partition) }));
  const entries = items.map((item) => item.bytes);
  await askEvery(init, replicas, 'take tombstones', (replyTo) => ({ type: 'update', entries, replyTo }));
  const deletes = items.map((item) => ({ rowKey: item.record.rowKey, entryHash: item.record.entryHash }));
  await askEvery(init, replicas, 'delete tombstones', (replyTo) => ({ type: 'deleteIfEqual', items: deletes, replyTo }));
  await init.store.transactAsync((tx) => removeGcTodo(tx, init.table, items.map((item) => item.record)));
}

/** Asks every replica; resolves only if all of them answered, else names those that did not. */
async function askEvery(init: GcWorkerInit, replicas: Ref<ReplicaMessage>[], what: string, makeMessage: (replyTo: Ref<ReplicaUpdateReply>) => ReplicaMessage): Promise<void> {
  const answers = await Promise.allSettled(replicas.map((replica) => init.ask(replica, makeMessage, init.askTimeoutMs, BACKGROUND)));
  const failed = answers.flatMap((answer, index) => (answer.status === 'rejected' ? [`${replicas[index]!.node!.slice(0, 16)}: ${(answer.reason as Error)?.message ?? answer.reason}`] : []));
  if (failed.length > 0) throw new Error(`${what}: ${failed.length} of ${replicas.length} holders did not confirm (${failed.join('; ')})`);
}
