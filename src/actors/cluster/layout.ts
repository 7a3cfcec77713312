// The layout actor: holds this node's copy of the layout history (a CRDT), applies operator
// edits, persists it in metadata_dir, and converges with the other nodes by pulling a peer's
// history whenever gossip shows a different digest. Decisions live in src/protocols/layout.
import { assertNever, defineActor, restartWithBackoff, type ActorContext, type Outcome, type Ref } from '../runtime';
import { LayoutError, LayoutHistory, type LayoutParameters, type NodeRole } from '../../protocols/layout';

/** What the actor tells membership, so that gossip carries it. */
export interface LayoutSummary {
  version: number;
  digest: string;
  zone: string | null;
  capacity: number | null;
}

export type LayoutReply = { ok: true; history: Buffer } | { ok: false; reason: string; error: string };

export type LayoutMessage =
  // From the CLI (over RPC) and from peers pulling the history:
  | { type: 'getLayout'; replyTo: Ref<LayoutReply> }
  | { type: 'stageRole'; nodeId: string; role: NodeRole | null; replyTo: Ref<LayoutReply> }
  | { type: 'stageParameters'; parameters: LayoutParameters; replyTo: Ref<LayoutReply> }
  | { type: 'apply'; version: number; replyTo: Ref<LayoutReply> }
  | { type: 'revert'; replyTo: Ref<LayoutReply> }
  // From membership:
  | { type: 'peerDigest'; peerId: string; digest: string }
  // From the tables actor: writes begun under older versions are done; what all tables synced.
  | { type: 'writesDrained'; version: number }
  | { type: 'tablesSynced'; version: number }
  // Internal:
  | { type: 'retryDrain' }
  | { type: 'pulled'; peerId: string; outcome: Outcome<LayoutReply> }
  | { type: 'persisted'; outcome: Outcome<void> };

/** What the layout actor tells the tables actor. */
export type LayoutTablesMessage = { type: 'layoutChanged'; history: LayoutHistory } | { type: 'drainWrites'; version: number } | { type: 'reportSync' };

/** A drain that got no answer (a table failed it) is asked for again after this long. */
const DRAIN_RETRY_MS = 60_000;
const DRAIN_RETRY_TIMER = 'drain-retry';

export const LAYOUT_REMOTE_TYPES = ['getLayout', 'stageRole', 'stageParameters', 'apply', 'revert'] as const;

export interface LayoutComponents {
  selfId: string;
  initial: LayoutHistory;
  persist: (encoded: Buffer) => Promise<void>;
  /** Told of every change, so that gossip carries the new digest. */
  membership: Ref<{ type: 'layoutChanged'; summary: LayoutSummary }>;
  /**
   * Told of every change, so that tables place their replicas by it; asked to drain writes before
   * this node acknowledges a version. Null: a node without tables, which acknowledges and reports
   * sync at once (it holds nothing).
   */
  tables: Ref<LayoutTablesMessage> | null;
  /** Told of every change, so that blocks go to the right holders. */
  blocks: Ref<{ type: 'layoutChanged'; history: LayoutHistory }> | null;
  pullTimeoutMs: number;
  nowMs: () => number;
}

interface LayoutState {
  history: LayoutHistory;
  digest: string;
  pullsInFlight: Set<string>;
  persistInFlight: boolean;
  persistAgain: boolean;
  merges: number;
  /** The version whose drain was asked of the tables (0: none). */
  drainAsked: number;
  /** The newest version every table on this node has synced. */
  tablesSynced: number;
}

type Context = ActorContext<LayoutMessage, LayoutState, LayoutComponents>;

export const layoutActor = defineActor<LayoutMessage, LayoutState, LayoutComponents>({
  kind: 'layout',
  remote: { accepts: LAYOUT_REMOTE_TYPES },
  supervision: restartWithBackoff(),
  init(context) {
    const history = context.components.initial;
    const state: LayoutState = { history, digest: history.digest(), pullsInFlight: new Set(), persistInFlight: false, persistAgain: false, merges: 0, drainAsked: 0, tablesSynced: 0 };
    context.tell(context.components.membership, { type: 'layoutChanged', summary: summarize(context.components.selfId, history, state.digest) });
    // After a restart: the tables say again what they synced, and trackers move on from there.
    if (context.components.tables) context.tell(context.components.tables, { type: 'reportSync' });
    context.tell(context.self, { type: 'retryDrain' });
    return state;
  },
  handle(message, context) {
    switch (message.type) {
      case 'getLayout': return context.tell(message.replyTo, { ok: true, history: context.state.history.encode() });
      case 'stageRole': return edit(context, message.replyTo, (history, edit) => history.stageRole(message.nodeId, message.role, edit));
      case 'stageParameters': return edit(context, message.replyTo, (history, edit) => history.stageParameters(message.parameters, edit));
      case 'apply': return edit(context, message.replyTo, (history, edit) => history.apply(message.version, edit).history);
      case 'revert': return edit(context, message.replyTo, (history, edit) => history.revert(edit));
      case 'peerDigest': return onPeerDigest(message.peerId, message.digest, context);
      case 'writesDrained': return onWritesDrained(message.version, context);
      case 'tablesSynced':
        context.state.tablesSynced = Math.max(context.state.tablesSynced, message.version);
        return adopt(context.state.history, context);
      case 'retryDrain':
        context.state.drainAsked = 0;
        return adopt(context.state.history, context);
      case 'pulled': return onPulled(message.peerId, message.outcome, context);
      case 'persisted': return onPersisted(message.outcome, context);
      default: return assertNever(message);
    }
  },
  status(context) {
    const history = context.state.history;
    return { version: history.current.version, oldestLive: history.oldestLive.version, digest: context.state.digest.slice(0, 16), merges: context.state.merges, staged: history.hasStagedChanges() };
  },
});

/** An operator edit: applied locally, then spread by gossip. A refused edit says why. */
function edit(context: Context, replyTo: Ref<LayoutReply>, change: (history: LayoutHistory, edit: { nodeId: string; nowMs: number }) => LayoutHistory): void {
  let next: LayoutHistory;
  try {
    next = change(context.state.history, { nodeId: context.components.selfId, nowMs: context.components.nowMs() });
  } catch (error) {
    if (!(error instanceof LayoutError)) throw error;
    return context.tell(replyTo, { ok: false, reason: error.reason, error: error.message });
  }
  adopt(next, context);
  context.tell(replyTo, { ok: true, history: context.state.history.encode() });
}

function onPeerDigest(peerId: string, digest: string, context: Context): void {
  const state = context.state;
  if (digest === state.digest || state.pullsInFlight.has(peerId)) return;
  state.pullsInFlight.add(peerId);
  const target: Ref<LayoutMessage> = { node: peerId, path: context.path };
  const reply = context.ask(target, (replyTo: Ref<LayoutReply>) => ({ type: 'getLayout' as const, replyTo }), context.components.pullTimeoutMs);
  context.pipeToSelf(reply, (outcome) => ({ type: 'pulled', peerId, outcome }));
}

function onPulled(peerId: string, outcome: Outcome<LayoutReply>, context: Context): void {
  context.state.pullsInFlight.delete(peerId);
  if (!outcome.ok || !outcome.value.ok) {
    context.log.debug('layout pull failed', { peer: peerId.slice(0, 16), error: outcome.ok ? (outcome.value as { error: string }).error : outcome.error.message });
    return;
  }
  let theirs: LayoutHistory;
  try {
    theirs = LayoutHistory.decode(outcome.value.history);
  } catch (error) {
    // A peer with another replication factor or a damaged history: refuse it, loudly.
    context.log.warn('refusing a peer layout', { peer: peerId.slice(0, 16), error: (error as Error).message });
    return;
  }
  if (theirs.replicationFactor !== context.state.history.replicationFactor) {
    context.log.warn('refusing a peer layout with another replication factor', { peer: peerId.slice(0, 16), theirs: theirs.replicationFactor });
    return;
  }
  context.state.merges++;
  adopt(context.state.history.merge(theirs), context);
}

function onWritesDrained(version: number, context: Context): void {
  context.cancelTimer(DRAIN_RETRY_TIMER);
  adopt(context.state.history.acknowledge(context.components.selfId, Math.min(version, context.state.history.current.version)), context);
}

/**
 * Takes a new history (edited or merged), moves this node's trackers forward, and if anything
 * changed, persists it and tells membership and the tables. The trackers, for this node:
 *   - ack: the tables have drained every write begun under an older version (asked here);
 *   - sync: the tables' syncers proved they hold the current version's data (they report it),
 *     never beyond what every node acknowledged;
 *   - syncAck: every storage node synced the version, so this node reads nothing older.
 */
function adopt(candidate: LayoutHistory, context: Context): void {
  const selfId = context.components.selfId;
  const tables = context.components.tables;
  let history = candidate;
  const current = history.current.version;
  if (history.tracker('ack', selfId) < current) {
    if (!tables) history = history.acknowledge(selfId, current);
    else if (context.state.drainAsked < current) {
      context.state.drainAsked = current;
      context.tell(tables, { type: 'drainWrites', version: current });
      context.startTimer(DRAIN_RETRY_TIMER, DRAIN_RETRY_MS, { type: 'retryDrain' });
    }
  }
  const syncTarget = tables ? Math.min(context.state.tablesSynced, history.allAcknowledged()) : history.allAcknowledged();
  if (history.tracker('sync', selfId) < syncTarget) history = history.markSynced(selfId, syncTarget);
  const synced = history.allSynced();
  if (history.tracker('syncAck', selfId) < synced) history = history.markSyncAcknowledged(selfId, synced);
  const digest = history.digest();
  if (digest === context.state.digest) return;
  const previousVersion = context.state.history.current.version;
  context.state.history = history;
  context.state.digest = digest;
  if (history.current.version !== previousVersion) context.log.info('layout version', { version: history.current.version });
  persist(context);
  context.tell(context.components.membership, { type: 'layoutChanged', summary: summarize(selfId, history, digest) });
  if (context.components.tables) context.tell(context.components.tables, { type: 'layoutChanged', history });
  if (context.components.blocks) context.tell(context.components.blocks, { type: 'layoutChanged', history });
}

function persist(context: Context): void {
  const state = context.state;
  if (state.persistInFlight) {
    state.persistAgain = true;
    return;
  }
  state.persistInFlight = true;
  context.pipeToSelf(context.components.persist(state.history.encode()), (outcome) => ({ type: 'persisted', outcome }));
}

function onPersisted(outcome: Outcome<void>, context: Context): void {
  const state = context.state;
  state.persistInFlight = false;
  if (!outcome.ok) context.log.error('cannot save the layout', { error: outcome.error.message });
  if (state.persistAgain || !outcome.ok) {
    state.persistAgain = false;
    if (outcome.ok) persist(context);
  }
}

export function summarize(selfId: string, history: LayoutHistory, digest: string): LayoutSummary {
  const role = history.current.roles.get(selfId);
  return { version: history.current.version, digest, zone: role?.zone ?? null, capacity: role?.capacity ?? null };
}
