// The multipart_upload table: merge laws, encoding, and the hook that frees replaced or
// abandoned parts.
import { encodeEntry, decodeEntry } from '../../src/protocols/table';
import { mergeUploads, multipartEtag, multipartUploadSchema, type MultipartUpload, type UploadPart } from '../../src/protocols/s3/multipart';
import { seededRandom } from '../harness/prng';
import { createHash } from 'node:crypto';

const uploadId = Buffer.alloc(16, 7);
const bucketId = Buffer.alloc(32, 1);

function part(partNumber: number, timestamp: number, versionByte: number): UploadPart {
  return { partNumber, timestamp, version: Buffer.alloc(16, versionByte), etag: `etag${versionByte}`, size: 100 * versionByte };
}

function upload(parts: UploadPart[], deleted = false): MultipartUpload {
  return { uploadId, deleted, bucketId, key: 'k', parts: deleted ? [] : [...parts].sort((a, b) => a.partNumber - b.partNumber) };
}

function randomUpload(random: () => number): MultipartUpload {
  if (random() < 0.15) return upload([], true);
  const byNumber = new Map<number, UploadPart>();
  const count = Math.floor(random() * 5);
  for (let index = 0; index < count; index++) {
    const number = 1 + Math.floor(random() * 4);
    byNumber.set(number, part(number, Math.floor(random() * 3), 1 + Math.floor(random() * 6)));
  }
  return upload([...byNumber.values()]);
}

const bytes = (entry: MultipartUpload): Buffer => encodeEntry(multipartUploadSchema, entry);

test('merge is commutative, associative and idempotent', () => {
  const random = seededRandom(11);
  for (let round = 0; round < 500; round++) {
    const [a, b, c] = [randomUpload(random), randomUpload(random), randomUpload(random)];
    expect(bytes(mergeUploads(a, b))).toEqual(bytes(mergeUploads(b, a)));
    expect(bytes(mergeUploads(mergeUploads(a, b), c))).toEqual(bytes(mergeUploads(a, mergeUploads(b, c))));
    expect(bytes(mergeUploads(a, a))).toEqual(bytes(a));
  }
});

test('the later upload of a part number wins; deletion wins over everything', () => {
  const merged = mergeUploads(upload([part(1, 5, 1), part(2, 1, 2)]), upload([part(1, 9, 3)]));
  expect(merged.parts.map((p) => [p.partNumber, p.version[0]])).toEqual([[1, 3], [2, 2]]);
  expect(mergeUploads(merged, upload([], true))).toEqual(upload([], true));
});

test('encoding round-trips and bad entries are refused', () => {
  const entry = upload([part(1, 5, 1), part(3, 2, 2)]);
  expect(bytes(decodeEntry(multipartUploadSchema, bytes(entry)))).toEqual(bytes(entry));
  expect(() => multipartUploadSchema.fromWire({ u: uploadId, d: false, b: bucketId, k: 'k', p: [[0, 1, Buffer.alloc(16), 'e', 1]] })).toThrow(/part number/);
  expect(() => multipartUploadSchema.fromWire({ u: uploadId, d: false, b: bucketId, k: 'k', p: [[2, 1, Buffer.alloc(16), 'e', 1], [1, 1, Buffer.alloc(16), 'e', 1]] })).toThrow(/sorted/);
  expect(() => multipartUploadSchema.fromWire({ u: Buffer.alloc(3), d: false, b: bucketId, k: 'k', p: [] })).toThrow(/upload id/);
});

test('the hook deletes the version rows of replaced parts, and of every part when the upload goes', () => {
  const queued: { table: string; entry: unknown }[] = [];
  const effects = { queue: (table: string, entry: unknown) => void queued.push({ table, entry }), adjust: () => undefined };
  const before = upload([part(1, 1, 1), part(2, 1, 2)]);
  multipartUploadSchema.updated!(before, mergeUploads(before, upload([part(2, 5, 4)])), effects);
  expect(queued.map(({ table, entry }) => [table, (entry as { u: Buffer; d: boolean }).u[0], (entry as { d: boolean }).d])).toEqual([['version', 2, true]]);
  queued.length = 0;
  multipartUploadSchema.updated!(before, upload([], true), effects);
  expect(queued.map(({ entry }) => (entry as { u: Buffer }).u[0]).sort()).toEqual([1, 2]);
  queued.length = 0;
  multipartUploadSchema.updated!(null, before, effects);
  expect(queued).toEqual([]);
});

test('multipart ETag: MD5 of the binary part MD5s, then the part count', () => {
  const parts = ['a', 'b'].map((text) => createHash('md5').update(text).digest('hex'));
  const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');
  expect(multipartEtag(parts, md5)).toBe(`${md5(Buffer.concat(parts.map((etag) => Buffer.from(etag, 'hex'))))}-2`);
});
