// The net actor: the WebSocket listener on rpc_bind_addr and one child connection actor per
// socket. It keeps exactly one connection per peer and publishes the route to it, so remote
// delivery finds it without a hop through this mailbox.
//
// Two nodes may dial each other at the same moment. Both ends then keep the connection dialed by
// the node with the smaller id and close the other: each end knows who dialed each connection,
// so both make the same choice without talking about it.
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { assertNever, defineActor, replyToOf, restartWithBackoff, type ActorContext, type InitContext, type Outcome, type Ref } from '../runtime';
import type { Envelope } from '../../protocols/rpc/envelope';
import type { HandshakeParty } from '../../protocols/rpc/handshake';
import { WEBSOCKET_PAYLOAD_BYTES_MAX } from '../../protocols/rpc/limits';
import { connectionActor, type ConnectionDirection, type ConnectionEvent, type ConnectionMessage, type ConnectionSend } from './connection';
import { PeerUnreachableError } from './remote-delivery';
import { NET_LIMITS } from './limits';

/** Route table shared with remote delivery: written only by this actor. */
export type PeerRoutes = Map<string, Ref<ConnectionMessage>>;

/** What the net actor reports to membership. */
export type NetEvent =
  | { type: 'peerUp'; peerId: string; publicAddr: string; role: 'node' | 'client'; dialAddr: string | null }
  | { type: 'peerDown'; peerId: string; reason: string }
  | { type: 'dialFailed'; addr: string; reason: string };

export type ListenReport = { ok: true; addr: string } | { ok: false; error: string } | { ok: true; addr: null };

export interface ConnectionSummary {
  name: string;
  direction: ConnectionDirection;
  peerId: string | null;
  peerRole: 'node' | 'client' | null;
  routed: boolean;
}

export type NetMessage =
  | ConnectionEvent
  | { type: 'dial'; addr: string; expectedPeerId?: string }
  | { type: 'disconnect'; peerId: string; reason: string }
  | { type: 'inbound'; socket: WebSocket }
  | { type: 'listenResult'; outcome: Outcome<string> }
  | { type: 'awaitListening'; replyTo: Ref<ListenReport> }
  | { type: 'getConnections'; replyTo: Ref<ConnectionSummary[]> };

export interface NetComponents {
  party: HandshakeParty;
  /** Where to listen; null for a CLI client, which only dials. */
  listen: { host: string; port: number } | null;
  routes: PeerRoutes;
  events: Ref<NetEvent> | null;
  deliver: (envelope: Envelope, fromPeerId: string) => void;
  failAsk: (replyTo: Ref<never>, error: Error) => void;
  /** Test hook: the address actually dialed for a peer address (a link proxy in tests). */
  dialAddress?: (addr: string) => string;
}

interface ConnectionEntry {
  direction: ConnectionDirection;
  peerId: string | null;
  peerRole: 'node' | 'client' | null;
  dialAddr: string | null;
}

interface NetState {
  server: WebSocketServer | null;
  listen: ListenReport | null;
  listenWaiters: Ref<ListenReport>[];
  connections: Map<string, ConnectionEntry>;
  /** peer id -> name of the connection its route points to. */
  peers: Map<string, string>;
  dialsInFlight: Set<string>;
  sequence: number;
}

type Context = ActorContext<NetMessage, NetState, NetComponents>;

export const netActor = defineActor<NetMessage, NetState, NetComponents>({
  kind: 'net',
  supervision: restartWithBackoff(),
  init(context) {
    const server = context.components.listen ? startServer(context) : null;
    return {
      server,
      listen: server ? null : { ok: true, addr: null },
      listenWaiters: [],
      connections: new Map(),
      peers: new Map(),
      dialsInFlight: new Set(),
      sequence: 0,
    };
  },
  handle(message, context) {
    switch (message.type) {
      case 'dial': return onDial(message.addr, message.expectedPeerId, context);
      case 'disconnect': return onDisconnect(message.peerId, message.reason, context);
      case 'inbound': return onInbound(message.socket, context);
      case 'connectionUp': return onConnectionUp(message, context);
      case 'connectionClosed': return onConnectionClosed(message, context);
      case 'sendsAfterClose': return sendOnOrFail(message.peerId, message.unsent, context);
      case 'connectionEnded': return context.stopChild(message.name);
      case 'listenResult': return onListenResult(message.outcome, context);
      case 'awaitListening': return onAwaitListening(message.replyTo, context);
      case 'getConnections': return context.tell(message.replyTo, summarize(context.state));
      default: return assertNever(message);
    }
  },
  cleanup(context) {
    for (const peerId of context.state?.peers.keys() ?? []) context.components.routes.delete(peerId);
    const server = context.state?.server;
    if (!server) return;
    return new Promise<void>((resolve) => server.close(() => resolve()));
  },
  status(context) {
    const state = context.state;
    return { listening: state.listen, connections: state.connections.size, peers: state.peers.size, dialsInFlight: state.dialsInFlight.size };
  },
});

function startServer(context: InitContext<NetMessage, NetComponents>): WebSocketServer {
  const listen = context.components.listen!;
  const self = context.self;
  const server = new WebSocketServer({ host: listen.host, port: listen.port, maxPayload: WEBSOCKET_PAYLOAD_BYTES_MAX, perMessageDeflate: false });
  server.on('listening', () => context.tell(self, { type: 'listenResult', outcome: { ok: true, value: `${listen.host}:${listen.port}` } }));
  server.on('error', (error: Error) => context.tell(self, { type: 'listenResult', outcome: { ok: false, error } }));
  server.on('connection', (socket: WebSocket) => {
    // Paused until its connection actor has attached its listeners: a hello that arrived before
    // then would otherwise be emitted to nobody, and the handshake would stall.
    socket.pause();
    context.tell(self, { type: 'inbound', socket });
  });
  return server;
}

function onListenResult(outcome: Outcome<string>, context: Context): void {
  const report: ListenReport = outcome.ok ? { ok: true, addr: outcome.value } : { ok: false, error: outcome.error.message };
  if (!outcome.ok) context.log.error('cannot listen for other nodes', { addr: context.components.listen, error: outcome.error.message });
  context.state.listen = report;
  for (const waiter of context.state.listenWaiters) context.tell(waiter, report);
  context.state.listenWaiters = [];
}

function onAwaitListening(replyTo: Ref<ListenReport>, context: Context): void {
  if (context.state.listen) context.tell(replyTo, context.state.listen);
  else context.state.listenWaiters.push(replyTo);
}

function onDial(addr: string, expectedPeerId: string | undefined, context: Context): void {
  const state = context.state;
  if (expectedPeerId !== undefined && state.peers.has(expectedPeerId)) return;
  if (state.dialsInFlight.has(addr)) return;
  state.dialsInFlight.add(addr);
  const dialTarget = context.components.dialAddress?.(addr) ?? addr;
  const name = `out-${++state.sequence}`;
  state.connections.set(name, { direction: 'outbound', peerId: null, peerRole: null, dialAddr: addr });
  const endpoint = { dialAddr: addr, dialUrl: `ws://${dialTarget}/`, ...(expectedPeerId === undefined ? {} : { expectedPeerId }) };
  context.spawn(connectionActor, name, connectionComponents(context, endpoint));
}

/** Closes the connection to a peer that stopped answering, so that it is dialed afresh. */
function onDisconnect(peerId: string, reason: string, context: Context): void {
  const name = context.state.peers.get(peerId);
  const connection = name === undefined ? null : context.child<ConnectionMessage>(name);
  if (connection) context.tell(connection, { type: 'close', reason });
}

function onInbound(socket: WebSocket, context: Context): void {
  const state = context.state;
  const pending = [...state.connections.values()].filter((entry) => entry.peerId === null && entry.direction === 'inbound').length;
  if (pending >= NET_LIMITS.pendingInboundMax) {
    socket.terminate();
    return;
  }
  const name = `in-${++state.sequence}`;
  state.connections.set(name, { direction: 'inbound', peerId: null, peerRole: null, dialAddr: null });
  context.spawn(connectionActor, name, connectionComponents(context, { socket }));
}

function connectionComponents(context: Context, endpoint: { socket: WebSocket } | { dialAddr: string; dialUrl: string; expectedPeerId?: string }) {
  const { party, deliver, failAsk } = context.components;
  return { party, endpoint, net: context.self as Ref<ConnectionEvent>, deliver, failAsk };
}

function onConnectionUp(event: Extract<ConnectionEvent, { type: 'connectionUp' }>, context: Context): void {
  const state = context.state;
  const entry = state.connections.get(event.name);
  if (!entry) return;
  if (entry.dialAddr) state.dialsInFlight.delete(entry.dialAddr);
  entry.peerId = event.peerId;
  entry.peerRole = event.peerRole;
  const existingName = state.peers.get(event.peerId);
  if (existingName !== undefined && existingName !== event.name) {
    const existing = state.connections.get(existingName)!;
    if (keepsExisting(context.components.party.nodeId, event.peerId, existing, entry)) {
      context.tell(context.child<ConnectionMessage>(event.name)!, { type: 'close', reason: 'duplicate connection' });
      return;
    }
    context.tell(context.child<ConnectionMessage>(existingName)!, { type: 'close', reason: 'duplicate connection' });
  }
  state.peers.set(event.peerId, event.name);
  const connection = context.child<ConnectionMessage>(event.name)!;
  context.components.routes.set(event.peerId, connection);
  // Only now may the connection hand the peer's messages on: answers to them have a way back.
  context.tell(connection, { type: 'routed' });
  if (existingName === undefined) {
    notify(context, { type: 'peerUp', peerId: event.peerId, publicAddr: event.peerPublicAddr, role: event.peerRole, dialAddr: entry.dialAddr });
  }
}

/** Both ends keep the connection whose dialer has the smaller node id. */
function keepsExisting(ownId: string, peerId: string, existing: ConnectionEntry, fresh: ConnectionEntry): boolean {
  const dialer = (entry: ConnectionEntry): string => (entry.direction === 'outbound' ? ownId : peerId);
  const existingDialer = dialer(existing);
  const freshDialer = dialer(fresh);
  if (existingDialer === freshDialer) return true;
  return existingDialer < freshDialer;
}

function onConnectionClosed(event: Extract<ConnectionEvent, { type: 'connectionClosed' }>, context: Context): void {
  const state = context.state;
  const entry = state.connections.get(event.name);
  state.connections.delete(event.name);
  // A draining connection still delivers what the peer sent before the close; it says when it ends.
  if (!event.draining) context.stopChild(event.name);
  if (event.dialAddr) state.dialsInFlight.delete(event.dialAddr);
  if (event.peerId !== null && state.peers.get(event.peerId) === event.name) {
    state.peers.delete(event.peerId);
    context.components.routes.delete(event.peerId);
    notify(context, { type: 'peerDown', peerId: event.peerId, reason: event.reason });
  } else if (entry?.peerId === null && event.dialAddr) {
    notify(context, { type: 'dialFailed', addr: event.dialAddr, reason: event.reason });
  }
  sendOnOrFail(event.peerId, event.unsent, context);
}

/**
 * Sends a closed connection never sent: on the peer's current connection if it has one (a
 * duplicate connection closed, or the peer already dialed back), else their asks fail at once
 * rather than after a timeout. The peer cannot have received them, so nothing runs twice.
 */
function sendOnOrFail(peerId: string | null, unsent: readonly ConnectionSend[], context: Context): void {
  if (unsent.length === 0) return;
  const routeName = peerId === null ? undefined : context.state.peers.get(peerId);
  const route = routeName === undefined ? null : context.child<ConnectionMessage>(routeName);
  for (const send of unsent) {
    if (route) context.tell(route, send);
    else if (send.type === 'send') failAskOf(send.body, new PeerUnreachableError(peerId ?? 'unknown'), context);
  }
}

function failAskOf(body: unknown, error: Error, context: Context): void {
  const replyTo = replyToOf(body);
  if (replyTo) context.components.failAsk(replyTo as Ref<never>, error);
}

function notify(context: Context, event: NetEvent): void {
  if (context.components.events) context.tell(context.components.events, event);
}

function summarize(state: NetState): ConnectionSummary[] {
  return [...state.connections.entries()].map(([name, entry]) => ({
    name,
    direction: entry.direction,
    peerId: entry.peerId,
    peerRole: entry.peerRole,
    routed: entry.peerId !== null && state.peers.get(entry.peerId) === name,
  }));
}
