// Multipart uploads and copies against a real 3-node cluster (RF=3), with the AWS SDK v3 and
// @aws-sdk/lib-storage: parts in and out of order, a part uploaded again, every multipart error,
// aborts that free blocks, part-number reads, UploadPartCopy with ranges, and CopyObject.
import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { bodyBytes, outcomeOf, startS3Cluster, type S3Cluster } from '../../harness/s3';
import { inspectBlock } from '../../harness/blocks';
import { waitFor } from '../../harness/wait';

jest.setTimeout(300_000);

const MIB = 1024 * 1024;
const BUCKET = 'multipart';
let s3: S3Cluster;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3Cluster(3);
  client = s3.client(0);
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  await s3?.stop();
});

const failure = outcomeOf;

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

async function getBytes(key: string, index = 0, extra: { PartNumber?: number; Range?: string } = {}): Promise<{ data: Buffer; partsCount: number | undefined; status: number | undefined }> {
  const got = await s3.client(index).send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...extra }));
  return { data: await bodyBytes(got.Body), partsCount: got.PartsCount, status: got.$metadata.httpStatusCode };
}

async function startUpload(key: string, index = 0): Promise<string> {
  const created = await s3.client(index).send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'application/x-parts', Metadata: { origin: 'multipart' } }));
  return created.UploadId!;
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, index = 0): Promise<string> {
  const part = await s3.client(index).send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }));
  return part.ETag!;
}

test('parts out of order and uploaded again; ETag, part reads, list parts and uploads', async () => {
  const parts = [randomBytes(5 * MIB), randomBytes(5 * MIB + 1234), randomBytes(777_777)];
  const uploadId = await startUpload('big/object');
  const etag3 = await uploadPart('big/object', uploadId, 3, parts[2]!, 1);
  await uploadPart('big/object', uploadId, 2, randomBytes(5 * MIB), 2);
  const etag1 = await uploadPart('big/object', uploadId, 1, parts[0]!);
  const etag2 = await uploadPart('big/object', uploadId, 2, parts[1]!, 1); // again: the last one wins
  const listed = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'big/object', UploadId: uploadId }));
  expect(listed.Parts!.map((part) => [part.PartNumber, part.ETag, part.Size])).toEqual([
    [1, etag1, parts[0]!.length],
    [2, etag2, parts[1]!.length],
    [3, etag3, parts[2]!.length],
  ]);
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'big/' }));
  expect(uploads.Uploads!.map((upload) => [upload.Key, upload.UploadId])).toEqual([['big/object', uploadId]]);
  const completed = await s3.client(2).send(
    new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'big/object', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag1 }, { PartNumber: 2, ETag: etag2 }, { PartNumber: 3, ETag: etag3 }] } }),
  );
  const whole = Buffer.concat(parts);
  const expectedEtag = `"${md5(Buffer.concat(parts.map((part) => createHash('md5').update(part).digest())))}-3"`;
  expect(completed.ETag).toBe(expectedEtag);
  const got = await getBytes('big/object', 1);
  expect(got.data.equals(whole)).toBe(true);
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/object' }));
  expect([head.ETag, head.ContentLength, head.ContentType, head.Metadata]).toEqual([expectedEtag, whole.length, 'application/x-parts', { origin: 'multipart' }]);
  const second = await getBytes('big/object', 2, { PartNumber: 2 });
  expect([second.status, second.partsCount, second.data.equals(parts[1]!)]).toEqual([206, 3, true]);
  const headPart = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/object', PartNumber: 3 }));
  expect([headPart.ContentLength, headPart.PartsCount]).toEqual([parts[2]!.length, 3]);
  expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big/object', PartNumber: 4 })))).toBe('InvalidPartNumber');
  const ranged = await getBytes('big/object', 0, { Range: `bytes=${5 * MIB - 10}-${5 * MIB + 10}` });
  expect(ranged.data.equals(whole.subarray(5 * MIB - 10, 5 * MIB + 11))).toBe(true);
  expect((await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'big/' }))).Uploads ?? []).toEqual([]);
});

test('multipart errors: NoSuchUpload, InvalidPart, InvalidPartOrder, EntityTooSmall', async () => {
  expect(await failure(client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'err', UploadId: '0'.repeat(32), PartNumber: 1, Body: 'x' })))).toBe('NoSuchUpload');
  expect(await failure(client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'err', UploadId: 'not-an-id' })))).toBe('NoSuchUpload');
  const uploadId = await startUpload('err');
  const small = await uploadPart('err', uploadId, 1, randomBytes(1000));
  const other = await uploadPart('err', uploadId, 2, randomBytes(1000));
  const complete = (parts: { PartNumber: number; ETag: string }[]) => client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'err', UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  expect(await failure(complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }]))).toBe('InvalidPart');
  expect(await failure(complete([{ PartNumber: 5, ETag: small }]))).toBe('InvalidPart');
  expect(await failure(complete([{ PartNumber: 2, ETag: other }, { PartNumber: 1, ETag: small }]))).toBe('InvalidPartOrder');
  expect(await failure(complete([{ PartNumber: 1, ETag: small }, { PartNumber: 2, ETag: other }]))).toBe('EntityTooSmall');
  expect(await failure(complete([{ PartNumber: 1, ETag: small }]))).toBe('ok'); // a single small part is fine
  expect((await getBytes('err')).data.length).toBe(1000);
  expect(await failure(complete([{ PartNumber: 1, ETag: small }]))).toBe('NoSuchUpload');
});

test('an aborted upload frees its blocks', async () => {
  const data = randomBytes(2 * MIB);
  const uploadId = await startUpload('aborted');
  await uploadPart('aborted', uploadId, 1, data);
  const hashes = [0, 1].map((index) => createHash('sha256').update(data.subarray(index * MIB, (index + 1) * MIB)).digest());
  const refcounts = async (): Promise<(number | null)[]> => (await Promise.all(hashes.flatMap((hash) => [0, 1, 2].map((index) => inspectBlock(s3.cluster, index, hash))))).map((reply) => reply.refcount);
  await waitFor(async () => (await refcounts()).every((count) => count === 1), { what: 'the part blocks to be referenced on every holder' });
  await s3.client(1).send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: uploadId }));
  await waitFor(async () => (await refcounts()).every((count) => !count), { what: 'the aborted part blocks to lose their references' });
  expect(await failure(client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: uploadId })))).toBe('NoSuchUpload');
  expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'aborted' })))).toBe('NoSuchKey');
});

test('lib-storage Upload (parallel parts) round-trips', async () => {
  const data = randomBytes(17 * MIB + 5);
  await new Upload({ client: s3.client(1), params: { Bucket: BUCKET, Key: 'lib-storage', Body: data }, partSize: 5 * MIB, queueSize: 4 }).done();
  expect((await getBytes('lib-storage', 2)).data.equals(data)).toBe(true);
});

test('UploadPartCopy with ranges, and CopyObject variants and conditions', async () => {
  const source = randomBytes(6 * MIB + 100);
  const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/source', Body: source, ContentType: 'text/source', Metadata: { a: '1' } }));
  const uploadId = await startUpload('copy/assembled');
  const first = await client.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'copy/assembled', UploadId: uploadId, PartNumber: 1, CopySource: `${BUCKET}/copy/source`, CopySourceRange: `bytes=0-${5 * MIB - 1}` }));
  const second = await client.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'copy/assembled', UploadId: uploadId, PartNumber: 2, CopySource: `${BUCKET}/copy/source`, CopySourceRange: 'bytes=100-199' }));
  expect(await failure(client.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'copy/assembled', UploadId: uploadId, PartNumber: 3, CopySource: `${BUCKET}/copy/source`, CopySourceRange: `bytes=0-${source.length}` })))).toBe('InvalidArgument');
  await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'copy/assembled', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first.CopyPartResult!.ETag! }, { PartNumber: 2, ETag: second.CopyPartResult!.ETag! }] } }));
  expect((await getBytes('copy/assembled')).data.equals(Buffer.concat([source.subarray(0, 5 * MIB), source.subarray(100, 200)]))).toBe(true);

  await client.send(new CreateBucketCommand({ Bucket: 'copy-target' }));
  const copied = await s3.client(1).send(new CopyObjectCommand({ Bucket: 'copy-target', Key: 'copied', CopySource: `${BUCKET}/copy/source` }));
  expect(copied.CopyObjectResult!.ETag).toBe(put.ETag);
  const target = await s3.client(2).send(new GetObjectCommand({ Bucket: 'copy-target', Key: 'copied' }));
  expect([target.ContentType, target.Metadata]).toEqual(['text/source', { a: '1' }]);
  expect((await bodyBytes(target.Body)).equals(source)).toBe(true);

  expect(await failure(client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/source', CopySource: `${BUCKET}/copy/source` })))).toBe('InvalidRequest');
  await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/source', CopySource: `${BUCKET}/copy/source`, MetadataDirective: 'REPLACE', ContentType: 'text/replaced', Metadata: { b: '2' } }));
  const replaced = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy/source' }));
  expect([replaced.ContentType, replaced.Metadata, replaced.ETag]).toEqual(['text/replaced', { b: '2' }, put.ETag]);
  expect(await failure(client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'c2', CopySource: `${BUCKET}/copy/source`, CopySourceIfMatch: '"0000"' })))).toBe('PreconditionFailed');
  expect(await failure(client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'c2', CopySource: `${BUCKET}/copy/source`, CopySourceIfNoneMatch: put.ETag })))).toBe('PreconditionFailed');
  expect(await failure(client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'c2', CopySource: `${BUCKET}/copy/source`, CopySourceIfModifiedSince: new Date(Date.now() + 3_600_000) })))).toBe('PreconditionFailed');
  expect(await failure(client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'c2', CopySource: `${BUCKET}/copy/source`, CopySourceIfMatch: put.ETag })))).toBe('ok');
  expect(await failure(client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'c3', CopySource: `${BUCKET}/copy/missing` })))).toBe('NoSuchKey');
  const small = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/small', Body: 'inline bytes' }));
  await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/small-copy', CopySource: `${BUCKET}/copy/small` }));
  const smallCopy = await getBytes('copy/small-copy', 1);
  expect([smallCopy.data.toString(), md5(smallCopy.data)]).toEqual(['inline bytes', small.ETag!.replace(/"/g, '')]);
});
