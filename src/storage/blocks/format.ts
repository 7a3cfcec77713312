// The stored form of one block file (pure: bytes in, bytes out).
//
//   offset  size  field
//   0       4     magic "GRBK" (Grange block)
//   4       1     format version, BLOCK_FILE_FORMAT
//   5       1     compression of the payload: 0 none, 1 brotli
//   6       2     reserved, zero in version 1
//   8       4     u32 big-endian: length of the block uncompressed
//   12      ...   payload: the block, compressed as byte 5 says
//
// Every file has the header, compressed or not, so that the format can change: a later version
// takes the next number, keeps a reader for version 1, and rewrites files lazily (a put or a scrub
// repair writes the current version). This build refuses newer versions without touching the file.
// The uncompressed length bounds decompression (a damaged stream cannot inflate past it) and
// catches a truncated plain file before hashing.

export const BLOCK_FILE_FORMAT = 1;
export const BLOCK_FILE_MAGIC = Buffer.from('GRBK', 'latin1');
export const BLOCK_FILE_HEADER_BYTES = 12;

export const COMPRESSION_KINDS = { none: 0, brotli: 1 } as const;
export type CompressionKind = keyof typeof COMPRESSION_KINDS;

const MAGIC_OFFSET = 0;
const VERSION_OFFSET = 4;
const COMPRESSION_OFFSET = 5;
const RESERVED_OFFSET = 6;
const PLAIN_BYTES_OFFSET = 8;

export function encodeBlockFileHeader(compression: CompressionKind, plainBytes: number): Buffer {
  const header = Buffer.alloc(BLOCK_FILE_HEADER_BYTES);
  BLOCK_FILE_MAGIC.copy(header, MAGIC_OFFSET);
  header.writeUInt8(BLOCK_FILE_FORMAT, VERSION_OFFSET);
  header.writeUInt8(COMPRESSION_KINDS[compression], COMPRESSION_OFFSET);
  header.writeUInt32BE(plainBytes, PLAIN_BYTES_OFFSET);
  return header;
}

export type ParsedBlockFile =
  | { status: 'ok'; compression: CompressionKind; plainBytes: number; payload: Buffer }
  | { status: 'corrupt'; reason: string }
  | { status: 'newer-format'; formatVersion: number };

function compressionOf(code: number): CompressionKind | undefined {
  return (Object.keys(COMPRESSION_KINDS) as CompressionKind[]).find((kind) => COMPRESSION_KINDS[kind] === code);
}

/** Reads the header of a whole block file; never throws. `plainBytesMax` bounds the stated length. */
export function parseBlockFile(file: Buffer, plainBytesMax: number): ParsedBlockFile {
  if (file.length < BLOCK_FILE_HEADER_BYTES) return { status: 'corrupt', reason: `file of ${file.length} bytes is shorter than the header` };
  if (!file.subarray(MAGIC_OFFSET, MAGIC_OFFSET + BLOCK_FILE_MAGIC.length).equals(BLOCK_FILE_MAGIC)) {
    return { status: 'corrupt', reason: 'no block file header' };
  }
  const formatVersion = file.readUInt8(VERSION_OFFSET);
  if (formatVersion > BLOCK_FILE_FORMAT) return { status: 'newer-format', formatVersion };
  if (formatVersion !== BLOCK_FILE_FORMAT) return { status: 'corrupt', reason: `unknown format version ${formatVersion}` };
  const compression = compressionOf(file.readUInt8(COMPRESSION_OFFSET));
  if (compression === undefined) return { status: 'corrupt', reason: `unknown compression ${file.readUInt8(COMPRESSION_OFFSET)}` };
  if (file.readUInt16BE(RESERVED_OFFSET) !== 0) return { status: 'corrupt', reason: 'reserved header bytes are not zero' };
  const plainBytes = file.readUInt32BE(PLAIN_BYTES_OFFSET);
  if (plainBytes > plainBytesMax) return { status: 'corrupt', reason: `header states ${plainBytes} bytes, more than any block` };
  const payload = file.subarray(BLOCK_FILE_HEADER_BYTES);
  if (compression === 'none' && payload.length !== plainBytes) {
    return { status: 'corrupt', reason: `${payload.length} bytes stored, header states ${plainBytes}` };
  }
  return { status: 'ok', compression, plainBytes, payload };
}
