// The record layer of the node-to-node channel: every frame after the handshake is sealed with an
// AEAD under the session key of its direction. Pure computation: no socket, no timer, no clock.
//
// Frame on the wire: ciphertext || 16-byte tag. The 96-bit nonce is implicit: 4 zero bytes then the
// 64-bit big-endian count of frames already sent in that direction. Frames on a WebSocket arrive in
// order, so sender and receiver counters advance in lockstep, and a frame that is tampered with,
// replayed, reordered, dropped or truncated fails to authenticate. A zero nonce prefix is safe
// because each direction has its own key (derived in the handshake), so no (key, nonce) pair repeats.
// Invariant: receiveCounter = number of frames opened successfully = number the peer sealed before
// the one being opened.
import {
  createCipheriv,
  createDecipheriv,
  type CipherChaCha20Poly1305,
  type CipherGCM,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
} from 'node:crypto';

import { KIB_BYTES, MIB_BYTES } from '../../config/limits';
import { FrameAuthError, FrameCipherClosedError, FrameCounterExhaustedError, FrameTooLargeError } from './errors';

export type FrameAlgorithm = 'chacha20-poly1305' | 'aes-256-gcm';

// Measured with bench/cipher.ts (node 20.20, this project's shared 2-core Intel Xeon VM with AES-NI,
// VAES and AVX-512; three runs, each the median of 5 rounds, seal + open of one frame):
//   1 MiB frames:  chacha20-poly1305 515-572 MiB/s      aes-256-gcm 568-651 MiB/s    (AES 10-14% faster)
//   100 B frames:  chacha20-poly1305 42,600-45,400 /s   aes-256-gcm 54,100-61,300 /s (AES ~35% faster)
// We still choose ChaCha20-Poly1305, deliberately, against the "pick the faster here" brief:
// - On this machine both are far above any internet link (1 Gbit/s = 119 MiB/s) and the per-frame
//   cost (about 22 us vs 17 us) is small next to a WAN round trip; the gap does not matter here.
// - Grange runs on small boards too, and many (Raspberry Pi 4's Cortex-A72, older ARM and Atom)
//   have no AES instructions: there AES-GCM is expected to be several times slower than ChaCha20
//   (not measured here: no such machine at hand). The wrong pick costs 10-35% on x86 one way and
//   a multiple on ARM the other way.
// - AES-GCM's security margin shrinks with the data sent under one key (RFC 8446 section 5.5
//   allows 2^24.5 full 16 KiB records, about 360 GiB, for a 2^-57 margin), so a long-lived link
//   syncing terabytes would need rekeying; ChaCha20-Poly1305 with a 64-bit counter needs none.
// The algorithm is part of the wire protocol: changing it means a new PROTOCOL_VERSION.
export const FRAME_ALGORITHM: FrameAlgorithm = 'chacha20-poly1305';

export const FRAME_KEY_BYTES = 32;
export const FRAME_NONCE_BYTES = 12;
export const FRAME_TAG_BYTES = 16;
/** Headroom above a whole 1 MiB block for the framing header and the RPC envelope around it. */
export const FRAME_HEADROOM_BYTES = 64 * KIB_BYTES;
/**
 * A backstop, not the working size: framing.ts cuts messages into fragments far smaller than this
 * and the transport refuses larger WebSocket messages before they reach the cipher. It still lets a
 * default-size block (1 MiB) travel as one frame, which is what bench/cipher.ts measures.
 */
export const FRAME_PLAINTEXT_BYTES_MAX = MIB_BYTES + FRAME_HEADROOM_BYTES;
export const FRAME_BYTES_MAX = FRAME_PLAINTEXT_BYTES_MAX + FRAME_TAG_BYTES;

const COUNTER_OFFSET = FRAME_NONCE_BYTES - 8;
/** Frames up to this size are gathered into one buffer (one WebSocket frame, one write). */
const GATHER_FRAME_BYTES_MAX = 64 * KIB_BYTES;
const UINT32_RANGE = 2 ** 32;
/** The 64-bit counter has 2^64 values: 0 .. COUNTER_LAST. */
const COUNTER_LAST = 2n ** 64n - 1n;

export interface FrameKeys {
  /** Seals frames this side sends. */
  sendKey: Buffer;
  /** Opens frames the peer sends (the peer's sendKey). */
  receiveKey: Buffer;
}

/** For tests and the bench: the handshake always builds the cipher with the defaults. */
export interface FrameCipherOptions {
  algorithm?: FrameAlgorithm;
  /** Counter value of the first frame each way (tests start near 2^64 to reach exhaustion). */
  firstCounter?: bigint;
}

/** One direction's implicit nonce: a 64-bit counter kept as two uint32 halves inside the nonce. */
class NonceCounter {
  readonly nonce = Buffer.alloc(FRAME_NONCE_BYTES);
  #high: number;
  #low: number;
  /** Set once the counter has passed 2^64 - 1: that nonce space is used up, never wrapped. */
  #exhausted = false;

  constructor(first: bigint) {
    if (first < 0n || first > COUNTER_LAST) throw new RangeError(`frame counter ${first} outside 0..2^64-1`);
    this.#high = Number(first >> 32n);
    this.#low = Number(first & 0xffffffffn);
    this.nonce.writeUInt32BE(this.#high, COUNTER_OFFSET);
    this.nonce.writeUInt32BE(this.#low, COUNTER_OFFSET + 4);
  }

  get exhausted(): boolean {
    return this.#exhausted;
  }

  advance(): void {
    this.#low += 1;
    if (this.#low === UINT32_RANGE) {
      this.#low = 0;
      this.#high += 1;
      if (this.#high === UINT32_RANGE) {
        this.#high = 0;
        this.#exhausted = true;
      }
      this.nonce.writeUInt32BE(this.#high, COUNTER_OFFSET);
    }
    this.nonce.writeUInt32BE(this.#low, COUNTER_OFFSET + 4);
  }
}

export class FrameCipher {
  readonly algorithm: FrameAlgorithm;
  // Key material lives in private fields so that logging or inspecting a cipher shows none of it.
  #sendKey: Buffer;
  #receiveKey: Buffer;
  readonly #send: NonceCounter;
  readonly #receive: NonceCounter;
  #closed = false;

  constructor(keys: FrameKeys, options: FrameCipherOptions = {}) {
    if (keys.sendKey.length !== FRAME_KEY_BYTES || keys.receiveKey.length !== FRAME_KEY_BYTES) {
      throw new RangeError(`frame keys must be ${FRAME_KEY_BYTES} bytes`);
    }
    this.algorithm = options.algorithm ?? FRAME_ALGORITHM;
    // Copies, so that close() can wipe them without touching the caller's buffers.
    this.#sendKey = Buffer.from(keys.sendKey);
    this.#receiveKey = Buffer.from(keys.receiveKey);
    this.#send = new NonceCounter(options.firstCounter ?? 0n);
    this.#receive = new NonceCounter(options.firstCounter ?? 0n);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Encrypts and authenticates the next outgoing frame. */
  seal(plaintext: Uint8Array): Buffer {
    return this.sealParts([plaintext]);
  }

  /**
   * Seals the concatenation of `parts` as one frame. Large parts (a slice of a block) are sealed
   * straight from where they are; runs of small ones (record headers, small messages) are copied
   * together first, as each cipher.update is a call into C++ and a fresh output buffer: sealing
   * a frame of 16 small records part by part cost three times as much as copying them first.
   */
  sealParts(parts: readonly Uint8Array[]): Buffer {
    const pieces = this.sealPieces(parts);
    // The one copy beyond encryption itself: node's Cipher has no "update into this buffer".
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /**
   * The sealed frame as pieces to send in order (ciphertexts, then the tag), not gathered: a large
   * frame's ciphertext is not copied once more (the transport sends the pieces as WebSocket
   * fragments of one message). Frames up to GATHER_FRAME_BYTES_MAX come back as one piece.
   */
  sealPieces(parts: readonly Uint8Array[]): Buffer[] {
    if (this.#closed) throw new FrameCipherClosedError();
    const plaintextBytes = parts.reduce((total, part) => total + part.length, 0);
    if (plaintextBytes > FRAME_PLAINTEXT_BYTES_MAX) throw new FrameTooLargeError(plaintextBytes, FRAME_PLAINTEXT_BYTES_MAX);
    if (this.#send.exhausted) throw new FrameCounterExhaustedError('send');
    const cipher = createSealer(this.algorithm, this.#sendKey, this.#send.nonce);
    const ciphertexts = coalesceSmallParts(parts).map((part) => cipher.update(part));
    cipher.final(); // an AEAD stream cipher holds nothing back: final() only computes the tag
    this.#send.advance();
    const pieces = [...ciphertexts, cipher.getAuthTag()];
    return plaintextBytes <= GATHER_FRAME_BYTES_MAX ? [Buffer.concat(pieces, plaintextBytes + FRAME_TAG_BYTES)] : pieces;
  }

  /**
   * Authenticates and decrypts the next incoming frame. Throws FrameAuthError for anything but the
   * exact next frame the peer sealed, and then refuses every later frame: one forgery attempt per
   * connection, and no state in which the counters might disagree.
   */
  open(frame: Uint8Array): Buffer {
    if (this.#closed) throw new FrameCipherClosedError();
    if (this.#receive.exhausted) throw new FrameCounterExhaustedError('receive');
    if (frame.length < FRAME_TAG_BYTES) this.#reject(`frame of ${frame.length} bytes is shorter than its tag`);
    if (frame.length > FRAME_BYTES_MAX) this.#reject(`frame of ${frame.length} bytes exceeds ${FRAME_BYTES_MAX} bytes`);
    const ciphertextBytes = frame.length - FRAME_TAG_BYTES;
    const decipher = createOpener(this.algorithm, this.#receiveKey, this.#receive.nonce);
    decipher.setAuthTag(frame.subarray(ciphertextBytes));
    // The plaintext is returned only once final() has checked the tag.
    const plaintext = decipher.update(frame.subarray(0, ciphertextBytes));
    try {
      decipher.final();
    } catch {
      this.#reject('authentication failed (tampered, replayed, reordered, dropped or foreign frame)');
    }
    this.#receive.advance();
    return plaintext;
  }

  /** Forgets the keys (best effort: V8 may hold other copies). Every later call throws. */
  close(): void {
    this.#closed = true;
    this.#sendKey.fill(0);
    this.#receiveKey.fill(0);
  }

  #reject(detail: string): never {
    this.close();
    throw new FrameAuthError(detail);
  }
}

/** Parts at most this long are copied together before encryption; longer ones are not copied. */
const COALESCE_PART_BYTES_MAX = 16 * KIB_BYTES;

/** The same bytes in the same order, with every run of small parts copied into one buffer. */
function coalesceSmallParts(parts: readonly Uint8Array[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  const endRun = (): void => {
    if (run.length > 0) chunks.push(run.length === 1 ? run[0]! : Buffer.concat(run));
    run = [];
  };
  for (const part of parts) {
    if (part.length <= COALESCE_PART_BYTES_MAX) {
      run.push(part);
      continue;
    }
    endRun();
    chunks.push(part);
  }
  endRun();
  return chunks;
}

// Two branches so that TypeScript picks the AEAD overloads (a union argument falls to plain Cipher).
function createSealer(algorithm: FrameAlgorithm, key: Buffer, nonce: Buffer): CipherGCM | CipherChaCha20Poly1305 {
  const options = { authTagLength: FRAME_TAG_BYTES };
  return algorithm === 'aes-256-gcm' ? createCipheriv(algorithm, key, nonce, options) : createCipheriv(algorithm, key, nonce, options);
}

function createOpener(algorithm: FrameAlgorithm, key: Buffer, nonce: Buffer): DecipherGCM | DecipherChaCha20Poly1305 {
  const options = { authTagLength: FRAME_TAG_BYTES };
  return algorithm === 'aes-256-gcm' ? createDecipheriv(algorithm, key, nonce, options) : createDecipheriv(algorithm, key, nonce, options);
}

function assertLimit(holds: boolean, relation: string): void {
  if (!holds) throw new Error(`frame limits are inconsistent: ${relation}`);
}

assertLimit(COUNTER_OFFSET >= 0, 'the nonce holds the 64-bit counter');
