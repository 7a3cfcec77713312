// From a block to the bytes of its file and back: optional compression, and the hash check that
// every read ends with.
//
// Compression: Garage uses zstd, which node:zlib lacks in Node 20, so compression_level (a zstd
// level) is mapped to a brotli quality. Measured on 1 MiB blocks (node:zlib, one call at a time,
// a busy 2-core VM): on random bytes brotli quality 1 gives up at 440-820 MiB/s where deflate
// level 1 crawls at 22-33 MiB/s; on word-like text (compressing to ~22%) brotli 1 compresses at
// ~94 MiB/s against deflate's ~50, for the same ratio, and decompresses a little slower (~96
// against ~131 MiB/s). Incompressible data is the common case (media, archives) and compression
// runs on every write, so brotli. Quality 0 is an odd case, slower than 1 on text. The async zlib
// calls run on libuv's thread pool, so a block never holds the event loop while it is (de)compressed.
// Node 22 brings zstd to node:zlib: it would be compression kind 2 of the file header.
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zlibConstants } from 'node:zlib';
import { encodeBlockFileHeader, parseBlockFile, type CompressionKind } from './format';
import { blockHash } from './hash';
import { BLOCK_BYTES_MAX, BROTLI_QUALITY_MAX, BROTLI_QUALITY_MIN, COMPRESSION_SAMPLE_BYTES, COMPRESSION_SAVING_FRACTION_MIN, ZSTD_LEVEL_DEFAULT } from './limits';

const brotliCompressAsync = promisify(brotliCompress);
const brotliDecompressAsync = promisify(brotliDecompress);

/** compression_level as the config gives it: a zstd level, or 'none'. */
export type CompressionLevel = number | 'none';

/**
 * The brotli quality standing in for a zstd level, or null for no compression. zstd's 1..22 are
 * spread over brotli's 1..11 (zstd 1 -> 1, the zstd default 3 -> 2, 19 -> 10, 22 -> 11); zstd's
 * negative "fast" levels become the fastest useful quality, and 0 means zstd's default as in zstd.
 */
export function brotliQualityFor(level: CompressionLevel): number | null {
  if (level === 'none') return null;
  const zstdLevel = level === 0 ? ZSTD_LEVEL_DEFAULT : level;
  return Math.min(BROTLI_QUALITY_MAX, Math.max(BROTLI_QUALITY_MIN, Math.round(zstdLevel / 2)));
}

export interface EncodedBlockFile {
  /** Header, then payload: written with one writev, without copying the block into a new buffer. */
  parts: [Buffer, Buffer];
  bytes: number;
  compression: CompressionKind;
}

function compress(data: Buffer, brotliQuality: number): Promise<Buffer> {
  return brotliCompressAsync(data, {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: brotliQuality, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
}

function savesEnough(compressedBytes: number, plainBytes: number): boolean {
  return compressedBytes <= plainBytes * (1 - COMPRESSION_SAVING_FRACTION_MIN);
}

/**
 * Whether the whole block is worth trying: much stored data is already compressed (media,
 * archives), and trying brotli on 1 MiB of it costs more than the write itself. The first
 * COMPRESSION_SAMPLE_BYTES decide; a block whose start is incompressible but whose rest is not
 * stays plain, a small loss next to the time saved on every incompressible block.
 */
async function worthCompressing(data: Buffer, brotliQuality: number): Promise<boolean> {
  if (data.length === 0) return false;
  if (data.length < 2 * COMPRESSION_SAMPLE_BYTES) return true;
  const sample = await compress(data.subarray(0, COMPRESSION_SAMPLE_BYTES), brotliQuality);
  return savesEnough(sample.length, COMPRESSION_SAMPLE_BYTES);
}

/** The file for `data`: brotli-compressed when that saves enough, else plain. Both carry the header. */
export async function encodeBlockFile(data: Buffer, brotliQuality: number | null): Promise<EncodedBlockFile> {
  let payload = data;
  let compression: CompressionKind = 'none';
  if (brotliQuality !== null && (await worthCompressing(data, brotliQuality))) {
    const compressed = await compress(data, brotliQuality);
    if (savesEnough(compressed.length, data.length)) {
      payload = compressed;
      compression = 'brotli';
    }
  }
  const header = encodeBlockFileHeader(compression, data.length);
  return { parts: [header, payload], bytes: header.length + payload.length, compression };
}

export type DecodedBlockFile =
  | { status: 'ok'; data: Buffer }
  | { status: 'corrupt'; reason: string }
  | { status: 'newer-format'; formatVersion: number };

/** The block stored in `file`, checked against `hash`; never throws. */
export async function decodeBlockFile(file: Buffer, hash: Buffer): Promise<DecodedBlockFile> {
  const parsed = parseBlockFile(file, BLOCK_BYTES_MAX);
  if (parsed.status !== 'ok') return parsed;
  let data = parsed.payload;
  if (parsed.compression === 'brotli') {
    try {
      // The stated length bounds the output: a damaged stream cannot balloon in memory.
      data = await brotliDecompressAsync(parsed.payload, { maxOutputLength: Math.max(1, parsed.plainBytes) });
    } catch (error) {
      return { status: 'corrupt', reason: `bad brotli stream: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  if (data.length !== parsed.plainBytes) return { status: 'corrupt', reason: `${data.length} bytes decoded, header states ${parsed.plainBytes}` };
  if (!blockHash(data).equals(hash)) return { status: 'corrupt', reason: 'content does not match its hash' };
  return { status: 'ok', data };
}
