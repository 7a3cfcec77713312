// Parsing and checking the SigV4 authentication of a request, before any secret is looked up:
// format, scope (region, service), time, which headers are signed, and the payload mode.
// Error codes and messages follow what AWS S3 answers, so clients report the same thing.

import { S3Error, type S3ErrorCode } from '../s3/errors';
import {
  ALGORITHM,
  HEADER_AMZ_DATE,
  HEADER_AUTHORIZATION,
  HEADER_CONTENT_SHA256,
  HEADER_DATE,
  QUERY_ALGORITHM,
  QUERY_CONTENT_SHA256,
  QUERY_CREDENTIAL,
  QUERY_DATE,
  QUERY_EXPIRES,
  QUERY_SIGNATURE,
  QUERY_SIGNED_HEADERS,
  SCOPE_TERMINATOR,
  SERVICE_S3,
  STREAMING_ECDSA_PREFIX,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  UNSIGNED_PAYLOAD,
} from './constants';
import { parseQuery, type QueryParameter } from './encoding';
import {
  AUTHORIZATION_HEADER_BYTES_MAX,
  CLOCK_SKEW_MAX_MS,
  PRESIGNED_EXPIRES_MAX_SECONDS,
  PRESIGNED_EXPIRES_MIN_SECONDS,
  SIGNED_HEADERS_COUNT_MAX,
} from './limits';
import { formatAmzDate, formatIsoSeconds, parseAmzDate, parseHttpDate } from './time';
import type { Credential, ParsedAuth, PayloadMode, SignedAuth, SignedRequest } from './types';

export interface ParseAuthOptions {
  /** The only region this endpoint signs for (garage.toml `s3_region`). */
  region: string;
  /** The server clock, milliseconds since the epoch. */
  nowMs: number;
  /** The signing service name; 's3' unless given (K2V signs as 'k2v'). */
  service?: string;
}

/** Where the auth came from decides the error code and the message prefix AWS uses. */
interface ErrorStyle {
  code: S3ErrorCode;
  prefix: string;
}
const HEADER_STYLE: ErrorStyle = { code: 'AuthorizationHeaderMalformed', prefix: 'The authorization header is malformed; ' };
const QUERY_STYLE: ErrorStyle = { code: 'AuthorizationQueryParametersError', prefix: 'Error parsing the X-Amz-Credential parameter; ' };

const PRESIGNED_REQUIRED = [QUERY_ALGORITHM, QUERY_CREDENTIAL, QUERY_SIGNATURE, QUERY_DATE, QUERY_SIGNED_HEADERS, QUERY_EXPIRES];
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const UNSUPPORTED_MECHANISM = 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.';

export function parseAuth(request: SignedRequest, options: ParseAuthOptions): ParsedAuth {
  const query = parseQuery(request.rawQuery);
  const authorization = request.headers[HEADER_AUTHORIZATION];
  const queryAuth = query.some((p) => p.name === QUERY_ALGORITHM || p.name === QUERY_CREDENTIAL || p.name === QUERY_SIGNATURE);
  if (authorization !== undefined && queryAuth) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization', ArgumentValue: authorization.slice(0, 256) },
    );
  }
  if (queryAuth) return parsePresigned(request, query, options);
  if (authorization !== undefined) return parseHeaderAuth(request, authorization, options);
  // SigV2 presigned URLs (AWSAccessKeyId, Signature, Expires) are not an anonymous request.
  if (query.some((p) => p.name === 'AWSAccessKeyId')) throw new S3Error('InvalidRequest', UNSUPPORTED_MECHANISM);
  return { kind: 'anonymous' };
}

// ---- Authorization header -------------------------------------------------------------------

function parseHeaderAuth(request: SignedRequest, authorization: string, options: ParseAuthOptions): SignedAuth {
  if (authorization.length > AUTHORIZATION_HEADER_BYTES_MAX) throw malformed(HEADER_STYLE, 'the header is too long.');
  const space = authorization.indexOf(' ');
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== ALGORITHM) throw new S3Error('InvalidRequest', UNSUPPORTED_MECHANISM);
  const components = parseAuthorizationComponents(authorization.slice(space + 1));

  const { amzDate, dateMs } = headerDate(request);
  const credential = parseCredential(components.credential, amzDate, HEADER_STYLE, options);
  checkSkew(request, amzDate, dateMs, options.nowMs);
  const signedHeaders = parseSignedHeaders(components.signedHeaders, HEADER_STYLE);
  checkHeadersSigned(request, signedHeaders);
  const payload = payloadModeFromHeader(request.headers[HEADER_CONTENT_SHA256]);
  return { kind: 'header', credential, signedHeaders, signature: components.signature, amzDate, payload };
}

function parseAuthorizationComponents(text: string): { credential: string; signedHeaders: string; signature: string } {
  const found = new Map<string, string>();
  for (const part of text.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    if (equals < 0) throw malformed(HEADER_STYLE, `the authorization component "${trimmed.slice(0, 64)}" is malformed.`);
    const name = trimmed.slice(0, equals).trim();
    if (found.has(name)) throw malformed(HEADER_STYLE, `the authorization component "${name}" is repeated.`);
    found.set(name, trimmed.slice(equals + 1).trim());
  }
  const credential = found.get('Credential');
  const signedHeaders = found.get('SignedHeaders');
  const signature = found.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw malformed(HEADER_STYLE, 'the authorization header requires three components: Credential, SignedHeaders, and Signature.');
  }
  return { credential, signedHeaders, signature };
}

/** x-amz-date wins over Date, as in AWS; both absent or unreadable is AccessDenied (AWS's code). */
function headerDate(request: SignedRequest): { amzDate: string; dateMs: number } {
  const amzDateHeader = request.headers[HEADER_AMZ_DATE];
  const dateHeader = request.headers[HEADER_DATE];
  const dateMs = amzDateHeader !== undefined ? parseAmzDate(amzDateHeader.trim()) : dateHeader !== undefined ? parseHttpDate(dateHeader) : null;
  if (dateMs === null) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  // A Date header has no sub-second part, so formatting it back gives the signer's timestamp.
  return { amzDate: amzDateHeader !== undefined ? amzDateHeader.trim() : formatAmzDate(dateMs), dateMs };
}

function checkSkew(request: SignedRequest, amzDate: string, dateMs: number, nowMs: number): void {
  if (Math.abs(nowMs - dateMs) <= CLOCK_SKEW_MAX_MS) return;
  throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
    RequestTime: request.headers[HEADER_AMZ_DATE] ?? request.headers[HEADER_DATE] ?? amzDate,
    ServerTime: formatIsoSeconds(nowMs),
    MaxAllowedSkewMilliseconds: String(CLOCK_SKEW_MAX_MS),
  });
}

// ---- Presigned query ------------------------------------------------------------------------

function parsePresigned(request: SignedRequest, query: QueryParameter[], options: ParseAuthOptions): SignedAuth {
  const values = presignedValues(query);
  if (values.get(QUERY_ALGORITHM) !== ALGORITHM) throw malformed(QUERY_STYLE, undefined, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const amzDate = values.get(QUERY_DATE)!;
  const dateMs = parseAmzDate(amzDate);
  if (dateMs === null) throw malformed(QUERY_STYLE, undefined, 'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
  const expiresSeconds = parseExpires(values.get(QUERY_EXPIRES)!);
  const credential = parseCredential(values.get(QUERY_CREDENTIAL)!, amzDate, QUERY_STYLE, options);
  checkValidity(dateMs, expiresSeconds, options.nowMs);
  const signedHeaders = parseSignedHeaders(values.get(QUERY_SIGNED_HEADERS)!, QUERY_STYLE);
  checkHeadersSigned(request, signedHeaders);
  const payload = payloadModeFromHeader(presignedContentSha256(request, query) ?? UNSIGNED_PAYLOAD);
  if (payload.kind !== 'sha256' && payload.kind !== 'unsigned') {
    // The seed of a chunk chain is a header signature; AWS documents streaming for headers only.
    throw new S3Error('InvalidRequest', 'Presigned requests cannot use an aws-chunked streaming payload.');
  }
  return { kind: 'presigned', credential, signedHeaders, signature: values.get(QUERY_SIGNATURE)!, amzDate, payload, expiresSeconds };
}

function presignedValues(query: QueryParameter[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const parameter of query) {
    if (!PRESIGNED_REQUIRED.includes(parameter.name)) continue;
    if (values.has(parameter.name)) throw malformed(QUERY_STYLE, undefined, `The ${parameter.name} parameter is repeated.`);
    values.set(parameter.name, parameter.value);
  }
  if (values.size !== PRESIGNED_REQUIRED.length) {
    throw malformed(
      QUERY_STYLE,
      undefined,
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  return values;
}

function parseExpires(text: string): number {
  if (!/^\d{1,10}$/.test(text)) throw malformed(QUERY_STYLE, undefined, 'X-Amz-Expires should be a number');
  const seconds = Number(text);
  if (seconds < PRESIGNED_EXPIRES_MIN_SECONDS) throw malformed(QUERY_STYLE, undefined, 'X-Amz-Expires must be non-negative');
  if (seconds > PRESIGNED_EXPIRES_MAX_SECONDS) {
    throw malformed(QUERY_STYLE, undefined, `X-Amz-Expires must be less than a week (in seconds) that is ${PRESIGNED_EXPIRES_MAX_SECONDS}`);
  }
  return seconds;
}

/** Expired at date + expires (inclusive of its last second); dated in the future beyond the skew is not valid yet. */
function checkValidity(dateMs: number, expiresSeconds: number, nowMs: number): void {
  const expiresMs = dateMs + expiresSeconds * 1000;
  if (nowMs > expiresMs) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': String(expiresSeconds),
      Expires: formatIsoSeconds(expiresMs),
      ServerTime: formatIsoSeconds(nowMs),
    });
  }
  if (dateMs - nowMs > CLOCK_SKEW_MAX_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
}

/** A presigned URL may carry its payload hash as a query parameter (hoisted header) or a header. */
export function presignedContentSha256(request: SignedRequest, query: QueryParameter[]): string | undefined {
  const fromQuery = query.find((p) => p.name.toLowerCase() === QUERY_CONTENT_SHA256);
  return fromQuery?.value ?? request.headers[HEADER_CONTENT_SHA256];
}

// ---- Shared pieces ----------------------------------------------------------------------------

function parseCredential(text: string, amzDate: string, style: ErrorStyle, options: ParseAuthOptions): Credential {
  const parts = text.split('/');
  if (parts.length !== 5 || parts.some((part) => part === '') || !/^\d{8}$/.test(parts[1]!)) {
    throw malformed(style, 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (date !== amzDate.slice(0, 8)) {
    throw malformed(style, `Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  if (region !== options.region) {
    throw malformed(style, `the region '${region}' is wrong; expecting '${options.region}'`, undefined, { Region: options.region });
  }
  const expectedService = options.service ?? SERVICE_S3;
  if (service !== expectedService) throw malformed(style, `incorrect service "${service}". This endpoint belongs to "${expectedService}".`);
  if (terminator !== SCOPE_TERMINATOR) throw malformed(style, `incorrect terminal "${terminator}". This endpoint uses "${SCOPE_TERMINATOR}".`);
  return { accessKeyId, date, region, service };
}

function parseSignedHeaders(text: string, style: ErrorStyle): string[] {
  const names = text.split(';');
  if (names.length > SIGNED_HEADERS_COUNT_MAX) throw malformed(style, 'too many signed headers.');
  const seen = new Set<string>();
  for (const name of names) {
    // Lowercase is part of the format: the canonical request names headers in lowercase.
    if (!HEADER_NAME.test(name) || seen.has(name)) throw malformed(style, `the signed header "${name.slice(0, 64)}" is not valid.`);
    seen.add(name);
  }
  return names;
}

/**
 * AWS requires host and every x-amz-* header that is present to be signed: an unsigned x-amz-*
 * header (an ACL, a copy source, a checksum) could otherwise be added by anyone on the path.
 */
function checkHeadersSigned(request: SignedRequest, signedHeaders: readonly string[]): void {
  const signed = new Set(signedHeaders);
  const unsigned = Object.keys(request.headers).filter((name) => name.startsWith('x-amz-') && !signed.has(name));
  if (!signed.has('host')) unsigned.unshift('host');
  if (unsigned.length === 0) return;
  throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
    HeadersNotSigned: unsigned.sort().join(', '),
  });
}

/**
 * The payload mode named by x-amz-content-sha256. AWS requires the header on every header-signed
 * S3 request and answers InvalidRequest without it; Garage refuses such requests too, so a
 * missing header is refused rather than taken as UNSIGNED-PAYLOAD. An empty value is no SHA-256
 * either: InvalidArgument, like any other unknown value.
 */
export function payloadModeFromHeader(value: string | undefined): PayloadMode {
  if (value === undefined) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  switch (value) {
    case UNSIGNED_PAYLOAD: return { kind: 'unsigned' };
    case STREAMING_SIGNED: return { kind: 'streaming-signed', trailer: false };
    case STREAMING_SIGNED_TRAILER: return { kind: 'streaming-signed', trailer: true };
    case STREAMING_UNSIGNED_TRAILER: return { kind: 'streaming-unsigned-trailer' };
    default: break;
  }
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: 'sha256', hex: value.toLowerCase() };
  if (value.startsWith(STREAMING_ECDSA_PREFIX)) throw new S3Error('NotImplemented', 'SigV4a (ECDSA) streaming payloads are not supported.');
  throw new S3Error(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.',
    { ArgumentName: HEADER_CONTENT_SHA256, ArgumentValue: value.slice(0, 128) },
  );
}

/**
 * The payload mode of an anonymous request (no signature to check): a public-write bucket can
 * still receive an unsigned aws-chunked body, which must be decoded all the same.
 */
export function anonymousPayloadMode(request: SignedRequest): PayloadMode {
  const value = request.headers[HEADER_CONTENT_SHA256];
  if (value === undefined) return { kind: 'unsigned' };
  const mode = payloadModeFromHeader(value);
  if (mode.kind === 'streaming-signed') throw new S3Error('AccessDenied', 'A signed streaming payload needs a signed request.');
  return mode;
}

function malformed(style: ErrorStyle, detail?: string, whole?: string, details?: Record<string, string>): S3Error {
  return new S3Error(style.code, whole ?? style.prefix + (detail ?? ''), details);
}
