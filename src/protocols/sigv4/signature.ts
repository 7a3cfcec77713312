// Recomputing a SigV4 signature: canonical request, string to sign, signing key, and the
// constant-time comparison with what the client sent.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { S3Error } from '../s3/errors';
import { presignedContentSha256 } from './auth';
import { ALGORITHM, HEADER_CONTENT_SHA256, QUERY_SIGNATURE, SCOPE_TERMINATOR, UNSIGNED_PAYLOAD } from './constants';
import { canonicalPath, canonicalQuery, parseQuery, type QueryParameter } from './encoding';
import type { Credential, SignedAuth, SignedRequest, SigningContext } from './types';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmacSha256(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** kSigning = HMAC chain over "AWS4" + secret, date, region, service, "aws4_request". */
export function deriveSigningKey(secretAccessKey: string, credential: Credential): Buffer {
  const dateKey = hmacSha256('AWS4' + secretAccessKey, credential.date);
  const regionKey = hmacSha256(dateKey, credential.region);
  const serviceKey = hmacSha256(regionKey, credential.service);
  return hmacSha256(serviceKey, SCOPE_TERMINATOR);
}

export function credentialScope(credential: Credential): string {
  return `${credential.date}/${credential.region}/${credential.service}/${SCOPE_TERMINATOR}`;
}

/** Signature hex to bytes; null unless exactly 64 hex digits (Buffer.from would truncate silently). */
export function decodeSignature(hex: string): Buffer | null {
  return /^[0-9a-fA-F]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : null;
}

/** Constant-time: the comparison must not tell an attacker how many leading bytes were right. */
export function signatureMatches(computed: Buffer, provided: Buffer | null): boolean {
  return provided !== null && provided.length === computed.length && timingSafeEqual(computed, provided);
}

export function verifySignature(request: SignedRequest, auth: SignedAuth, secretAccessKey: string): SigningContext {
  const signingKey = deriveSigningKey(secretAccessKey, auth.credential);
  const scope = credentialScope(auth.credential);
  const provided = decodeSignature(auth.signature);
  const candidates = canonicalRequests(request, auth);
  for (const canonicalRequest of candidates) {
    const stringToSign = [ALGORITHM, auth.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    if (signatureMatches(hmacSha256(signingKey, stringToSign), provided)) {
      return { signingKey, seedSignature: auth.signature.toLowerCase(), amzDate: auth.amzDate, scope };
    }
  }
  // AWS returns what it signed, so a client author can diff it with their own; none of it is secret.
  const canonicalRequest = candidates[0]!;
  throw new S3Error('SignatureDoesNotMatch', undefined, {
    AWSAccessKeyId: auth.credential.accessKeyId,
    StringToSign: [ALGORITHM, auth.amzDate, scope, sha256Hex(canonicalRequest)].join('\n'),
    SignatureProvided: auth.signature,
    CanonicalRequest: canonicalRequest,
  });
}

/**
 * The canonical requests this request may have been signed as. The first is AWS's: each path
 * segment decoded and encoded once. The second is the path exactly as sent, which is what
 * Garage signs with; it differs only for clients whose wire escaping is not AWS's (e.g. a raw
 * '!' or an escaped '~'), and it names the very bytes that were sent, so it is no weaker.
 */
export function canonicalRequests(request: SignedRequest, auth: SignedAuth): string[] {
  const query = parseQuery(request.rawQuery);
  const signedQuery = query.filter((p) => auth.kind !== 'presigned' || p.name !== QUERY_SIGNATURE);
  const tail = [canonicalQuery(signedQuery), canonicalHeaders(request, auth.signedHeaders), auth.signedHeaders.join(';'), payloadLine(request, auth, query)];
  const paths = [canonicalPath(request.rawPath)];
  if (request.rawPath !== '' && request.rawPath !== paths[0]) paths.push(request.rawPath);
  return paths.map((path) => [request.method, path, ...tail].join('\n'));
}

/**
 * One "name:value\n" per signed header; values trimmed with inner whitespace runs collapsed.
 * A header sent twice reaches us joined by Node with ', ' where AWS joins with ','; clients do
 * not repeat signed headers in practice, so the difference is accepted as a known limit.
 */
function canonicalHeaders(request: SignedRequest, signedHeaders: readonly string[]): string {
  let out = '';
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) {
      throw new S3Error('SignatureDoesNotMatch', `The request signature we calculated does not match the signature you provided: signed header '${name}' is missing.`);
    }
    out += `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
  }
  return out;
}

/** The exact text the client put in the last line: the header value as sent, not our parse of it. */
function payloadLine(request: SignedRequest, auth: SignedAuth, query: QueryParameter[]): string {
  if (auth.kind === 'header') return request.headers[HEADER_CONTENT_SHA256] ?? UNSIGNED_PAYLOAD;
  return presignedContentSha256(request, query) ?? UNSIGNED_PAYLOAD;
}
