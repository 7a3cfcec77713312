// SigV4 header and presigned authentication, checked against AWS's own signer
// (@smithy/signature-v4, what the JS SDK uses) and against the examples AWS publishes.

import { createHash, createHmac } from 'node:crypto';

import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';

import {
  canonicalPath,
  createPayloadVerifier,
  parseAuth,
  verifySignature,
  type ParsedAuth,
  type SignedRequest,
} from '../../src/protocols/sigv4';
import { s3ErrorOf } from '../harness/s3-errors';

const REGION = 'garage';
const ACCESS_KEY = 'GK31c2f218a2e44f485b94239e';
const SECRET = 'b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f9d769d67f16c3835';
const HOST = 'localhost:3900';
const SIGNED_AT = new Date('2026-03-01T12:00:00Z');
const NOW = SIGNED_AT.getTime();
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** The signer's hash: SHA-256, or HMAC-SHA256 when given a key. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

function signer(region = REGION, secretAccessKey = SECRET): SignatureV4 {
  // uriEscapePath false: S3 signs the path as sent (single encoding), as the S3 client does.
  return new SignatureV4({ service: 's3', region, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey }, sha256: NodeSha256, uriEscapePath: false });
}

/** encodeURIComponent plus !'()*, as the SDK's serializers escape keys and query values. */
function sdkEscape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function keyPath(bucket: string, key: string): string {
  return `/${bucket}/${key.split('/').map(sdkEscape).join('/')}`;
}

function wireQuery(query: Record<string, string | string[]>): string {
  return Object.entries(query)
    .flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${sdkEscape(name)}=${sdkEscape(v)}`))
    .join('&');
}

interface Unsigned {
  method?: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}

async function signHeader(request: Unsigned, options: { region?: string; secret?: string; at?: Date } = {}): Promise<SignedRequest> {
  const signed = await signer(options.region, options.secret).sign(
    {
      method: request.method ?? 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      port: 3900,
      path: request.path,
      query: request.query ?? {},
      headers: { host: HOST, ...(request.headers ?? {}) },
      body: request.body,
    },
    { signingDate: options.at ?? SIGNED_AT },
  );
  return toWire(request, signed.headers as Record<string, string>, request.query ?? {});
}

async function presign(request: Unsigned, options: { region?: string; expiresIn?: number; at?: Date } = {}): Promise<SignedRequest> {
  // The S3 presigner: hoists x-amz-* into the query, adds X-Amz-Content-Sha256=UNSIGNED-PAYLOAD,
  // leaves content-type unsigned.
  const presigner = new S3RequestPresigner({ region: options.region ?? REGION, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET }, sha256: NodeSha256 });
  const signed = await presigner.presign(
    {
      method: request.method ?? 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      port: 3900,
      path: request.path,
      query: request.query ?? {},
      headers: { host: HOST, ...(request.headers ?? {}) },
    },
    { signingDate: options.at ?? SIGNED_AT, expiresIn: options.expiresIn ?? 3600 },
  );
  return toWire(request, signed.headers as Record<string, string>, signed.query as Record<string, string>);
}

function toWire(request: Unsigned, headers: Record<string, string>, query: Record<string, string>): SignedRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { method: request.method ?? 'GET', rawPath: request.path, rawQuery: wireQuery(query), headers: lower };
}

function verify(request: SignedRequest, options: { region?: string; nowMs?: number; secret?: string } = {}) {
  const auth = parseAuth(request, { region: options.region ?? REGION, nowMs: options.nowMs ?? NOW });
  if (auth.kind === 'anonymous') throw new Error('expected a signed request');
  return { auth, context: verifySignature(request, auth, options.secret ?? SECRET) };
}

function withHeader(request: SignedRequest, name: string, value: string | undefined): SignedRequest {
  const headers = { ...request.headers };
  if (value === undefined) delete headers[name];
  else headers[name] = value;
  return { ...request, headers };
}

const TRICKY_KEYS = [
  'simple.txt',
  'with space.txt',
  'ünïcödé/日本語/файл.bin',
  'plus+sign+key',
  'percent%41literal%',
  'a//double//slash',
  'trailing/',
  "quote's (paren) !*[]",
  'tilde~dash-under_score.dot',
  'emoji 🎉 key',
  'reserved:@&=$,;#?',
  'x'.repeat(1024),
  'é'.repeat(512),
];

describe('header-mode signatures from the AWS signer', () => {
  test.each(TRICKY_KEYS)('GET %#: key %s verifies', async (key) => {
    const request = await signHeader({ path: keyPath('bucket', key) });
    const { auth, context } = verify(request);
    expect(auth.kind).toBe('header');
    if (auth.kind !== 'header') return;
    expect(auth.credential).toEqual({ accessKeyId: ACCESS_KEY, date: '20260301', region: REGION, service: 's3' });
    expect(auth.signedHeaders).toEqual(['host', 'x-amz-content-sha256', 'x-amz-date']);
    expect(auth.payload).toEqual({ kind: 'sha256', hex: EMPTY_SHA256 });
    expect(context.seedSignature).toBe(auth.signature);
    expect(context.scope).toBe(`20260301/${REGION}/s3/aws4_request`);
    expect(context.amzDate).toBe('20260301T120000Z');
  });

  test('PUT with a body: the signed hash is the body hash, and the verifier checks it', async () => {
    const body = 'hello, grange';
    const request = await signHeader({ method: 'PUT', path: keyPath('bucket', 'k'), body, headers: { 'content-type': 'text/plain', 'x-amz-meta-a': '  x   y  ' } });
    const { auth } = verify(request);
    expect(auth.payload).toEqual({ kind: 'sha256', hex: createHash('sha256').update(body).digest('hex') });

    const good = createPayloadVerifier(request, auth.payload);
    good.update(Buffer.from(body));
    expect(good.end().md5Hex).toBe(createHash('md5').update(body).digest('hex'));

    const bad = createPayloadVerifier(request, auth.payload);
    bad.update(Buffer.from(body + '!'));
    expect(s3ErrorOf(() => bad.end()).code).toBe('XAmzContentSHA256Mismatch');
  });

  test('query strings with spaces, slashes, plus, empty values and repeats verify', async () => {
    const query = { 'list-type': '2', prefix: 'a b/c+d&e=f', delimiter: '/', 'continuation-token': 'AbC/+=', 'start-after': 'ü', acl: '' };
    const request = await signHeader({ path: '/bucket', query });
    verify(request);
    // Clients write a query differently on the wire ('+' for space, raw '/'); the meaning is the same.
    const variant = { ...request, rawQuery: 'list-type=2&prefix=a+b/c%2Bd%26e%3Df&delimiter=/&continuation-token=AbC%2F%2B%3D&start-after=%C3%BC&acl' };
    verify(variant);
  });

  test('a path escaped differently on the wire than in the signature still verifies', async () => {
    // Signed as the SDK escapes it; sent by a client that leaves sub-delims raw and escapes '~'.
    const request = await signHeader({ path: '/bucket/a%21b%27c%28d%29~e' });
    verify({ ...request, rawPath: "/bucket/a!b'c(d)%7Ee" });
  });

  test('a client that signs the raw wire path (as Garage checks it) verifies too', async () => {
    const request = await signHeader({ path: '/bucket/a!b%7Ec' });
    expect(canonicalPath(request.rawPath)).toBe('/bucket/a%21b~c');
    verify(request);
  });

  test('an encoded slash and a real slash are different keys', async () => {
    const request = await signHeader({ path: '/bucket/a%2Fb' });
    verify(request);
    expect(s3ErrorOf(() => verify({ ...request, rawPath: '/bucket/a/b' })).code).toBe('SignatureDoesNotMatch');
  });

  test('any change to a signed part gives SignatureDoesNotMatch', async () => {
    const request = await signHeader({ method: 'PUT', path: '/bucket/key', query: { partNumber: '1', uploadId: 'u' }, headers: { 'x-amz-meta-color': 'blue' }, body: 'data' });
    verify(request);
    const tampered: SignedRequest[] = [
      { ...request, method: 'POST' },
      { ...request, rawPath: '/bucket/key2' },
      { ...request, rawPath: '/bucket/Key' },
      { ...request, rawQuery: 'partNumber=2&uploadId=u' },
      { ...request, rawQuery: request.rawQuery + '&x=1' },
      { ...request, rawQuery: 'uploadId=u' },
      withHeader(request, 'x-amz-meta-color', 'red'),
      withHeader(request, 'host', 'evil.example:3900'),
      withHeader(request, 'x-amz-content-sha256', EMPTY_SHA256),
      withHeader(request, 'x-amz-date', '20260301T120001Z'),
    ];
    for (const changed of tampered) {
      expect(s3ErrorOf(() => verify(changed)).code).toBe('SignatureDoesNotMatch');
    }
    const wrongSecret = s3ErrorOf(() => verify(request, { secret: SECRET.replace(/^b/, 'c') }));
    expect(wrongSecret.code).toBe('SignatureDoesNotMatch');
    expect(wrongSecret.details.CanonicalRequest).toContain('/bucket/key');
  });

  test('a signed header that is missing from the request fails the signature', async () => {
    const request = await signHeader({ path: '/bucket/k', headers: { 'content-type': 'a/b' } });
    expect(s3ErrorOf(() => verify(withHeader(request, 'content-type', undefined))).code).toBe('SignatureDoesNotMatch');
  });

  test('header whitespace is trimmed and collapsed, as the signer does', async () => {
    const request = await signHeader({ path: '/bucket/k', headers: { 'x-amz-meta-spaced': 'a   b  c', 'content-type': '  text/plain ' } });
    verify(withHeader(request, 'x-amz-meta-spaced', '  a b     c '));
  });

  test('wrong region: AuthorizationHeaderMalformed naming the expected region', async () => {
    const request = await signHeader({ path: '/bucket/k' }, { region: 'us-east-1' });
    const error = s3ErrorOf(() => verify(request));
    expect(error.code).toBe('AuthorizationHeaderMalformed');
    expect(error.message).toContain(`expecting '${REGION}'`);
    expect(error.details.Region).toBe(REGION);
  });

  test('clock skew: up to 15 minutes either way is accepted, beyond is RequestTimeTooSkewed', async () => {
    const request = await signHeader({ path: '/bucket/k' });
    const minutes15 = 15 * 60 * 1000;
    verify(request, { nowMs: NOW + minutes15 });
    verify(request, { nowMs: NOW - minutes15 });
    for (const nowMs of [NOW + minutes15 + 1000, NOW - minutes15 - 1000]) {
      const error = s3ErrorOf(() => verify(request, { nowMs }));
      expect(error.code).toBe('RequestTimeTooSkewed');
      expect(error.details.MaxAllowedSkewMilliseconds).toBe('900000');
    }
  });

  test('an x-amz-* header added after signing is AccessDenied', async () => {
    const request = await signHeader({ method: 'PUT', path: '/bucket/k', body: '' });
    const error = s3ErrorOf(() => verify(withHeader(request, 'x-amz-acl', 'public-read')));
    expect(error.code).toBe('AccessDenied');
    expect(error.details.HeadersNotSigned).toBe('x-amz-acl');
    // Other headers may be unsigned.
    verify(withHeader(request, 'user-agent', 'curl/8'));
  });

  test('host must be signed', async () => {
    const request = await signHeader({ path: '/bucket/k' });
    const authorization = request.headers.authorization!.replace('SignedHeaders=host;', 'SignedHeaders=');
    const error = s3ErrorOf(() => verify(withHeader(request, 'authorization', authorization)));
    expect(error.code).toBe('AccessDenied');
    expect(error.details.HeadersNotSigned).toBe('host');
  });

  test('x-amz-content-sha256 is required in header mode and must be a known value', async () => {
    const request = await signHeader({ path: '/bucket/k' });
    expect(s3ErrorOf(() => verify(withHeader(request, 'x-amz-content-sha256', undefined))).code).toBe('InvalidRequest');
    expect(s3ErrorOf(() => verify(withHeader(request, 'x-amz-content-sha256', 'abc'))).code).toBe('InvalidArgument');
    expect(s3ErrorOf(() => verify(withHeader(request, 'x-amz-content-sha256', 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD'))).code).toBe('NotImplemented');
  });

  test('streaming payload modes are recognised', async () => {
    const cases = [
      ['UNSIGNED-PAYLOAD', { kind: 'unsigned' }],
      ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { kind: 'streaming-signed', trailer: false }],
      ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', { kind: 'streaming-signed', trailer: true }],
      ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', { kind: 'streaming-unsigned-trailer' }],
    ] as const;
    for (const [value, mode] of cases) {
      const request = await signHeader({ method: 'PUT', path: '/bucket/k', headers: { 'x-amz-content-sha256': value } });
      const { auth } = verify(request);
      expect(auth.payload).toEqual(mode);
    }
  });

  test('no Authorization and no X-Amz-* query is anonymous', () => {
    const auth = parseAuth({ method: 'GET', rawPath: '/bucket/k', rawQuery: 'versionId=1', headers: { host: HOST } }, { region: REGION, nowMs: NOW });
    expect(auth).toEqual({ kind: 'anonymous' });
  });

  test('malformed Authorization headers', async () => {
    const request = await signHeader({ path: '/bucket/k' });
    const authorization = request.headers.authorization!;
    const codes = (value: string) => s3ErrorOf(() => verify(withHeader(request, 'authorization', value))).code;
    expect(codes('AWS ' + ACCESS_KEY + ':c2lnbmF0dXJl')).toBe('InvalidRequest');
    expect(codes(authorization.replace(/, Signature=[0-9a-f]+/, ''))).toBe('AuthorizationHeaderMalformed');
    expect(codes(authorization.replace(`/${REGION}/s3/`, `/${REGION}/`))).toBe('AuthorizationHeaderMalformed');
    expect(codes(authorization.replace('/20260301/', '/20260302/'))).toBe('AuthorizationHeaderMalformed');
    expect(codes(authorization.replace('/s3/', '/s4/'))).toBe('AuthorizationHeaderMalformed');
    expect(codes(authorization.replace('aws4_request', 'aws5_request'))).toBe('AuthorizationHeaderMalformed');
    expect(codes(authorization.replace('SignedHeaders=host', 'SignedHeaders=Host'))).toBe('AuthorizationHeaderMalformed');
    expect(codes(authorization.replace(/Signature=[0-9a-f]+/, 'Signature=xyz'))).toBe('SignatureDoesNotMatch');
    // Spacing after the commas is optional.
    verify(withHeader(request, 'authorization', authorization.replace(/, /g, ',')));
  });

  test('a missing or unreadable date is AccessDenied; the Date header is read when x-amz-date is absent', async () => {
    const request = await signHeader({ path: '/bucket/k' });
    expect(s3ErrorOf(() => verify(withHeader(request, 'x-amz-date', undefined))).code).toBe('AccessDenied');
    expect(s3ErrorOf(() => verify(withHeader(request, 'x-amz-date', '2026-03-01T12:00:00Z'))).code).toBe('AccessDenied');
    const byDate = withHeader(withHeader(request, 'x-amz-date', undefined), 'date', 'Sun, 01 Mar 2026 12:00:00 GMT');
    const auth = parseAuth({ ...byDate, headers: { ...byDate.headers, authorization: request.headers.authorization!.replace('x-amz-date', 'date') } }, { region: REGION, nowMs: NOW });
    expect(auth.kind === 'header' && auth.amzDate).toBe('20260301T120000Z');
  });

  test('an Authorization header and a presigned query together are InvalidArgument', async () => {
    const header = await signHeader({ path: '/bucket/k' });
    const query = await presign({ path: '/bucket/k' });
    expect(s3ErrorOf(() => verify({ ...query, headers: header.headers })).code).toBe('InvalidArgument');
  });
});

describe('presigned URLs from the AWS signer', () => {
  test.each(TRICKY_KEYS)('GET %#: key %s verifies', async (key) => {
    const request = await presign({ path: keyPath('bucket', key) });
    const { auth, context } = verify(request);
    expect(auth.kind).toBe('presigned');
    if (auth.kind !== 'presigned') return;
    expect(auth.payload).toEqual({ kind: 'unsigned' });
    expect(auth.expiresSeconds).toBe(3600);
    expect(auth.signedHeaders).toEqual(['host']);
    expect(context.seedSignature).toBe(auth.signature);
  });

  test('a presigned PUT with a query and a signed header verifies', async () => {
    const request = await presign({ method: 'PUT', path: '/bucket/a%20b', query: { partNumber: '3', uploadId: 'x/y+z' }, headers: { 'content-disposition': 'inline', 'x-amz-meta-hoisted': 'v' } });
    expect(request.rawQuery).toContain('x-amz-meta-hoisted=v');
    verify(request);
    expect(s3ErrorOf(() => verify(withHeader(request, 'content-disposition', 'attachment'))).code).toBe('SignatureDoesNotMatch');
    expect(s3ErrorOf(() => verify({ ...request, rawQuery: request.rawQuery.replace('hoisted=v', 'hoisted=w') })).code).toBe('SignatureDoesNotMatch');
    expect(s3ErrorOf(() => verify({ ...request, rawQuery: request.rawQuery.replace('partNumber=3', 'partNumber=4') })).code).toBe('SignatureDoesNotMatch');
  });

  test('expiry: valid through its last second, AccessDenied "Request has expired" after', async () => {
    const request = await presign({ path: '/bucket/k' }, { expiresIn: 60 });
    verify(request, { nowMs: NOW + 60_000 });
    const error = s3ErrorOf(() => verify(request, { nowMs: NOW + 61_000 }));
    expect(error.code).toBe('AccessDenied');
    expect(error.message).toBe('Request has expired');
    expect(error.details['X-Amz-Expires']).toBe('60');
  });

  test('a URL dated more than 15 minutes ahead is not valid yet', async () => {
    const request = await presign({ path: '/bucket/k' });
    verify(request, { nowMs: NOW - 15 * 60_000 });
    expect(s3ErrorOf(() => verify(request, { nowMs: NOW - 16 * 60_000 })).code).toBe('AccessDenied');
  });

  test('X-Amz-Expires must be 1..604800 seconds', async () => {
    const request = await presign({ path: '/bucket/k' }, { expiresIn: 604800 });
    verify(request);
    for (const expires of ['604801', '0', '-1', 'soon', '']) {
      const changed = { ...request, rawQuery: request.rawQuery.replace('X-Amz-Expires=604800', `X-Amz-Expires=${expires}`) };
      expect(s3ErrorOf(() => verify(changed)).code).toBe('AuthorizationQueryParametersError');
    }
  });

  test('wrong region: AuthorizationQueryParametersError naming the expected region', async () => {
    const request = await presign({ path: '/bucket/k' }, { region: 'eu-west-1' });
    const error = s3ErrorOf(() => verify(request));
    expect(error.code).toBe('AuthorizationQueryParametersError');
    expect(error.message).toContain(`expecting '${REGION}'`);
  });

  test('missing parameters, a bad algorithm or a bad date are AuthorizationQueryParametersError', async () => {
    const request = await presign({ path: '/bucket/k' });
    const without = (name: string) => ({ ...request, rawQuery: request.rawQuery.split('&').filter((p) => !p.startsWith(name + '=')).join('&') });
    for (const name of ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
      expect(s3ErrorOf(() => verify(without(name))).code).toBe('AuthorizationQueryParametersError');
    }
    const badAlgorithm = { ...request, rawQuery: request.rawQuery.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1') };
    expect(s3ErrorOf(() => verify(badAlgorithm)).code).toBe('AuthorizationQueryParametersError');
    const badDate = { ...request, rawQuery: request.rawQuery.replace('X-Amz-Date=20260301T120000Z', 'X-Amz-Date=20260230T120000Z') };
    expect(s3ErrorOf(() => verify(badDate)).code).toBe('AuthorizationQueryParametersError');
  });

  test('the signature is over everything but X-Amz-Signature; other parameters are bound', async () => {
    const request = await presign({ path: '/bucket/k', query: { 'response-content-type': 'text/plain' } });
    verify(request);
    const changed = { ...request, rawQuery: request.rawQuery.replace('text%2Fplain', 'text%2Fhtml') };
    expect(s3ErrorOf(() => verify(changed)).code).toBe('SignatureDoesNotMatch');
  });

  test('an unsigned x-amz-* header next to a presigned URL is AccessDenied', async () => {
    const request = await presign({ method: 'PUT', path: '/bucket/k' });
    expect(s3ErrorOf(() => verify(withHeader(request, 'x-amz-acl', 'public-read'))).code).toBe('AccessDenied');
  });

  test('a presigned URL cannot carry an aws-chunked payload', async () => {
    const request = await presign({ method: 'PUT', path: '/bucket/k' });
    expect(request.rawQuery).toContain('X-Amz-Content-Sha256=UNSIGNED-PAYLOAD');
    const chunked = { ...request, rawQuery: request.rawQuery.replace('=UNSIGNED-PAYLOAD', '=STREAMING-UNSIGNED-PAYLOAD-TRAILER') };
    expect(s3ErrorOf(() => verify(chunked)).code).toBe('InvalidRequest');
  });
});

describe('the examples AWS publishes (us-east-1, examplebucket, 20130524T000000Z)', () => {
  const EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const EXAMPLE_HOST = 'examplebucket.s3.amazonaws.com';
  const EXAMPLE_NOW = Date.UTC(2013, 4, 24);
  const credential = 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';

  function example(request: SignedRequest): ParsedAuth {
    const auth = parseAuth(request, { region: 'us-east-1', nowMs: EXAMPLE_NOW });
    if (auth.kind === 'anonymous') throw new Error('expected a signed request');
    verifySignature(request, auth, EXAMPLE_SECRET);
    return auth;
  }

  function headerExample(method: string, rawPath: string, rawQuery: string, headers: Record<string, string>, signedHeaders: string, signature: string): SignedRequest {
    return {
      method,
      rawPath,
      rawQuery,
      headers: { ...headers, host: EXAMPLE_HOST, authorization: `AWS4-HMAC-SHA256 Credential=${credential},SignedHeaders=${signedHeaders},Signature=${signature}` },
    };
  }

  test('GET Object with a Range header', () => {
    example(
      headerExample('GET', '/test.txt', '', { range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': '20130524T000000Z' },
        'host;range;x-amz-content-sha256;x-amz-date', 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41'),
    );
  });

  test('PUT Object to "test$file.text" (sent with a raw $, signed as %24)', () => {
    const body = 'Welcome to Amazon S3.';
    const hash = createHash('sha256').update(body).digest('hex');
    const request = headerExample(
      'PUT',
      '/test$file.text',
      '',
      { date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-date': '20130524T000000Z', 'x-amz-storage-class': 'REDUCED_REDUNDANCY', 'x-amz-content-sha256': hash },
      'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
      '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    );
    const auth = example(request);
    if (auth.kind === 'anonymous') throw new Error('unreachable');
    const verifier = createPayloadVerifier(request, auth.payload);
    verifier.update(Buffer.from(body));
    verifier.end();
  });

  test('GET Bucket lifecycle (a parameter without a value) and GET Bucket (list objects)', () => {
    const headers = { 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': '20130524T000000Z' };
    const signedHeaders = 'host;x-amz-content-sha256;x-amz-date';
    example(headerExample('GET', '/', 'lifecycle', headers, signedHeaders, 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543'));
    example(headerExample('GET', '/', 'max-keys=2&prefix=J', headers, signedHeaders, '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'));
  });

  test('presigned GET Object, valid for 86400 seconds', () => {
    const request: SignedRequest = {
      method: 'GET',
      rawPath: '/test.txt',
      rawQuery:
        'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
        '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
      headers: { host: EXAMPLE_HOST },
    };
    const auth = example(request);
    expect(auth.kind === 'presigned' && auth.expiresSeconds).toBe(86400);
  });
});

describe('canonical encoding', () => {
  test('paths: each segment decoded then encoded once, no normalisation', () => {
    const cases: [string, string][] = [
      ['', '/'],
      ['/', '/'],
      ['/test$file.text', '/test%24file.text'],
      ['/a%20b/c d', '/a%20b/c%20d'],
      ['/%7Etilde/~', '/~tilde/~'],
      ['/a%2fb', '/a%2Fb'],
      ['/a//./../b/', '/a//./../b/'],
      ['/%zz/%4', '/%25zz/%254'],
      ['/%C3%A9/é', '/%C3%A9/%C3%A9'],
      ['/%FF', '/%FF'],
      ['/a+b', '/a%2Bb'],
    ];
    for (const [raw, canonical] of cases) expect(canonicalPath(raw)).toBe(canonical);
  });

  test('query: sorted by encoded name then value, "+" read as a space, "/" encoded', async () => {
    const { canonicalQuery, parseQuery } = await import('../../src/protocols/sigv4/encoding');
    expect(canonicalQuery(parseQuery('b=2&a=2&a=1&B=0&c&d=x+y&e=a/b&f=%7e'))).toBe('B=0&a=1&a=2&b=2&c=&d=x%20y&e=a%2Fb&f=~');
    expect(canonicalQuery(parseQuery(''))).toBe('');
  });
});
