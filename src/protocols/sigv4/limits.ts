// Every bound of the SigV4 core in one place; units last in each name.

/** Header-mode requests must be signed within this of the server clock (AWS: 15 minutes). */
export const CLOCK_SKEW_MAX_MS = 15 * 60 * 1000;
/** X-Amz-Expires range of a presigned URL (AWS: 1 second to 7 days). */
export const PRESIGNED_EXPIRES_MIN_SECONDS = 1;
export const PRESIGNED_EXPIRES_MAX_SECONDS = 7 * 24 * 3600;
/** The Authorization header is a few hundred bytes from real clients; more is an attack or a bug. */
export const AUTHORIZATION_HEADER_BYTES_MAX = 8 * 1024;
/** Signed header names in one request; real clients sign fewer than 20. */
export const SIGNED_HEADERS_COUNT_MAX = 128;

/** A chunk header line is about 90 bytes (hex size, ';chunk-signature=', 64 hex); a trailer line about 70. */
export const CHUNK_LINE_BYTES_MAX = 4 * 1024;
/** SDKs send 8 KiB to 1 MiB chunks; a larger size is refused before any byte of it is read. */
export const CHUNK_BYTES_MAX = 16 * 1024 * 1024;
/** Hex digits of a chunk size: enough for CHUNK_BYTES_MAX, and keeps parseInt exact. */
export const CHUNK_SIZE_HEX_DIGITS_MAX = 8;
/** Trailing headers of one aws-chunked body: a checksum and a signature in practice. */
export const TRAILERS_COUNT_MAX = 16;

// Relations the code relies on (asserted at load, TigerBeetle style).
if (CHUNK_BYTES_MAX >= 16 ** CHUNK_SIZE_HEX_DIGITS_MAX) throw new Error('CHUNK_BYTES_MAX needs more hex digits');
if (PRESIGNED_EXPIRES_MIN_SECONDS < 1) throw new Error('PRESIGNED_EXPIRES_MIN_SECONDS must be positive');
