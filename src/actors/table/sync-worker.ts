// Merkle anti-entropy for one table on this node. Each step takes one (partition, peer) pair:
// it walks this node's trie against the peer's from the root, descending only into subtrees that
// differ, and pushes the rows the peer lacks or holds differently (the peer merges them). Every
// holder runs the same walk towards the others, so differences are repaired in both directions.
// After a full round over all pairs the worker rests until the next interval or a layout change.
import type { Ref, Worker, WorkerStepResult } from '../runtime';
import type { MetadataStore } from '../../storage/metadata';
import type { LayoutHistory } from '../../protocols/layout';
import { PARTITION_COUNT } from '../../protocols/layout';
import { decodeMerkleNode, diffPlan, EMPTY_MERKLE_NODE, merkleNode, merkleNodeHash, MERKLE_ROOT_PREFIX, type DescendStep, type Hasher, type MerkleNode } from '../../protocols/table';
import { merkleNodeStore } from './merkle-worker';
import { dataTreeName, merkleTreeName } from './storage';
import type { ReplicaMessage, ReplicaUpdateReply } from './replica';
import { replicaPath } from './replica-set';

/** Rows pushed to a peer in one update message. */
export const SYNC_PUSH_BATCH_ROWS = 256;

export interface SyncWorkerInit {
  table: string;
  tablePath: string;
  selfId: string;
  store: MetadataStore;
  hasher: Hasher;
  layout: () => LayoutHistory;
  ask: <M, R>(ref: Ref<M>, makeMessage: (replyTo: Ref<R>) => M, timeoutMs: number) => Promise<R>;
  askTimeoutMs: number;
}

export interface SyncStatus {
  rounds: number;
  pairsSynced: number;
  rowsPushed: number;
  nodesFetched: number;
  lastRoundAtMs: number | null;
  pairsFailed: number;
  lastError: string | null;
}

export function syncWorker(init: SyncWorkerInit, nowMs: () => number): Worker & { restart(): void; syncStatus(): SyncStatus } {
  let queue: { partition: number; peer: string }[] = [];
  const stats: SyncStatus = { rounds: 0, pairsSynced: 0, rowsPushed: 0, nodesFetched: 0, lastRoundAtMs: null, pairsFailed: 0, lastError: null };
  const planRound = (): void => {
    const layout = init.layout();
    queue = [];
    for (let partition = 0; partition < PARTITION_COUNT; partition++) {
      const holders = layout.storageNodesOf(partition);
      if (!holders.includes(init.selfId)) continue;
      for (const peer of holders) if (peer !== init.selfId) queue.push({ partition, peer });
    }
  };
  return {
    async step(): Promise<WorkerStepResult> {
      if (queue.length === 0) planRound();
      const pair = queue.shift();
      if (pair) {
        // A peer that is down fails its pair only: the others go on, it is retried next round.
        try {
          await syncPair(init, pair.partition, pair.peer, stats);
          stats.pairsSynced++;
        } catch (error) {
          stats.pairsFailed++;
          stats.lastError = `${pair.peer.slice(0, 16)} p${pair.partition}: ${(error as Error).message}`;
        }
      }
      if (queue.length > 0) return 'busy';
      stats.rounds++;
      stats.lastRoundAtMs = nowMs();
      return 'idle';
    },
    /** A layout change: start a fresh round with the new holders. */
    restart: () => {
      queue = [];
    },
    syncStatus: () => ({ ...stats }),
    status: () => ({ ...stats, pending: queue.length }),
  };
}

async function syncPair(init: SyncWorkerInit, partition: number, peer: string, stats: SyncStatus): Promise<void> {
  const local = merkleNodeStore(init.store.tree(merkleTreeName(init.table)));
  const replica: Ref<ReplicaMessage> = { node: peer, path: replicaPath(init.tablePath, partition) };
  const fetchRemote = async (prefix: Buffer): Promise<MerkleNode> => {
    stats.nodesFetched++;
    const bytes = await init.ask(replica, (replyTo: Ref<Buffer>) => ({ type: 'merkleNode' as const, prefix, replyTo }), init.askTimeoutMs);
    return bytes.length === 0 ? EMPTY_MERKLE_NODE : decodeMerkleNode(bytes);
  };
  // Roots first, by hash alone: most rounds find most partitions equal, at 8 bytes each.
  const localRoot = merkleNode(local, partition, MERKLE_ROOT_PREFIX);
  if (localRoot.kind === 'empty') return;
  stats.nodesFetched++;
  const remoteRootHash = await init.ask(replica, (replyTo: Ref<Buffer>) => ({ type: 'merkleNode' as const, prefix: MERKLE_ROOT_PREFIX, hashOnly: true, replyTo }), init.askTimeoutMs);
  if (Buffer.isBuffer(remoteRootHash) && remoteRootHash.equals(merkleNodeHash(init.hasher, localRoot))) return;
  const pending: DescendStep[] = [{ prefix: MERKLE_ROOT_PREFIX, local: localRoot, remote: null }];
  let toSend: Buffer[] = [];
  while (pending.length > 0) {
    const step = pending.pop()!;
    const localNode = step.local ?? merkleNode(local, partition, step.prefix);
    if (localNode.kind === 'empty') continue;
    const remoteNode = step.remote ?? (await fetchRemote(step.prefix));
    const plan = diffPlan(step.prefix, localNode, remoteNode);
    toSend.push(...plan.send);
    pending.push(...plan.descend);
    if (toSend.length >= SYNC_PUSH_BATCH_ROWS) {
      await pushRows(init, replica, toSend, stats);
      toSend = [];
    }
  }
  if (toSend.length > 0) await pushRows(init, replica, toSend, stats);
}

async function pushRows(init: SyncWorkerInit, replica: Ref<ReplicaMessage>, rowKeys: Buffer[], stats: SyncStatus): Promise<void> {
  const data = init.store.tree(dataTreeName(init.table));
  const entries = rowKeys.map((key) => data.get(key)).filter((bytes): bytes is Buffer => bytes !== null);
  if (entries.length === 0) return;
  await init.ask(replica, (replyTo: Ref<ReplicaUpdateReply>) => ({ type: 'update' as const, entries, replyTo }), init.askTimeoutMs);
  stats.rowsPushed += entries.length;
}
