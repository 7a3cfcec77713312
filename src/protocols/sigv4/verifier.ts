// Hashes a payload as it streams and checks every digest the client declared for it: the signed
// SHA-256 (x-amz-content-sha256), Content-MD5, and one x-amz-checksum-* given as a header or as
// a trailer named by x-amz-trailer. MD5 is always computed: it is the ETag.

import { createHash, type Hash } from 'node:crypto';

import { S3Error } from '../s3/errors';
import {
  CHECKSUM_ALGORITHMS,
  CHECKSUM_DIGEST_BYTES,
  createChecksummer,
  decodeBase64Exact,
  type Checksummer,
} from './checksum';
import type { ChecksumAlgorithm, PayloadMode, PayloadVerifier, SignedRequest } from './types';

const HEADER_CONTENT_MD5 = 'content-md5';
const HEADER_TRAILER = 'x-amz-trailer';
const HEADER_SDK_ALGORITHM = 'x-amz-sdk-checksum-algorithm';
const HEADER_DECODED_LENGTH = 'x-amz-decoded-content-length';
const CHECKSUM_PREFIX = 'x-amz-checksum-';
/** Known to S3 but not computed here: refused plainly rather than stored unchecked. */
const UNSUPPORTED_ALGORITHMS = ['CRC64NVME'];
const MD5_BYTES = 16;

/** Which checksum the client asked for, and where its expected value comes from. */
interface ChecksumRequest {
  algorithm: ChecksumAlgorithm;
  /** From the x-amz-checksum-<alg> header; null when it comes in a trailer or is only requested. */
  expected: Buffer | null;
  /** The trailing header that will carry the value, or null. */
  trailerName: string | null;
}

export function createPayloadVerifier(request: SignedRequest, mode: PayloadMode): PayloadVerifier {
  const contentMd5 = parseContentMd5(request.headers[HEADER_CONTENT_MD5]);
  const checksumRequest = parseChecksumRequest(request, mode);
  const decodedLength = mode.kind.startsWith('streaming') ? parseDecodedLength(request.headers[HEADER_DECODED_LENGTH]) : null;
  return new StreamingPayloadVerifier(mode, contentMd5, checksumRequest, decodedLength);
}

class StreamingPayloadVerifier implements PayloadVerifier {
  private readonly md5 = createHash('md5');
  private readonly sha256: Hash | null;
  private readonly checksummer: Checksummer | null;
  private bytes = 0;
  private ended = false;

  constructor(
    private readonly mode: PayloadMode,
    private readonly contentMd5: Buffer | null,
    private readonly checksumRequest: ChecksumRequest | null,
    private readonly decodedLength: number | null,
  ) {
    this.sha256 = mode.kind === 'sha256' ? createHash('sha256') : null;
    this.checksummer = checksumRequest !== null ? createChecksummer(checksumRequest.algorithm) : null;
  }

  update(bytes: Buffer): void {
    if (this.ended) throw new Error('PayloadVerifier.update after end'); // programmer error
    this.md5.update(bytes);
    this.sha256?.update(bytes);
    this.checksummer?.update(bytes);
    this.bytes += bytes.length;
  }

  end(trailers: Record<string, string> = {}): ReturnType<PayloadVerifier['end']> {
    if (this.ended) throw new Error('PayloadVerifier.end called twice'); // programmer error
    this.ended = true;
    this.checkSha256();
    this.checkDecodedLength();
    const md5 = this.md5.digest();
    if (this.contentMd5 !== null && !md5.equals(this.contentMd5)) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        ExpectedDigest: this.contentMd5.toString('base64'),
        CalculatedDigest: md5.toString('base64'),
      });
    }
    return { md5Hex: md5.toString('hex'), checksum: this.checkChecksum(trailers) };
  }

  private checkSha256(): void {
    if (this.sha256 === null || this.mode.kind !== 'sha256') return;
    const computed = this.sha256.digest('hex');
    if (computed === this.mode.hex) return;
    throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
      ClientComputedContentSHA256: this.mode.hex,
      S3ComputedContentSHA256: computed,
    });
  }

  private checkDecodedLength(): void {
    if (this.decodedLength === null || this.bytes === this.decodedLength) return;
    throw new S3Error(
      'IncompleteBody',
      `You did not provide the number of bytes specified by the x-amz-decoded-content-length header (${this.decodedLength}; got ${this.bytes}).`,
    );
  }

  private checkChecksum(trailers: Record<string, string>): { algorithm: ChecksumAlgorithm; base64: string } | null {
    if (this.checksumRequest === null || this.checksummer === null) return null;
    const { algorithm, trailerName } = this.checksumRequest;
    const computed = this.checksummer.digest();
    const expected = this.checksumRequest.expected ?? (trailerName !== null ? trailerValue(trailers, trailerName, algorithm) : null);
    if (expected !== null && !computed.equals(expected)) {
      throw new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
    }
    return { algorithm, base64: computed.toString('base64') };
  }
}

function trailerValue(trailers: Record<string, string>, name: string, algorithm: ChecksumAlgorithm): Buffer {
  const value = trailers[name];
  if (value === undefined) throw new S3Error('InvalidRequest', `The trailing header ${name} named in x-amz-trailer was not sent.`);
  const bytes = decodeBase64Exact(value, CHECKSUM_DIGEST_BYTES[algorithm]);
  if (bytes === null) throw new S3Error('InvalidRequest', `Value for ${name} trailing header is invalid.`);
  return bytes;
}

function parseContentMd5(value: string | undefined): Buffer | null {
  if (value === undefined) return null;
  const bytes = decodeBase64Exact(value.trim(), MD5_BYTES);
  if (bytes === null) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified is not valid.');
  return bytes;
}

function parseDecodedLength(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,15}$/.test(value.trim())) throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length is not a valid length.', { ArgumentName: HEADER_DECODED_LENGTH });
  return Number(value.trim());
}

// ---- Which checksum -------------------------------------------------------------------------

function parseChecksumRequest(request: SignedRequest, mode: PayloadMode): ChecksumRequest | null {
  const headerNames = Object.keys(request.headers).filter((name) => isChecksumValueHeader(name));
  const trailerNames = (request.headers[HEADER_TRAILER] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.startsWith(CHECKSUM_PREFIX));
  if (headerNames.length + trailerNames.length > 1) {
    throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  const requested = parseSdkAlgorithm(request.headers[HEADER_SDK_ALGORITHM]);
  const fromHeader = headerNames.length === 1 ? headerChecksum(request, headerNames[0]!) : null;
  const fromTrailer = trailerNames.length === 1 ? trailerChecksum(trailerNames[0]!, mode) : null;
  const declared = fromHeader ?? fromTrailer;
  if (declared !== null && requested !== null && declared.algorithm !== requested) {
    throw new S3Error('InvalidRequest', `Value for ${HEADER_SDK_ALGORITHM} header is invalid: it names ${requested} but the checksum sent is ${declared.algorithm}.`);
  }
  if (declared !== null) return declared;
  return requested !== null ? { algorithm: requested, expected: null, trailerName: null } : null;
}

/** x-amz-checksum-<alg> carries a value; x-amz-checksum-type/-mode/-algorithm are other things. */
function isChecksumValueHeader(name: string): boolean {
  if (!name.startsWith(CHECKSUM_PREFIX)) return false;
  const suffix = name.slice(CHECKSUM_PREFIX.length).toUpperCase();
  return CHECKSUM_ALGORITHMS.includes(suffix as ChecksumAlgorithm) || UNSUPPORTED_ALGORITHMS.includes(suffix);
}

function algorithmOf(name: string, where: string): ChecksumAlgorithm {
  const algorithm = name.slice(CHECKSUM_PREFIX.length).toUpperCase();
  if (UNSUPPORTED_ALGORITHMS.includes(algorithm)) throw new S3Error('NotImplemented', `The ${algorithm} checksum algorithm is not supported.`);
  if (!CHECKSUM_ALGORITHMS.includes(algorithm as ChecksumAlgorithm)) throw new S3Error('InvalidRequest', `The value specified in the ${where} header is not supported.`);
  return algorithm as ChecksumAlgorithm;
}

function headerChecksum(request: SignedRequest, name: string): ChecksumRequest {
  const algorithm = algorithmOf(name, name);
  const expected = decodeBase64Exact(request.headers[name]!.trim(), CHECKSUM_DIGEST_BYTES[algorithm]);
  if (expected === null) throw new S3Error('InvalidRequest', `Value for ${name} header is invalid.`);
  return { algorithm, expected, trailerName: null };
}

function trailerChecksum(name: string, mode: PayloadMode): ChecksumRequest {
  const trailing = mode.kind === 'streaming-unsigned-trailer' || (mode.kind === 'streaming-signed' && mode.trailer);
  if (!trailing) throw new S3Error('InvalidRequest', `${HEADER_TRAILER} was given but x-amz-content-sha256 names no trailer.`);
  return { algorithm: algorithmOf(name, HEADER_TRAILER), expected: null, trailerName: name };
}

function parseSdkAlgorithm(value: string | undefined): ChecksumAlgorithm | null {
  if (value === undefined) return null;
  const algorithm = value.trim().toUpperCase();
  if (UNSUPPORTED_ALGORITHMS.includes(algorithm)) throw new S3Error('NotImplemented', `The ${algorithm} checksum algorithm is not supported.`);
  if (!CHECKSUM_ALGORITHMS.includes(algorithm as ChecksumAlgorithm)) throw new S3Error('InvalidRequest', `Value for ${HEADER_SDK_ALGORITHM} header is invalid.`);
  return algorithm as ChecksumAlgorithm;
}
