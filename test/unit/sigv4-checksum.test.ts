// Checksum algorithms against published vectors, and the payload verifier's decisions.

import { createHash } from 'node:crypto';

import { createPayloadVerifier, crc32c, type PayloadMode, type SignedRequest } from '../../src/protocols/sigv4';
import { createChecksummer } from '../../src/protocols/sigv4/checksum';
import { s3ErrorOf } from '../harness/s3-errors';

const UNSIGNED: PayloadMode = { kind: 'unsigned' };
const UNSIGNED_TRAILER: PayloadMode = { kind: 'streaming-unsigned-trailer' };

function request(headers: Record<string, string>): SignedRequest {
  return { method: 'PUT', rawPath: '/bucket/key', rawQuery: '', headers: { host: 'h', ...headers } };
}

function run(headers: Record<string, string>, body: string | Buffer, mode: PayloadMode = UNSIGNED, trailers?: Record<string, string>) {
  const verifier = createPayloadVerifier(request(headers), mode);
  const bytes = Buffer.from(body);
  // Fed in uneven pieces: the result must not depend on how the body arrived.
  for (let offset = 0, step = 1; offset < bytes.length; offset += step, step = step * 3 + 1) verifier.update(bytes.subarray(offset, offset + step));
  return verifier.end(trailers);
}

function digestBase64(algorithm: 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256', data: Buffer | string): string {
  const checksummer = createChecksummer(algorithm);
  checksummer.update(Buffer.from(data));
  return checksummer.digest().toString('base64');
}

describe('checksum vectors', () => {
  test('CRC32C (Castagnoli): the check value and the RFC 3720 iSCSI vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, index) => index)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, index) => 31 - index)))).toBe(0x113fdb5c);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  test('CRC32C continues across pieces', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    expect(crc32c(data.subarray(10), crc32c(data.subarray(0, 10)))).toBe(crc32c(data));
    expect(crc32c(data)).toBe(0x22620404);
  });

  test('base64 of big-endian digests, as S3 sends them', () => {
    expect(digestBase64('CRC32', '123456789')).toBe(Buffer.from('cbf43926', 'hex').toString('base64'));
    expect(digestBase64('CRC32', 'abc')).toBe('NSRBwg==');
    expect(digestBase64('CRC32C', '123456789')).toBe(Buffer.from('e3069283', 'hex').toString('base64'));
    expect(digestBase64('SHA1', 'abc')).toBe('qZk+NkcGgWq6PiVxeFDCbJzQ2J0=');
    expect(digestBase64('SHA256', 'abc')).toBe('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
    expect(digestBase64('SHA256', '')).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    expect(digestBase64('CRC32', '')).toBe('AAAAAA==');
  });
});

describe('payload verifier', () => {
  const body = 'hello world';
  const md5 = createHash('md5').update(body).digest();

  test('always returns the MD5 (the ETag), and no checksum when none was asked for', () => {
    expect(run({}, body)).toEqual({ md5Hex: md5.toString('hex'), checksum: null });
  });

  test('Content-MD5: a match passes, a mismatch is BadDigest, a malformed value InvalidDigest', () => {
    expect(run({ 'content-md5': md5.toString('base64') }, body).md5Hex).toBe(md5.toString('hex'));
    expect(s3ErrorOf(() => run({ 'content-md5': createHash('md5').update('other').digest('base64') }, body)).code).toBe('BadDigest');
    for (const value of ['nope', md5.toString('hex'), Buffer.alloc(15).toString('base64'), md5.toString('base64') + 'AA==']) {
      expect(s3ErrorOf(() => createPayloadVerifier(request({ 'content-md5': value }), UNSIGNED)).code).toBe('InvalidDigest');
    }
  });

  test.each(['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const)('x-amz-checksum-%s header: match, mismatch, malformed', (algorithm) => {
    const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
    const value = digestBase64(algorithm, body);
    expect(run({ [name]: value }, body).checksum).toEqual({ algorithm, base64: value });
    expect(s3ErrorOf(() => run({ [name]: value }, body + '!')).code).toBe('BadDigest');
    expect(s3ErrorOf(() => createPayloadVerifier(request({ [name]: 'AAAA' }), UNSIGNED)).code).toBe('InvalidRequest');
    expect(s3ErrorOf(() => createPayloadVerifier(request({ [name]: value + '!' }), UNSIGNED)).code).toBe('InvalidRequest');
  });

  test('x-amz-sdk-checksum-algorithm alone: the checksum is computed and returned', () => {
    expect(run({ 'x-amz-sdk-checksum-algorithm': 'crc32c' }, body).checksum).toEqual({ algorithm: 'CRC32C', base64: digestBase64('CRC32C', body) });
    expect(s3ErrorOf(() => createPayloadVerifier(request({ 'x-amz-sdk-checksum-algorithm': 'MD5' }), UNSIGNED)).code).toBe('InvalidRequest');
    const mismatch = { 'x-amz-sdk-checksum-algorithm': 'SHA1', 'x-amz-checksum-crc32': digestBase64('CRC32', body) };
    expect(s3ErrorOf(() => createPayloadVerifier(request(mismatch), UNSIGNED)).code).toBe('InvalidRequest');
    const agreeing = { 'x-amz-sdk-checksum-algorithm': 'CRC32', 'x-amz-checksum-crc32': digestBase64('CRC32', body) };
    expect(run(agreeing, body).checksum?.algorithm).toBe('CRC32');
  });

  test('more than one checksum is InvalidRequest; x-amz-checksum-type is not a checksum', () => {
    const two = { 'x-amz-checksum-crc32': digestBase64('CRC32', body), 'x-amz-checksum-sha1': digestBase64('SHA1', body) };
    expect(s3ErrorOf(() => createPayloadVerifier(request(two), UNSIGNED)).code).toBe('InvalidRequest');
    const headerAndTrailer = { 'x-amz-checksum-crc32': digestBase64('CRC32', body), 'x-amz-trailer': 'x-amz-checksum-sha1' };
    expect(s3ErrorOf(() => createPayloadVerifier(request(headerAndTrailer), UNSIGNED_TRAILER)).code).toBe('InvalidRequest');
    expect(run({ 'x-amz-checksum-type': 'FULL_OBJECT' }, body).checksum).toBeNull();
  });

  test('CRC64NVME is refused as NotImplemented rather than stored unchecked', () => {
    expect(s3ErrorOf(() => createPayloadVerifier(request({ 'x-amz-checksum-crc64nvme': 'AAAAAAAAAAA=' }), UNSIGNED)).code).toBe('NotImplemented');
    expect(s3ErrorOf(() => createPayloadVerifier(request({ 'x-amz-sdk-checksum-algorithm': 'CRC64NVME' }), UNSIGNED)).code).toBe('NotImplemented');
  });

  test('a trailing checksum is checked against the trailer', () => {
    const headers = { 'x-amz-trailer': 'x-amz-checksum-sha256' };
    const value = digestBase64('SHA256', body);
    expect(run(headers, body, UNSIGNED_TRAILER, { 'x-amz-checksum-sha256': value }).checksum).toEqual({ algorithm: 'SHA256', base64: value });
    expect(s3ErrorOf(() => run(headers, body + '!', UNSIGNED_TRAILER, { 'x-amz-checksum-sha256': value })).code).toBe('BadDigest');
    expect(s3ErrorOf(() => run(headers, body, UNSIGNED_TRAILER, {})).code).toBe('InvalidRequest');
    expect(s3ErrorOf(() => run(headers, body, UNSIGNED_TRAILER, { 'x-amz-checksum-sha256': 'short' })).code).toBe('InvalidRequest');
    // A trailer needs a payload mode that carries one.
    expect(s3ErrorOf(() => createPayloadVerifier(request(headers), UNSIGNED)).code).toBe('InvalidRequest');
  });

  test('sha256 mode: the body must hash to the signed value', () => {
    const hex = createHash('sha256').update(body).digest('hex');
    run({}, body, { kind: 'sha256', hex });
    const error = s3ErrorOf(() => run({}, body.toUpperCase(), { kind: 'sha256', hex }));
    expect(error.code).toBe('XAmzContentSHA256Mismatch');
    expect(error.details.ClientComputedContentSHA256).toBe(hex);
  });

  test('streaming modes: the decoded length must match x-amz-decoded-content-length', () => {
    const headers = { 'x-amz-decoded-content-length': String(body.length) };
    run(headers, body, UNSIGNED_TRAILER, {});
    expect(s3ErrorOf(() => run(headers, body.slice(1), UNSIGNED_TRAILER, {})).code).toBe('IncompleteBody');
    expect(s3ErrorOf(() => run(headers, body + 'x', UNSIGNED_TRAILER, {})).code).toBe('IncompleteBody');
  });
});
