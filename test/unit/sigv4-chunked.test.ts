// aws-chunked bodies: AWS's published examples (which no code of ours produced), bodies from an
// encoder written here from the documented algorithm, every way of splitting them, and bad input.

import { createHash, createHmac } from 'node:crypto';

import {
  createChunkDecoder,
  createPayloadVerifier,
  deriveSigningKey,
  parseAuth,
  verifySignature,
  type ChunkDecoder,
  type PayloadMode,
  type SignedRequest,
  type SigningContext,
} from '../../src/protocols/sigv4';
import { s3ErrorOf } from '../harness/s3-errors';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const EXAMPLE_NOW = Date.UTC(2013, 4, 24);
const SIGNED: PayloadMode = { kind: 'streaming-signed', trailer: false };
const SIGNED_TRAILER: PayloadMode = { kind: 'streaming-signed', trailer: true };
const UNSIGNED_TRAILER: PayloadMode = { kind: 'streaming-unsigned-trailer' };

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmacHex(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

/** Feeds `pieces` and returns the payload and trailers. */
function decodeAll(decoder: ChunkDecoder, pieces: Buffer[]): { payload: Buffer; trailers: Record<string, string> } {
  const out: Buffer[] = [];
  for (const piece of pieces) out.push(...decoder.push(piece));
  const { trailers } = decoder.end();
  return { payload: Buffer.concat(out), trailers };
}

// ---- An encoder from the documented algorithm -------------------------------------------------

function chunkSignature(context: SigningContext, previous: string, data: Buffer): string {
  return hmacHex(context.signingKey, ['AWS4-HMAC-SHA256-PAYLOAD', context.amzDate, context.scope, previous, EMPTY_SHA256, sha256Hex(data)].join('\n'));
}

function trailerSignature(context: SigningContext, previous: string, trailers: [string, string][]): string {
  const canonical = trailers.map(([name, value]) => `${name}:${value}\n`).join('');
  return hmacHex(context.signingKey, ['AWS4-HMAC-SHA256-TRAILER', context.amzDate, context.scope, previous, sha256Hex(canonical)].join('\n'));
}

function pieces(data: Buffer, chunkBytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += chunkBytes) out.push(data.subarray(offset, offset + chunkBytes));
  return [...out, Buffer.alloc(0)];
}

function encodeSigned(context: SigningContext, data: Buffer, chunkBytes: number, trailers?: [string, string][]): Buffer {
  let previous = context.seedSignature;
  const parts: Buffer[] = [];
  for (const chunk of pieces(data, chunkBytes)) {
    previous = chunkSignature(context, previous, chunk);
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`), chunk);
    if (chunk.length > 0) parts.push(Buffer.from('\r\n'));
  }
  if (trailers !== undefined) {
    for (const [name, value] of trailers) parts.push(Buffer.from(`${name}:${value}\r\n`));
    parts.push(Buffer.from(`x-amz-trailer-signature:${trailerSignature(context, previous, trailers)}\r\n`));
  }
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

function encodeUnsigned(data: Buffer, chunkBytes: number, trailers: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of pieces(data, chunkBytes)) {
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk);
    if (chunk.length > 0) parts.push(Buffer.from('\r\n'));
  }
  for (const [name, value] of trailers) parts.push(Buffer.from(`${name}:${value}\r\n`));
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

const TEST_CONTEXT: SigningContext = {
  signingKey: deriveSigningKey('test-secret', { accessKeyId: 'GK1', date: '20260301', region: 'garage', service: 's3' }),
  seedSignature: 'a'.repeat(64),
  amzDate: '20260301T120000Z',
  scope: '20260301/garage/s3/aws4_request',
};

function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(require('node:zlib').crc32(data) >>> 0);
  return out.toString('base64');
}

// ---- AWS's published examples --------------------------------------------------------------------

describe("AWS's chunked upload examples (66560 bytes of 'a', 64 KiB chunks)", () => {
  const payload = Buffer.alloc(66560, 'a');

  function exampleBody(signatures: string[], trailer = ''): Buffer {
    return Buffer.concat([
      Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`),
      payload.subarray(0, 65536),
      Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`),
      payload.subarray(65536),
      Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n${trailer}\r\n`),
    ]);
  }

  function exampleRequest(contentSha256: string, signedHeaders: string, seed: string, extra: Record<string, string>): SignedRequest {
    return {
      method: 'PUT',
      rawPath: '/examplebucket/chunkObject.txt',
      rawQuery: '',
      headers: {
        host: 's3.amazonaws.com',
        'content-encoding': 'aws-chunked',
        'x-amz-content-sha256': contentSha256,
        'x-amz-date': '20130524T000000Z',
        'x-amz-decoded-content-length': '66560',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${seed}`,
        ...extra,
      },
    };
  }

  function signingOf(request: SignedRequest): { context: SigningContext; mode: PayloadMode } {
    const auth = parseAuth(request, { region: 'us-east-1', nowMs: EXAMPLE_NOW });
    if (auth.kind === 'anonymous') throw new Error('expected a signed request');
    return { context: verifySignature(request, auth, EXAMPLE_SECRET), mode: auth.payload };
  }

  const plain = {
    request: exampleRequest(
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
      '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      { 'content-length': '66824' },
    ),
    body: exampleBody([
      'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
      '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
      'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
    ]),
  };

  const withTrailer = {
    request: exampleRequest(
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer',
      '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
      { 'x-amz-trailer': 'x-amz-checksum-crc32c' },
    ),
    body: exampleBody(
      [
        'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
        '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
        '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
      ],
      'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n',
    ),
  };

  test('the documented body is 66824 bytes and its seed signature verifies', () => {
    expect(plain.body.length).toBe(66824);
    const { context, mode } = signingOf(plain.request);
    expect(mode).toEqual(SIGNED);
    expect(context.seedSignature).toBe('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
  });

  test('our encoder gives the documented chunk signatures', () => {
    const { context } = signingOf(plain.request);
    expect(encodeSigned(context, payload, 65536).equals(plain.body)).toBe(true);
  });

  test('decodes in one piece, in 1-byte pieces and in odd pieces', () => {
    const { context, mode } = signingOf(plain.request);
    const splits = [[plain.body], [...plain.body].map((byte) => Buffer.from([byte])), pieces(plain.body, 997).slice(0, -1)];
    for (const split of splits) {
      const { payload: decoded, trailers } = decodeAll(createChunkDecoder(mode, context), split);
      expect(decoded.equals(payload)).toBe(true);
      expect(trailers).toEqual({});
    }
  });

  test('with a signed trailer: decodes, and the CRC32C trailer matches the data', () => {
    const { context, mode } = signingOf(withTrailer.request);
    expect(mode).toEqual(SIGNED_TRAILER);
    const { payload: decoded, trailers } = decodeAll(createChunkDecoder(mode, context), [withTrailer.body]);
    expect(decoded.equals(payload)).toBe(true);
    expect(trailers).toEqual({ 'x-amz-checksum-crc32c': 'sOO8/Q==' });
    const verifier = createPayloadVerifier(withTrailer.request, mode);
    verifier.update(decoded);
    expect(verifier.end(trailers)).toEqual({ md5Hex: createHash('md5').update(payload).digest('hex'), checksum: { algorithm: 'CRC32C', base64: 'sOO8/Q==' } });
  });

  test('a changed data byte, a changed signature or a changed trailer is SignatureDoesNotMatch', () => {
    const { context, mode } = signingOf(plain.request);
    const flipped = Buffer.from(plain.body);
    flipped[66_000] ^= 1; // inside the second chunk's data
    expect(s3ErrorOf(() => decodeAll(createChunkDecoder(mode, context), [flipped])).code).toBe('SignatureDoesNotMatch');
    const badSignature = Buffer.from(plain.body.toString('latin1').replace('ad80c730', 'ad80c731'), 'latin1');
    expect(s3ErrorOf(() => decodeAll(createChunkDecoder(mode, context), [badSignature])).code).toBe('SignatureDoesNotMatch');
    // The final 0-length chunk is signed too: a forged end is refused.
    const badFinal = Buffer.from(plain.body.toString('latin1').replace('b6c6ea8a', 'b6c6ea8b'), 'latin1');
    expect(s3ErrorOf(() => decodeAll(createChunkDecoder(mode, context), [badFinal])).code).toBe('SignatureDoesNotMatch');

    const trailerSigning = signingOf(withTrailer.request);
    const badTrailer = Buffer.from(withTrailer.body.toString('latin1').replace('sOO8/Q==', 'AAAAAA=='), 'latin1');
    expect(s3ErrorOf(() => decodeAll(createChunkDecoder(trailerSigning.mode, trailerSigning.context), [badTrailer])).code).toBe('SignatureDoesNotMatch');
    const noTrailerSignature = Buffer.from(withTrailer.body.toString('latin1').replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, ''), 'latin1');
    expect(s3ErrorOf(() => decodeAll(createChunkDecoder(trailerSigning.mode, trailerSigning.context), [noTrailerSignature])).code).toBe('SignatureDoesNotMatch');
  });

  test('a body cut anywhere before its end is IncompleteBody or a bad signature, never a success', () => {
    const { context, mode } = signingOf(plain.request);
    // The whole body bar its final CRLF is tolerated; anything shorter must fail.
    for (const length of [0, 10, 65536, 65536 + 90, 66560 + 100, plain.body.length - 90, plain.body.length - 3]) {
      const error = s3ErrorOf(() => decodeAll(createChunkDecoder(mode, context), [plain.body.subarray(0, length)]));
      expect(['IncompleteBody', 'SignatureDoesNotMatch']).toContain(error.code);
    }
    // Dropping the final 0-length chunk entirely is caught too.
    const withoutFinal = plain.body.subarray(0, plain.body.indexOf('0;chunk-signature=b6c6'));
    expect(s3ErrorOf(() => decodeAll(createChunkDecoder(mode, context), [withoutFinal])).code).toBe('IncompleteBody');
  });
});

// ---- Our own encoder, every split ---------------------------------------------------------------

describe('bodies from the documented algorithm', () => {
  const data = Buffer.from(Array.from({ length: 150 }, (_, index) => (index * 7) % 256));

  function expectEverySplit(mode: PayloadMode, signing: SigningContext | null, body: Buffer, expectedTrailers: Record<string, string>): void {
    for (let cut = 0; cut <= body.length; cut++) {
      const { payload, trailers } = decodeAll(createChunkDecoder(mode, signing), [body.subarray(0, cut), body.subarray(cut)]);
      expect(payload.equals(data)).toBe(true);
      expect(trailers).toEqual(expectedTrailers);
    }
    for (let cutA = 0; cutA <= body.length; cutA += 7) {
      for (let cutB = cutA; cutB <= body.length; cutB += 5) {
        const split = [body.subarray(0, cutA), body.subarray(cutA, cutB), body.subarray(cutB)];
        expect(decodeAll(createChunkDecoder(mode, signing), split).payload.equals(data)).toBe(true);
      }
    }
  }

  test('signed, no trailer: every split point', () => {
    expectEverySplit(SIGNED, TEST_CONTEXT, encodeSigned(TEST_CONTEXT, data, 64), {});
  });

  test('signed with a CRC32 trailer: every split point, and the verifier accepts it', () => {
    const trailer: [string, string][] = [['x-amz-checksum-crc32', crc32Base64(data)]];
    const body = encodeSigned(TEST_CONTEXT, data, 40, trailer);
    expectEverySplit(SIGNED_TRAILER, TEST_CONTEXT, body, { 'x-amz-checksum-crc32': crc32Base64(data) });
  });

  test('unsigned with a CRC32 trailer: every split point', () => {
    const body = encodeUnsigned(data, 33, [['x-amz-checksum-crc32', crc32Base64(data)]]);
    expectEverySplit(UNSIGNED_TRAILER, null, body, { 'x-amz-checksum-crc32': crc32Base64(data) });
  });

  test('an empty payload is just the final chunk', () => {
    const empty = Buffer.alloc(0);
    expect(decodeAll(createChunkDecoder(SIGNED, TEST_CONTEXT), [encodeSigned(TEST_CONTEXT, empty, 64)]).payload.length).toBe(0);
    expect(decodeAll(createChunkDecoder(UNSIGNED_TRAILER, null), [Buffer.from('0\r\n\r\n')]).payload.length).toBe(0);
  });

  test('what the JS SDK sends for STREAMING-UNSIGNED-PAYLOAD-TRAILER', () => {
    const body = Buffer.from('3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n');
    const { payload, trailers } = decodeAll(createChunkDecoder(UNSIGNED_TRAILER, null), [body]);
    expect(payload.toString()).toBe('abc');
    expect(trailers).toEqual({ 'x-amz-checksum-crc32': 'NSRBwg==' });
    const request: SignedRequest = { method: 'PUT', rawPath: '/b/k', rawQuery: '', headers: { 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': '3' } };
    const verifier = createPayloadVerifier(request, UNSIGNED_TRAILER);
    verifier.update(payload);
    expect(verifier.end(trailers).checksum).toEqual({ algorithm: 'CRC32', base64: 'NSRBwg==' });
  });

  test('chunks signed with another seed or key, or reordered, are refused', () => {
    const otherSeed = { ...TEST_CONTEXT, seedSignature: 'b'.repeat(64) };
    const body = encodeSigned(otherSeed, data, 64);
    expect(s3ErrorOf(() => decodeAll(createChunkDecoder(SIGNED, TEST_CONTEXT), [body])).code).toBe('SignatureDoesNotMatch');
    // Two chunks of the same size swapped: each signature is valid alone, not in this order.
    const twoChunks = encodeSigned(TEST_CONTEXT, data.subarray(0, 128), 64).toString('latin1');
    const secondAt = twoChunks.indexOf('40;chunk-signature=', 1);
    const finalAt = twoChunks.indexOf('\r\n0;chunk-signature=') + 2;
    const swapped = twoChunks.slice(secondAt, finalAt) + twoChunks.slice(0, secondAt) + twoChunks.slice(finalAt);
    expect(s3ErrorOf(() => decodeAll(createChunkDecoder(SIGNED, TEST_CONTEXT), [Buffer.from(swapped, 'latin1')])).code).toBe('SignatureDoesNotMatch');
  });
});

// ---- Framing errors and limits --------------------------------------------------------------------

describe('malformed framing and limits', () => {
  const signature = 'c'.repeat(64);
  const decodeText = (mode: PayloadMode, text: string) => decodeAll(createChunkDecoder(mode, mode.kind === 'streaming-signed' ? TEST_CONTEXT : null), [Buffer.from(text, 'latin1')]);

  test('a chunk header line longer than the limit is refused before it ends', () => {
    const decoder = createChunkDecoder(UNSIGNED_TRAILER, null);
    decoder.push(Buffer.alloc(4000, '1'));
    expect(s3ErrorOf(() => decoder.push(Buffer.alloc(200, '1'))).code).toBe('InvalidRequest');
    // And the decoder stays refused.
    expect(s3ErrorOf(() => decoder.push(Buffer.from('\r\n'))).code).toBe('InvalidRequest');
  });

  test('a chunk size over 16 MiB, or with too many digits, is refused before its data', () => {
    expect(s3ErrorOf(() => decodeText(SIGNED, `1000001;chunk-signature=${signature}\r\n`)).code).toBe('InvalidRequest');
    expect(s3ErrorOf(() => decodeText(UNSIGNED_TRAILER, '000000001\r\n')).code).toBe('InvalidRequest');
    expect(s3ErrorOf(() => decodeText(UNSIGNED_TRAILER, 'ffffffff\r\n')).code).toBe('InvalidRequest');
  });

  test('bad chunk headers and line endings are InvalidRequest', () => {
    for (const text of ['zz\r\n', '3\nabc\r\n0\r\n\r\n', '-3\r\n', ' 3\r\n', '3\r\nabcd\r\n0\r\n\r\n', '3\r\nabc0\r\n\r\n']) {
      expect(s3ErrorOf(() => decodeText(UNSIGNED_TRAILER, text)).code).toBe('InvalidRequest');
    }
    for (const text of ['3\r\nabc\r\n', `3;chunk-signature=${'c'.repeat(63)}\r\n`, `3;chunk-signature=${signature};x\r\n`, `3;chunk-signatur=${signature}\r\n`]) {
      expect(s3ErrorOf(() => decodeText(SIGNED, text)).code).toBe('InvalidRequest');
    }
  });

  test('data after the end, and trailers when none were announced, are InvalidRequest', () => {
    expect(s3ErrorOf(() => decodeText(UNSIGNED_TRAILER, '0\r\n\r\nextra')).code).toBe('InvalidRequest');
    const body = encodeSigned(TEST_CONTEXT, Buffer.from('abc'), 64).toString('latin1');
    expect(s3ErrorOf(() => decodeText(SIGNED, body.replace(/\r\n$/, 'x-amz-checksum-crc32:NSRBwg==\r\n\r\n'))).code).toBe('InvalidRequest');
  });

  test('malformed or repeated trailers are InvalidRequest', () => {
    expect(s3ErrorOf(() => decodeText(UNSIGNED_TRAILER, '0\r\nno-colon\r\n\r\n')).code).toBe('InvalidRequest');
    expect(s3ErrorOf(() => decodeText(UNSIGNED_TRAILER, '0\r\na:1\r\na:2\r\n\r\n')).code).toBe('InvalidRequest');
    const many = Array.from({ length: 17 }, (_, index) => `x-t${index}:v\r\n`).join('');
    expect(s3ErrorOf(() => decodeText(UNSIGNED_TRAILER, `0\r\n${many}\r\n`)).code).toBe('InvalidRequest');
  });

  test('a body that stops mid-chunk or mid-line is IncompleteBody', () => {
    for (const text of ['', '3\r\nab', '3\r\nabc', '3\r\nabc\r\n', '3\r\nabc\r\n0', '0\r\nx-amz-checksum-crc32:NSR']) {
      expect(s3ErrorOf(() => decodeText(UNSIGNED_TRAILER, text)).code).toBe('IncompleteBody');
    }
  });

  test('a signed streaming mode needs a signing context', () => {
    expect(s3ErrorOf(() => createChunkDecoder(SIGNED, null)).code).toBe('AccessDenied');
  });
});
