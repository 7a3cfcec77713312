// Signing a request with header authentication (what a client does), for Grange's own clients
// (the K2V client and CLI). It builds the canonical request with the very code the server checks
// with; the S3 tests check that code against AWS's own signer.
import { ALGORITHM, HEADER_CONTENT_SHA256 } from './constants';
import { canonicalRequests, credentialScope, deriveSigningKey, hmacSha256, sha256Hex } from './signature';
import type { Credential, SignedAuth } from './types';

export interface RequestToSign {
  method: string;
  /** Percent-encoded path as it will be sent, no query. */
  rawPath: string;
  /** Encoded query as it will be sent ('' when none). */
  rawQuery: string;
  /** Lowercase names; must include host. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface SigningKeys {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
}

/** The headers to send: the given ones plus x-amz-date, x-amz-content-sha256 and authorization. */
export function signRequest(request: RequestToSign, keys: SigningKeys, nowMs: number): Record<string, string> {
  const amzDate = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const headers: Record<string, string> = { ...request.headers, 'x-amz-date': amzDate, [HEADER_CONTENT_SHA256]: sha256Hex(request.body) };
  const credential: Credential = { accessKeyId: keys.accessKeyId, date: amzDate.slice(0, 8), region: keys.region, service: keys.service };
  const signedHeaders = Object.keys(headers).sort();
  const auth: SignedAuth = { kind: 'header', credential, signedHeaders, signature: '', amzDate, payload: { kind: 'sha256', hex: headers[HEADER_CONTENT_SHA256]! } };
  const canonical = canonicalRequests({ method: request.method, rawPath: request.rawPath, rawQuery: request.rawQuery, headers }, auth)[0]!;
  const scope = credentialScope(credential);
  const signature = hmacSha256(deriveSigningKey(keys.secretAccessKey, credential), [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n')).toString('hex');
  headers.authorization = `${ALGORITHM} Credential=${keys.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return headers;
}
