// Listings over thousands of keys against a sorted in-memory model, and the S3 API with one node
// of three down (RF=3): puts, gets, lists and deletes go on; the node, restarted, converges.
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { bodyBytes, startS3Cluster, type S3Cluster } from '../../harness/s3';
import { statsOf } from '../../harness/tables';
import { waitFor } from '../../harness/wait';
import { seededRandom } from '../../harness/prng';

jest.setTimeout(600_000);

let s3: S3Cluster;
let client: S3Client;
const BUCKET = 'listing';
const KEY_COUNT = 5000;
const PUT_CONCURRENCY = 16;

beforeAll(async () => {
  s3 = await startS3Cluster(3, { extraConfig: 'table_sync_interval = "5s"' });
  client = s3.client(0);
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  await s3?.stop();
});

async function runAll<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let index = next++; index < items.length; index = next++) await work(items[index]!);
  }));
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** What S3 lists for (prefix, delimiter): keys and common prefixes in byte order. */
function modelListing(keys: readonly string[], prefix: string, delimiter: string | undefined): { keys: string[]; prefixes: string[] } {
  const out = { keys: [] as string[], prefixes: new Set<string>() };
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (at >= 0) out.prefixes.add(key.slice(0, at + delimiter!.length));
    else out.keys.push(key);
  }
  return { keys: out.keys.sort(byteOrder), prefixes: [...out.prefixes].sort(byteOrder) };
}

async function listAll(prefix: string, delimiter: string | undefined, pageSize: number): Promise<{ keys: string[]; prefixes: string[]; pages: number }> {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await s3.client(pages % 3).send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, MaxKeys: pageSize, ...(delimiter ? { Delimiter: delimiter } : {}), ...(token ? { ContinuationToken: token } : {}) }),
    );
    pages++;
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    prefixes.push(...(page.CommonPrefixes ?? []).map((common) => common.Prefix!));
    expect((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0)).toBeLessThanOrEqual(pageSize);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (page.IsTruncated) expect(token).toBeDefined();
  } while (token);
  return { keys, prefixes, pages };
}

test(`listing ${KEY_COUNT} keys with several delimiters and page sizes matches a sorted model`, async () => {
  const random = seededRandom(7);
  const parts = ['a', 'b', 'é', 'z', 'A', '0', '-', '~', 'dir'];
  const keySet = new Set<string>();
  while (keySet.size < KEY_COUNT) {
    const depth = 1 + Math.floor(random() * 4);
    const segments = Array.from({ length: depth }, () => parts[Math.floor(random() * parts.length)]! + Math.floor(random() * 40));
    keySet.add(segments.join(random() < 0.8 ? '/' : '--'));
  }
  const keys = [...keySet];
  await runAll(keys, PUT_CONCURRENCY, (key) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key })));
  const cases: [string, string | undefined, number][] = [
    ['', undefined, 1000],
    ['', '/', 1000],
    ['', '/', 97],
    ['a1', '/', 7],
    ['', '--', 500],
    ['dir', '/', 13],
    ['b3/', '/', 3],
  ];
  for (const [prefix, delimiter, pageSize] of cases) {
    const listed = await listAll(prefix, delimiter, pageSize);
    const model = modelListing(keys, prefix, delimiter);
    expect({ prefix, delimiter, pageSize, keys: listed.keys, prefixes: listed.prefixes }).toEqual({ prefix, delimiter, pageSize, keys: model.keys, prefixes: model.prefixes });
  }
});

test('with one node down, puts, gets, lists and deletes keep working; restarted, it converges', async () => {
  await s3.cluster.kill(2);
  const data = randomBytes(300_000);
  await s3.client(0).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'degraded/big', Body: data }));
  await s3.client(1).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'degraded/small', Body: 'small' }));
  expect((await bodyBytes((await s3.client(1).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'degraded/big' }))).Body)).equals(data)).toBe(true);
  const listed = await s3.client(0).send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'degraded/' }));
  expect(listed.Contents!.map((object) => object.Key)).toEqual(['degraded/big', 'degraded/small']);
  await s3.client(1).send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'degraded/small' }));
  await s3.cluster.restart(2, { bootstrap: true });
  await s3.cluster.waitForMesh();
  expect((await bodyBytes((await s3.client(2).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'degraded/big' }))).Body)).equals(data)).toBe(true);
  // Anti-entropy brings every table of the restarted node to the same state as the others.
  await waitFor(
    async () => {
      const stats = await Promise.all([0, 1, 2].map((index) => statsOf(s3.cluster, index)));
      return ['object', 'version', 'block_ref', 'bucket', 'key'].every((table) => stats.every((node) => node.tables[table]?.merkleDigest === stats[0]!.tables[table]?.merkleDigest));
    },
    { what: 'every table to converge on the restarted node', timeoutMs: 120_000, intervalMs: 1_000 },
  );
});
