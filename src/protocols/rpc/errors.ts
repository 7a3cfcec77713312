// Named errors of the node-to-node secure channel. Callers branch on the class and on `reason`,
// never on message text. No message ever contains the RPC secret, a private key or a session key;
// node ids are public keys and may appear.

export type HandshakeFailureReason =
  | 'malformed' // wrong length or layout, a field out of range, an unusable ephemeral key
  | 'version' // a protocol version this node does not speak
  | 'bad-secret' // a MAC does not match: the peer does not know rpc_secret (or replays another transcript)
  | 'bad-signature' // the signature does not verify against the claimed node id: a forged id
  | 'unexpected-peer' // the client pinned the server's node id and another node answered
  | 'self'; // a node reached itself

/**
 * The peer failed the handshake: the transport must drop the connection and hand nothing it sent
 * to any actor. An operating error (a stranger, an old version, a misconfigured peer), not a bug.
 */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';

  constructor(
    readonly reason: HandshakeFailureReason,
    detail: string,
  ) {
    super(`RPC handshake failed (${reason}): ${detail}`);
  }
}

/**
 * A received frame is not the next frame the peer sealed: tampered, replayed, reordered, dropped,
 * truncated, oversized, or sealed with another key. The cipher is closed afterwards.
 */
export class FrameAuthError extends Error {
  override readonly name = 'FrameAuthError';

  constructor(detail: string) {
    super(`RPC frame rejected: ${detail}`);
  }
}

/** The cipher refused a frame because an earlier frame failed to open: the connection is dead. */
export class FrameCipherClosedError extends Error {
  override readonly name = 'FrameCipherClosedError';

  constructor() {
    super('RPC frame cipher is closed after a rejected frame; open a new connection');
  }
}

/**
 * 2^64 frames have gone one way under this session: reusing a nonce would break the cipher, so the
 * connection must be re-established (theoretical: at a million frames per second, 584,000 years).
 */
export class FrameCounterExhaustedError extends Error {
  override readonly name = 'FrameCounterExhaustedError';

  constructor(readonly direction: 'send' | 'receive') {
    super(`RPC frame counter exhausted (${direction}); open a new connection`);
  }
}

/** The caller asked to seal more than a frame may carry: a programmer error in the transport. */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';

  constructor(
    readonly plaintextBytes: number,
    readonly plaintextBytesMax: number,
  ) {
    super(`RPC frame of ${plaintextBytes} bytes exceeds the maximum of ${plaintextBytesMax} bytes`);
  }
}
