// What the real AWS SDK for JavaScript (v3 S3Client and getSignedUrl) puts on the wire, captured
// by a request handler that answers locally, goes through the whole pipeline: parseAuth,
// verifySignature, the aws-chunked decoder and the payload verifier.

import { Readable } from 'node:stream';

import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type ChecksumAlgorithm,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { HttpResponse, type HttpRequest } from '@smithy/core/protocols';

import { S3Error } from '../../src/protocols/s3/errors';
import {
  anonymousPayloadMode,
  createChunkDecoder,
  createPayloadVerifier,
  isChunked,
  parseAuth,
  verifySignature,
  type SignedRequest,
} from '../../src/protocols/sigv4';

const REGION = 'garage';
const ACCESS_KEY = 'GK0123456789abcdef01234567';
const SECRET = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

interface Captured {
  request: SignedRequest;
  body: Buffer;
}

async function readBody(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  const parts: Buffer[] = [];
  for await (const part of body as AsyncIterable<Uint8Array | string>) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/** The query as @smithy/node-http-handler writes it: escapeUri on names and values. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function wireQuery(query: HttpRequest['query']): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === null) parts.push(escapeUri(name));
    else for (const v of Array.isArray(value) ? value : [value]) parts.push(`${escapeUri(name)}=${escapeUri(v)}`);
  }
  return parts.join('&');
}

function capturingClient(captured: Captured[], responseBody = ''): S3Client {
  return new S3Client({
    region: REGION,
    endpoint: 'http://localhost:3900',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    maxAttempts: 1,
    requestHandler: {
      async handle(request: HttpRequest) {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]));
        captured.push({ request: { method: request.method, rawPath: request.path, rawQuery: wireQuery(request.query), headers }, body: await readBody(request.body) });
        const response = new HttpResponse({ statusCode: 200, headers: { etag: '"0"' }, body: Readable.from([Buffer.from(responseBody)]) });
        return { response };
      },
    },
  });
}

/** The server's whole path for one request; returns the payload and the verifier's result. */
function serve({ request, body }: Captured, nowMs = Date.now()) {
  const auth = parseAuth(request, { region: REGION, nowMs });
  const signing = auth.kind === 'anonymous' ? null : verifySignature(request, auth, SECRET);
  const mode = auth.kind === 'anonymous' ? anonymousPayloadMode(request) : auth.payload;
  const decoder = isChunked(mode) ? createChunkDecoder(mode, signing) : null;
  const verifier = createPayloadVerifier(request, mode);
  const payload: Buffer[] = [];
  // Fed in 1000-byte pieces, as a socket would.
  for (let offset = 0; offset < body.length; offset += 1000) {
    const piece = body.subarray(offset, offset + 1000);
    for (const bytes of decoder !== null ? decoder.push(piece) : [piece]) {
      verifier.update(bytes);
      payload.push(bytes);
    }
  }
  const trailers = decoder?.end().trailers;
  return { auth, mode, payload: Buffer.concat(payload), result: verifier.end(trailers) };
}

const KEYS = ['plain.txt', 'dir/with space/ünï cödé 日本.bin', "odd !'()*+,;=:@$&.key", 'a//b/./../c', '%2F%percent', 'x'.repeat(1024)];

describe('requests from the AWS SDK v3 S3Client', () => {
  test.each(KEYS)('PutObject with a Buffer body, key %#', async (key) => {
    const captured: Captured[] = [];
    const body = Buffer.from(`body of ${key}`);
    await capturingClient(captured).send(new PutObjectCommand({ Bucket: 'bucket', Key: key, Body: body, ContentType: 'text/plain', Metadata: { note: 'a  b' } }));
    const { payload, result } = serve(captured[0]!);
    expect(payload.equals(body)).toBe(true);
    expect(result.checksum?.algorithm).toBe('CRC32');
  });

  test.each(['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as ChecksumAlgorithm[])('PutObject of a stream (aws-chunked with a %s trailer)', async (algorithm) => {
    const captured: Captured[] = [];
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, index) => (index * 31) % 251));
    const stream = Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]);
    await capturingClient(captured).send(
      new PutObjectCommand({ Bucket: 'bucket', Key: 'streamed', Body: stream, ContentLength: data.length, ChecksumAlgorithm: algorithm }),
    );
    const { mode, payload, result } = serve(captured[0]!);
    expect(isChunked(mode)).toBe(true);
    expect(payload.equals(data)).toBe(true);
    expect(result.checksum?.algorithm).toBe(algorithm);
  });

  test('a corrupted stream body is caught by the trailing checksum', async () => {
    const captured: Captured[] = [];
    const data = Buffer.alloc(50_000, 'z');
    await capturingClient(captured).send(new PutObjectCommand({ Bucket: 'bucket', Key: 'k', Body: Readable.from([data]), ContentLength: data.length }));
    const { request, body } = captured[0]!;
    const corrupted = Buffer.from(body);
    corrupted[corrupted.indexOf('zzzz') + 10] = 0x79;
    let error: unknown;
    try {
      serve({ request, body: corrupted });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(S3Error);
    expect(['BadDigest', 'SignatureDoesNotMatch']).toContain((error as S3Error).code);
  });

  test('UploadPart with a query (partNumber, uploadId)', async () => {
    const captured: Captured[] = [];
    const body = Buffer.alloc(10_000, 'p');
    await capturingClient(captured).send(new UploadPartCommand({ Bucket: 'bucket', Key: 'big file', UploadId: 'id/with+chars==', PartNumber: 7, Body: body }));
    expect(captured[0]!.request.rawQuery).toContain('partNumber=7');
    expect(serve(captured[0]!).payload.equals(body)).toBe(true);
  });

  test('GetObject with a Range and response overrides; ListObjectsV2 with an odd prefix', async () => {
    const captured: Captured[] = [];
    const client = capturingClient(captured, '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult></ListBucketResult>');
    await client.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'é/k', Range: 'bytes=0-9', ResponseContentType: 'text/plain; charset=utf-8' }));
    await client.send(new ListObjectsV2Command({ Bucket: 'bucket', Prefix: 'a b/c+d&e', Delimiter: '/', StartAfter: '~x' }));
    for (const request of captured) expect(serve(request).auth.kind).toBe('header');
  });

  test('a request replayed 16 minutes later is RequestTimeTooSkewed', async () => {
    const captured: Captured[] = [];
    await capturingClient(captured).send(new GetObjectCommand({ Bucket: 'bucket', Key: 'k' }));
    let error: unknown;
    try {
      serve(captured[0]!, Date.now() + 16 * 60_000);
    } catch (caught) {
      error = caught;
    }
    expect((error as S3Error).code).toBe('RequestTimeTooSkewed');
  });
});

describe('URLs from getSignedUrl', () => {
  function fromUrl(method: string, url: string, headers: Record<string, string> = {}): Captured {
    // Not `new URL`: it would resolve '.' and '..' segments the SDK signed and a raw client sends.
    const match = /^https?:\/\/([^/]+)([^?]*)\?(.*)$/.exec(url)!;
    return { request: { method, rawPath: match[2]!, rawQuery: match[3]!, headers: { host: match[1]!, ...headers } }, body: Buffer.alloc(0) };
  }

  test.each(KEYS)('presigned GetObject, key %#', async (key) => {
    const client = capturingClient([]);
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bucket', Key: key, ResponseContentDisposition: 'attachment; filename="a b.txt"' }), { expiresIn: 300 });
    const { auth } = serve(fromUrl('GET', url));
    expect(auth.kind).toBe('presigned');
    expect(auth.kind === 'presigned' && auth.expiresSeconds).toBe(300);
    // The same URL after its expiry.
    expect(() => serve(fromUrl('GET', url), Date.now() + 301_000)).toThrow('Request has expired');
  });

  test('presigned PutObject: the body is unsigned and only MD5 is computed', async () => {
    const client = capturingClient([]);
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'bucket', Key: 'upload.bin', ContentType: 'application/octet-stream' }), { expiresIn: 60 });
    const captured = fromUrl('PUT', url, { 'content-type': 'application/octet-stream' });
    const { mode, result } = serve({ ...captured, body: Buffer.from('payload') });
    expect(mode).toEqual({ kind: 'unsigned' });
    expect(result.md5Hex).toBe('321c3cf486ed509164edec1e1981fec8');
  });
});
