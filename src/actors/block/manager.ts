// The block manager of one node (/node/blocks): stores and serves content-addressed data blocks
// for callers on this node (the S3 API) and for the other nodes' managers.
//   put    a block goes to every node of every live layout version's set for its partition (the
//          first byte of its hash); the caller gets its answer after the write quorum of each set,
//          and the other copies finish in the background while their bytes fit the RAM budget
//          (`block_ram_buffer_max`); past it, the caller waits for every copy.
//   get    from the closest holder first (this node, then its zone, then the others), falling back
//          to the next on any failure; every copy is verified against its hash, wherever it
//          came from, so a corrupt or lying holder costs a retry, never wrong data.
//   resync child workers resync-<i> (resync-worker.ts; 1 to 8, sharing one queue) fetch missing
//          blocks, offload blocks this node no longer holds after a layout change, and delete
//          blocks unreferenced for the GC delay once the other holders said they do not need them.
//   scrub  a child worker (scrub-worker.ts) reads and verifies every local block at a limited rate.
//   admin  worker list and settings (count, tranquilities; persisted), the error list, block info,
//          retry-now, scrub commands: what `grange block|repair|worker` ask.
// Placement comes from the same code as the sharded tables (protocols/table/placement.ts).
import { assertNever, defineActor, errorMessage, restartWithBackoff, workerRunner, type ActorContext, type Outcome, type Ref, type WorkerRunnerMessage } from '../runtime';
import { decodeCounter } from '../../protocols/table';
import { BLOCK_REFCOUNT_COUNTER, blockRefSchema } from '../../protocols/block/block-ref';
import type { TableMessage } from '../table/table';
import type { MetadataStore } from '../../storage/metadata';
import { localCounterTreeName } from '../table/storage';
import { resync, type Resync, type ResyncErrorInfo } from './resync-worker';
import { scrubWorker, type ScrubWorker } from './scrub-worker';
import type { ResyncErrorRecord } from '../../protocols/block/resync';
import { SCRUB_COMMANDS, type ScrubCommand, type ScrubState } from '../../protocols/block/scrub';
import {
  BLOCK_WORKER_SETTINGS_TREE,
  decodeSettings,
  encodeSettingValue,
  parseWorkerSetting,
  settingValue,
  WORKER_SETTING_NAMES,
  withSetting,
  type BlockWorkerSettings,
  type WorkerSettingName,
} from '../../protocols/block/worker-settings';
import { decodeEntry, encodeCounter } from '../../protocols/table';
import type { WorkerRunnerStatus } from '../runtime';
import type { LayoutHistory } from '../../protocols/layout';
import { isWriteDone, isWriteLost, placementOf, readTargets, type ConsistencyMode, type Placement, type WriteSet } from '../../protocols/table';
import { BLOCK_HASH_BYTES, BlockCorruptError, blockHash, type BlockStore } from '../../storage/blocks';

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
const RESYNC_WORKER_PREFIX = 'resync-';
const SCRUB_WORKER = 'scrub';
/** The block_ref table actor of this node (spawned by /node/tables). */
const BLOCK_REF_TABLE_PATH = '/node/tables/block_ref';
/** block_ref rows read before deleting a block; more than this many is treated as referenced. */
const BLOCK_REFS_READ_MAX = 1_000;
/** Longest error list sent in one reply. */
const BLOCK_ERRORS_LIST_MAX = 1_000;
/** How long the manager waits for one of its workers to report its status. */
const WORKER_STATUS_TIMEOUT_MS = 5_000;

/** One block worker as `grange worker list` shows it. */
export interface BlockWorkerInfo {
  name: string;
  path: string;
  kind: 'resync' | 'scrub';
  /** The runner's phase (busy, idle, error-backoff...) or, for the scrub, its own phase too. */
  state: string;
  queueLength: number | null;
  progress: string | null;
  errors: number;
  lastError: string | null;
  tranquility: number;
}

/** What `grange block info` shows: this node's copy, refcount and error record. */
export interface BlockInfoReply extends BlockInspectReply {
  hash: string;
  zeroSinceMs: number | null;
  error: ResyncErrorRecord | null;
}

export type WorkerSettingsReply = Record<WorkerSettingName, number>;

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
  // Operators (grange block|repair|worker):
  | { type: 'blockInfo'; hash: Buffer; replyTo: Ref<BlockInfoReply> }
  | { type: 'listBlockErrors'; replyTo: Ref<ResyncErrorInfo[]> }
  | { type: 'retryNow'; all: boolean; hashes: Buffer[]; replyTo: Ref<{ requeued: number }> }
  | { type: 'scrubCommand'; command: ScrubCommand; replyTo: Ref<ScrubState> }
  | { type: 'listWorkers'; replyTo: Ref<BlockWorkerInfo[]> }
  | { type: 'getWorkerSettings'; replyTo: Ref<WorkerSettingsReply> }
  | { type: 'setWorkerSetting'; name: string; value: string; replyTo: Ref<WorkerSettingsReply> }
  // From the layout actor:
  | { type: 'layoutChanged'; history: LayoutHistory }
  // Internal:
  | { type: 'done'; replyTo: Ref<unknown>; outcome: Outcome<unknown> }
  | { type: 'fetched'; replyTo: Ref<Buffer>; outcome: Outcome<Fetched> }
  | { type: 'inspected'; replyTo: Ref<BlockInspectReply>; refcount: number | null; outcome: Outcome<boolean> }
  | { type: 'infoInspected'; replyTo: Ref<BlockInfoReply>; info: Omit<BlockInfoReply, 'present'>; outcome: Outcome<boolean> }
  | { type: 'stored'; hash: Buffer; replyTo: Ref<{ written: boolean }>; outcome: Outcome<{ written: boolean }> }
  | { type: 'released'; bytes: number }
  | { type: 'wakeResync' };

export const BLOCK_MANAGER_REMOTE_TYPES = [
  'put',
  'get',
  'store',
  'fetch',
  'repairBlocks',
  'inspectBlock',
  'blockInfo',
  'listBlockErrors',
  'retryNow',
  'scrubCommand',
  'listWorkers',
  'getWorkerSettings',
  'setWorkerSetting',
] as const;

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
  resync: Resync;
  scrub: ScrubWorker;
  /** Worker settings, as persisted in BLOCK_WORKER_SETTINGS_TREE. */
  settings: BlockWorkerSettings;
}

type Context = ActorContext<BlockManagerMessage, BlockManagerState, BlockManagerComponents>;

export const blockManagerActor = defineActor<BlockManagerMessage, BlockManagerState, BlockManagerComponents>({
  kind: 'block-manager',
  remote: { accepts: BLOCK_MANAGER_REMOTE_TYPES },
  supervision: restartWithBackoff(),
  init(context) {
    const layout = context.components.initialLayout;
    const state = { layout, placement: placementFor(layout, context.components), bufferedBytes: 0, puts: 0, gets: 0, fallbacks: 0 } as BlockManagerState;
    const metadata = context.components.metadata;
    const settingsTree = metadata.tree(BLOCK_WORKER_SETTINGS_TREE);
    state.settings = decodeSettings((name) => settingsTree.get(Buffer.from(name)));
    // The workers read the placement and the settings when they run: immutable values swapped
    // whole by this actor's handlers, so reading them from a worker's step is safe.
    state.resync = resync({
      selfId: context.components.selfId,
      metadata,
      blocks: context.components.store,
      placement: () => state.placement,
      gcDelayMs: context.components.gcDelayMs,
      nowMs: Date.now,
      tranquility: () => state.settings.resyncTranquility,
      sleep,
      fetchFrom: (nodeId, hash) => fetchRemote(hash, nodeId, context as Context),
      storeOn: (nodeId, hash, data) => storeRemote(hash, data, nodeId, context as Context),
      askNeed: (nodeId, hash) => inspectRemote(hash, nodeId, context as Context).then((reply) => ({ nodeId, ...reply })),
      isReferenced: (hash) => hasLiveReference(hash, context as Context),
      hashOf: blockHash,
    });
    state.scrub = scrubWorker({
      metadata,
      blocks: context.components.store,
      nowMs: Date.now,
      tranquility: () => state.settings.scrubTranquility,
      sleep,
      onCorrupt: (hash) => {
        state.resync.enqueueNow(hash);
        context.tell(context.self, { type: 'wakeResync' });
      },
    });
    for (let index = 0; index < state.settings.resyncWorkerCount; index++) spawnResyncWorker(index, state, context);
    context.spawn(workerRunner, SCRUB_WORKER, { worker: state.scrub });
    return state;
  },
  handle(message, context) {
    switch (message.type) {
      case 'put': return onPut(message.hash, message.data, message.replyTo, context);
      case 'get': return onGet(message.hash, message.replyTo, context);
      case 'store': return onStore(message.hash, message.data, message.replyTo, context);
      case 'fetch': return onFetch(message.hash, message.replyTo, context);
      case 'repairBlocks':
        // Every referenced block (fetch what is missing) and every local one (offload, GC).
        context.state.resync.requestScan(true);
        context.state.resync.requestListing();
        wakeResync(context);
        return context.tell(message.replyTo, { started: true });
      case 'blockInfo': return onBlockInfo(message.hash, message.replyTo, context);
      case 'infoInspected':
        if (!message.outcome.ok) return context.replyError(message.replyTo, message.outcome.error);
        return context.tell(message.replyTo, { ...message.info, present: message.outcome.value });
      case 'listBlockErrors': return context.tell(message.replyTo, context.state.resync.errors(BLOCK_ERRORS_LIST_MAX));
      case 'retryNow': return onRetryNow(message, context);
      case 'scrubCommand': return onScrubCommand(message.command, message.replyTo, context);
      case 'listWorkers': return onListWorkers(message.replyTo, context);
      case 'getWorkerSettings': return context.tell(message.replyTo, settingsReply(context.state.settings));
      case 'setWorkerSetting': return onSetWorkerSetting(message.name, message.value, message.replyTo, context);
      case 'wakeResync': return wakeResync(context);
      case 'stored':
        if (!message.outcome.ok) return context.replyError(message.replyTo, message.outcome.error);
        trackStoredBlock(message.hash, context);
        return context.tell(message.replyTo, message.outcome.value);
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
  status: (context) => ({ resyncWorkers: context.state.settings.resyncWorkerCount, puts: context.state.puts, gets: context.state.gets, fallbacks: context.state.fallbacks, bufferedBytes: context.state.bufferedBytes, ...context.components.store.stats() }),
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
  context.pipeToSelf(context.components.store.put(hash, data), (outcome) => ({ type: 'stored', hash, replyTo, outcome }));
}

/**
 * A block stored here gets a counter if it has none (at zero, since now), so that a block put but
 * never referenced is collected after the GC delay like any other. A block unreferenced here is
 * given a fresh delay: it was just put again, so a reference to it is probably on its way.
 */
function trackStoredBlock(hash: Buffer, context: Context): void {
  context.components.metadata.transaction((tx) => {
    const tree = tx.tree(localCounterTreeName(BLOCK_REFCOUNT_COUNTER));
    const bytes = tree.get(hash);
    if (bytes === null || decodeCounter(bytes).count === 0) tree.insert(hash, encodeCounter({ count: 0, zeroSinceMs: Date.now() }));
  });
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
      // The local store verified its copy as it read it (codec.ts); another holder's bytes are checked here.
      if (nodeId !== context.components.selfId && !blockHash(data).equals(hash)) {
        failures.push(`${nodeId.slice(0, 8)}: sent bytes of another hash`);
        continue;
      }
      return { data, fallbacks: index };
    } catch (error) {
      // The store moved the damaged copy aside: have resync fetch a good one back.
      if (error instanceof BlockCorruptError) {
        context.state.resync.enqueueNow(hash);
        context.tell(context.self, { type: 'wakeResync' });
      }
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
  for (const name of context.childNames()) {
    if (name.startsWith(RESYNC_WORKER_PREFIX)) context.tell(context.child<WorkerRunnerMessage>(name)!, { type: 'wake' });
  }
}

function sleep(delayMs: number): Promise<void> {
  // Unref'd: a worker resting between items never keeps a stopping process alive.
  return new Promise((resolve) => setTimeout(resolve, delayMs).unref());
}

function spawnResyncWorker(index: number, state: BlockManagerState, context: Pick<Context, 'spawn'>): void {
  const name = `${RESYNC_WORKER_PREFIX}${index}`;
  context.spawn(workerRunner, name, { worker: state.resync.worker(name), idleDelayMs: RESYNC_IDLE_DELAY_MS });
}

/** A quorum read of the block's block_ref rows, through this node's block_ref table actor. */
async function hasLiveReference(hash: Buffer, context: Context): Promise<boolean> {
  const tableRef: Ref<TableMessage> = { path: BLOCK_REF_TABLE_PATH };
  const rows = await context.ask(
    tableRef,
    (replyTo: Ref<Buffer[]>) => ({ type: 'range' as const, partitionKey: hash, start: null, end: null, limit: BLOCK_REFS_READ_MAX, reverse: false, replyTo }),
    context.components.transferTimeoutMs,
    { priority: 'background' },
  );
  // A full page of tombstones may hide a live row further on: keep the block then.
  return rows.length >= BLOCK_REFS_READ_MAX || rows.some((bytes) => !decodeEntry(blockRefSchema, bytes).deleted);
}

function inspectRemote(hash: Buffer, nodeId: string, context: Context): Promise<BlockInspectReply> {
  return context.ask(managerRef(context, nodeId), (replyTo: Ref<BlockInspectReply>) => ({ type: 'inspectBlock' as const, hash, replyTo }), context.components.transferTimeoutMs, { priority: 'background' });
}

// ---- operators: blocks, workers, scrub ----------------------------------------------------------

function onBlockInfo(hash: Buffer, replyTo: Ref<BlockInfoReply>, context: Context): void {
  const problem = invalidInput(hash, undefined, context);
  if (problem) return context.replyError(replyTo, new Error(`blockInfo: ${problem}`));
  const bytes = context.components.metadata.tree(localCounterTreeName(BLOCK_REFCOUNT_COUNTER)).get(hash);
  const counter = bytes === null ? null : decodeCounter(bytes);
  const info = { hash: hash.toString('hex'), refcount: counter?.count ?? null, zeroSinceMs: counter?.zeroSinceMs ?? null, error: context.state.resync.errorOf(hash) };
  context.pipeToSelf(context.components.store.has(hash), (outcome) => ({ type: 'infoInspected', replyTo, info, outcome }));
}

function onRetryNow(message: { all: boolean; hashes: Buffer[]; replyTo: Ref<{ requeued: number }> }, context: Context): void {
  const hashes = Array.isArray(message.hashes) ? message.hashes : [];
  if (message.all !== true && hashes.length === 0) return context.replyError(message.replyTo, new Error('retryNow: name block hashes, or all'));
  if (hashes.length > BLOCK_ERRORS_LIST_MAX) return context.replyError(message.replyTo, new Error(`retryNow: at most ${BLOCK_ERRORS_LIST_MAX} hashes at once`));
  for (const hash of hashes) {
    const problem = invalidInput(hash, undefined, context);
    if (problem) return context.replyError(message.replyTo, new Error(`retryNow: ${problem}`));
  }
  const requeued = context.state.resync.retryNow(message.all === true ? 'all' : hashes);
  wakeResync(context);
  context.tell(message.replyTo, { requeued });
}

function onScrubCommand(command: ScrubCommand, replyTo: Ref<ScrubState>, context: Context): void {
  if (!(SCRUB_COMMANDS as readonly unknown[]).includes(command)) return context.replyError(replyTo, new Error(`scrub: unknown command ${JSON.stringify(command)}: expected one of ${SCRUB_COMMANDS.join(', ')}`));
  const result = context.state.scrub.command(command);
  if (!result.ok) return context.replyError(replyTo, new Error(`scrub ${command}: ${result.error}`));
  const runner = context.child<WorkerRunnerMessage>(SCRUB_WORKER);
  if (runner) context.tell(runner, { type: 'wake' });
  context.tell(replyTo, result.state);
}

function settingsReply(settings: BlockWorkerSettings): WorkerSettingsReply {
  return Object.fromEntries(WORKER_SETTING_NAMES.map((name) => [name, settingValue(settings, name)])) as WorkerSettingsReply;
}

function onSetWorkerSetting(name: string, value: string, replyTo: Ref<WorkerSettingsReply>, context: Context): void {
  const parsed = parseWorkerSetting(name, value);
  if (!parsed.ok) return context.replyError(replyTo, new Error(parsed.error));
  const state = context.state;
  const previousCount = state.settings.resyncWorkerCount;
  state.settings = withSetting(state.settings, parsed.name, parsed.value);
  context.components.metadata.tree(BLOCK_WORKER_SETTINGS_TREE).insert(Buffer.from(parsed.name), encodeSettingValue(parsed.value));
  // Workers above the new count stop (an item in progress finishes; its failure is re-queued).
  for (let index = state.settings.resyncWorkerCount; index < previousCount; index++) context.stopChild(`${RESYNC_WORKER_PREFIX}${index}`);
  for (let index = previousCount; index < state.settings.resyncWorkerCount; index++) spawnResyncWorker(index, state, context);
  context.tell(replyTo, settingsReply(state.settings));
}

function onListWorkers(replyTo: Ref<BlockWorkerInfo[]>, context: Context): void {
  const names = context.childNames().filter((name) => name.startsWith(RESYNC_WORKER_PREFIX) || name === SCRUB_WORKER).sort();
  const asks = names.map((name) =>
    context
      .ask(context.child<WorkerRunnerMessage>(name)!, (replyTo: Ref<WorkerRunnerStatus>) => ({ type: 'getStatus' as const, replyTo }), WORKER_STATUS_TIMEOUT_MS)
      .then((status) => workerInfo(name, status, context)),
  );
  context.pipeToSelf(Promise.all(asks), (outcome) => ({ type: 'done', replyTo: replyTo as Ref<unknown>, outcome }));
}

function workerInfo(name: string, runner: WorkerRunnerStatus, context: Context): BlockWorkerInfo {
  const { state } = context;
  const path = `${context.path}/${name}`;
  const lastError = runner.lastError?.message ?? null;
  if (name === SCRUB_WORKER) {
    const scrub = state.scrub.state();
    const total = context.components.store.stats().blocks;
    const progress = scrub.phase === 'idle'
      ? `last completed ${scrub.lastCompletedMs === null ? 'never' : new Date(scrub.lastCompletedMs).toISOString()}`
      : `${scrub.checked}${total === undefined ? '' : `/${total}`} blocks checked, ${scrub.corruptions} corrupt`;
    return { name, path, kind: 'scrub', state: `${scrub.phase} (${runner.phase})`, queueLength: null, progress, errors: scrub.corruptionsTotal, lastError, tranquility: state.settings.scrubTranquility };
  }
  const shared = state.resync.status();
  const items = (runner.worker?.items as number | undefined) ?? 0;
  return { name, path, kind: 'resync', state: runner.phase, queueLength: shared.queued as number, progress: `${items} blocks checked`, errors: shared.errors as number, lastError, tranquility: state.settings.resyncTranquility };
}

function onInspect(hash: Buffer, replyTo: Ref<BlockInspectReply>, context: Context): void {
  const problem = invalidInput(hash, undefined, context);
  if (problem) return context.replyError(replyTo, new Error(`inspectBlock: ${problem}`));
  const bytes = context.components.metadata.tree(localCounterTreeName(BLOCK_REFCOUNT_COUNTER)).get(hash);
  const refcount = bytes === null ? null : decodeCounter(bytes).count;
  context.pipeToSelf(context.components.store.has(hash), (outcome) => ({ type: 'inspected', replyTo, refcount, outcome }));
}
