// Incremental decoder of aws-chunked bodies (AWS S3 API reference, "Transferring payload in
// multiple chunks" and "Including trailing headers"):
//
//   signed:    <hex size>;chunk-signature=<64 hex>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n
//   unsigned:  <hex size>\r\n<data>\r\n ... 0\r\n
//   then, with a trailer:  <name>:<value>\r\n ... [x-amz-trailer-signature:<sig>\r\n]
//   and a final \r\n.
//
// Each chunk signature signs the previous signature (the seed is the request's) and the chunk's
// SHA-256, so chunks cannot be dropped, reordered or altered; the 0-length chunk is signed too,
// so the body cannot be cut short. Payload bytes are handed out as they arrive, before their
// chunk's signature is known to be right: a throw from push() or end() means the caller must
// discard everything it got from this decoder (the upload fails). That keeps memory bounded by
// one line, whatever the chunk size.

import { createHash, type Hash } from 'node:crypto';

import { S3Error } from '../s3/errors';
import { ALGORITHM_CHUNK, ALGORITHM_TRAILER, EMPTY_SHA256_HEX, HEADER_TRAILER_SIGNATURE } from './constants';
import { CHUNK_BYTES_MAX, CHUNK_LINE_BYTES_MAX, CHUNK_SIZE_HEX_DIGITS_MAX, TRAILERS_COUNT_MAX } from './limits';
import { decodeSignature, hmacSha256, sha256Hex, signatureMatches } from './signature';
import type { ChunkDecoder, PayloadMode, SigningContext } from './types';

type State = 'size-line' | 'data' | 'data-end' | 'trailer' | 'done';

const CR = 0x0d;
const LF = 0x0a;
const SIGNED_SIZE_LINE = new RegExp(`^([0-9a-fA-F]{1,${CHUNK_SIZE_HEX_DIGITS_MAX}});chunk-signature=([0-9a-fA-F]{64})$`);
// Unsigned chunks may carry chunk extensions (RFC 9112 style); none means anything to S3.
const UNSIGNED_SIZE_LINE = new RegExp(`^([0-9a-fA-F]{1,${CHUNK_SIZE_HEX_DIGITS_MAX}})(;.*)?$`);

export function createChunkDecoder(mode: PayloadMode, signing: SigningContext | null): ChunkDecoder {
  if (mode.kind === 'streaming-signed') {
    if (signing === null) throw new S3Error('AccessDenied', 'A signed streaming payload needs a signed request.');
    return new AwsChunkedDecoder(signing, mode.trailer);
  }
  if (mode.kind === 'streaming-unsigned-trailer') return new AwsChunkedDecoder(null, true);
  throw new Error(`createChunkDecoder: payload mode '${mode.kind}' is not aws-chunked`); // programmer error
}

class AwsChunkedDecoder implements ChunkDecoder {
  private state: State = 'size-line';
  /** Bytes of the line being read, before its CRLF. Invariant: total length <= CHUNK_LINE_BYTES_MAX. */
  private lineParts: Buffer[] = [];
  private lineBytes = 0;
  /** Data bytes of the current chunk not yet received. */
  private remaining = 0;
  private chunkHash: Hash | null = null;
  private chunkSignature: Buffer | null = null;
  private previousSignature: string;
  private readonly trailers: [string, string][] = [];
  private trailerSignature: Buffer | null = null;
  private failed = false;

  constructor(
    /** null: unsigned chunks. */
    private readonly signing: SigningContext | null,
    private readonly trailerExpected: boolean,
  ) {
    this.previousSignature = signing?.seedSignature ?? '';
  }

  push(bytes: Buffer): Buffer[] {
    if (this.failed) throw new S3Error('InvalidRequest', 'The aws-chunked body was already refused.');
    try {
      return this.consume(bytes);
    } catch (error) {
      this.failed = true;
      throw error;
    }
  }

  end(): { trailers: Record<string, string> } {
    if (this.failed) throw new S3Error('InvalidRequest', 'The aws-chunked body was already refused.');
    // Tolerated: a body that stops right after the last line, without the closing empty line.
    if (this.state === 'trailer' && this.lineBytes === 0) this.finishTrailers();
    if (this.state !== 'done') {
      this.failed = true;
      throw new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk.');
    }
    return { trailers: Object.fromEntries(this.trailers) };
  }

  private consume(bytes: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      if (this.state === 'data') {
        const piece = bytes.subarray(offset, offset + Math.min(this.remaining, bytes.length - offset));
        this.chunkHash?.update(piece);
        out.push(piece);
        offset += piece.length;
        this.remaining -= piece.length;
        if (this.remaining === 0) this.finishChunkData();
        continue;
      }
      if (this.state === 'done') throw new S3Error('InvalidRequest', 'Data after the end of the aws-chunked body.');
      const { line, next } = this.readLine(bytes, offset);
      offset = next;
      if (line !== null) this.onLine(line);
    }
    return out;
  }

  /** Reads up to the next LF; returns the line without its CRLF, or null when it continues in a later push. */
  private readLine(bytes: Buffer, offset: number): { line: string | null; next: number } {
    const lf = bytes.indexOf(LF, offset);
    const end = lf < 0 ? bytes.length : lf;
    if (this.lineBytes + (end - offset) > CHUNK_LINE_BYTES_MAX) {
      throw new S3Error('InvalidRequest', `An aws-chunked line is longer than ${CHUNK_LINE_BYTES_MAX} bytes.`);
    }
    this.lineParts.push(bytes.subarray(offset, end));
    this.lineBytes += end - offset;
    if (lf < 0) return { line: null, next: bytes.length };
    const whole = Buffer.concat(this.lineParts, this.lineBytes);
    this.lineParts = [];
    this.lineBytes = 0;
    if (whole.length === 0 || whole[whole.length - 1] !== CR) throw new S3Error('InvalidRequest', 'An aws-chunked line does not end with CRLF.');
    return { line: whole.toString('latin1', 0, whole.length - 1), next: lf + 1 };
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'size-line': return this.onSizeLine(line);
      case 'data-end':
        if (line !== '') throw new S3Error('InvalidRequest', 'Chunk data is longer than its declared size.');
        this.state = 'size-line';
        return;
      case 'trailer': return this.onTrailerLine(line);
      default: throw new Error(`aws-chunked: line in state ${this.state}`); // unreachable
    }
  }

  private onSizeLine(line: string): void {
    const match = (this.signing !== null ? SIGNED_SIZE_LINE : UNSIGNED_SIZE_LINE).exec(line);
    if (match === null) throw new S3Error('InvalidRequest', `Malformed aws-chunked chunk header: "${line.slice(0, 100)}".`);
    const size = parseInt(match[1]!, 16);
    if (size > CHUNK_BYTES_MAX) throw new S3Error('InvalidRequest', `An aws-chunked chunk is larger than ${CHUNK_BYTES_MAX} bytes.`);
    if (this.signing !== null) {
      this.chunkSignature = Buffer.from(match[2]!, 'hex');
      this.chunkHash = createHash('sha256');
    }
    if (size > 0) {
      this.state = 'data';
      this.remaining = size;
      return;
    }
    this.verifyChunk(); // the final, empty chunk is signed too: a cut body cannot pass
    this.state = 'trailer';
  }

  private finishChunkData(): void {
    this.verifyChunk();
    this.state = 'data-end';
  }

  private verifyChunk(): void {
    if (this.signing === null) return;
    const { signingKey, amzDate, scope } = this.signing;
    const chunkHashHex = this.chunkHash!.digest('hex');
    const stringToSign = [ALGORITHM_CHUNK, amzDate, scope, this.previousSignature, EMPTY_SHA256_HEX, chunkHashHex].join('\n');
    if (!signatureMatches(hmacSha256(signingKey, stringToSign), this.chunkSignature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The chunk signature we calculated does not match the signature you provided.');
    }
    this.previousSignature = this.chunkSignature!.toString('hex');
    this.chunkHash = null;
    this.chunkSignature = null;
  }

  private onTrailerLine(line: string): void {
    if (line === '') return this.finishTrailers();
    if (!this.trailerExpected) throw new S3Error('InvalidRequest', 'Data after the final aws-chunked chunk.');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new S3Error('InvalidRequest', `Malformed trailing header: "${line.slice(0, 100)}".`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (this.trailerSignature !== null) throw new S3Error('InvalidRequest', 'Trailing headers after x-amz-trailer-signature.');
    if (name === HEADER_TRAILER_SIGNATURE) {
      // An unsigned body has nothing to check a trailer signature against; it is dropped.
      if (this.signing !== null) this.trailerSignature = decodeSignature(value) ?? Buffer.alloc(0);
      return;
    }
    if (this.trailers.some(([existing]) => existing === name)) throw new S3Error('InvalidRequest', `Trailing header ${name} is repeated.`);
    if (this.trailers.length >= TRAILERS_COUNT_MAX) throw new S3Error('InvalidRequest', 'Too many trailing headers.');
    this.trailers.push([name, value]);
  }

  private finishTrailers(): void {
    if (this.signing !== null && this.trailerExpected) this.verifyTrailers(this.signing);
    this.state = 'done';
  }

  /** The trailer signature chains from the final chunk's and signs "name:value\n" of each trailer. */
  private verifyTrailers(signing: SigningContext): void {
    const canonical = this.trailers.map(([name, value]) => `${name}:${value}\n`).join('');
    const stringToSign = [ALGORITHM_TRAILER, signing.amzDate, signing.scope, this.previousSignature, sha256Hex(canonical)].join('\n');
    if (!signatureMatches(hmacSha256(signing.signingKey, stringToSign), this.trailerSignature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The trailer signature we calculated does not match the signature you provided.');
    }
  }
}
