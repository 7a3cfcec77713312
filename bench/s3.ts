// bench/s3: the S3 API of three node processes on loopback (RF=3) driven by the AWS SDK v3.
//   large  one object of LARGE_MIB MiB: PUT and GET MB/s (the GET streamed and checked by MD5),
//          and each node's peak RSS meanwhile;
//   small  SMALL_COUNT objects of 4 KiB with 16 concurrent clients: PUT, GET, HEAD and LIST
//          operations per second with p50 and p99 latency;
//   baseline, in the same run: MD5 of the same bytes written to three local files (fsync), then
//          read back with MD5 again; the ratios against it.
// Prints figures and the issue's targets beside them; decides nothing.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startS3Cluster } from '../test/harness/s3';
import { measure } from './ops';
import { peakRss } from './rss';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MIB = 1024 * 1024;
const LARGE_MIB = Number(process.env.LARGE_MIB ?? 256);
const SMALL_COUNT = Number(process.env.SMALL_COUNT ?? 3000);
const SMALL_BYTES = 4096;
const CONCURRENCY = 16;
const LIST_PAGES = 30;
const BUCKET = 'bench';

function mbPerSecond(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

async function streamMd5(body: unknown): Promise<{ md5: string; bytes: number }> {
  const hash = createHash('md5');
  let bytes = 0;
  for await (const chunk of body as Readable) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { md5: hash.digest('hex'), bytes };
}

async function large(client: S3Client, pids: number[], data: Buffer, md5: string): Promise<{ put: number; get: number; peaksMiB: number[] }> {
  const { result, peaksMiB } = await peakRss(pids, async () => {
    const putStart = performance.now();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'large', Body: data, ContentLength: data.length }));
    const put = mbPerSecond(data.length, performance.now() - putStart);
    const getStart = performance.now();
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'large' }));
    const read = await streamMd5(got.Body);
    const get = mbPerSecond(read.bytes, performance.now() - getStart);
    if (read.md5 !== md5 || read.bytes !== data.length) throw new Error(`GET returned ${read.bytes} bytes with MD5 ${read.md5}, expected ${data.length} with ${md5}`);
    return { put, get };
  });
  return { ...result, peaksMiB };
}

async function baseline(data: Buffer): Promise<{ put: number; get: number }> {
  const folder = await mkdtemp(join(tmpdir(), 'grange-bench-s3-'));
  try {
    const putStart = performance.now();
    const md5 = createHash('md5').update(data).digest('hex');
    for (let copy = 0; copy < 3; copy++) {
      const file = await open(join(folder, `copy${copy}`), 'w');
      await file.writeFile(data);
      await file.sync();
      await file.close();
    }
    const put = mbPerSecond(data.length, performance.now() - putStart);
    const getStart = performance.now();
    const back = await readFile(join(folder, 'copy0'));
    if (createHash('md5').update(back).digest('hex') !== md5) throw new Error('baseline read back other bytes');
    return { put, get: mbPerSecond(back.length, performance.now() - getStart) };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function small(clients: S3Client[]): Promise<Record<'PUT' | 'GET' | 'HEAD' | 'LIST', { perSecond: number; p50: number; p99: number }>> {
  const body = randomBytes(SMALL_BYTES);
  const key = (index: number): string => `small/${String(index).padStart(6, '0')}`;
  const client = (index: number): S3Client => clients[index % clients.length]!;
  const put = await measure(SMALL_COUNT, CONCURRENCY, (index) => client(index).send(new PutObjectCommand({ Bucket: BUCKET, Key: key(index), Body: body })));
  const get = await measure(SMALL_COUNT, CONCURRENCY, async (index) => {
    const got = await client(index).send(new GetObjectCommand({ Bucket: BUCKET, Key: key(index) }));
    await got.Body!.transformToByteArray();
  });
  const head = await measure(SMALL_COUNT, CONCURRENCY, (index) => client(index).send(new HeadObjectCommand({ Bucket: BUCKET, Key: key(index) })));
  const list = await measure(LIST_PAGES, CONCURRENCY, (index) => client(index).send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'small/', MaxKeys: 1000, StartAfter: key((index * 997) % SMALL_COUNT) })));
  return { PUT: put, GET: get, HEAD: head, LIST: list };
}

async function main(): Promise<void> {
  const loadStart = loadavg()[0]!.toFixed(2);
  const s3 = await startS3Cluster(3);
  try {
    const clients = [0, 1, 2].map((index) => s3.client(index));
    await clients[0]!.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const pids = s3.cluster.nodes.map((node) => node.process!.child.pid!);
    const data = randomBytes(LARGE_MIB * MIB);
    const md5 = createHash('md5').update(data).digest('hex');
    const big = await large(clients[0]!, pids, data, md5);
    const base = await baseline(data);
    const ops = await small(clients);
    const lines = [
      `bench/s3  (three node processes on 127.0.0.1, RF 3, AWS SDK v3; node ${process.version}; load ${loadStart} at start, ${loadavg()[0]!.toFixed(2)} at end)`,
      `large ${LARGE_MIB} MiB PUT   ${big.put.toFixed(1).padStart(7)} MB/s   baseline ${base.put.toFixed(1).padStart(7)} MB/s   ratio ${(big.put / base.put).toFixed(2)}   target >= 0.40`,
      `large ${LARGE_MIB} MiB GET   ${big.get.toFixed(1).padStart(7)} MB/s   baseline ${base.get.toFixed(1).padStart(7)} MB/s   ratio ${(big.get / base.get).toFixed(2)}   target >= 0.50`,
      `peak RSS per node during the large PUT and GET: ${big.peaksMiB.map((mib) => `${mib.toFixed(0)} MiB`).join(', ')}   target < 200 MB`,
      ...(['PUT', 'GET', 'HEAD', 'LIST'] as const).map((name) => {
        const figure = ops[name];
        const target = name === 'PUT' ? '   target >= 1,000/s' : name === 'GET' ? '   target >= 3,000/s' : '';
        const what = name === 'LIST' ? `LIST pages of 1000 (${LIST_PAGES})` : `${name} 4 KiB (${SMALL_COUNT})`;
        return `${what.padEnd(28)} ${figure.perSecond.toFixed(0).padStart(6)}/s   p50 ${figure.p50.toFixed(1)} ms   p99 ${figure.p99.toFixed(1)} ms${target}`;
      }),
      'baseline: MD5 + write to 3 local files with fsync / read one back + MD5, in this process',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await s3.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/s3 failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
