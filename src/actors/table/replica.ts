// One replica of one partition of one table on this node. Invariant: every write to this
// partition on this node goes through this mailbox and one store transaction, so read-merge-write
// needs no lock. Reads are answered from the store directly (SQLite reads are short and local).
import { assertNever, defineActor, type ActorContext, type Outcome, type Ref, type WorkerRunnerMessage } from '../runtime';
import type { MetadataStore } from '../../storage/metadata';
import type { Hasher, TableSchema } from '../../protocols/table';
import { encodeMerkleNode, merkleNode, merkleNodeHash, MERKLE_DEPTH_MAX, partitionRange } from '../../protocols/table';
import { merkleNodeStore } from './merkle-worker';
import { applyEntries, dataTreeName, merkleTreeName } from './storage';

/** Largest page a range read returns at once. */
export const REPLICA_RANGE_LIMIT_MAX = 1000;

export interface ReplicaUpdateReply {
  changed: number;
}

export type ReplicaMessage =
  | { type: 'update'; entries: Buffer[]; replyTo: Ref<ReplicaUpdateReply> }
  | { type: 'get'; rowKey: Buffer; replyTo: Ref<Buffer | null> }
  | { type: 'range'; start: Buffer; end: Buffer | null; limit: number; reverse: boolean; replyTo: Ref<Buffer[]> }
  | { type: 'merkleNode'; prefix: Buffer; hashOnly?: boolean; replyTo: Ref<Buffer> }
  | { type: 'updateDone'; replyTo: Ref<ReplicaUpdateReply>; outcome: Outcome<number> };

export const REPLICA_REMOTE_TYPES = ['update', 'get', 'range', 'merkleNode'] as const;

export interface ReplicaComponents {
  schema: TableSchema<unknown>;
  partition: number;
  store: MetadataStore;
  hasher: Hasher;
  /** The table's Merkle updater, woken after each write that changed rows. */
  merkleWorker: Ref<WorkerRunnerMessage>;
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
      case 'updateDone': return onUpdateDone(message.replyTo, message.outcome, context);
      case 'get': return onGet(message.rowKey, message.replyTo, context);
      case 'range': return onRange(message, context);
      case 'merkleNode': return onMerkleNode(message.prefix, message.hashOnly === true, message.replyTo, context);
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
  // Group commit: concurrent updates share one SQLite transaction (each in its own savepoint).
  const work = store.transactAsync((tx) => applyEntries(tx, schema, hasher, partition, entries));
  context.pipeToSelf(work, (outcome) => ({ type: 'updateDone', replyTo, outcome }));
}

function onUpdateDone(replyTo: Ref<ReplicaUpdateReply>, outcome: Outcome<number>, context: Context): void {
  if (!outcome.ok) return context.replyError(replyTo, outcome.error);
  context.state.updates++;
  context.state.rowsChanged += outcome.value;
  if (outcome.value > 0) context.tell(context.components.merkleWorker, { type: 'wake' });
  context.tell(replyTo, { changed: outcome.value });
}

/**
 * A node of this partition's Merkle trie, for a peer's anti-entropy walk; or only its hash (8
 * bytes), which is all a walk needs to learn that two replicas agree.
 */
function onMerkleNode(prefix: Buffer, hashOnly: boolean, replyTo: Ref<Buffer>, context: Context): void {
  const { store, schema, partition, hasher } = context.components;
  if (!Buffer.isBuffer(prefix) || prefix.length > MERKLE_DEPTH_MAX) return context.replyError(replyTo, new Error('merkleNode: prefix must be at most 32 bytes'));
  const node = merkleNode(merkleNodeStore(store.tree(merkleTreeName(schema.name))), partition, prefix);
  if (hashOnly) return context.tell(replyTo, merkleNodeHash(hasher, node));
  // On the wire an empty node is zero bytes (the stored format has no empty node).
  context.tell(replyTo, node.kind === 'empty' ? Buffer.alloc(0) : encodeMerkleNode(node));
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
