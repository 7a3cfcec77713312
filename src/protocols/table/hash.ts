// Hashes of the table core, and why each one is what it is:
// - the partition hash (sha256 of the partition key) places data, and partition keys are chosen by
//   users, so it must resist crafted collisions (DESIGN section 6);
// - the Merkle key hash (sha256 of the row key) positions a row in the trie; object keys are
//   attacker-chosen too, and two rows with one key hash would fight for one leaf;
// - entry and node hashes (xxhash64 of canonical bytes) only detect that two replicas differ. A
//   collision would hide one difference from anti-entropy until either copy changes again (read
//   repair still fixes it), so a fast non-cryptographic hash is enough there.
import { createHash } from 'node:crypto';

import xxhash from 'xxhash-wasm';

/** Bytes of an entry hash or a Merkle node hash (xxhash64, big-endian). */
export const CONTENT_HASH_BYTES = 8;
/** Bytes of a partition hash and of a Merkle key hash (sha256). */
export const KEY_HASH_BYTES = 32;

/** xxhash64 over bytes. Built once per process by `initHashing` and passed to pure functions. */
export interface Hasher {
  /** 8 bytes, big-endian. */
  hash64(bytes: Uint8Array): Buffer;
}

/** xxhash-wasm instantiates a WebAssembly module, hence async; call once at startup. */
export async function initHashing(): Promise<Hasher> {
  const api = await xxhash();
  return {
    hash64(bytes: Uint8Array): Buffer {
      const digest = Buffer.allocUnsafe(CONTENT_HASH_BYTES);
      digest.writeBigUInt64BE(api.h64Raw(bytes));
      return digest;
    },
  };
}

export function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** What the Merkle trie stores for a row: a hash of its encoded bytes (see encoding.ts). */
export function entryHash(hasher: Hasher, encodedEntry: Uint8Array): Buffer {
  return hasher.hash64(encodedEntry);
}
