// The block manager of one node (/node/blocks): stores and serves content-addressed data blocks
// for callers on this node (the S3 API) and for the other nodes' managers.
//   put    a block goes to every node of every live layout version's set for its partition (the
//          first byte of its hash); the caller gets its answer after the write quorum of each set,
//          and the other copies finish in the background while their bytes fit the RAM budget
//          (`block_ram_buffer_max`); past it, the caller waits for every copy.
//   get    from the closest holder first (this node, then its zone, then the others), falling back
//          to the next on any failure; every copy is verified against its hash, wherever it
//          came from, so a corrupt or lying holder costs a retry, never wrong data.
//   resync a child worker (resync-worker.ts) fetches missing blocks, offloads blocks this node no
//          longer holds after a layout change, and deletes blocks unreferenced for the GC delay.
// Placement comes from the same code as the sharded tables (protocols/table/placement.ts).
import { assertNever, defineActor, errorMessage, restartWithBackoff, workerRunner, type ActorContext, type Outcome, type Ref, type WorkerRunnerMessage } from '../runtime';
import { decodeCounter } from '../../protocols/table';
import { BLOCK_REFCOUNT_COUNTER } from '../../protocols/block/block-ref';
import type { MetadataStore } from '../../storage/metadata';
import { localCounterTreeName } from '../table/storage';
import { resyncWorker, type ResyncWorker } from './resync-worker';
import type { LayoutHistory } from '../../protocols/layout';
import { isWriteDone, isWriteLost, placementOf, readTargets, type ConsistencyMode, type Placement, type WriteSet } from '../../protocols/table';
import { BLOCK_HASH_BYTES, blockHash, type BlockStore } from '../../storage/blocks';

/** The block could not be stored on a write quorum, or found on any holder. */
export class BlockUnavailableError extends Error {
  override readonly name = 'BlockUnavailableError';
}

export type BlockPutReply = { stored: true };

/** What this node alone has of a block: its file, and its refcount from local block_ref rows. */
export type BlockInspectReply = { present: boolean; refcount: number | null };

/** Default delay a block stays unreferenced before it is deleted (Garage's BLOCK_GC_DELAY). */
export const BLOCK_GC_DELAY_DEFAULT_MS = 10 * 60_000;
/** How long the resync worker rests when nothing is due (also the latency of a GC deletion). */
const RESYNC_IDLE_DELAY_MS = 1_000;
const RESYNC_WORKER = 'resync';

export type BlockManagerMessage =
  // From callers on this node (and the CLI, for tests):
  | { type: 'put'; hash: Buffer; data: Buffer; replyTo: Ref<BlockPutReply> }
  | { type: 'get'; hash: Buffer; replyTo: Ref<Buffer> }
  // From other nodes' managers:
  | { type: 'store'; hash: Buffer; data: Buffer; replyTo: Ref<{ written: boolean }> }
  | { type: 'fetch'; hash: Buffer; replyTo: Ref<Buffer | null> }
  // Operators and tests: enqueue every refcounted block for a check; inspect the local copy.
  | { type: 'repairBlocks'; replyTo: Ref<{ started: true }> }
  | { type: 'inspectBlock'; hash: Buffer; replyTo: Ref<BlockInspectReply> }
  // From the layout actor:
  | { type: 'layoutChanged'; history: LayoutHistory }
  // Internal:
  | { type: 'done'; replyTo: Ref<unknown>; outcome: Outcome<unknown> }
  | { type: 'fetched'; replyTo: Ref<Buffer>; outcome: Outcome<Fetched> }
  | { type: 'inspected'; replyTo: Ref<BlockInspectReply>; refcount: number | null; outcome: Outcome<boolean> }
  | { type: 'released'; bytes: number };

export const BLOCK_MANAGER_REMOTE_TYPES = ['put', 'get', 'store', 'fetch', 'repairBlocks', 'inspectBlock'] as const;

export interface BlockManagerComponents {
  selfId: string;
  store: BlockStore;
  /** The node's metadata store: refcounts (from block_ref) and the resync queue. */
  metadata: MetadataStore;
  /** How long a block's refcount stays at zero before the block is deleted. */
  gcDelayMs: number;
  initialLayout: LayoutHistory;
  policy: { replicationFactor: number; consistencyMode: ConsistencyMode };
  /** Bytes of blocks still being sent to slow holders after the caller got its answer. */
  ramBufferMaxBytes: number;
  /** Largest block accepted. */
  blockBytesMax: number;
  /** How long one holder has to store or send a block. */
  transferTimeoutMs: number;
}

interface BlockManagerState {
  layout: LayoutHistory;
  placement: Placement;
  /** Bytes held for background copies (counted until their last holder answered). */
  bufferedBytes: number;
  puts: number;
  gets: number;
  fallbacks: number;
  resync: ResyncWorker;
}

type Context = ActorContext<BlockManagerMessage, BlockManagerState, BlockManagerComponents>;

export const blockManagerActor = defineActor<BlockManagerMessage, BlockManagerState, BlockManagerComponents>({
  kind: 'block-manager',
  remote: { accepts: BLOCK_MANAGER_REMOTE_TYPES },
  supervision: restartWithBackoff(),
  init(context) {
    const layout = context.components.initialLayout;
    const state = { layout, placement: placementFor(layout, context.components), bufferedBytes: 0, puts: 0, gets: 0, fallbacks: 0 } as BlockManagerState;
    // The worker reads the placement when it checks a block: an immutable value swapped whole by
    // this actor's handler, so reading it from the worker's step is safe.
    state.resync = resyncWorker({
      selfId: context.components.selfId,
      metadata: context.components.metadata,
      blocks: context.components.store,
      placement: () => state.placement,
      gcDelayMs: context.components.gcDelayMs,
      nowMs: Date.now,
      fetchFrom: (nodeId, hash) => fetchRemote(hash, nodeId, context as Context),
      storeOn: (nodeId, hash, data) => storeRemote(hash, data, nodeId, context as Context),
      hashOf: blockHash,
    });
    context.spawn(workerRunner, RESYNC_WORKER, { worker: state.resync, idleDelayMs: RESYNC_IDLE_DELAY_MS });
    return state;
  },
  handle(message, context) {
    switch (message.type) {
      case 'put': return onPut(message.hash, message.data, message.replyTo, context);
      case 'get': return onGet(message.hash, message.replyTo, context);
      case 'store': return onStore(message.hash, message.data, message.replyTo, context);
      case 'fetch': return onFetch(message.hash, message.replyTo, context);
      case 'repairBlocks':
        context.state.resync.requestScan(true);
        wakeResync(context);
        return context.tell(message.replyTo, { started: true });
      case 'inspectBlock': return onInspect(message.hash, message.replyTo, context);
      case 'inspected':
        if (!message.outcome.ok) return context.replyError(message.replyTo, message.outcome.error);
        return context.tell(message.replyTo, { present: message.outcome.value, refcount: message.refcount });
      case 'layoutChanged':
        context.state.layout = message.history;
        context.state.placement = placementFor(message.history, context.components);
        // Blocks stored here may now belong elsewhere (offload) and vice versa (refcount scan).
        context.state.resync.requestListing();
        context.state.resync.requestScan(true);
        wakeResync(context);
        return;
      case 'done': return message.outcome.ok ? context.tell(message.replyTo, message.outcome.value) : context.replyError(message.replyTo, message.outcome.error);
      case 'fetched':
        if (!message.outcome.ok) return context.replyError(message.replyTo, message.outcome.error);
        context.state.fallbacks += message.outcome.value.fallbacks;
        return context.tell(message.replyTo, message.outcome.value.data);
      case 'released':
        context.state.bufferedBytes -= message.bytes;
        return;
      default: return assertNever(message);
    }
  },
  status: (context) => ({ puts: context.state.puts, gets: context.state.gets, fallbacks: context.state.fallbacks, bufferedBytes: context.state.bufferedBytes, ...context.components.store.stats() }),
});

function placementFor(layout: LayoutHistory, components: BlockManagerComponents): Placement {
  return placementOf(layout, { replication: 'sharded', selfId: components.selfId, ...components.policy });
}

function managerRef(context: Context, nodeId: string): Ref<BlockManagerMessage> {
  return { node: nodeId, path: context.path };
}

/** Why a hash or block is refused, or null if it is acceptable. */
function invalidInput(hash: unknown, data: unknown, context: Context): string | null {
  if (!Buffer.isBuffer(hash) || hash.length !== BLOCK_HASH_BYTES) return `a block hash is ${BLOCK_HASH_BYTES} bytes`;
  if (data === undefined) return null;
  if (!Buffer.isBuffer(data)) return 'block data must be bytes';
  if (data.length > context.components.blockBytesMax) return `a block is at most ${context.components.blockBytesMax} bytes, got ${data.length}`;
  return null;
}

// ---- put ---------------------------------------------------------------------------------------

function onPut(hash: Buffer, data: Buffer, replyTo: Ref<BlockPutReply>, context: Context): void {
  const problem = invalidInput(hash, data, context);
  if (problem) return context.replyError(replyTo, new Error(`put: ${problem}`));
  if (!blockHash(data).equals(hash)) return context.replyError(replyTo, new Error('put: the data does not hash to the given block hash'));
  context.state.puts++;
  const sets = context.state.placement.writeSets(hash[0]!);
  if (sets.length === 0) return context.replyError(replyTo, new BlockUnavailableError('no node stores blocks yet: apply a layout first (grange layout)'));
  // Within the budget, answer at the quorum and let the rest finish; past it, wait for all.
  const buffered = context.state.bufferedBytes + data.length <= context.components.ramBufferMaxBytes;
  if (buffered) context.state.bufferedBytes += data.length;
  const copies = replicate(hash, data, sets, context, () => buffered && context.tell(context.self, { type: 'released', bytes: data.length }));
  const answer = buffered ? copies.quorum : copies.quorum.then(() => copies.all);
  context.pipeToSelf(answer.then(() => ({ stored: true as const })), (outcome) => ({ type: 'done', replyTo: replyTo as Ref<unknown>, outcome }));
}

/** Sends the block to every holder; `quorum` settles at the write quorum, `all` once every holder answered. */
function replicate(hash: Buffer, data: Buffer, sets: readonly WriteSet[], context: Context, onAllSettled: () => void): { quorum: Promise<void>; all: Promise<void> } {
  const acked = new Set<string>();
  const failed = new Set<string>();
  const errors: string[] = [];
  const targets = [...new Set(sets.flatMap((set) => set.nodes))];
  let settleQuorum!: (error?: Error) => void;
  const quorum = new Promise<void>((resolve, reject) => {
    settleQuorum = (error) => (error ? reject(error) : resolve());
  });
  let settled = false;
  const copies = targets.map((nodeId) =>
    context
      .ask(managerRef(context, nodeId), (replyTo: Ref<{ written: boolean }>) => ({ type: 'store' as const, hash, data, replyTo }), context.components.transferTimeoutMs, { priority: 'background' })
      .then(
        () => {
          acked.add(nodeId);
          if (!settled && isWriteDone(sets, acked)) {
            settled = true;
            settleQuorum();
          }
        },
        (error) => {
          failed.add(nodeId);
          errors.push(`${nodeId.slice(0, 8)}: ${errorMessage(error)}`);
          if (!settled && isWriteLost(sets, failed)) {
            settled = true;
            settleQuorum(new BlockUnavailableError(`block ${hash.toString('hex').slice(0, 16)} not stored on a write quorum: ${errors.join('; ')}`));
          }
        },
      ),
  );
  const all = Promise.all(copies).then(() => undefined);
  void all.finally(onAllSettled);
  return { quorum, all };
}

function onStore(hash: Buffer, data: Buffer, replyTo: Ref<{ written: boolean }>, context: Context): void {
  const problem = invalidInput(hash, data, context);
  if (problem) return context.replyError(replyTo, new Error(`store: ${problem}`));
  context.pipeToSelf(context.components.store.put(hash, data), (outcome) => ({ type: 'done', replyTo: replyTo as Ref<unknown>, outcome }));
}

// ---- get ---------------------------------------------------------------------------------------

function onGet(hash: Buffer, replyTo: Ref<Buffer>, context: Context): void {
  const problem = invalidInput(hash, undefined, context);
  if (problem) return context.replyError(replyTo, new Error(`get: ${problem}`));
  context.state.gets++;
  const holders = closestFirst(context.state.placement.holders(hash[0]!), context);
  context.pipeToSelf(fetchFromHolders(hash, holders, context), (outcome) => ({ type: 'fetched', replyTo, outcome }));
}

/** Holders by proximity: this node, then its zone, then the others (by id, for determinism). */
function closestFirst(holders: readonly string[], context: Context): string[] {
  const roles = context.state.layout.current.roles;
  const selfId = context.components.selfId;
  const zone = roles.get(selfId)?.zone ?? null;
  const ordered = readTargets(holders, 1, (nodeId) => ({ isSelf: nodeId === selfId, sameZone: zone !== null && roles.get(nodeId)?.zone === zone, rttMs: null }));
  return [...ordered.first, ...ordered.spare];
}

interface Fetched {
  data: Buffer;
  /** Holders tried before the one that had it. */
  fallbacks: number;
}

async function fetchFromHolders(hash: Buffer, holders: string[], context: Context): Promise<Fetched> {
  const failures: string[] = [];
  for (const [index, nodeId] of holders.entries()) {
    try {
      const data = nodeId === context.components.selfId ? await context.components.store.get(hash) : await fetchRemote(hash, nodeId, context);
      if (data === null) {
        failures.push(`${nodeId.slice(0, 8)}: absent`);
        continue;
      }
      if (!blockHash(data).equals(hash)) {
        failures.push(`${nodeId.slice(0, 8)}: sent bytes of another hash`);
        continue;
      }
      return { data, fallbacks: index };
    } catch (error) {
      failures.push(`${nodeId.slice(0, 8)}: ${errorMessage(error)}`);
    }
  }
  throw new BlockUnavailableError(`block ${hash.toString('hex').slice(0, 16)} not found on any holder (${failures.join('; ') || 'no holder'})`);
}

function fetchRemote(hash: Buffer, nodeId: string, context: Context): Promise<Buffer | null> {
  return context.ask(managerRef(context, nodeId), (replyTo: Ref<Buffer | null>) => ({ type: 'fetch' as const, hash, replyTo }), context.components.transferTimeoutMs, { priority: 'background' });
}

function onFetch(hash: Buffer, replyTo: Ref<Buffer | null>, context: Context): void {
  const problem = invalidInput(hash, undefined, context);
  if (problem) return context.replyError(replyTo, new Error(`fetch: ${problem}`));
  // A corrupt local copy is moved aside by the store and answered as an error: the asker falls back.
  context.pipeToSelf(context.components.store.get(hash), (outcome) => ({ type: 'done', replyTo: replyTo as Ref<unknown>, outcome }));
}

function storeRemote(hash: Buffer, data: Buffer, nodeId: string, context: Context): Promise<void> {
  return context.ask(managerRef(context, nodeId), (replyTo: Ref<{ written: boolean }>) => ({ type: 'store' as const, hash, data, replyTo }), context.components.transferTimeoutMs, { priority: 'background' }).then(() => undefined);
}

// ---- resync ------------------------------------------------------------------------------------

function wakeResync(context: Context): void {
  const runner = context.child<WorkerRunnerMessage>(RESYNC_WORKER);
  if (runner) context.tell(runner, { type: 'wake' });
}

function onInspect(hash: Buffer, replyTo: Ref<BlockInspectReply>, context: Context): void {
  const problem = invalidInput(hash, undefined, context);
  if (problem) return context.replyError(replyTo, new Error(`inspectBlock: ${problem}`));
  const bytes = context.components.metadata.tree(localCounterTreeName(BLOCK_REFCOUNT_COUNTER)).get(hash);
  const refcount = bytes === null ? null : decodeCounter(bytes).count;
  context.pipeToSelf(context.components.store.has(hash), (outcome) => ({ type: 'inspected', replyTo, refcount, outcome }));
}
