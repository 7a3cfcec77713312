// AWS Signature Version 4 for S3, as a pure core: parse and check a request's authentication,
// verify its signature with a secret the caller looked up, decode aws-chunked bodies, and check
// payload digests. No I/O and no clock: the caller passes `nowMs` and feeds the body bytes.
//
// Typical use by the HTTP server:
//   const auth = parseAuth(request, { region, nowMs: clock.now() });
//   const signing = auth.kind === 'anonymous' ? null : verifySignature(request, auth, secret);
//   const mode = auth.kind === 'anonymous' ? anonymousPayloadMode(request) : auth.payload;
//   const decoder = isChunked(mode) ? createChunkDecoder(mode, signing) : null;
//   const verifier = createPayloadVerifier(request, mode);
//   for each body piece: for (const bytes of decoder ? decoder.push(piece) : [piece]) verifier.update(bytes)
//   const { md5Hex, checksum } = verifier.end(decoder?.end().trailers);

export type {
  ChecksumAlgorithm,
  ChunkDecoder,
  Credential,
  ParsedAuth,
  PayloadMode,
  PayloadVerifier,
  SignedAuth,
  SignedRequest,
  SigningContext,
} from './types';
export { parseAuth, anonymousPayloadMode, payloadModeFromHeader, type ParseAuthOptions } from './auth';
export { verifySignature, deriveSigningKey, credentialScope } from './signature';
export { createChunkDecoder } from './chunked';
export { createPayloadVerifier } from './verifier';
export { crc32c, checksumHeaderName, CHECKSUM_ALGORITHMS } from './checksum';
export { uriEncode, canonicalPath } from './encoding';

import type { PayloadMode } from './types';

/** True when the body is aws-chunked framing that createChunkDecoder must strip. */
export function isChunked(mode: PayloadMode): mode is Extract<PayloadMode, { kind: 'streaming-signed' | 'streaming-unsigned-trailer' }> {
  return mode.kind === 'streaming-signed' || mode.kind === 'streaming-unsigned-trailer';
}
export { signRequest, type RequestToSign, type SigningKeys } from './sign';
