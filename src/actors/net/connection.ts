// One WebSocket to another node (or to a CLI client), inbound or outbound.
// Invariant: nothing the peer sends reaches any actor before the handshake has proven that the
// peer knows rpc_secret and holds the key of the node id it claims; after that, every frame is
// sealed with the session keys, and any frame that fails to open closes the connection.
// Invariant: nothing the peer sends reaches any actor before the net actor has published the
// route to this peer (it says so with `routed`): an answer to the peer, even one given at once
// (an unknown actor or message type), always finds its way back. Envelopes that arrive earlier
// (the peer's first asks often come in the same read as its last handshake message) wait here.
import WebSocket from 'ws';
import { assertNever, defineActor, replyToOf, type ActorContext, type InitContext, type Priority, type Ref } from '../runtime';
import {
  acceptClientHello,
  completeClientHandshake,
  completeServerHandshake,
  startClientHandshake,
  type ClientHandshakeState,
  type HandshakeParty,
  type HandshakeResult,
  type ServerHandshakeState,
} from '../../protocols/rpc/handshake';
import { decodeEnvelope, encodeEnvelopeParts, type Envelope, type WireError } from '../../protocols/rpc/envelope';
import { Reassembler, SendBufferFullError, SendQueue } from '../../protocols/rpc/framing';
import { RPC_LIMITS, WEBSOCKET_PAYLOAD_BYTES_MAX } from '../../protocols/rpc/limits';
import type { FrameCipher } from '../../protocols/rpc/frame-cipher';
import { NET_LIMITS } from './limits';

export type ConnectionDirection = 'inbound' | 'outbound';

/** A message for the peer, as the connection is asked to send it. */
export type ConnectionSend = { type: 'send'; to: string; body: unknown; priority: Priority } | { type: 'sendError'; to: string; error: WireError };

/** What the connection tells its parent (the net actor). */
export type ConnectionEvent =
  | { type: 'connectionUp'; name: string; direction: ConnectionDirection; peerId: string; peerRole: 'node' | 'client'; peerPublicAddr: string }
  /** `unsent`: what was queued and never wholly framed; the net actor sends it on or fails its asks. */
  | { type: 'connectionClosed'; name: string; direction: ConnectionDirection; peerId: string | null; dialAddr: string | null; reason: string; unsent: ConnectionSend[]; draining: boolean }
  /** Sends that reached this connection after it closed (its route was not withdrawn yet). */
  | { type: 'sendsAfterClose'; peerId: string | null; unsent: ConnectionSend[] }
  /** A connection closed while `draining` has stopped reading: it may be stopped now. */
  | { type: 'connectionEnded'; name: string };

export type ConnectionMessage =
  | ConnectionSend
  | { type: 'close'; reason: string }
  | { type: 'socketOpened' }
  | { type: 'socketData'; data: Buffer; isBinary: boolean }
  | { type: 'socketClosed'; code: number; reason: string }
  | { type: 'socketFailed'; error: string }
  | { type: 'flushed' }
  | { type: 'flush' }
  | { type: 'routed' }
  | { type: 'handshakeTimedOut' }
  | { type: 'drainTimedOut' };

export interface ConnectionComponents {
  party: HandshakeParty;
  /** An accepted inbound socket, or the address to dial. */
  endpoint: { socket: WebSocket } | { dialAddr: string; dialUrl: string; expectedPeerId?: string };
  net: Ref<ConnectionEvent>;
  /** Hands a verified inbound envelope to the local actor system. */
  deliver: (envelope: Envelope, fromPeerId: string) => void;
  /** Where a failed send is answered (asks queued here fail fast instead of timing out). */
  failAsk: (replyTo: Ref<never>, error: Error) => void;
}

type Phase =
  | { name: 'connecting' }
  | { name: 'client-handshake'; handshake: ClientHandshakeState }
  | { name: 'server-handshake'; handshake: ServerHandshakeState | null }
  | { name: 'open'; cipher: FrameCipher; peerId: string }
  /** `drain`: closed on purpose while open; frames the peer sent before seeing it are still opened. */
  | { name: 'closed'; drain: { cipher: FrameCipher; peerId: string } | null };

interface ConnectionState {
  socket: WebSocket;
  phase: Phase;
  sendQueue: SendQueue<ConnectionSend>;
  reassembler: Reassembler;
  framesInFlight: number;
  flushScheduled: boolean;
  peerId: string | null;
  /** The net actor has published the route to this peer: inbound envelopes go straight through. */
  routed: boolean;
  /** Envelopes opened before then, oldest first (at most NET_LIMITS.heldEnvelopesMax). */
  held: Envelope[];
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
}

type Context = ActorContext<ConnectionMessage, ConnectionState, ConnectionComponents>;

const HANDSHAKE_TIMER = 'handshake';
/** closeConnection's code when the socket itself closed or failed: nothing is left to read. */
const SOCKET_GONE = -1;
const DRAIN_TIMER = 'drain';

export const connectionActor = defineActor<ConnectionMessage, ConnectionState, ConnectionComponents>({
  kind: 'connection',
  // A connection that hits a bug is closed, never restarted: the peer dials again.
  supervision: { strategy: 'stop' },
  init(context) {
    const endpoint = context.components.endpoint;
    const socket = 'socket' in endpoint ? endpoint.socket : openSocket(endpoint.dialUrl);
    attachSocket(socket, context);
    if ('socket' in endpoint) socket.resume(); // paused by the listener until now
    context.startTimer(HANDSHAKE_TIMER, NET_LIMITS.handshakeTimeoutMs, { type: 'handshakeTimedOut' });
    return {
      socket,
      phase: 'socket' in endpoint ? { name: 'server-handshake', handshake: null } : { name: 'connecting' },
      sendQueue: new SendQueue(),
      reassembler: new Reassembler(),
      framesInFlight: 0,
      flushScheduled: false,
      peerId: null,
      routed: false,
      held: [],
      framesSent: 0,
      framesReceived: 0,
      bytesSent: 0,
      bytesReceived: 0,
    };
  },
  handle(message, context) {
    switch (message.type) {
      case 'send': return onSend(message, context);
      case 'sendError': return onSendError(message, context);
      case 'close': return closeConnection(context, message.reason);
      case 'socketOpened': return onSocketOpened(context);
      case 'socketData': return onSocketData(message.data, message.isBinary, context);
      case 'socketClosed': return context.state.phase.name === 'closed' ? endDrain(context) : closeConnection(context, `socket closed (${message.code}${message.reason ? ` ${message.reason}` : ''})`, SOCKET_GONE);
      case 'socketFailed': return context.state.phase.name === 'closed' ? endDrain(context) : closeConnection(context, message.error, SOCKET_GONE);
      case 'drainTimedOut': return endDrain(context);
      case 'flushed': return onFlushed(context);
      case 'flush': return onFlush(context);
      case 'routed': return onRouted(context);
      case 'handshakeTimedOut': return closeConnection(context, 'handshake timed out');
      default: return assertNever(message);
    }
  },
  cleanup(context) {
    const socket = context.state?.socket;
    if (!socket) return;
    socket.removeAllListeners();
    socket.on('error', () => {}); // a late error on a socket being torn down is expected
    socket.terminate();
  },
  status(context) {
    const state = context.state;
    return {
      phase: state.phase.name,
      peerId: state.peerId,
      queuedBytes: state.sendQueue.bytesQueued(),
      framesSent: state.framesSent,
      framesReceived: state.framesReceived,
      bytesSent: state.bytesSent,
      bytesReceived: state.bytesReceived,
    };
  },
});

function openSocket(url: string): WebSocket {
  return new WebSocket(url, {
    maxPayload: WEBSOCKET_PAYLOAD_BYTES_MAX,
    perMessageDeflate: false,
    handshakeTimeout: NET_LIMITS.handshakeTimeoutMs,
    // WebSocket masking protects browsers' intermediaries from attacker-chosen bytes; our frames
    // are already encrypted, and a zero mask lets ws skip a pass over every byte on both ends.
    generateMask: (mask: Buffer) => mask.fill(0),
  });
}

function attachSocket(socket: WebSocket, context: InitContext<ConnectionMessage, ConnectionComponents>): void {
  const self = context.self;
  socket.binaryType = 'nodebuffer';
  socket.on('open', () => context.tell(self, { type: 'socketOpened' }));
  socket.on('message', (data: Buffer, isBinary: boolean) => context.tell(self, { type: 'socketData', data, isBinary }));
  socket.on('close', (code: number, reason: Buffer) => context.tell(self, { type: 'socketClosed', code, reason: reason.toString().slice(0, 200) }));
  socket.on('error', (error: Error) => context.tell(self, { type: 'socketFailed', error: error.message }));
}

// ---- handshake ---------------------------------------------------------------------------------

function onSocketOpened(context: Context): void {
  const endpoint = context.components.endpoint;
  if (context.state.phase.name !== 'connecting' || 'socket' in endpoint) return;
  const expected = endpoint.expectedPeerId === undefined ? {} : { expectedServerId: endpoint.expectedPeerId };
  const { hello, state } = startClientHandshake(context.components.party, expected);
  context.state.phase = { name: 'client-handshake', handshake: state };
  context.state.socket.send(hello);
}

function onSocketData(data: Buffer, isBinary: boolean, context: Context): void {
  const phase = context.state.phase;
  if (phase.name === 'closed') return phase.drain !== null && isBinary ? onDrainFrame(phase.drain, data, context) : undefined;
  if (!isBinary) return closeConnection(context, 'text frame from peer', NET_LIMITS.closeCodeProtocolError);
  context.state.bytesReceived += data.length;
  try {
    switch (phase.name) {
      case 'connecting': return closeConnection(context, 'data before open', NET_LIMITS.closeCodeProtocolError);
      case 'server-handshake': return onServerHandshakeData(phase, data, context);
      case 'client-handshake': return onClientHandshakeData(phase.handshake, data, context);
      case 'open': return onFrame(phase.cipher, phase.peerId, data, context);
      default: return assertNever(phase);
    }
  } catch (error) {
    // Handshake failures, bad frames, undecodable envelopes: the peer is dropped, the node goes on.
    context.log.warn('dropping connection', { peer: context.state.peerId ?? 'unauthenticated', error: (error as Error).message });
    closeConnection(context, (error as Error).message, NET_LIMITS.closeCodeProtocolError);
  }
}

function onServerHandshakeData(phase: Extract<Phase, { name: 'server-handshake' }>, data: Buffer, context: Context): void {
  if (phase.handshake === null) {
    const { reply, state } = acceptClientHello(context.components.party, data);
    context.state.phase = { name: 'server-handshake', handshake: state };
    context.state.socket.send(reply);
    return;
  }
  handshakeDone(completeServerHandshake(phase.handshake, data), context);
}

function onClientHandshakeData(handshake: ClientHandshakeState, data: Buffer, context: Context): void {
  const { finish, result } = completeClientHandshake(handshake, data);
  context.state.socket.send(finish);
  handshakeDone(result, context);
}

function handshakeDone(result: HandshakeResult, context: Context): void {
  context.cancelTimer(HANDSHAKE_TIMER);
  context.state.phase = { name: 'open', cipher: result.cipher, peerId: result.peerId };
  context.state.peerId = result.peerId;
  context.tell(context.components.net, {
    type: 'connectionUp',
    name: context.name,
    direction: 'socket' in context.components.endpoint ? 'inbound' : 'outbound',
    peerId: result.peerId,
    peerRole: result.peerRole,
    peerPublicAddr: result.peerPublicAddr,
  });
  pump(context);
}

// ---- frames ------------------------------------------------------------------------------------

function onFrame(cipher: FrameCipher, peerId: string, data: Buffer, context: Context): void {
  const frame = cipher.open(data);
  const state = context.state;
  state.framesReceived++;
  for (const message of state.reassembler.accept(frame)) {
    const envelope = decodeEnvelope(message.bytes);
    if (state.routed) context.components.deliver(envelope, peerId);
    else holdEnvelope(envelope, peerId, context);
  }
}

function holdEnvelope(envelope: Envelope, peerId: string, context: Context): void {
  const state = context.state;
  state.held.push(envelope);
  // A bound, not a working size: the route comes one turn of the net actor later. Past it, the
  // connection stops waiting (an immediate answer may then be lost, the asker times out).
  if (state.held.length > NET_LIMITS.heldEnvelopesMax) releaseHeld(peerId, context);
}

function onRouted(context: Context): void {
  context.state.routed = true;
  if (context.state.peerId !== null) releaseHeld(context.state.peerId, context);
}

/** Delivers the envelopes held back so far, in order; from now on envelopes are not held. */
function releaseHeld(peerId: string, context: Context): void {
  const held = context.state.held;
  context.state.held = [];
  context.state.routed = true;
  for (const envelope of held) context.components.deliver(envelope, peerId);
}

function onSend(message: Extract<ConnectionMessage, { type: 'send' }>, context: Context): void {
  if (context.state.phase.name === 'closed') return handBackAfterClose(message, context);
  try {
    context.state.sendQueue.enqueue(encodeEnvelopeParts({ kind: 'tell', to: message.to, body: message.body }), message.priority, message);
  } catch (error) {
    const replyTo = replyToOf(message.body);
    if (replyTo) context.components.failAsk(replyTo, error as Error);
    if (!(error instanceof SendBufferFullError)) context.log.warn('message not sent', { to: message.to, error: (error as Error).message });
    return;
  }
  scheduleFlush(context);
}

/**
 * Frames go out once the sends already in the mailbox are queued too: the flush message lands
 * behind them, so a burst of small messages shares frames instead of taking one each.
 */
function scheduleFlush(context: Context): void {
  if (context.state.flushScheduled) return;
  context.state.flushScheduled = true;
  context.tell(context.self, { type: 'flush' });
}

function onFlush(context: Context): void {
  context.state.flushScheduled = false;
  pump(context);
}

function onSendError(message: Extract<ConnectionMessage, { type: 'sendError' }>, context: Context): void {
  if (context.state.phase.name === 'closed') return handBackAfterClose(message, context);
  try {
    context.state.sendQueue.enqueue(encodeEnvelopeParts({ kind: 'error', to: message.to, error: message.error }), 'interactive', message);
  } catch {
    return; // the asker times out
  }
  scheduleFlush(context);
}

/**
 * A frame left for the kernel. What queued meanwhile goes out with the next flush, behind the
 * sends already in the mailbox, rather than at once: sending here would cut a frame per write
 * callback, often holding a single small message.
 */
function onFlushed(context: Context): void {
  context.state.framesInFlight--;
  if (!context.state.sendQueue.isEmpty()) scheduleFlush(context);
}

/** Hands frames to the socket, interactive first, keeping only a few unflushed (bounded memory). */
function pump(context: Context): void {
  const state = context.state;
  // A socket that read the peer's close is CLOSING before its close event reaches this mailbox; ws
  // would drop frames given to it now. They stay queued, and are handed back when the close comes.
  if (state.phase.name !== 'open' || state.socket.readyState !== WebSocket.OPEN) return;
  const cipher = state.phase.cipher;
  const self = context.self;
  while (state.framesInFlight < RPC_LIMITS.framesInFlightMax) {
    const parts = state.sendQueue.nextFrameParts();
    if (!parts) return;
    const pieces = cipher.sealPieces(parts);
    state.framesInFlight++;
    state.framesSent++;
    // One sealed frame is one WebSocket message; its pieces are that message's fragments.
    const last = pieces.length - 1;
    pieces.forEach((piece, index) => {
      state.bytesSent += piece.length;
      if (index < last) state.socket.send(piece, { binary: true, fin: false });
      else state.socket.send(piece, { binary: true, fin: true }, () => context.tell(self, { type: 'flushed' }));
    });
  }
}

/**
 * A send that came after the close, through a route the net actor has not withdrawn yet: dropping
 * it would leave its asker waiting for a timeout, so the net actor routes it again or fails it.
 */
function handBackAfterClose(message: ConnectionSend, context: Context): void {
  context.tell(context.components.net, { type: 'sendsAfterClose', peerId: context.state.peerId, unsent: [message] });
}

function closeConnection(context: Context, reason: string, code: number = NET_LIMITS.closeCodeNormal): void {
  const state = context.state;
  const phase = state.phase;
  if (phase.name === 'closed') return;
  // What an authenticated peer sent before the close is delivered, as it would have been had the
  // route come first (a duplicate connection is closed unrouted; answers take the other one).
  if (state.peerId !== null) releaseHeld(state.peerId, context);
  context.cancelTimer(HANDSHAKE_TIMER);
  // A graceful close of an open connection keeps reading until the peer's close arrives: when both
  // ends drop a duplicate at once, each may have sent on it already, and dropping those frames
  // would leave their asks waiting for a timeout.
  // The socket may be closing already (the peer's close was read in the same chunk as frames still
  // waiting in this mailbox): those frames are drained too, until the socket's own close event.
  const drain = phase.name === 'open' && code === NET_LIMITS.closeCodeNormal ? { cipher: phase.cipher, peerId: phase.peerId } : null;
  state.phase = { name: 'closed', drain };
  if (state.socket.readyState === WebSocket.OPEN && code !== SOCKET_GONE) state.socket.close(code, reason.slice(0, NET_LIMITS.closeReasonLengthMax));
  else if (drain === null) state.socket.terminate();
  if (drain !== null) context.startTimer(DRAIN_TIMER, NET_LIMITS.drainTimeoutMs, { type: 'drainTimedOut' });
  const endpoint = context.components.endpoint;
  context.tell(context.components.net, {
    type: 'connectionClosed',
    name: context.name,
    direction: 'socket' in endpoint ? 'inbound' : 'outbound',
    peerId: state.peerId,
    dialAddr: 'socket' in endpoint ? null : endpoint.dialAddr,
    reason,
    unsent: state.sendQueue.takeUnsent(),
    draining: drain !== null,
  });
}

/** A frame that came after this end closed the connection: delivered if it opens, else the drain ends. */
function onDrainFrame(drain: { cipher: FrameCipher; peerId: string }, data: Buffer, context: Context): void {
  try {
    onFrame(drain.cipher, drain.peerId, data, context);
  } catch (error) {
    context.log.warn('dropping a closed connection', { peer: drain.peerId, error: (error as Error).message });
    endDrain(context);
  }
}

/** Stops reading a closed connection; the net actor then stops this actor. */
function endDrain(context: Context): void {
  const phase = context.state.phase;
  if (phase.name !== 'closed' || phase.drain === null) return;
  context.state.phase = { name: 'closed', drain: null };
  context.cancelTimer(DRAIN_TIMER);
  context.state.socket.terminate();
  context.tell(context.components.net, { type: 'connectionEnded', name: context.name });
}
