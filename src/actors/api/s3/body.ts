// Request bodies: the payload of a PUT streamed through the aws-chunked decoder (when the client
// streams) and the payload verifier (MD5 for the ETag, the signed SHA-256, Content-MD5 and
// x-amz-checksum-*), and small XML bodies read whole under a bound.
import type { IncomingMessage } from 'node:http';
import { createChunkDecoder, createPayloadVerifier, type PayloadMode, type SignedRequest, type SigningContext } from '../../../protocols/sigv4';
import { S3Error } from '../../../protocols/s3/errors';

export interface PayloadSummary {
  bytes: number;
  md5Hex: string;
  checksum: { algorithm: 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256'; base64: string } | null;
}

export interface Payload {
  /** The payload bytes as they arrive (decoded from aws-chunked when streamed). */
  chunks(): AsyncGenerator<Buffer>;
  /** After `chunks` ended: sizes and digests, every check done (throws on mismatch). */
  summary(): PayloadSummary;
}

/** Whether the request promises a body length (S3 refuses a PUT that does not). */
export function checkContentLength(http: IncomingMessage): void {
  if (http.headers['content-length'] === undefined && http.headers['transfer-encoding'] === undefined) {
    throw new S3Error('MissingContentLength');
  }
}

export function openPayload(http: IncomingMessage, signed: SignedRequest, mode: PayloadMode, signing: SigningContext | null): Payload {
  const streamed = mode.kind === 'streaming-signed' || mode.kind === 'streaming-unsigned-trailer';
  const decoder = streamed ? createChunkDecoder(mode, signing) : null;
  const verifier = createPayloadVerifier(signed, mode);
  const declared = declaredLength(http, streamed);
  let total = 0;
  let summary: PayloadSummary | null = null;
  async function* chunks(): AsyncGenerator<Buffer> {
    for await (const raw of http as AsyncIterable<Buffer>) {
      for (const piece of decoder ? decoder.push(raw) : [raw]) {
        if (piece.length === 0) continue;
        total += piece.length;
        if (declared !== null && total > declared) throw new S3Error('IncompleteBody', `The body is longer than the ${declared} bytes declared.`);
        verifier.update(piece);
        yield piece;
      }
    }
    const trailers = decoder ? decoder.end().trailers : undefined;
    if (declared !== null && total !== declared) throw new S3Error('IncompleteBody', `The body has ${total} bytes, ${declared} were declared.`);
    const result = verifier.end(trailers);
    summary = { bytes: total, md5Hex: result.md5Hex, checksum: result.checksum };
  }
  return {
    chunks,
    summary() {
      if (summary === null) throw new Error('payload summary asked before the body was read');
      return summary;
    },
  };
}

/** The payload length the client declared: x-amz-decoded-content-length when streamed. */
function declaredLength(http: IncomingMessage, streamed: boolean): number | null {
  const header = streamed ? http.headers['x-amz-decoded-content-length'] : http.headers['content-length'];
  if (header === undefined) {
    if (streamed) throw new S3Error('MissingContentLength', 'A streamed upload needs x-amz-decoded-content-length.');
    return null;
  }
  const value = Array.isArray(header) ? header[0]! : header;
  if (!/^\d{1,15}$/.test(value)) throw new S3Error('InvalidArgument', `invalid content length: ${value}`);
  return Number(value);
}

/** A whole small body (XML), refused past `maxBytes`. */
export async function readSmallBody(payload: Payload, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload.chunks()) {
    size += chunk.length;
    if (size > maxBytes) throw new S3Error('MaxMessageLengthExceeded', `The request body is over ${maxBytes} bytes.`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Cuts a stream into pieces of exactly `size` bytes (the last one shorter). */
export async function* cutBlocks(chunks: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of chunks) {
    let rest = chunk;
    while (pendingBytes + rest.length >= size) {
      const take = size - pendingBytes;
      pending.push(rest.subarray(0, take));
      yield Buffer.concat(pending, size);
      rest = rest.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
