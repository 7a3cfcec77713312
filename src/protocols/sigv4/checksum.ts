// The additional checksums of S3 (x-amz-checksum-*): CRC32, CRC32C, SHA-1, SHA-256, each sent
// and stored as the base64 of the big-endian digest.

import { createHash, type Hash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';

import type { ChecksumAlgorithm } from './types';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'SHA1', 'SHA256'];

/** Digest length in bytes: a header value must be the base64 of exactly this many. */
export const CHECKSUM_DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = { CRC32: 4, CRC32C: 4, SHA1: 20, SHA256: 32 };

export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

export interface Checksummer {
  update(bytes: Buffer): void;
  digest(): Buffer;
}

export function createChecksummer(algorithm: ChecksumAlgorithm): Checksummer {
  switch (algorithm) {
    case 'CRC32': return crcChecksummer((bytes, crc) => zlibCrc32(bytes, crc));
    case 'CRC32C': return crcChecksummer(crc32c);
    case 'SHA1': return hashChecksummer(createHash('sha1'));
    case 'SHA256': return hashChecksummer(createHash('sha256'));
  }
}

function hashChecksummer(hash: Hash): Checksummer {
  return { update: (bytes) => void hash.update(bytes), digest: () => hash.digest() };
}

function crcChecksummer(step: (bytes: Buffer, crc: number) => number): Checksummer {
  let crc = 0;
  return {
    update: (bytes) => void (crc = step(bytes, crc)),
    digest: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc >>> 0);
      return out;
    },
  };
}

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, byte-at-a-time table. Node has no
// built-in; S3 clients pick it for speed, and a table is fast enough next to TLS and disk.
const CRC32C_POLYNOMIAL = 0x82f63b78;
const CRC32C_TABLE = buildCrcTable(CRC32C_POLYNOMIAL);

function buildCrcTable(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index++) {
    let crc = index;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ polynomial : crc >>> 1;
    table[index] = crc >>> 0;
  }
  return table;
}

/** Continues a CRC-32C over `bytes` from `crc` (0 to start), like zlib.crc32's second argument. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let state = ~crc >>> 0;
  for (let index = 0; index < bytes.length; index++) {
    state = CRC32C_TABLE[(state ^ bytes[index]!) & 0xff]! ^ (state >>> 8);
  }
  return ~state >>> 0;
}

/** Strict base64: Buffer.from ignores junk, so the value must re-encode to itself. */
export function decodeBase64Exact(text: string, length: number): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === length && bytes.toString('base64') === text ? bytes : null;
}
