// The node-to-node handshake and frame cipher, as a peer on the internet would meet them: honest
// handshakes, strangers, forgers, replays, garbage on the wire, and tampering with frames.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';

import {
  acceptClientHello,
  completeClientHandshake,
  completeServerHandshake,
  FRAME_BYTES_MAX,
  FRAME_PLAINTEXT_BYTES_MAX,
  FrameAuthError,
  FrameCipher,
  FrameCipherClosedError,
  FrameCounterExhaustedError,
  FrameTooLargeError,
  HandshakeError,
  PROTOCOL_VERSION,
  startClientHandshake,
  type HandshakeFailureReason,
  type HandshakeParty,
  type HandshakeResult,
} from '../../src/protocols/rpc';
import { rawPublicKeyHex } from '../../src/storage/node-identity';

const SECRET = randomBytes(32);
const OTHER_SECRET = randomBytes(32);

interface Identity {
  nodeId: string;
  privateKey: KeyObject;
}

function newIdentity(): Identity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { nodeId: rawPublicKeyHex(publicKey), privateKey };
}

function party(identity: Identity, overrides: Partial<HandshakeParty> = {}): HandshakeParty {
  return { ...identity, secret: SECRET, publicAddr: '', role: 'node', randomBytes, ...overrides };
}

/** Deterministic randomness: SHA-256 of a seed and a counter. */
function seededRandom(seed: string): (count: number) => Buffer {
  let counter = 0;
  return (count) => {
    const out = Buffer.alloc(count);
    for (let offset = 0; offset < count; offset += 32) {
      createHash('sha256').update(`${seed}/${counter++}`).digest().copy(out, offset);
    }
    return out;
  };
}

interface Exchange {
  hello: Buffer;
  reply: Buffer;
  finish: Buffer;
  client: HandshakeResult;
  server: HandshakeResult;
}

function handshake(client: HandshakeParty, server: HandshakeParty, expectedServerId?: string): Exchange {
  const started = startClientHandshake(client, expectedServerId === undefined ? {} : { expectedServerId });
  const accepted = acceptClientHello(server, started.hello);
  const completed = completeClientHandshake(started.state, accepted.reply);
  const serverResult = completeServerHandshake(accepted.state, completed.finish);
  return { hello: started.hello, reply: accepted.reply, finish: completed.finish, client: completed.result, server: serverResult };
}

function handshakeFailure(action: () => unknown): HandshakeError {
  try {
    action();
  } catch (error) {
    if (error instanceof HandshakeError) return error;
    throw new Error(`expected a HandshakeError, got ${String(error)}`);
  }
  throw new Error('expected a HandshakeError, but the step succeeded');
}

function expectReason(action: () => unknown, reason: HandshakeFailureReason): HandshakeError {
  const error = handshakeFailure(action);
  expect(error.reason).toBe(reason);
  return error;
}

// ---- an attacker who knows rpc_secret but not the victim's node key, written from the spec in
// handshake.ts's header (independently of its code) ----

const LABEL = Buffer.from('grange-rpc-handshake-v1');
const HELLO_MAC_OFFSET_FROM_END = 32;
const NODE_ID_OFFSET_IN_HELLO = 3;
const NODE_ID_OFFSET_IN_REPLY = 2;

function macKey(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), Buffer.concat([LABEL, Buffer.from(' mac key')]), 32));
}

function hmac(secret: Buffer, ...parts: Buffer[]): Buffer {
  const mac = createHmac('sha256', macKey(secret));
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function transcriptOf(hello: Buffer, replyBody: Buffer): Buffer {
  return createHash('sha256').update(LABEL).update(hello).update(replyBody).digest();
}

function signedBy(privateKey: KeyObject, side: 'server' | 'client', transcript: Buffer): Buffer {
  return sign(null, Buffer.concat([LABEL, Buffer.from(` ${side} signature`), transcript]), privateKey);
}

/** A hello whose node id field is replaced, re-MACed with the secret the attacker knows. */
function helloClaiming(hello: Buffer, claimedId: string, secret = SECRET): Buffer {
  const body = Buffer.from(hello.subarray(0, hello.length - HELLO_MAC_OFFSET_FROM_END));
  Buffer.from(claimedId, 'hex').copy(body, NODE_ID_OFFSET_IN_HELLO);
  return Buffer.concat([body, hmac(secret, Buffer.from('hello'), body)]);
}

function finishFor(hello: Buffer, reply: Buffer, privateKey: KeyObject, signature?: Buffer): Buffer {
  const transcript = transcriptOf(hello, reply.subarray(0, reply.length - 96));
  return Buffer.concat([Buffer.of(PROTOCOL_VERSION, 3), signature ?? signedBy(privateKey, 'client', transcript), hmac(SECRET, transcript, Buffer.from('client'))]);
}

function expectFrames(sender: FrameCipher, receiver: FrameCipher, frames: Buffer[]): void {
  for (const frame of frames) expect(receiver.open(sender.seal(frame)).equals(frame)).toBe(true);
}

function frameFailure(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the frame to be refused');
}

describe('handshake between honest nodes', () => {
  const alice = newIdentity();
  const bob = newIdentity();

  test('both ends learn who the other is and get ciphers that match in both directions', () => {
    const exchange = handshake(party(alice, { publicAddr: '[2001:db8::1]:3901' }), party(bob, { publicAddr: 'bob.example.org:3901' }));
    expect(exchange.client).toMatchObject({ peerId: bob.nodeId, peerRole: 'node', peerPublicAddr: 'bob.example.org:3901' });
    expect(exchange.server).toMatchObject({ peerId: alice.nodeId, peerRole: 'node', peerPublicAddr: '[2001:db8::1]:3901' });
    for (let round = 0; round < 200; round++) {
      const size = (round * 97) % 5000;
      expectFrames(exchange.client.cipher, exchange.server.cipher, [randomBytes(size)]);
      expectFrames(exchange.server.cipher, exchange.client.cipher, [randomBytes(size), Buffer.alloc(0)]);
    }
  });

  test('a CLI connects as a client, with no address, and may use the node key of the node it talks to', () => {
    const cli = handshake(party(newIdentity(), { role: 'client' }), party(bob));
    expect(cli.server).toMatchObject({ peerRole: 'client', peerPublicAddr: '' });
    const local = handshake(party(bob, { role: 'client' }), party(bob));
    expect(local.server.peerId).toBe(bob.nodeId);
    expectFrames(local.client.cipher, local.server.cipher, [Buffer.from('status')]);
  });

  test('a pinned server id that matches is accepted', () => {
    expect(handshake(party(alice), party(bob), bob.nodeId).client.peerId).toBe(bob.nodeId);
  });

  test('with the same randomness the same messages come out: no hidden randomness, no clock', () => {
    const run = () => handshake(party(alice, { randomBytes: seededRandom('a') }), party(bob, { randomBytes: seededRandom('b') }));
    const first = run();
    const second = run();
    expect(second.hello.equals(first.hello) && second.reply.equals(first.reply) && second.finish.equals(first.finish)).toBe(true);
    expect(first.hello.length).toBe(133);
  });

  test('each session has its own keys, and each direction its own key', () => {
    const first = handshake(party(alice), party(bob));
    const second = handshake(party(alice), party(bob));
    const frame = first.client.cipher.seal(Buffer.from('hello'));
    expect(frameFailure(() => second.server.cipher.open(frame))).toBeInstanceOf(FrameAuthError);
    const own = first.server.cipher.seal(Buffer.from('echo'));
    expect(frameFailure(() => first.server.cipher.open(own))).toBeInstanceOf(FrameAuthError);
  });

  test('1 MiB frames round-trip', () => {
    const exchange = handshake(party(alice), party(bob));
    const block = randomBytes(1024 * 1024);
    for (let index = 0; index < 8; index++) {
      expectFrames(exchange.client.cipher, exchange.server.cipher, [block]);
      expectFrames(exchange.server.cipher, exchange.client.cipher, [block]);
    }
  });
});

describe('handshake against strangers and forgers', () => {
  const alice = newIdentity();
  const bob = newIdentity();
  const mallory = newIdentity();

  test('a client with the wrong secret is refused at its hello, and no secret appears in the message', () => {
    const { hello } = startClientHandshake(party(mallory, { secret: OTHER_SECRET }));
    const error = expectReason(() => acceptClientHello(party(bob), hello), 'bad-secret');
    for (const secret of [SECRET, OTHER_SECRET]) {
      for (const encoding of ['hex', 'base64', 'latin1'] as const) expect(error.message).not.toContain(secret.toString(encoding));
    }
  });

  test('a server with the wrong secret refuses the hello, and if it answered anyway the client would refuse it', () => {
    const started = startClientHandshake(party(alice));
    expectReason(() => acceptClientHello(party(bob, { secret: OTHER_SECRET }), started.hello), 'bad-secret');
    // A rogue server that skips its own check answers under its own secret.
    const rogueHello = helloClaiming(started.hello, alice.nodeId, OTHER_SECRET);
    const { reply } = acceptClientHello(party(bob, { secret: OTHER_SECRET }), rogueHello);
    expectReason(() => completeClientHandshake(started.state, reply), 'bad-secret');
  });

  test('a client that knows the secret but claims another node id is refused at its finish', () => {
    const started = startClientHandshake(party(mallory));
    const forgedHello = helloClaiming(started.hello, alice.nodeId);
    const accepted = acceptClientHello(party(bob), forgedHello);
    const finish = finishFor(forgedHello, accepted.reply, mallory.privateKey);
    expectReason(() => completeServerHandshake(accepted.state, finish), 'bad-signature');
  });

  test('a server that knows the secret but claims another node id is refused by the client', () => {
    const started = startClientHandshake(party(alice));
    const { reply } = acceptClientHello(party(mallory), started.hello);
    const body = Buffer.from(reply.subarray(0, reply.length - 96));
    Buffer.from(bob.nodeId, 'hex').copy(body, NODE_ID_OFFSET_IN_REPLY);
    const transcript = transcriptOf(started.hello, body);
    const forged = Buffer.concat([body, signedBy(mallory.privateKey, 'server', transcript), hmac(SECRET, transcript, Buffer.from('server'))]);
    expectReason(() => completeClientHandshake(started.state, forged), 'bad-signature');
  });

  test("a signature cannot be reflected: the server's own signature does not pass as a client's", () => {
    // Claiming the server's own id is 'self' for a node, so try as a CLI, which may share the key.
    const started = startClientHandshake(party(mallory, { role: 'client' }));
    const forgedHello = helloClaiming(started.hello, bob.nodeId);
    const accepted = acceptClientHello(party(bob), forgedHello);
    const serverSignature = accepted.reply.subarray(accepted.reply.length - 96, accepted.reply.length - 32);
    const finish = finishFor(forgedHello, accepted.reply, mallory.privateKey, serverSignature);
    expectReason(() => completeServerHandshake(accepted.state, finish), 'bad-signature');
  });

  test('a small-order node id, for which a trivial signature verifies any message, is refused', () => {
    const identityPoint = '01' + '00'.repeat(31);
    const universalSignature = Buffer.concat([Buffer.from(identityPoint, 'hex'), Buffer.alloc(32)]);
    const started = startClientHandshake(party(mallory));
    const forgedHello = helloClaiming(started.hello, identityPoint);
    const accepted = acceptClientHello(party(bob), forgedHello);
    const finish = finishFor(forgedHello, accepted.reply, mallory.privateKey, universalSignature);
    expectReason(() => completeServerHandshake(accepted.state, finish), 'bad-signature');
  });

  test('a pinned server id that does not match is refused', () => {
    const started = startClientHandshake(party(alice), { expectedServerId: bob.nodeId });
    const { reply } = acceptClientHello(party(mallory), started.hello);
    expectReason(() => completeClientHandshake(started.state, reply), 'unexpected-peer');
  });

  test('a node that reaches itself is refused on both ends', () => {
    const started = startClientHandshake(party(alice));
    expectReason(() => acceptClientHello(party(alice), started.hello), 'self');
    // A second process with a copy of the same node key (a cloned metadata dir) answers anyway.
    const client = startClientHandshake(party(alice));
    const body = Buffer.concat([Buffer.of(PROTOCOL_VERSION, 2), Buffer.from(alice.nodeId, 'hex'), randomBytes(32), randomBytes(32), Buffer.of(0, 0)]);
    const transcript = transcriptOf(client.hello, body);
    const reply = Buffer.concat([body, signedBy(alice.privateKey, 'server', transcript), hmac(SECRET, transcript, Buffer.from('server'))]);
    expectReason(() => completeClientHandshake(client.state, reply), 'self');
  });
});

describe('replaying a recorded handshake', () => {
  const alice = newIdentity();
  const bob = newIdentity();

  test("a recorded hello and finish do not open a new session: the server's fresh nonce and key change the transcript", () => {
    const recorded = handshake(party(alice), party(bob));
    const accepted = acceptClientHello(party(bob), recorded.hello); // the hello MAC is only a filter
    const error = handshakeFailure(() => completeServerHandshake(accepted.state, recorded.finish));
    expect(['bad-secret', 'bad-signature']).toContain(error.reason);
  });

  test('a recorded reply does not complete a new client handshake', () => {
    const recorded = handshake(party(alice), party(bob));
    const started = startClientHandshake(party(alice));
    expectReason(() => completeClientHandshake(started.state, recorded.reply), 'bad-secret');
  });

  test('a handshake state is single use', () => {
    const started = startClientHandshake(party(alice));
    const accepted = acceptClientHello(party(bob), started.hello);
    const completed = completeClientHandshake(started.state, accepted.reply);
    expect(() => completeClientHandshake(started.state, accepted.reply)).toThrow(/already used/);
    completeServerHandshake(accepted.state, completed.finish);
    expect(() => completeServerHandshake(accepted.state, completed.finish)).toThrow(/already used/);
  });
});

describe('garbage on the wire is a HandshakeError, never anything else', () => {
  const alice = newIdentity();
  const bob = newIdentity();
  const sample = handshake(party(alice, { publicAddr: 'alice.example:3901' }), party(bob, { publicAddr: 'bob.example:3901' }));

  const steps: Record<'hello' | 'reply' | 'finish', (message: Buffer) => unknown> = {
    hello: (message) => acceptClientHello(party(bob), message),
    reply: (message) => completeClientHandshake(startClientHandshake(party(alice)).state, message),
    finish: (message) => completeServerHandshake(acceptClientHello(party(bob), startClientHandshake(party(alice)).hello).state, message),
  };

  test.each(['hello', 'reply', 'finish'] as const)('every truncation and extension of a %s is malformed', (name) => {
    const message = sample[name];
    for (let length = 0; length < message.length; length++) expectReason(() => steps[name](message.subarray(0, length)), 'malformed');
    expectReason(() => steps[name](Buffer.concat([message, Buffer.of(0)])), 'malformed');
  });

  test.each(['hello', 'reply', 'finish'] as const)('every single-byte change to a %s fails the handshake', (name) => {
    const message = sample[name];
    for (let offset = 0; offset < message.length; offset++) {
      const changed = Buffer.from(message);
      changed[offset] = changed[offset]! ^ (1 << offset % 8);
      handshakeFailure(() => steps[name](changed));
    }
  });

  test('random bytes, with and without a valid header', () => {
    const random = seededRandom('garbage');
    for (let round = 0; round < 1200; round++) {
      const length = random(2).readUInt16BE(0) % 900;
      const message = random(length);
      const name = (['hello', 'reply', 'finish'] as const)[round % 3]!;
      if (round % 2 === 0 && length >= 2) message.set([PROTOCOL_VERSION, 1 + (round % 3)]);
      handshakeFailure(() => steps[name](message));
    }
  });

  test('an unknown version says so', () => {
    const future = Buffer.from(sample.hello);
    future[0] = PROTOCOL_VERSION + 1;
    expectReason(() => steps.hello(future), 'version');
  });

  test('the wrong kind of message, an oversized address, a bad address and a bad role are malformed', () => {
    expectReason(() => steps.hello(sample.reply), 'malformed');
    expectReason(() => steps.reply(sample.hello), 'malformed');
    const hugeAddress = Buffer.from(sample.hello);
    hugeAddress.writeUInt16BE(0xffff, 99);
    expectReason(() => steps.hello(hugeAddress), 'malformed');
    const notUtf8 = helloClaiming(sample.hello, alice.nodeId);
    notUtf8[101] = 0xff;
    expectReason(() => steps.hello(helloClaiming(notUtf8, alice.nodeId)), 'malformed');
    const controlCharacter = Buffer.from(notUtf8);
    controlCharacter[101] = 0x0a;
    expectReason(() => steps.hello(helloClaiming(controlCharacter, alice.nodeId)), 'malformed');
    const badRole = Buffer.from(sample.hello);
    badRole[2] = 7;
    expectReason(() => steps.hello(helloClaiming(badRole, alice.nodeId)), 'malformed');
  });

  test('a small-order ephemeral key is malformed (no shared secret)', () => {
    const started = startClientHandshake(party(alice));
    const body = Buffer.from(started.hello.subarray(0, started.hello.length - 32));
    Buffer.alloc(32).copy(body, 35);
    const zeroKey = Buffer.concat([body, hmac(SECRET, Buffer.from('hello'), body)]);
    expectReason(() => acceptClientHello(party(bob), zeroKey), 'malformed');
  });
});

describe('frames after the handshake', () => {
  const alice = newIdentity();
  const bob = newIdentity();
  const fresh = () => handshake(party(alice), party(bob));

  test('a tampered frame is refused, and so is every frame after it', () => {
    for (const offset of [0, 6, 11, 12, 27]) {
      const { client, server } = fresh();
      const frame = client.cipher.seal(Buffer.from('put block 42')); // 12 bytes, then the 16-byte tag
      const tampered = Buffer.from(frame);
      tampered[offset] = tampered[offset]! ^ 1;
      expect(frameFailure(() => server.cipher.open(tampered))).toBeInstanceOf(FrameAuthError);
      expect(server.cipher.closed).toBe(true);
      expect(frameFailure(() => server.cipher.open(frame))).toBeInstanceOf(FrameCipherClosedError);
      expect(frameFailure(() => server.cipher.seal(Buffer.from('reply')))).toBeInstanceOf(FrameCipherClosedError);
    }
  });

  test('a replayed frame is refused', () => {
    const { client, server } = fresh();
    const frame = client.cipher.seal(Buffer.from('delete object'));
    server.cipher.open(frame);
    expect(frameFailure(() => server.cipher.open(frame))).toBeInstanceOf(FrameAuthError);
  });

  test('reordered and dropped frames are refused', () => {
    const reordered = fresh();
    reordered.client.cipher.seal(Buffer.from('first'));
    const second = reordered.client.cipher.seal(Buffer.from('second'));
    expect(frameFailure(() => reordered.server.cipher.open(second))).toBeInstanceOf(FrameAuthError);
    const dropped = fresh();
    dropped.client.cipher.seal(Buffer.from('lost'));
    expect(frameFailure(() => dropped.server.cipher.open(dropped.client.cipher.seal(Buffer.from('next'))))).toBeInstanceOf(FrameAuthError);
  });

  test('truncated frames are refused, down to the empty frame', () => {
    const frame = fresh().client.cipher.seal(randomBytes(100));
    for (let length = 0; length < frame.length; length++) {
      const other = fresh();
      const sealed = other.client.cipher.seal(randomBytes(100));
      expect(frameFailure(() => other.server.cipher.open(sealed.subarray(0, length)))).toBeInstanceOf(FrameAuthError);
    }
  });

  test('the nonce is implicit: 4 zero bytes then the 64-bit big-endian frame counter', () => {
    const sendKey = randomBytes(32);
    const receiveKey = randomBytes(32);
    const first = 2n ** 32n - 1n; // the next frame carries into the high half
    const sender = new FrameCipher({ sendKey, receiveKey }, { firstCounter: first });
    sender.seal(Buffer.from('a'));
    const frame = sender.seal(Buffer.from('b'));
    const nonce = Buffer.alloc(12);
    nonce.writeBigUInt64BE(first + 1n, 4);
    const decipher = createDecipheriv('chacha20-poly1305', sendKey, nonce, { authTagLength: 16 });
    decipher.setAuthTag(frame.subarray(frame.length - 16));
    const plaintext = decipher.update(frame.subarray(0, frame.length - 16));
    decipher.final();
    expect(plaintext.toString()).toBe('b');
    const cipher = createCipheriv('chacha20-poly1305', sendKey, nonce, { authTagLength: 16 });
    expect(Buffer.concat([cipher.update(Buffer.from('b')), cipher.final(), cipher.getAuthTag()]).equals(frame)).toBe(true);
  });

  test('the frame counter refuses to wrap at 2^64', () => {
    const keyOut = randomBytes(32);
    const keyBack = randomBytes(32);
    const options = { firstCounter: 2n ** 64n - 2n };
    const sender = new FrameCipher({ sendKey: keyOut, receiveKey: keyBack }, options);
    const receiver = new FrameCipher({ sendKey: keyBack, receiveKey: keyOut }, options);
    expectFrames(sender, receiver, [Buffer.from('last but one'), Buffer.from('last')]);
    const sendError = frameFailure(() => sender.seal(Buffer.from('one too many')));
    expect(sendError).toBeInstanceOf(FrameCounterExhaustedError);
    expect((sendError as FrameCounterExhaustedError).direction).toBe('send');
    expect(frameFailure(() => receiver.open(Buffer.alloc(32)))).toBeInstanceOf(FrameCounterExhaustedError);
  });

  test('frames above the limit are refused: sealing is a caller error, opening a peer error', () => {
    const { client, server } = fresh();
    const oversized = Buffer.allocUnsafe(FRAME_BYTES_MAX + 1);
    expect(frameFailure(() => client.cipher.seal(oversized.subarray(0, FRAME_PLAINTEXT_BYTES_MAX + 1)))).toBeInstanceOf(FrameTooLargeError);
    expect(client.cipher.closed).toBe(false);
    expect(frameFailure(() => server.cipher.open(oversized))).toBeInstanceOf(FrameAuthError);
  });
});
