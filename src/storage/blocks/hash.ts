// The content address of a block.
//
// SHA-256, chosen by measurement (1 MiB blocks, node:crypto, Node 20 on x86-64 with SHA-NI):
// sha256 ~970 MiB/s, blake2b512 ~540 MiB/s, blake2s256 ~370 MiB/s, sha512-256 ~380 MiB/s. OpenSSL
// uses the CPU's SHA extensions for SHA-256 (x86 SHA-NI, ARMv8 crypto), and BLAKE2 has no such
// path there. Garage itself uses BLAKE2b; Grange does not read Garage's data directories, so
// nothing ties us to it. Hashing runs on the event loop (about 1 ms per MiB): node:crypto has
// no off-thread one-shot hash, and a 16 MiB block at most costs ~16 ms.
import { createHash } from 'node:crypto';
import { InvalidBlockHashError } from './errors';

export const BLOCK_HASH_BYTES = 32;
const BLOCK_HASH_ALGORITHM = 'sha256';

/** The content address of a block: a cryptographic hash of its (uncompressed) bytes. */
export function blockHash(data: Uint8Array): Buffer {
  return createHash(BLOCK_HASH_ALGORITHM).update(data).digest();
}

/** Throws InvalidBlockHashError unless `hash` is a Buffer of BLOCK_HASH_BYTES bytes. */
export function checkBlockHash(hash: unknown): asserts hash is Buffer {
  if (!Buffer.isBuffer(hash) || hash.length !== BLOCK_HASH_BYTES) {
    const found = Buffer.isBuffer(hash) ? `${hash.length} bytes` : typeof hash;
    throw new InvalidBlockHashError(`a block hash is ${BLOCK_HASH_BYTES} bytes, found ${found}`);
  }
}
