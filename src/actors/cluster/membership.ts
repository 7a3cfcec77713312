// The membership actor: dials bootstrap and gossiped peers, pings them, gossips this node's
// status, answers `grange status`, and keeps the peer list on disk so that a restarted node
// finds the cluster without bootstrap peers. Decisions live in src/protocols/membership.
import { assertNever, defineActor, restartWithBackoff, type ActorContext, type Outcome, type Ref } from '../runtime';
import {
  clusterStatus,
  dueDials,
  duePings,
  initialMembership,
  isNodeId,
  knownPeerAddresses,
  learnPeer,
  MEMBERSHIP_LIMITS,
  onDialFailed,
  onGossip,
  onPeerDown,
  onPeerUp,
  onPingResult,
  type ClusterNodeStatus,
  type MembershipLimits,
  type MembershipState,
  type NodeStatusInfo,
  type PeerAddress,
} from '../../protocols/membership/peers';
import type { NetEvent, NetMessage } from '../net/net';
import type { LayoutMessage, LayoutSummary } from './layout';

export interface ClusterStatus {
  nodes: ClusterNodeStatus[];
}

export type ConnectResult = { ok: true; peerId: string } | { ok: false; error: string };

export type MembershipMessage =
  | NetEvent
  | { type: 'tick' }
  | { type: 'pingResult'; peerId: string; sentAtMs: number; outcome: Outcome<unknown> }
  | { type: 'diskSpace'; outcome: Outcome<{ available: number; total: number } | null> }
  | { type: 'persisted'; version: number; outcome: Outcome<void> }
  | { type: 'layoutChanged'; summary: LayoutSummary }
  // From other nodes and CLI clients:
  | { type: 'ping'; replyTo: Ref<{ type: 'pong' }> }
  | { type: 'gossip'; from: string; status: NodeStatusInfo; peers: PeerAddress[] }
  | { type: 'getClusterStatus'; replyTo: Ref<ClusterStatus> }
  | { type: 'connect'; addr: string; peerId: string | null; replyTo: Ref<ConnectResult> };

export const MEMBERSHIP_REMOTE_TYPES = ['ping', 'gossip', 'getClusterStatus', 'connect'] as const;

export interface MembershipComponents {
  selfId: string;
  publicAddr: string;
  hostname: string;
  version: string;
  bootstrap: { addr: string; id?: string }[];
  persistedPeers: PeerAddress[];
  net: Ref<NetMessage>;
  /** Told of peers' layout digests; null where no layout runs (a CLI client). */
  layout: Ref<LayoutMessage> | null;
  persistPeers: (peers: PeerAddress[]) => Promise<void>;
  diskSpace: () => Promise<{ available: number; total: number } | null>;
  pingTimeoutMs: number;
  nowMs: () => number;
  random: () => number;
  limits?: MembershipLimits;
}

interface MembershipActorState {
  membership: MembershipState;
  self: NodeStatusInfo;
  lastGossipAtMs: number;
  lastDiskCheckAtMs: number;
  persistedVersion: number;
  persistInFlight: boolean;
  connectWaiters: { addr: string; peerId: string | null; replyTo: Ref<ConnectResult> }[];
}

type Context = ActorContext<MembershipMessage, MembershipActorState, MembershipComponents>;

const TICK_TIMER = 'tick';
const TICK_INTERVAL_MS = 250;
const DISK_CHECK_INTERVAL_MS = 30_000;

export const membershipActor = defineActor<MembershipMessage, MembershipActorState, MembershipComponents>({
  kind: 'membership',
  remote: { accepts: MEMBERSHIP_REMOTE_TYPES },
  supervision: restartWithBackoff(),
  init(context) {
    const c = context.components;
    const nowMs = c.nowMs();
    context.startTimer(TICK_TIMER, TICK_INTERVAL_MS, { type: 'tick' }, { repeat: true });
    context.tell(context.self, { type: 'tick' });
    const membership = initialMembership(c.selfId, c.bootstrap, c.persistedPeers, nowMs);
    return {
      membership,
      self: { id: c.selfId, hostname: c.hostname, addr: c.publicAddr, version: c.version, startedAtMs: nowMs, dataPartition: null },
      lastGossipAtMs: 0,
      lastDiskCheckAtMs: -Infinity,
      persistedVersion: membership.peerListVersion,
      persistInFlight: false,
      connectWaiters: [],
    };
  },
  handle(message, context) {
    switch (message.type) {
      case 'tick': return onTick(context);
      case 'peerUp': return onNetPeerUp(message, context);
      case 'peerDown': return onNetPeerDown(message.peerId, context);
      case 'dialFailed': return onNetDialFailed(message.addr, message.reason, context);
      case 'pingResult': return onPingOutcome(message, context);
      case 'diskSpace': return onDiskSpace(message.outcome, context);
      case 'persisted': return onPersisted(message.version, message.outcome, context);
      case 'layoutChanged': return onLayoutChanged(message.summary, context);
      case 'ping': return context.tell(message.replyTo, { type: 'pong' });
      case 'gossip': return onGossipMessage(message, context);
      case 'getClusterStatus': return context.tell(message.replyTo, { nodes: clusterStatus(context.state.membership, context.state.self, context.components.nowMs(), limits(context)) });
      case 'connect': return onConnect(message, context);
      default: return assertNever(message);
    }
  },
  status(context) {
    const peers = [...context.state.membership.peers.values()];
    return { knownPeers: peers.length, connected: peers.filter((peer) => peer.connected).length };
  },
});

function limits(context: Context): MembershipLimits {
  return context.components.limits ?? MEMBERSHIP_LIMITS;
}

function onTick(context: Context): void {
  const { membership } = context.state;
  const nowMs = context.components.nowMs();
  for (const plan of dueDials(membership, nowMs)) {
    context.tell(context.components.net, { type: 'dial', addr: plan.addr, ...(plan.expectedId ? { expectedPeerId: plan.expectedId } : {}) });
  }
  for (const peerId of duePings(membership, nowMs, limits(context))) sendPing(peerId, nowMs, context);
  if (nowMs - context.state.lastGossipAtMs >= limits(context).gossipIntervalMs) gossipToAll(context);
  if (nowMs - context.state.lastDiskCheckAtMs >= DISK_CHECK_INTERVAL_MS) checkDiskSpace(context);
  persistIfChanged(context);
}

function sendPing(peerId: string, sentAtMs: number, context: Context): void {
  const target: Ref<MembershipMessage> = { node: peerId, path: context.path };
  const pong = context.ask(target, (replyTo: Ref<{ type: 'pong' }>) => ({ type: 'ping' as const, replyTo }), context.components.pingTimeoutMs);
  context.pipeToSelf(pong, (outcome) => ({ type: 'pingResult', peerId, sentAtMs, outcome }));
}

function onPingOutcome(message: Extract<MembershipMessage, { type: 'pingResult' }>, context: Context): void {
  const nowMs = context.components.nowMs();
  const rttMs = message.outcome.ok ? nowMs - message.sentAtMs : null;
  const membership = context.state.membership;
  onPingResult(membership, message.peerId, rttMs, nowMs, limits(context));
  const peer = membership.peers.get(message.peerId);
  // A connection that carries no pings any more (a NAT that forgot it, a half-dead link) is
  // closed, so that the peer is dialed afresh instead of waiting on a zombie.
  if (peer && peer.connected && peer.missedPings === limits(context).missedPingsMax) {
    context.log.warn('peer stopped answering pings; reconnecting', { peer: peer.id.slice(0, 16), missed: peer.missedPings });
    context.tell(context.components.net, { type: 'disconnect', peerId: peer.id, reason: `${peer.missedPings} pings missed` });
  }
}

function gossipToAll(context: Context): void {
  const state = context.state;
  state.lastGossipAtMs = context.components.nowMs();
  const peers = knownPeerAddresses(state.membership);
  for (const peer of state.membership.peers.values()) {
    if (peer.connected) gossipTo(peer.id, peers, context);
  }
}

function gossipTo(peerId: string, peers: PeerAddress[], context: Context): void {
  const target: Ref<MembershipMessage> = { node: peerId, path: context.path };
  context.tell(target, { type: 'gossip', from: context.components.selfId, status: context.state.self, peers });
}

function onNetPeerUp(event: Extract<NetEvent, { type: 'peerUp' }>, context: Context): void {
  if (event.role !== 'node') return; // CLI clients are not members
  const state = context.state;
  onPeerUp(state.membership, event, context.components.nowMs());
  gossipTo(event.peerId, knownPeerAddresses(state.membership), context);
  answerConnectWaiters(context, (waiter) => waiter.peerId === event.peerId || waiter.addr === event.dialAddr, { ok: true, peerId: event.peerId });
  context.log.info('peer up', { peer: event.peerId.slice(0, 16), addr: event.publicAddr });
}

function onNetPeerDown(peerId: string, context: Context): void {
  if (!context.state.membership.peers.has(peerId)) return;
  onPeerDown(context.state.membership, peerId, context.components.nowMs(), context.components.random, limits(context));
  context.log.info('peer down', { peer: peerId.slice(0, 16) });
}

function onNetDialFailed(addr: string, reason: string, context: Context): void {
  onDialFailed(context.state.membership, addr, context.components.nowMs(), context.components.random, limits(context));
  answerConnectWaiters(context, (waiter) => waiter.addr === addr, { ok: false, error: `cannot connect to ${addr}: ${reason}` });
  context.log.debug('dial failed', { addr, reason });
}

function onGossipMessage(message: Extract<MembershipMessage, { type: 'gossip' }>, context: Context): void {
  if (!isNodeId(message.from) || !Array.isArray(message.peers) || typeof message.status !== 'object' || message.status === null) return;
  const peers = message.peers.filter((peer) => isNodeId(peer?.id) && typeof peer.addr === 'string' && peer.addr.length < 300);
  onGossip(context.state.membership, message.from, message.status, peers, context.components.nowMs());
  const digest = message.status.layoutDigest;
  const layout = context.components.layout;
  if (layout && typeof digest === 'string' && digest !== context.state.self.layoutDigest) {
    context.tell(layout, { type: 'peerDigest', peerId: message.from, digest });
  }
}

/** The layout changed here: gossip says so at the next tick rather than after the interval. */
function onLayoutChanged(summary: LayoutSummary, context: Context): void {
  context.state.self = { ...context.state.self, layoutVersion: summary.version, layoutDigest: summary.digest, zone: summary.zone, capacity: summary.capacity };
  context.state.lastGossipAtMs = 0;
}

function onConnect(message: Extract<MembershipMessage, { type: 'connect' }>, context: Context): void {
  const state = context.state;
  if (message.peerId !== null) {
    const known = state.membership.peers.get(message.peerId);
    if (known?.connected) return context.tell(message.replyTo, { ok: true, peerId: message.peerId });
    learnPeer(state.membership, { id: message.peerId, addr: message.addr }, context.components.nowMs());
  }
  state.connectWaiters.push({ addr: message.addr, peerId: message.peerId, replyTo: message.replyTo });
  context.tell(context.components.net, { type: 'dial', addr: message.addr, ...(message.peerId ? { expectedPeerId: message.peerId } : {}) });
}

function answerConnectWaiters(context: Context, matches: (waiter: MembershipActorState['connectWaiters'][number]) => boolean, result: ConnectResult): void {
  const state = context.state;
  const remaining: typeof state.connectWaiters = [];
  for (const waiter of state.connectWaiters) {
    if (matches(waiter)) context.tell(waiter.replyTo, result);
    else remaining.push(waiter);
  }
  state.connectWaiters = remaining;
}

function checkDiskSpace(context: Context): void {
  context.state.lastDiskCheckAtMs = context.components.nowMs();
  context.pipeToSelf(context.components.diskSpace(), (outcome) => ({ type: 'diskSpace', outcome }));
}

function onDiskSpace(outcome: Outcome<{ available: number; total: number } | null>, context: Context): void {
  context.state.self = { ...context.state.self, dataPartition: outcome.ok ? outcome.value : null };
}

function persistIfChanged(context: Context): void {
  const state = context.state;
  const version = state.membership.peerListVersion;
  if (state.persistInFlight || version === state.persistedVersion) return;
  state.persistInFlight = true;
  context.pipeToSelf(context.components.persistPeers(knownPeerAddresses(state.membership)), (outcome) => ({ type: 'persisted', version, outcome }));
}

function onPersisted(version: number, outcome: Outcome<void>, context: Context): void {
  context.state.persistInFlight = false;
  if (outcome.ok) context.state.persistedVersion = version;
  else context.log.warn('cannot save the peer list', { error: outcome.error.message });
}
