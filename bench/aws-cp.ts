// bench/aws-cp: issue 8's memory check with a real client. A file of SIZE_MIB (default 1 GiB) of
// random bytes goes up with `aws s3 cp` through node 1 of a three-node cluster (RF 3) and comes
// back through node 2; prints whether the copy is byte-identical (SHA-256 of both files), each
// node's peak RSS during each transfer (VmRSS sampled every 100 ms), and the times.
// Prints figures; decides nothing. Needs the aws cli (`apt-get install awscli`).
// Run: npm run bench:aws-cp   (options: SIZE_MIB=1024)
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { S3_TEST_REGION, startS3Cluster } from '../test/harness/s3';
import { peakRss } from './rss';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.SIZE_MIB ?? 1024);
const RSS_TARGET_MB = 200;
const CHUNK_MIB = 16;
const BUCKET = 'aws-cp';
const CLIENT_TIMEOUT_MS = 30 * 60_000;

/** A file of random bytes, written in chunks (never the whole file in memory). */
async function randomFile(path: string, mib: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < mib; written += CHUNK_MIB) await handle.write(randomBytes(Math.min(CHUNK_MIB, mib - written) * MIB));
  } finally {
    await handle.close();
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function aws(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('aws', args, { env, timeout: CLIENT_TIMEOUT_MS }, (error, _stdout, stderr) => (error ? reject(new Error(`aws ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve()));
  });
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'grange-aws-cp-'));
  const s3 = await startS3Cluster(3);
  try {
    const { accessKeyId, secretAccessKey } = s3.credentials;
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_DEFAULT_REGION: S3_TEST_REGION, AWS_EC2_METADATA_DISABLED: 'true' };
    delete env.AWS_CA_BUNDLE;
    delete env.AWS_PROFILE;
    await s3.client(0).send(new CreateBucketCommand({ Bucket: BUCKET }));
    const up = join(work, 'up.bin');
    const down = join(work, 'down.bin');
    await randomFile(up, SIZE_MIB);
    const pids = s3.cluster.nodes.map((node) => node.process!.child.pid!);
    const timedCopy = async (index: number, from: string, to: string): Promise<{ seconds: number; peaksMiB: number[] }> => {
      const started = performance.now();
      const { peaksMiB } = await peakRss(pids, () => aws(['--endpoint-url', s3.endpoints[index]!, 's3', 'cp', from, to, '--only-show-errors'], env));
      return { seconds: (performance.now() - started) / 1000, peaksMiB };
    };
    const upload = await timedCopy(0, up, `s3://${BUCKET}/big.bin`);
    const download = await timedCopy(1, `s3://${BUCKET}/big.bin`, down);
    const identical = (await sha256Of(up)) === (await sha256Of(down));
    const line = (label: string, copy: { seconds: number; peaksMiB: number[] }): string =>
      `${label.padEnd(28)} ${(SIZE_MIB / copy.seconds).toFixed(1).padStart(6)} MiB/s   peak RSS ${copy.peaksMiB.map((mib) => `${mib.toFixed(0)} MiB (${((mib * MIB) / 1e6).toFixed(0)} MB)`).join(', ')}`;
    console.log(`bench/aws-cp  (three node processes on 127.0.0.1, RF 3, aws cli; node ${process.version}; load ${loadavg()[0]!.toFixed(2)} at end)`);
    console.log(line(`up ${SIZE_MIB} MiB via node 1`, upload));
    console.log(line(`down ${SIZE_MIB} MiB via node 2`, download));
    const peakMB = (Math.max(...upload.peaksMiB, ...download.peaksMiB) * MIB) / 1e6;
    console.log(`byte-identical: ${identical ? 'yes' : 'NO'}; highest node peak ${peakMB.toFixed(0)} MB   target < ${RSS_TARGET_MB} MB`);
  } finally {
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
