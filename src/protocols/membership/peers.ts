// Membership as a pure state machine: which peers this node knows, which are up, whom to dial,
// whom to ping, what to gossip. The membership actor feeds it events and the clock, and carries
// out the dials, pings and writes it asks for.
//
// A peer is up while it has a connection and has not missed MISSED_PINGS_MAX pings in a row. A
// peer without a connection is dialed again after a capped, jittered exponential backoff.
import { backoffDelayMs, type Backoff } from '../../actors/runtime/supervision';

export interface MembershipLimits {
  pingIntervalMs: number;
  missedPingsMax: number;
  gossipIntervalMs: number;
  dialBackoff: Backoff;
  /** Peers learned by gossip, at most: a confused or hostile peer cannot make us dial the world. */
  knownPeersMax: number;
  /** Weight of the newest RTT sample in the moving average. */
  rttSmoothing: number;
}

export const MEMBERSHIP_LIMITS: MembershipLimits = {
  pingIntervalMs: 2_000,
  missedPingsMax: 3,
  gossipIntervalMs: 3_000,
  dialBackoff: { minMs: 500, maxMs: 60_000, jitter: 0.2 },
  knownPeersMax: 1_000,
  rttSmoothing: 0.3,
};

/** What each node says of itself, gossiped to the others. */
export interface NodeStatusInfo {
  id: string;
  hostname: string;
  addr: string;
  version: string;
  startedAtMs: number;
  dataPartition: { available: number; total: number } | null;
  /** Zone and capacity in the current layout (null: no role). */
  zone?: string | null;
  capacity?: number | null;
  /** The layout this node holds: peers with another digest pull and merge it. */
  layoutVersion?: number;
  layoutDigest?: string;
}

export interface PeerRecord {
  id: string;
  addr: string | null;
  connected: boolean;
  missedPings: number;
  pingInFlight: boolean;
  nextPingAtMs: number;
  lastSeenMs: number | null;
  rttMs: number | null;
  status: NodeStatusInfo | null;
  dialAttempts: number;
  dialInFlight: boolean;
  nextDialAtMs: number;
}

/** A configured bootstrap address whose node id may not be known yet. */
export interface BootstrapEntry {
  addr: string;
  expectedId: string | null;
  dialAttempts: number;
  dialInFlight: boolean;
  nextDialAtMs: number;
  /** Set once a connection through this address told us who is there. */
  resolvedId: string | null;
}

export interface MembershipState {
  selfId: string;
  peers: Map<string, PeerRecord>;
  bootstrap: BootstrapEntry[];
  /** Bumped whenever the persisted peer list would change. */
  peerListVersion: number;
}

export interface PeerAddress {
  id: string;
  addr: string;
}

export interface DialPlan {
  addr: string;
  expectedId: string | null;
}

export function initialMembership(selfId: string, bootstrap: { addr: string; id?: string }[], persisted: PeerAddress[], nowMs: number): MembershipState {
  const state: MembershipState = { selfId, peers: new Map(), bootstrap: [], peerListVersion: 0 };
  for (const entry of bootstrap) {
    if (entry.id === selfId) continue;
    state.bootstrap.push({ addr: entry.addr, expectedId: entry.id ?? null, dialAttempts: 0, dialInFlight: false, nextDialAtMs: nowMs, resolvedId: null });
  }
  for (const peer of persisted) learnPeer(state, peer, nowMs);
  return state;
}

function newPeer(id: string, addr: string | null, nowMs: number): PeerRecord {
  return {
    id,
    addr,
    connected: false,
    missedPings: 0,
    pingInFlight: false,
    nextPingAtMs: nowMs,
    lastSeenMs: null,
    rttMs: null,
    status: null,
    dialAttempts: 0,
    dialInFlight: false,
    nextDialAtMs: nowMs,
  };
}

/** Adds a peer (or a better address for it); returns whether anything changed. */
export function learnPeer(state: MembershipState, peer: PeerAddress, nowMs: number, limits = MEMBERSHIP_LIMITS): boolean {
  if (peer.id === state.selfId || !isNodeId(peer.id)) return false;
  const existing = state.peers.get(peer.id);
  if (existing) {
    if (existing.addr === peer.addr || existing.connected) return false;
    existing.addr = peer.addr;
    state.peerListVersion++;
    return true;
  }
  if (state.peers.size >= limits.knownPeersMax) return false;
  state.peers.set(peer.id, newPeer(peer.id, peer.addr, nowMs));
  state.peerListVersion++;
  return true;
}

export function onPeerUp(state: MembershipState, event: { peerId: string; publicAddr: string; dialAddr: string | null }, nowMs: number): void {
  let peer = state.peers.get(event.peerId);
  if (!peer) {
    peer = newPeer(event.peerId, null, nowMs);
    state.peers.set(event.peerId, peer);
  }
  const addr = event.publicAddr || event.dialAddr;
  if (addr && peer.addr !== addr) {
    peer.addr = addr;
    state.peerListVersion++;
  }
  peer.connected = true;
  peer.dialInFlight = false;
  peer.dialAttempts = 0;
  peer.missedPings = 0;
  peer.lastSeenMs = nowMs;
  peer.nextPingAtMs = nowMs;
  for (const entry of state.bootstrap) {
    if (entry.addr === event.dialAddr) {
      entry.dialInFlight = false;
      entry.resolvedId = event.peerId;
    }
  }
}

export function onPeerDown(state: MembershipState, peerId: string, nowMs: number, random: () => number, limits = MEMBERSHIP_LIMITS): void {
  const peer = state.peers.get(peerId);
  if (!peer) return;
  peer.connected = false;
  peer.pingInFlight = false;
  peer.dialInFlight = false;
  peer.nextDialAtMs = nowMs + backoffDelayMs(limits.dialBackoff, peer.dialAttempts, random);
}

export function onDialFailed(state: MembershipState, addr: string, nowMs: number, random: () => number, limits = MEMBERSHIP_LIMITS): void {
  for (const peer of state.peers.values()) {
    if (peer.addr !== addr || !peer.dialInFlight) continue;
    peer.dialInFlight = false;
    peer.dialAttempts++;
    peer.nextDialAtMs = nowMs + backoffDelayMs(limits.dialBackoff, peer.dialAttempts, random);
  }
  for (const entry of state.bootstrap) {
    if (entry.addr !== addr || !entry.dialInFlight) continue;
    entry.dialInFlight = false;
    entry.dialAttempts++;
    entry.nextDialAtMs = nowMs + backoffDelayMs(limits.dialBackoff, entry.dialAttempts, random);
  }
}

/** Dials that are due now; marks them in flight. */
export function dueDials(state: MembershipState, nowMs: number): DialPlan[] {
  const plans: DialPlan[] = [];
  const planned = new Set<string>();
  for (const peer of state.peers.values()) {
    if (peer.connected || peer.dialInFlight || peer.addr === null || peer.nextDialAtMs > nowMs) continue;
    peer.dialInFlight = true;
    planned.add(peer.addr);
    plans.push({ addr: peer.addr, expectedId: peer.id });
  }
  for (const entry of state.bootstrap) {
    const resolvedPeer = entry.resolvedId ? state.peers.get(entry.resolvedId) : undefined;
    // A resolved bootstrap entry is redialed through its peer record, which knows the address.
    if (resolvedPeer || entry.dialInFlight || entry.nextDialAtMs > nowMs || planned.has(entry.addr)) continue;
    if (entry.expectedId && state.peers.get(entry.expectedId)?.connected) continue;
    entry.dialInFlight = true;
    plans.push({ addr: entry.addr, expectedId: entry.expectedId });
  }
  return plans;
}

/** Pings that are due now; marks them in flight. */
export function duePings(state: MembershipState, nowMs: number, limits = MEMBERSHIP_LIMITS): string[] {
  const due: string[] = [];
  for (const peer of state.peers.values()) {
    if (!peer.connected || peer.pingInFlight || peer.nextPingAtMs > nowMs) continue;
    peer.pingInFlight = true;
    peer.nextPingAtMs = nowMs + limits.pingIntervalMs;
    due.push(peer.id);
  }
  return due;
}

export function onPingResult(state: MembershipState, peerId: string, rttMs: number | null, nowMs: number, limits = MEMBERSHIP_LIMITS): void {
  const peer = state.peers.get(peerId);
  if (!peer) return;
  peer.pingInFlight = false;
  if (rttMs === null) {
    peer.missedPings++;
    return;
  }
  peer.missedPings = 0;
  peer.lastSeenMs = nowMs;
  peer.rttMs = peer.rttMs === null ? rttMs : peer.rttMs * (1 - limits.rttSmoothing) + rttMs * limits.rttSmoothing;
}

export function isUp(peer: PeerRecord, limits = MEMBERSHIP_LIMITS): boolean {
  return peer.connected && peer.missedPings < limits.missedPingsMax;
}

/** A gossip message from a connected peer: its own status and the peers it knows. */
export function onGossip(state: MembershipState, fromId: string, status: NodeStatusInfo, peers: PeerAddress[], nowMs: number): void {
  const sender = state.peers.get(fromId);
  if (sender && status.id === fromId) {
    sender.status = status;
    sender.lastSeenMs = nowMs;
  }
  for (const peer of peers) learnPeer(state, peer, nowMs);
}

/** Peers worth telling others about (and worth persisting): those with an address. */
export function knownPeerAddresses(state: MembershipState): PeerAddress[] {
  return [...state.peers.values()].filter((peer) => peer.addr !== null).map((peer) => ({ id: peer.id, addr: peer.addr! }));
}

export interface ClusterNodeStatus {
  id: string;
  isSelf: boolean;
  addr: string | null;
  isUp: boolean;
  lastSeenSecsAgo: number | null;
  rttMs: number | null;
  hostname: string | null;
  version: string | null;
  uptimeSecs: number | null;
  dataPartition: { available: number; total: number } | null;
  zone: string | null;
  capacity: number | null;
  layoutVersion: number | null;
}

export function clusterStatus(state: MembershipState, self: NodeStatusInfo, nowMs: number, limits = MEMBERSHIP_LIMITS): ClusterNodeStatus[] {
  const nodes: ClusterNodeStatus[] = [describeNode(self, true, true, nowMs, 0, null)];
  for (const peer of state.peers.values()) {
    const lastSeen = peer.lastSeenMs === null ? null : Math.max(0, Math.round((nowMs - peer.lastSeenMs) / 1000));
    nodes.push({
      ...describeNode(peer.status, false, isUp(peer, limits), nowMs, lastSeen, peer.rttMs),
      id: peer.id,
      addr: peer.addr ?? peer.status?.addr ?? null,
    });
  }
  return nodes.sort((a, b) => (a.id < b.id ? -1 : 1));
}

function describeNode(status: NodeStatusInfo | null, isSelf: boolean, up: boolean, nowMs: number, lastSeenSecsAgo: number | null, rttMs: number | null): ClusterNodeStatus {
  return {
    id: status?.id ?? '',
    isSelf,
    addr: status?.addr ?? null,
    isUp: up,
    lastSeenSecsAgo,
    rttMs: rttMs === null ? null : Math.round(rttMs * 10) / 10,
    hostname: status?.hostname ?? null,
    version: status?.version ?? null,
    uptimeSecs: status ? Math.max(0, Math.round((nowMs - status.startedAtMs) / 1000)) : null,
    dataPartition: status?.dataPartition ?? null,
    zone: status?.zone ?? null,
    capacity: status?.capacity ?? null,
    layoutVersion: status?.layoutVersion ?? null,
  };
}

export function isNodeId(text: unknown): text is string {
  return typeof text === 'string' && /^[0-9a-f]{64}$/.test(text);
}
