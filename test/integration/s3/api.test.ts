// The S3 API against a real 3-node cluster (RF=3), driven by the AWS SDK for JavaScript v3 and by
// raw requests signed with AWS's own signer where the SDK will not send what we need to test.
import { createHash, randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { S3_KEEP_ALIVE_IDLE_MS } from '../../../src/protocols/s3/limits';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { bodyBytes, outcomeOf, errorCode, signedRequest, startS3Cluster, type S3Cluster, type S3Credentials } from '../../harness/s3';
import { inspectBlock } from '../../harness/blocks';
import { waitFor } from '../../harness/wait';

jest.setTimeout(240_000);

let s3: S3Cluster;
let client: S3Client;
const BUCKET = 'test-bucket';

beforeAll(async () => {
  s3 = await startS3Cluster(3, { extraConfig: 'block_size = "64KiB"' });
  client = s3.client(0);
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  await s3?.stop();
});

const failure = outcomeOf;

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

describe('buckets', () => {
  test('create, head, list, location, versioning, acl', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'bucket-ops' }));
    expect((await client.send(new HeadBucketCommand({ Bucket: 'bucket-ops' }))).$metadata.httpStatusCode).toBe(200);
    const listed = await s3.client(1).send(new ListBucketsCommand({}));
    expect(listed.Buckets!.map((bucket) => bucket.Name)).toEqual(expect.arrayContaining([BUCKET, 'bucket-ops']));
    expect((await client.send(new GetBucketLocationCommand({ Bucket: 'bucket-ops' }))).LocationConstraint).toBe('garage');
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: 'bucket-ops' }))).Status).toBeUndefined();
    const acl = await client.send(new GetBucketAclCommand({ Bucket: 'bucket-ops' }));
    expect(acl.Grants!.map((grant) => grant.Permission)).toEqual(['FULL_CONTROL']);
    await client.send(new DeleteBucketCommand({ Bucket: 'bucket-ops' }));
    expect(await failure(client.send(new HeadBucketCommand({ Bucket: 'bucket-ops' })))).toBe('NotFound');
    expect(await failure(client.send(new GetBucketLocationCommand({ Bucket: 'bucket-ops' })))).toBe('NoSuchBucket');
  });

  test('naming rules and conflicts', async () => {
    expect(await failure(client.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).toBe('InvalidBucketName');
    expect(await failure(client.send(new CreateBucketCommand({ Bucket: 'ab' })))).toBe('InvalidBucketName');
    expect(await failure(client.send(new CreateBucketCommand({ Bucket: BUCKET })))).toBe('BucketAlreadyOwnedByYou');
    const other = await newKey('other-key', true);
    expect(await failure(s3.client(1, other).send(new CreateBucketCommand({ Bucket: BUCKET })))).toBe('BucketAlreadyExists');
  });

  test('a bucket with objects cannot be deleted', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'not-empty' }));
    await client.send(new PutObjectCommand({ Bucket: 'not-empty', Key: 'k', Body: 'x' }));
    expect(await failure(client.send(new DeleteBucketCommand({ Bucket: 'not-empty' })))).toBe('BucketNotEmpty');
    await client.send(new DeleteObjectCommand({ Bucket: 'not-empty', Key: 'k' }));
    await client.send(new DeleteBucketCommand({ Bucket: 'not-empty' }));
  });
});

async function newKey(name: string, createBucket = false): Promise<S3Credentials> {
  const key = JSON.parse(await s3.cli(0, ['key', 'create', name, '--json'])) as S3Credentials;
  if (createBucket) await s3.cli(0, ['key', 'allow', '--create-bucket', key.accessKeyId]);
  return { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
}

describe('objects', () => {
  test('small object: put, get, head with stored headers and metadata', async () => {
    const put = await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'small.txt',
        Body: 'hello grange',
        ContentType: 'text/plain',
        CacheControl: 'max-age=60',
        ContentDisposition: 'inline',
        ContentLanguage: 'fr',
        Metadata: { colour: 'blue' },
      }),
    );
    expect(put.ETag).toBe(`"${md5(Buffer.from('hello grange'))}"`);
    const got = await s3.client(2).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small.txt' }));
    expect((await bodyBytes(got.Body)).toString()).toBe('hello grange');
    expect(got.ContentType).toBe('text/plain');
    expect(got.CacheControl).toBe('max-age=60');
    expect(got.ContentDisposition).toBe('inline');
    expect(got.ContentLanguage).toBe('fr');
    expect(got.Metadata).toEqual({ colour: 'blue' });
    expect(got.ETag).toBe(put.ETag);
    const head = await s3.client(1).send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'small.txt' }));
    expect(head.ContentLength).toBe(12);
    expect(head.LastModified).toBeInstanceOf(Date);
  });

  test('large object in many blocks round-trips byte for byte, with ranges', async () => {
    const data = randomBytes(1024 * 1024 + 12345);
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'dir/large.bin', Body: data }));
    expect(put.ETag).toBe(`"${md5(data)}"`);
    const got = await s3.client(1).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/large.bin' }));
    expect((await bodyBytes(got.Body)).equals(data)).toBe(true);
    const ranges: [string, number, number][] = [
      ['bytes=0-9', 0, 10],
      ['bytes=65530-65545', 65530, 65546],
      ['bytes=1000000-', 1000000, data.length],
      ['bytes=-777', data.length - 777, data.length],
      ['bytes=5-99999999', 5, data.length],
    ];
    for (const [range, start, end] of ranges) {
      const part = await s3.client(2).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/large.bin', Range: range }));
      expect(part.$metadata.httpStatusCode).toBe(206);
      expect(part.ContentRange).toBe(`bytes ${start}-${end - 1}/${data.length}`);
      expect((await bodyBytes(part.Body)).equals(data.subarray(start, end))).toBe(true);
    }
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/large.bin', Range: `bytes=${data.length}-` })))).toBe('InvalidRange');
    const whole = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/large.bin', PartNumber: 1 }));
    expect((await bodyBytes(whole.Body)).length).toBe(data.length);
  });

  test('conditional requests and response overrides', async () => {
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond', Body: 'conditional' }));
    const etag = put.ETag!;
    const past = new Date(Date.now() - 3_600_000);
    const future = new Date(Date.now() + 3_600_000);
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', IfMatch: '"0000"' })))).toBe('PreconditionFailed');
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', IfMatch: etag })))).toBe('ok');
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', IfNoneMatch: etag })))).toBe('304');
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', IfModifiedSince: future })))).toBe('304');
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', IfUnmodifiedSince: past })))).toBe('PreconditionFailed');
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', IfModifiedSince: past })))).toBe('ok');
    const overridden = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', ResponseContentType: 'application/x-test', ResponseCacheControl: 'no-store' }));
    expect(overridden.ContentType).toBe('application/x-test');
    expect(overridden.CacheControl).toBe('no-store');
  });

  test('overwrite, delete and DeleteObjects', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'over', Body: 'one' }));
    await s3.client(1).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'over', Body: 'two' }));
    expect((await bodyBytes((await s3.client(2).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'over' }))).Body)).toString()).toBe('two');
    await s3.client(2).send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'over' }));
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'over' })))).toBe('NoSuchKey');
    expect(await failure(client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'never-existed' })))).toBe('ok');
    for (const key of ['batch/a', 'batch/b', 'batch/c']) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    const loud = await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'batch/a' }, { Key: 'batch/b' }] } }));
    expect(loud.Deleted!.map((deleted) => deleted.Key).sort()).toEqual(['batch/a', 'batch/b']);
    const quiet = await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Quiet: true, Objects: [{ Key: 'batch/c' }, { Key: 'x'.repeat(1025) }] } }));
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(quiet.Errors!.map((error) => error.Code)).toEqual(['KeyTooLongError']);
    const left = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'batch/' }));
    expect(left.KeyCount).toBe(0);
  });

  test('an overwritten object frees its blocks: object, version, block_ref, refcount', async () => {
    const blockSize = 64 * 1024;
    const data = randomBytes(3 * blockSize + 100);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cascade', Body: data }));
    const hashes = [0, 1, 2, 3].map((index) => createHash('sha256').update(data.subarray(index * blockSize, (index + 1) * blockSize)).digest());
    const refcounts = async (): Promise<(number | null)[]> => (await Promise.all(hashes.flatMap((hash) => [0, 1, 2].map((index) => inspectBlock(s3.cluster, index, hash))))).map((reply) => reply.refcount);
    await waitFor(async () => (await refcounts()).every((count) => count === 1), { what: 'every holder to count one reference per block' });
    await s3.client(1).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cascade', Body: 'small now' }));
    await waitFor(async () => (await refcounts()).every((count) => !count), { what: 'the old blocks to lose their references on every holder' });
    expect((await bodyBytes((await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cascade' }))).Body)).toString()).toBe('small now');
  });

  test('odd keys round-trip through every call', async () => {
    // The last two are 1,024 bytes of UTF-8 with the 'odd/' prefix: the longest key S3 allows.
    const keys = ['with space', 'unicodé/日本語/🎉', 'plus+sign', 'percent%20literal', 'double//slash', '/leading', 'q?mark&amp=1', 'k'.repeat(1020), 'é'.repeat(510)];
    const names = keys.map((key) => `odd/${key}`);
    expect(Buffer.byteLength(names[names.length - 1]!)).toBe(1024);
    for (const key of names) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    for (const key of names) {
      const got = await s3.client(1).send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect((await bodyBytes(got.Body)).length).toBeGreaterThan(0);
      await s3.client(2).send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    }
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'odd/' }));
    expect(listed.Contents!.map((object) => object.Key)).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const encoded = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'odd/', EncodingType: 'url' }));
    expect(encoded.Contents!.map((object) => decodeURIComponent(object.Key!))).toEqual(listed.Contents!.map((object) => object.Key));
    for (const key of names) await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    expect((await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'odd/' }))).KeyCount).toBe(0);
    expect(await failure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k'.repeat(1025), Body: 'x' })))).toBe('KeyTooLongError');
  });

  test('ListObjects v1 and ListObjectVersions', async () => {
    for (const key of ['v/a', 'v/b/1', 'v/b/2', 'v/c']) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    const v1 = await client.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: 'v/', Delimiter: '/', MaxKeys: 2 }));
    expect(v1.Contents!.map((object) => object.Key)).toEqual(['v/a']);
    expect(v1.CommonPrefixes!.map((prefix) => prefix.Prefix)).toEqual(['v/b/']);
    expect(v1.IsTruncated).toBe(true);
    const rest = await client.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: 'v/', Delimiter: '/', Marker: v1.NextMarker! }));
    expect(rest.Contents!.map((object) => object.Key)).toEqual(['v/c']);
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'v/' }));
    expect(versions.Versions!.map((version) => [version.Key, version.VersionId, version.IsLatest])).toEqual([
      ['v/a', 'null', true],
      ['v/b/1', 'null', true],
      ['v/b/2', 'null', true],
      ['v/c', 'null', true],
    ]);
  });
});

describe('bucket counters', () => {
  test('grange bucket info counts objects, bytes and unfinished uploads', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'counted' }));
    for (const [key, size] of [['a', 10], ['b', 5000], ['c', 100_000]] as const) {
      await client.send(new PutObjectCommand({ Bucket: 'counted', Key: key, Body: randomBytes(size) }));
    }
    await client.send(new CreateMultipartUploadCommand({ Bucket: 'counted', Key: 'pending' }));
    const counts = async (): Promise<string> => (await s3.cli(2, ['bucket', 'info', 'counted'])).split('\n').filter((line) => /^(Objects|Size|Unfinished)/.test(line)).join('; ');
    await waitFor(async () => (await counts()) === 'Objects: 3; Size: 102.5 KiB (105010 bytes); Unfinished multipart uploads: 1', { what: 'bucket info to count 3 objects, 105010 bytes, 1 upload' });
    await client.send(new DeleteObjectCommand({ Bucket: 'counted', Key: 'c' }));
    await client.send(new PutObjectCommand({ Bucket: 'counted', Key: 'a', Body: randomBytes(20) }));
    await waitFor(async () => (await counts()) === 'Objects: 2; Size: 4.9 KiB (5020 bytes); Unfinished multipart uploads: 1', { what: 'the counts to follow a delete and an overwrite' });
  });
});

describe('authentication and errors', () => {
  test('anonymous requests get 403 AccessDenied as S3 error XML', async () => {
    const response = await fetch(`${s3.endpoints[0]}/${BUCKET}/small.txt`);
    expect(response.status).toBe(403);
    const body = await response.text();
    expect(errorCode(body)).toBe('AccessDenied');
    expect(body).toContain('<RequestId>');
    expect(response.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]+$/);
  });

  test('idle keep-alive connections are kept a minute, not Node\'s 5 s (clients reuse them)', async () => {
    // A client that reuses a connection the server has just closed sees "socket hang up".
    const keepAlive = await new Promise<string | undefined>((resolve, reject) => {
      get(`${s3.endpoints[0]}/`, (response) => {
        response.resume();
        resolve(String(response.headers['keep-alive']));
      }).on('error', reject);
    });
    expect(keepAlive).toBe(`timeout=${S3_KEEP_ALIVE_IDLE_MS / 1000}`);
  });

  test('wrong secret, unknown key, missing permission', async () => {
    const wrong = { ...s3.credentials, secretAccessKey: '0'.repeat(64) };
    expect(await failure(s3.client(0, wrong).send(new ListBucketsCommand({})))).toBe('SignatureDoesNotMatch');
    const unknown = { accessKeyId: 'GK' + '0'.repeat(24), secretAccessKey: '0'.repeat(64) };
    expect(await failure(s3.client(0, unknown).send(new ListBucketsCommand({})))).toBe('InvalidAccessKeyId');
    const stranger = await newKey('stranger');
    expect(await failure(s3.client(1, stranger).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small.txt' })))).toBe('AccessDenied');
    expect(await failure(s3.client(1, stranger).send(new CreateBucketCommand({ Bucket: 'stranger-bucket' })))).toBe('AccessDenied');
    await s3.cli(1, ['bucket', 'allow', '--read', BUCKET, '--key', stranger.accessKeyId]);
    expect(await failure(s3.client(1, stranger).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small.txt' })))).toBe('ok');
    expect(await failure(s3.client(1, stranger).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'nope', Body: 'x' })))).toBe('AccessDenied');
  });

  test('request time, region, digests, XML and arguments', async () => {
    const endpoint = s3.endpoints[0]!;
    const skewed = await signedRequest(endpoint, s3.credentials, { method: 'GET', path: `/${BUCKET}`, signingDate: new Date(Date.now() - 20 * 60_000) });
    expect([skewed.status, errorCode(skewed.body)]).toEqual([403, 'RequestTimeTooSkewed']);
    const region = await signedRequest(endpoint, s3.credentials, { method: 'GET', path: `/${BUCKET}`, region: 'us-east-1' });
    expect([region.status, errorCode(region.body)]).toEqual([400, 'AuthorizationHeaderMalformed']);
    const badMd5 = await signedRequest(endpoint, s3.credentials, { method: 'PUT', path: `/${BUCKET}/md5`, body: 'payload', headers: { 'content-md5': createHash('md5').update('other').digest('base64') } });
    expect([badMd5.status, errorCode(badMd5.body)]).toEqual([400, 'BadDigest']);
    const badSha = await signedRequest(endpoint, s3.credentials, { method: 'PUT', path: `/${BUCKET}/sha`, body: 'payload', headers: { 'x-amz-content-sha256': createHash('sha256').update('other').digest('hex') } });
    expect([badSha.status, errorCode(badSha.body)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'md5' })))).toBe('NoSuchKey');
    const badXml = await signedRequest(endpoint, s3.credentials, { method: 'POST', path: `/${BUCKET}`, query: { delete: '' }, body: '<Delete><Object><Key>a</Key></Delete>' });
    expect([badXml.status, errorCode(badXml.body)]).toEqual([400, 'MalformedXML']);
    const badArgument = await signedRequest(endpoint, s3.credentials, { method: 'GET', path: `/${BUCKET}`, query: { 'list-type': '2', 'max-keys': 'many' } });
    expect([badArgument.status, errorCode(badArgument.body)]).toEqual([400, 'InvalidArgument']);
    const head = await signedRequest(endpoint, s3.credentials, { method: 'HEAD', path: `/${BUCKET}/missing` });
    expect([head.status, head.body]).toEqual([404, '']);
  });

  test('presigned URLs work until they expire', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned', Body: 'signed in the URL' }));
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned' }), { expiresIn: 600 });
    const ok = await fetch(url);
    expect([ok.status, await ok.text()]).toEqual([200, 'signed in the URL']);
    const old = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned' }), { expiresIn: 60, signingDate: new Date(Date.now() - 3_600_000) });
    const expired = await fetch(old);
    expect([expired.status, errorCode(await expired.text())]).toEqual([403, 'AccessDenied']);
    const tooLong = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned' }), { expiresIn: 604800 });
    expect((await fetch(tooLong)).status).toBe(200);
  });
});
