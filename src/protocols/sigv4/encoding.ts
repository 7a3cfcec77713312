// URI encoding for canonical requests. AWS's UriEncode keeps the unreserved characters
// (A-Z a-z 0-9 - _ . ~) and writes every other byte of the UTF-8 form as %XX, uppercase.
// Clients differ in what they escape on the wire (some leave '!' or '(' raw, some escape '~'),
// so we decode what was sent and re-encode it the one canonical way.

const UNRESERVED = new Uint8Array(128);
for (const character of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~') {
  UNRESERVED[character.charCodeAt(0)] = 1;
}
const HEX_UPPER = '0123456789ABCDEF';

/** AWS UriEncode of raw bytes; '/' is encoded too (callers split paths on '/' first). */
export function uriEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    if (byte < 128 && UNRESERVED[byte] === 1) out += String.fromCharCode(byte);
    else out += '%' + HEX_UPPER[byte >> 4] + HEX_UPPER[byte & 15];
  }
  return out;
}

export function uriEncode(text: string): string {
  return uriEncodeBytes(Buffer.from(text, 'utf8'));
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Percent-decodes to bytes. A '%' not followed by two hex digits stays a literal '%', as the
 * signer (which saw the same text) can only have meant it literally; decoding never throws, so
 * odd paths end in SignatureDoesNotMatch rather than a crash. `plusIsSpace` for query strings.
 */
export function percentDecode(text: string, plusIsSpace: boolean): Buffer {
  const source = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(source.length);
  let length = 0;
  for (let index = 0; index < source.length; index++) {
    const byte = source[index]!;
    if (byte === 0x25 && index + 2 < source.length) {
      const high = hexValue(source[index + 1]!);
      const low = hexValue(source[index + 2]!);
      if (high >= 0 && low >= 0) {
        out[length++] = (high << 4) | low;
        index += 2;
        continue;
      }
    }
    out[length++] = plusIsSpace && byte === 0x2b ? 0x20 : byte;
  }
  return out.subarray(0, length);
}

/**
 * The S3 canonical URI: each '/'-separated segment decoded and encoded once. S3 neither
 * double-encodes nor normalises ('//' and '.' segments are kept). Splitting before decoding
 * keeps an encoded '%2F' inside a segment distinct from a real '/'.
 */
export function canonicalPath(rawPath: string): string {
  const path = rawPath === '' ? '/' : rawPath;
  return path
    .split('/')
    .map((segment) => uriEncodeBytes(percentDecode(segment, false)))
    .join('/');
}

export interface QueryParameter {
  /** Decoded name and value, as the S3 router will see them. */
  name: string;
  value: string;
  /** Canonical encodings, for the canonical query string. */
  encodedName: string;
  encodedValue: string;
}

/** Splits a raw query into parameters; '+' means space, as in the router and form encoding. */
export function parseQuery(rawQuery: string): QueryParameter[] {
  if (rawQuery === '') return [];
  const parameters: QueryParameter[] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const nameBytes = percentDecode(equals < 0 ? part : part.slice(0, equals), true);
    const valueBytes = percentDecode(equals < 0 ? '' : part.slice(equals + 1), true);
    parameters.push({
      name: nameBytes.toString('utf8'),
      value: valueBytes.toString('utf8'),
      encodedName: uriEncodeBytes(nameBytes),
      encodedValue: uriEncodeBytes(valueBytes),
    });
  }
  return parameters;
}

/** Sorted by encoded name, then encoded value (byte order: all ASCII after encoding). */
export function canonicalQuery(parameters: readonly QueryParameter[]): string {
  return parameters
    .map((parameter) => [parameter.encodedName, parameter.encodedValue] as const)
    .sort(([nameA, valueA], [nameB, valueB]) => compareAscii(nameA, nameB) || compareAscii(valueA, valueB))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function compareAscii(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
