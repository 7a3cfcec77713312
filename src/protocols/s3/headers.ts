// Which request headers an object keeps, and the headers a GET or HEAD answers with: pure
// functions over header maps, so the rules (what is stored, the metadata size limit, the
// response-* overrides) are tested without a server.
import { S3Error } from './errors';
import { S3_USER_METADATA_BYTES_MAX } from './limits';

/** Standard headers stored with an object and returned on GET and HEAD. */
export const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'content-type', 'expires'] as const;
export const USER_METADATA_PREFIX = 'x-amz-meta-';
/** What S3 answers for an object stored without a Content-Type. */
export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

/** GET query parameters that override a response header (AWS: only on signed requests). */
const RESPONSE_OVERRIDES: Readonly<Record<string, string>> = {
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-content-type': 'content-type',
  'response-expires': 'expires',
};

/** The headers of a PUT to keep, sorted by name; user metadata over 2 KB is refused as AWS does. */
export function headersToStore(headers: Readonly<Record<string, string | string[] | undefined>>): [string, string][] {
  const kept: [string, string][] = [];
  let metadataBytes = 0;
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    if (name.startsWith(USER_METADATA_PREFIX)) {
      metadataBytes += Buffer.byteLength(name.slice(USER_METADATA_PREFIX.length)) + Buffer.byteLength(value);
      kept.push([name, value]);
    } else if ((STORED_HEADERS as readonly string[]).includes(name)) {
      kept.push([name, value]);
    }
  }
  if (metadataBytes > S3_USER_METADATA_BYTES_MAX) {
    throw new S3Error('MetadataTooLarge', `Your metadata headers are ${metadataBytes} bytes, over the ${S3_USER_METADATA_BYTES_MAX}-byte limit.`);
  }
  if (!kept.some(([name]) => name === 'content-type')) kept.push(['content-type', DEFAULT_CONTENT_TYPE]);
  return kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Stored headers with the query's response-* overrides applied. */
export function responseHeaders(stored: readonly [string, string][], query: ReadonlyMap<string, string>): [string, string][] {
  const headers = new Map(stored);
  for (const [parameter, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = query.get(parameter);
    if (value !== undefined) headers.set(header, value);
  }
  return [...headers.entries()];
}

export function quotedEtag(etag: string): string {
  return `"${etag}"`;
}

/** HTTP date (RFC 7231 IMF-fixdate), as Last-Modified carries it. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** ISO 8601 with milliseconds, as S3 listings write LastModified. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

/** AWS's UriEncode with '/' kept: what encoding-type=url applies to keys and prefixes. */
export function urlEncodeKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~/]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
