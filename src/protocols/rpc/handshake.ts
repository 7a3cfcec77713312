// The handshake of the node-to-node channel, as pure functions: bytes and injected randomness in,
// bytes and a FrameCipher out. No socket, timer or clock; the transport carries the three messages
// as binary WebSocket messages and hands nothing from a peer to any actor before it completes.
//
// What it proves, to each end: the peer knows rpc_secret (HMAC with a key derived from it), holds
// the private key of the node id it claims (Ed25519 signature), and is live in this very exchange
// (both sides contribute a fresh nonce and a fresh X25519 ephemeral key, and both the MACs and the
// signatures cover a hash of every field of messages 1 and 2). A recorded handshake is useless:
// a replayed finish answers another transcript. Session keys come from the X25519 secret with a
// salt derived from rpc_secret, so even a holder of a node key without the secret reads nothing.
//
// Messages (all integers big-endian; every message starts with version and kind bytes):
//   1 hello   (client → server): version, kind=1, role (0 node, 1 client), client node id (32),
//             client ephemeral X25519 public key (32), client nonce (32), address length (u16),
//             client public RPC address (UTF-8, may be empty), helloMac (32)
//   2 reply   (server → client): version, kind=2, server node id (32), server ephemeral (32),
//             server nonce (32), address length (u16), server public address, signature (64), mac (32)
//   3 finish  (client → server): version, kind=3, signature (64), mac (32)
// transcript = SHA-256(PROTOCOL_LABEL || hello || reply up to its address)
// reply/finish signature = Ed25519(node key, PROTOCOL_LABEL " server|client signature" || transcript)
// reply/finish mac = HMAC-SHA256(macKey, transcript || "server"|"client"), macKey = HKDF(rpc_secret)
// session keys = HKDF-SHA256(ikm = X25519(ephemerals), salt = HKDF(rpc_secret, "session salt"),
//                info = PROTOCOL_LABEL " session keys" || transcript): client→server key, server→client key
// Checks run cheapest first: layout, version, MAC (a stranger costs one HMAC), pin, self, signature.
//
// Two changes to the design we were given, each for a reason:
// - helloMac = HMAC-SHA256(macKey, "hello" || hello up to its address). Without it the server would
//   answer any stranger on the internet with its node id, its public address and a fresh signature,
//   after an X25519 and an Ed25519 operation: free reconnaissance and cheap CPU amplification. With
//   it a stranger costs one HMAC and learns nothing. (It is replayable; it is a filter, not a proof:
//   the proof is the finish, which covers the server's fresh nonce.) Secret-handshake, which Garage
//   uses, opens with an HMAC under the network key for the same reason.
// - Signatures name their side ("server" / "client") so that one side's signature can never be
//   reflected as the other's, and node ids that are small-order Ed25519 points are refused: OpenSSL
//   accepts them, and for such a key a trivial signature verifies over any message, so anyone who
//   knows the secret could "be" that node id.
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { TextDecoder } from 'node:util';

import { NODE_ID_BYTES, RPC_SECRET_BYTES } from '../../config/limits';
import { publicKeyFromNodeId, rawPublicKeyHex } from '../../storage/node-identity';
import { HandshakeError } from './errors';
import { FRAME_KEY_BYTES, FrameCipher } from './frame-cipher';

/**
 * Version 1: this layout, X25519 + HKDF-SHA256 + Ed25519 + HMAC-SHA256, FRAME_ALGORITHM frames.
 * Version 2: the same, and envelopes may carry large binary values as attachments (envelope.ts).
 */
export const PROTOCOL_VERSION = 2;
const PROTOCOL_LABEL = Buffer.from('grange-rpc-handshake-v1', 'ascii');

export const EPHEMERAL_KEY_BYTES = 32;
export const HANDSHAKE_NONCE_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const MAC_BYTES = 32;
/** A 253-character DNS name with brackets and ":port" fits with room to spare. */
export const PUBLIC_ADDRESS_BYTES_MAX = 512;

const HEADER_BYTES = 2; // version, kind
const ROLE_BYTES = 1;
const ADDRESS_LENGTH_BYTES = 2;
const HELLO_BYTES_MIN = HEADER_BYTES + ROLE_BYTES + NODE_ID_BYTES + EPHEMERAL_KEY_BYTES + HANDSHAKE_NONCE_BYTES + ADDRESS_LENGTH_BYTES + MAC_BYTES;
const REPLY_BYTES_MIN = HEADER_BYTES + NODE_ID_BYTES + EPHEMERAL_KEY_BYTES + HANDSHAKE_NONCE_BYTES + ADDRESS_LENGTH_BYTES + SIGNATURE_BYTES + MAC_BYTES;
const FINISH_BYTES = HEADER_BYTES + SIGNATURE_BYTES + MAC_BYTES;
/** The transport refuses a longer WebSocket message before the handshake is complete. */
export const HANDSHAKE_MESSAGE_BYTES_MAX = Math.max(HELLO_BYTES_MIN, REPLY_BYTES_MIN) + PUBLIC_ADDRESS_BYTES_MAX;

const MESSAGE_KIND = { hello: 1, reply: 2, finish: 3 } as const;
type MessageKind = keyof typeof MESSAGE_KIND;

export type PeerRole = 'node' | 'client';
const ROLE_CODES: Record<PeerRole, number> = { node: 0, client: 1 };
const ROLES_BY_CODE: ReadonlyMap<number, PeerRole> = new Map([
  [0, 'node'],
  [1, 'client'],
]);

// DER wrappers of raw X25519 keys (RFC 8410), so that keys come from our injected randomness.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** Encodings of the small-order Ed25519 points, sign bit cleared (libsodium's list). */
const SMALL_ORDER_ED25519_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => Buffer.from(hex, 'hex'));

export interface HandshakeParty {
  /** This node's id: its Ed25519 public key, 64 hex characters. */
  nodeId: string;
  /** The Ed25519 private key behind nodeId. */
  privateKey: KeyObject;
  /** rpc_secret, 32 bytes. */
  secret: Buffer;
  /** Where peers can reach this node ("host:port"); empty for a CLI or a node without one. */
  publicAddr: string;
  /** 'client' is a CLI that connects for a while and must not be gossiped as a peer. */
  role: PeerRole;
  /** Cryptographically secure randomness, injected so tests are deterministic. */
  randomBytes: (count: number) => Buffer;
}

export interface ClientHandshakeOptions {
  /** The server's node id if the caller knows it (bootstrap peer "id@host:port", a layout entry). */
  expectedServerId?: string;
}

export interface HandshakeResult {
  peerId: string;
  peerRole: PeerRole;
  /** As the peer announced it: authenticated, but not checked to be reachable. */
  peerPublicAddr: string;
  cipher: FrameCipher;
}

// States are opaque and single use: their secrets (ephemeral private key, session keys) live in
// module-private maps, out of reach of logging, inspection and JSON.
export class ClientHandshakeState {
  readonly kind = 'client-handshake-state';
}
export class ServerHandshakeState {
  readonly kind = 'server-handshake-state';
}

interface ClientSecrets {
  party: HandshakeParty;
  expectedServerId: string | undefined;
  ephemeralPrivateKey: KeyObject;
  hello: Buffer;
}

interface ServerSecrets {
  macKey: Buffer;
  transcript: Buffer;
  clientId: string;
  clientRole: PeerRole;
  clientPublicAddr: string;
  keys: SessionKeys;
}

interface SessionKeys {
  clientToServer: Buffer;
  serverToClient: Buffer;
}

const clientSecrets = new WeakMap<ClientHandshakeState, ClientSecrets>();
const serverSecrets = new WeakMap<ServerHandshakeState, ServerSecrets>();

/** Client, step 1: the hello to send. */
export function startClientHandshake(party: HandshakeParty, options: ClientHandshakeOptions = {}): { hello: Buffer; state: ClientHandshakeState } {
  assertParty(party);
  const { expectedServerId } = options;
  if (expectedServerId !== undefined) assertNodeId(expectedServerId, 'expectedServerId');
  const ephemeral = generateEphemeral(party.randomBytes);
  const body = Buffer.concat([
    header('hello'),
    Buffer.of(ROLE_CODES[party.role]),
    Buffer.from(party.nodeId, 'hex'),
    ephemeral.publicRaw,
    takeRandom(party.randomBytes, HANDSHAKE_NONCE_BYTES),
    encodeAddress(party.publicAddr),
  ]);
  const hello = Buffer.concat([body, hmac(deriveMacKey(party.secret), Buffer.from('hello'), body)]);
  const state = new ClientHandshakeState();
  clientSecrets.set(state, { party, expectedServerId, ephemeralPrivateKey: ephemeral.privateKey, hello });
  return { hello, state };
}

/** Server, step 2: checks the hello and answers it. Throws HandshakeError. */
export function acceptClientHello(party: HandshakeParty, hello: Buffer): { reply: Buffer; state: ServerHandshakeState } {
  assertParty(party);
  if (party.role !== 'node') throw new Error('handshake: only a node accepts connections');
  const parsed = decodeHello(hello);
  const macKey = deriveMacKey(party.secret);
  checkMac(hmac(macKey, Buffer.from('hello'), parsed.body), parsed.mac, 'hello');
  if (parsed.role === 'node' && parsed.nodeId === party.nodeId) {
    throw new HandshakeError('self', `hello from this node's own id ${shortId(party.nodeId)}`);
  }
  const ephemeral = generateEphemeral(party.randomBytes);
  const shared = x25519(ephemeral.privateKey, parsed.ephemeralPublicRaw);
  const body = Buffer.concat([
    header('reply'),
    Buffer.from(party.nodeId, 'hex'),
    ephemeral.publicRaw,
    takeRandom(party.randomBytes, HANDSHAKE_NONCE_BYTES),
    encodeAddress(party.publicAddr),
  ]);
  const transcript = transcriptHash(hello, body);
  const signature = sign(null, signedPayload('server', transcript), party.privateKey);
  const reply = Buffer.concat([body, signature, hmac(macKey, transcript, Buffer.from('server'))]);
  const state = new ServerHandshakeState();
  serverSecrets.set(state, {
    macKey,
    transcript,
    clientId: parsed.nodeId,
    clientRole: parsed.role,
    clientPublicAddr: parsed.publicAddr,
    keys: deriveSessionKeys(party.secret, shared, transcript),
  });
  return { reply, state };
}

/** Client, step 3: checks the server's reply and produces the finish. Throws HandshakeError. */
export function completeClientHandshake(state: ClientHandshakeState, reply: Buffer): { finish: Buffer; result: HandshakeResult } {
  const secrets = takeSecrets(clientSecrets, state);
  const { party } = secrets;
  const parsed = decodeReply(reply);
  const transcript = transcriptHash(secrets.hello, parsed.body);
  const macKey = deriveMacKey(party.secret);
  checkMac(hmac(macKey, transcript, Buffer.from('server')), parsed.mac, 'reply');
  if (secrets.expectedServerId !== undefined && parsed.nodeId !== secrets.expectedServerId) {
    throw new HandshakeError('unexpected-peer', `expected node ${shortId(secrets.expectedServerId)}, reached node ${shortId(parsed.nodeId)}`);
  }
  if (party.role === 'node' && parsed.nodeId === party.nodeId) {
    throw new HandshakeError('self', `reached this node's own id ${shortId(party.nodeId)}`);
  }
  verifyPeerSignature(parsed.nodeId, 'server', transcript, parsed.signature);
  const shared = x25519(secrets.ephemeralPrivateKey, parsed.ephemeralPublicRaw);
  const keys = deriveSessionKeys(party.secret, shared, transcript);
  const finish = Buffer.concat([
    header('finish'),
    sign(null, signedPayload('client', transcript), party.privateKey),
    hmac(macKey, transcript, Buffer.from('client')),
  ]);
  const cipher = new FrameCipher({ sendKey: keys.clientToServer, receiveKey: keys.serverToClient });
  return { finish, result: { peerId: parsed.nodeId, peerRole: 'node', peerPublicAddr: parsed.publicAddr, cipher } };
}

/** Server, step 4: checks the client's finish. Throws HandshakeError. */
export function completeServerHandshake(state: ServerHandshakeState, finish: Buffer): HandshakeResult {
  const secrets = takeSecrets(serverSecrets, state);
  const parsed = decodeFinish(finish);
  checkMac(hmac(secrets.macKey, secrets.transcript, Buffer.from('client')), parsed.mac, 'finish');
  verifyPeerSignature(secrets.clientId, 'client', secrets.transcript, parsed.signature);
  const cipher = new FrameCipher({ sendKey: secrets.keys.serverToClient, receiveKey: secrets.keys.clientToServer });
  return { peerId: secrets.clientId, peerRole: secrets.clientRole, peerPublicAddr: secrets.clientPublicAddr, cipher };
}

// ---- decoding: every failure is a HandshakeError, whatever the bytes ----

interface DecodedHello {
  body: Buffer;
  role: PeerRole;
  nodeId: string;
  ephemeralPublicRaw: Buffer;
  publicAddr: string;
  mac: Buffer;
}

function decodeHello(message: Buffer): DecodedHello {
  const reader = new MessageReader(message, 'hello', 'hello');
  const roleCode = reader.byte('role');
  const role = ROLES_BY_CODE.get(roleCode);
  if (role === undefined) throw new HandshakeError('malformed', `hello has unknown role ${roleCode}`);
  const nodeId = reader.bytes(NODE_ID_BYTES, 'node id').toString('hex');
  const ephemeralPublicRaw = reader.bytes(EPHEMERAL_KEY_BYTES, 'ephemeral key');
  reader.bytes(HANDSHAKE_NONCE_BYTES, 'nonce'); // only ever used as part of the transcript
  const publicAddr = reader.address();
  const body = reader.consumed();
  const mac = reader.bytes(MAC_BYTES, 'mac');
  reader.end();
  return { body, role, nodeId, ephemeralPublicRaw, publicAddr, mac };
}

interface DecodedReply {
  body: Buffer;
  nodeId: string;
  ephemeralPublicRaw: Buffer;
  publicAddr: string;
  signature: Buffer;
  mac: Buffer;
}

function decodeReply(message: Buffer): DecodedReply {
  const reader = new MessageReader(message, 'reply', 'reply');
  const nodeId = reader.bytes(NODE_ID_BYTES, 'node id').toString('hex');
  const ephemeralPublicRaw = reader.bytes(EPHEMERAL_KEY_BYTES, 'ephemeral key');
  reader.bytes(HANDSHAKE_NONCE_BYTES, 'nonce');
  const publicAddr = reader.address();
  const body = reader.consumed();
  const signature = reader.bytes(SIGNATURE_BYTES, 'signature');
  const mac = reader.bytes(MAC_BYTES, 'mac');
  reader.end();
  return { body, nodeId, ephemeralPublicRaw, publicAddr, signature, mac };
}

function decodeFinish(message: Buffer): { signature: Buffer; mac: Buffer } {
  const reader = new MessageReader(message, 'finish', 'finish');
  const signature = reader.bytes(SIGNATURE_BYTES, 'signature');
  const mac = reader.bytes(MAC_BYTES, 'mac');
  reader.end();
  return { signature, mac };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
// Addresses end up in logs and in gossip: no control characters.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Reads a handshake message front to back; reads past the end are 'malformed', never a RangeError. */
class MessageReader {
  #offset = 0;

  constructor(
    private readonly message: Buffer,
    kind: MessageKind,
    private readonly what: string,
  ) {
    if (!Buffer.isBuffer(message)) throw new HandshakeError('malformed', `${what} is not binary`);
    if (message.length > HANDSHAKE_MESSAGE_BYTES_MAX) throw this.malformed(`is ${message.length} bytes, more than ${HANDSHAKE_MESSAGE_BYTES_MAX}`);
    const version = this.byte('version');
    if (version !== PROTOCOL_VERSION) {
      throw new HandshakeError('version', `${what} speaks protocol version ${version}, this node speaks ${PROTOCOL_VERSION}`);
    }
    const kindCode = this.byte('kind');
    if (kindCode !== MESSAGE_KIND[kind]) throw this.malformed(`has message kind ${kindCode}, expected ${MESSAGE_KIND[kind]}`);
  }

  byte(field: string): number {
    return this.bytes(1, field)[0]!;
  }

  bytes(count: number, field: string): Buffer {
    if (this.#offset + count > this.message.length) throw this.malformed(`ends inside its ${field} (${this.message.length} bytes)`);
    const slice = this.message.subarray(this.#offset, this.#offset + count);
    this.#offset += count;
    return slice;
  }

  address(): string {
    const length = this.bytes(ADDRESS_LENGTH_BYTES, 'address length').readUInt16BE(0);
    if (length > PUBLIC_ADDRESS_BYTES_MAX) throw this.malformed(`has a ${length}-byte address, more than ${PUBLIC_ADDRESS_BYTES_MAX}`);
    const bytes = this.bytes(length, 'address');
    let address: string;
    try {
      address = strictUtf8.decode(bytes);
    } catch {
      throw this.malformed('has an address that is not UTF-8');
    }
    if (CONTROL_CHARACTER.test(address)) throw this.malformed('has control characters in its address');
    return address;
  }

  /** The bytes read so far. */
  consumed(): Buffer {
    return this.message.subarray(0, this.#offset);
  }

  end(): void {
    if (this.#offset !== this.message.length) throw this.malformed(`has ${this.message.length - this.#offset} bytes after its last field`);
  }

  private malformed(detail: string): HandshakeError {
    return new HandshakeError('malformed', `${this.what} ${detail}`);
  }
}

// ---- encoding and cryptography ----

function header(kind: MessageKind): Buffer {
  return Buffer.of(PROTOCOL_VERSION, MESSAGE_KIND[kind]);
}

function encodeAddress(address: string): Buffer {
  const bytes = Buffer.from(address, 'utf8');
  const encoded = Buffer.alloc(ADDRESS_LENGTH_BYTES + bytes.length);
  encoded.writeUInt16BE(bytes.length, 0);
  bytes.copy(encoded, ADDRESS_LENGTH_BYTES);
  return encoded;
}

function transcriptHash(hello: Buffer, replyBody: Buffer): Buffer {
  // Unambiguous without separators: each message is self-delimiting (fixed fields, one length-prefixed).
  return createHash('sha256').update(PROTOCOL_LABEL).update(hello).update(replyBody).digest();
}

function signedPayload(side: 'server' | 'client', transcript: Buffer): Buffer {
  return Buffer.concat([PROTOCOL_LABEL, Buffer.from(` ${side} signature`), transcript]);
}

function hmac(key: Buffer, first: Buffer, second: Buffer): Buffer {
  return createHmac('sha256', key).update(first).update(second).digest();
}

function checkMac(expected: Buffer, received: Buffer, what: string): void {
  // Both are MAC_BYTES long here (the decoder guarantees it), as timingSafeEqual requires.
  if (!timingSafeEqual(expected, received)) {
    throw new HandshakeError('bad-secret', `${what} is not authenticated by our rpc_secret (wrong secret, or a replayed message)`);
  }
}

function deriveFromSecret(secret: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), Buffer.concat([PROTOCOL_LABEL, Buffer.from(` ${purpose}`)]), 32));
}

function deriveMacKey(secret: Buffer): Buffer {
  return deriveFromSecret(secret, 'mac key');
}

function deriveSessionKeys(secret: Buffer, shared: Buffer, transcript: Buffer): SessionKeys {
  const salt = deriveFromSecret(secret, 'session salt');
  const info = Buffer.concat([PROTOCOL_LABEL, Buffer.from(' session keys'), transcript]);
  const keys = Buffer.from(hkdfSync('sha256', shared, salt, info, 2 * FRAME_KEY_BYTES));
  return { clientToServer: keys.subarray(0, FRAME_KEY_BYTES), serverToClient: keys.subarray(FRAME_KEY_BYTES) };
}

function generateEphemeral(randomBytes: (count: number) => Buffer): { privateKey: KeyObject; publicRaw: Buffer } {
  const scalar = takeRandom(randomBytes, EPHEMERAL_KEY_BYTES);
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, scalar]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicRaw: spki.subarray(X25519_SPKI_PREFIX.length) };
}

function x25519(privateKey: KeyObject, peerPublicRaw: Buffer): Buffer {
  let shared: Buffer;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peerPublicRaw]), format: 'der', type: 'spki' });
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    shared = Buffer.alloc(0);
  }
  // OpenSSL refuses a small-order peer key (all-zero shared secret); we check again, cheaply.
  if (shared.length !== EPHEMERAL_KEY_BYTES || shared.every((byte) => byte === 0)) {
    throw new HandshakeError('malformed', 'ephemeral key is of small order: no shared secret');
  }
  return shared;
}

function verifyPeerSignature(nodeId: string, side: 'server' | 'client', transcript: Buffer, signature: Buffer): void {
  if (isSmallOrderEd25519(Buffer.from(nodeId, 'hex'))) {
    throw new HandshakeError('bad-signature', `${side} claims node id ${shortId(nodeId)}, a weak key anyone can sign for`);
  }
  let valid = false;
  try {
    valid = verify(null, signedPayload(side, transcript), publicKeyFromNodeId(nodeId), signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new HandshakeError('bad-signature', `${side} signature does not match its node id ${shortId(nodeId)}`);
}

function isSmallOrderEd25519(raw: Buffer): boolean {
  const withoutSign = Buffer.from(raw);
  withoutSign[31] = withoutSign[31]! & 0x7f;
  return SMALL_ORDER_ED25519_POINTS.some((point) => point.equals(withoutSign));
}

function takeRandom(randomBytes: (count: number) => Buffer, count: number): Buffer {
  const bytes = randomBytes(count);
  if (!Buffer.isBuffer(bytes) || bytes.length !== count) throw new Error(`handshake: randomBytes(${count}) returned the wrong length`);
  return bytes;
}

function takeSecrets<State extends object, Secrets>(map: WeakMap<State, Secrets>, state: State): Secrets {
  const secrets = map.get(state);
  if (secrets === undefined) throw new Error('handshake: state already used or not from this module');
  map.delete(state); // single use: a failed step cannot be retried with the same ephemeral key
  return secrets;
}

// ---- assertions on our own side: a failure is a programmer or configuration error ----

function assertParty(party: HandshakeParty): void {
  assertNodeId(party.nodeId, 'nodeId');
  if (party.role !== 'node' && party.role !== 'client') throw new Error(`handshake: unknown role ${String(party.role)}`);
  if (!Buffer.isBuffer(party.secret) || party.secret.length !== RPC_SECRET_BYTES) {
    throw new Error(`handshake: rpc_secret must be ${RPC_SECRET_BYTES} bytes`);
  }
  const addressBytes = Buffer.byteLength(party.publicAddr, 'utf8');
  if (addressBytes > PUBLIC_ADDRESS_BYTES_MAX || CONTROL_CHARACTER.test(party.publicAddr)) {
    throw new Error(`handshake: public address must be at most ${PUBLIC_ADDRESS_BYTES_MAX} bytes without control characters`);
  }
  if (party.privateKey.asymmetricKeyType !== 'ed25519' || rawPublicKeyHex(createPublicKey(party.privateKey)) !== party.nodeId) {
    throw new Error('handshake: privateKey is not the Ed25519 key of nodeId');
  }
}

function assertNodeId(nodeId: string, what: string): void {
  if (!/^[0-9a-f]{64}$/.test(nodeId)) throw new Error(`handshake: ${what} must be ${NODE_ID_BYTES * 2} lowercase hex characters`);
}

function shortId(nodeId: string): string {
  return nodeId.slice(0, 16);
}

function assertLimit(holds: boolean, relation: string): void {
  if (!holds) throw new Error(`handshake limits are inconsistent: ${relation}`);
}

assertLimit(PUBLIC_ADDRESS_BYTES_MAX <= 0xffff, 'an address length fits in its u16 prefix');
assertLimit(X25519_SPKI_PREFIX.length + EPHEMERAL_KEY_BYTES === 44, 'X25519 SPKI is 44 bytes');
assertLimit(FINISH_BYTES < HANDSHAKE_MESSAGE_BYTES_MAX, 'every message fits the pre-handshake limit');
