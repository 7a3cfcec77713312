// Real S3 clients against a real 3-node cluster (RF=3): the aws cli, rclone, restic and s3cmd, as
// users run them. `.ci/run` installs the missing ones with apt-get; a client that is still missing
// is reported as skipped with the reason, never counted as passed.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { S3_TEST_REGION, startS3Cluster, type S3Cluster } from '../../harness/s3';

jest.setTimeout(600_000);

const CLIENT_TIMEOUT_MS = 180_000;
const MIB = 1024 * 1024;

function installed(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** A test for one client, or a skip that says why (jest lists it as skipped, never passed). */
function clientTest(command: string, name: string, body: () => Promise<void>): void {
  if (installed(command)) test(`${command}: ${name}`, body);
  else test.skip(`${command}: ${name} (skipped: ${command} is not installed; .ci/run installs it with apt-get when it can)`, body);
}

let s3: S3Cluster;
let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  s3 = await startS3Cluster(3);
  work = mkdtempSync(join(tmpdir(), 'grange-clients-'));
  const { accessKeyId, secretAccessKey } = s3.credentials;
  env = { ...process.env, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_DEFAULT_REGION: S3_TEST_REGION, AWS_REGION: S3_TEST_REGION, AWS_EC2_METADATA_DISABLED: 'true' };
  delete env.AWS_CA_BUNDLE;
  delete env.AWS_PROFILE;
});

afterAll(async () => {
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: { ...env, ...extraEnv }, timeout: CLIENT_TIMEOUT_MS, maxBuffer: 64 * MIB }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A folder tree with nested folders, an empty file, odd names and a multi-block file. */
function makeTree(root: string): void {
  mkdirSync(join(root, 'docs', 'deep', 'deeper'), { recursive: true });
  writeFileSync(join(root, 'docs', 'readme.txt'), 'hello from grange\n');
  writeFileSync(join(root, 'docs', 'deep', 'empty'), '');
  writeFileSync(join(root, 'docs', 'deep', 'with space é.bin'), randomBytes(12_345));
  writeFileSync(join(root, 'docs', 'deep', 'deeper', 'big.bin'), randomBytes(3 * MIB + 17));
  for (let index = 0; index < 20; index++) writeFileSync(join(root, `file-${index}.txt`), `file ${index}\n`);
}

function sameTree(a: string, b: string): void {
  const result = spawnSync('diff', ['-r', a, b], { encoding: 'utf8' });
  expect(result.stdout + result.stderr).toBe('');
  expect(result.status).toBe(0);
}

function awsArgs(index: number, ...args: string[]): string[] {
  return ['--endpoint-url', s3.endpoints[index]!, ...args];
}

/** Up through node `upIndex`, down through node `downIndex`, byte for byte. */
async function awsRoundTrip(upIndex: number, downIndex: number, bucket: string, label: string): Promise<void> {
  const big = join(work, `${label}-64m.bin`);
  writeFileSync(big, randomBytes(64 * MIB));
  await run('aws', awsArgs(upIndex, 's3', 'cp', big, `s3://${bucket}/${label}/64m.bin`, '--only-show-errors'));
  const back = join(work, `${label}-64m.back`);
  await run('aws', awsArgs(downIndex, 's3', 'cp', `s3://${bucket}/${label}/64m.bin`, back, '--only-show-errors'));
  expect(readFileSync(back).equals(readFileSync(big))).toBe(true);
  rmSync(big);
  rmSync(back);
}

clientTest('aws', 'mb, cp of 64 MiB up and down, sync both ways, ls, rm, s3api multipart', async () => {
  await run('aws', awsArgs(0, 's3', 'mb', 's3://aws-cli'));
  await awsRoundTrip(0, 1, 'aws-cli', 'whole');
  const tree = join(work, 'aws-tree');
  makeTree(tree);
  await run('aws', awsArgs(1, 's3', 'sync', tree, 's3://aws-cli/tree', '--only-show-errors'));
  const listing = await run('aws', awsArgs(2, 's3', 'ls', '--recursive', 's3://aws-cli/tree/'));
  expect(listing.trim().split('\n')).toHaveLength(24);
  const down = join(work, 'aws-tree-down');
  await run('aws', awsArgs(2, 's3', 'sync', 's3://aws-cli/tree', down, '--only-show-errors'));
  sameTree(tree, down);
  // s3api multipart, step by step.
  const part = join(work, 'part.bin');
  writeFileSync(part, randomBytes(5 * MIB));
  const created = JSON.parse(await run('aws', awsArgs(0, 's3api', 'create-multipart-upload', '--bucket', 'aws-cli', '--key', 'api/mpu'))) as { UploadId: string };
  const one = JSON.parse(await run('aws', awsArgs(1, 's3api', 'upload-part', '--bucket', 'aws-cli', '--key', 'api/mpu', '--upload-id', created.UploadId, '--part-number', '1', '--body', part))) as { ETag: string };
  const two = JSON.parse(await run('aws', awsArgs(2, 's3api', 'upload-part', '--bucket', 'aws-cli', '--key', 'api/mpu', '--upload-id', created.UploadId, '--part-number', '2', '--body', part))) as { ETag: string };
  const parts = JSON.parse(await run('aws', awsArgs(0, 's3api', 'list-parts', '--bucket', 'aws-cli', '--key', 'api/mpu', '--upload-id', created.UploadId))) as { Parts: { PartNumber: number }[] };
  expect(parts.Parts.map((p) => p.PartNumber)).toEqual([1, 2]);
  const layout = JSON.stringify({ Parts: [{ PartNumber: 1, ETag: one.ETag }, { PartNumber: 2, ETag: two.ETag }] });
  await run('aws', awsArgs(0, 's3api', 'complete-multipart-upload', '--bucket', 'aws-cli', '--key', 'api/mpu', '--upload-id', created.UploadId, '--multipart-upload', layout));
  const head = JSON.parse(await run('aws', awsArgs(1, 's3api', 'head-object', '--bucket', 'aws-cli', '--key', 'api/mpu'))) as { ContentLength: number; ETag: string };
  expect([head.ContentLength, head.ETag.endsWith('-2"')]).toEqual([10 * MIB, true]);
  await run('aws', awsArgs(0, 's3', 'rm', '--recursive', 's3://aws-cli/', '--only-show-errors'));
  expect((await run('aws', awsArgs(1, 's3', 'ls', '--recursive', 's3://aws-cli/'))).trim()).toBe('');
});

clientTest('rclone', 'sync a tree, check finds no difference, copyto, delete', async () => {
  await s3.client(0).send(new CreateBucketCommand({ Bucket: 'rclone' }));
  const remote = {
    RCLONE_CONFIG_GR_TYPE: 's3',
    RCLONE_CONFIG_GR_PROVIDER: 'Other',
    RCLONE_CONFIG_GR_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    RCLONE_CONFIG_GR_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    RCLONE_CONFIG_GR_ENDPOINT: s3.endpoints[1]!,
    RCLONE_CONFIG_GR_REGION: S3_TEST_REGION,
    RCLONE_CONFIG_GR_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG: join(work, 'rclone.conf'),
  };
  writeFileSync(remote.RCLONE_CONFIG, '');
  const tree = join(work, 'rclone-tree');
  makeTree(tree);
  await run('rclone', ['sync', tree, 'gr:rclone/tree'], remote);
  await run('rclone', ['check', tree, 'gr:rclone/tree'], remote);
  const single = join(work, 'rclone-single.bin');
  writeFileSync(single, randomBytes(2 * MIB + 3));
  await run('rclone', ['copyto', single, 'gr:rclone/single/copy.bin'], remote);
  const back = join(work, 'rclone-single.back');
  await run('rclone', ['copyto', 'gr:rclone/single/copy.bin', back], remote);
  expect(readFileSync(back).equals(readFileSync(single))).toBe(true);
  await run('rclone', ['delete', 'gr:rclone/tree'], remote);
  expect((await run('rclone', ['ls', 'gr:rclone/tree'], remote)).trim()).toBe('');
});

clientTest('restic', 'init, backup, check, restore byte-identical', async () => {
  await s3.client(0).send(new CreateBucketCommand({ Bucket: 'restic' }));
  const repo = { RESTIC_REPOSITORY: `s3:${s3.endpoints[2]}/restic/repo`, RESTIC_PASSWORD: 'grange-test-password', RESTIC_CACHE_DIR: join(work, 'restic-cache') };
  const tree = join(work, 'restic-tree');
  makeTree(tree);
  await run('restic', ['init'], repo);
  await run('restic', ['backup', tree], repo);
  await run('restic', ['check', '--read-data'], repo);
  const target = join(work, 'restic-restore');
  await run('restic', ['restore', 'latest', '--target', target], repo);
  sameTree(tree, join(target, tree));
});

clientTest('s3cmd', 'mb, put, get, ls, del', async () => {
  const host = s3.endpoints[0]!.replace('http://', '');
  const config = join(work, 's3cmd.cfg');
  writeFileSync(config, ['[default]', `access_key = ${s3.credentials.accessKeyId}`, `secret_key = ${s3.credentials.secretAccessKey}`, `host_base = ${host}`, `host_bucket = ${host}`, `bucket_location = ${S3_TEST_REGION}`, 'use_https = False', 'signature_v2 = False', ''].join('\n'));
  const s3cmd = (...args: string[]): Promise<string> => run('s3cmd', ['-c', config, ...args]);
  await s3cmd('mb', 's3://s3cmd-bucket');
  const file = join(work, 's3cmd.bin');
  writeFileSync(file, randomBytes(1 * MIB + 11));
  await s3cmd('put', file, 's3://s3cmd-bucket/dir/file.bin');
  expect(await s3cmd('ls', 's3://s3cmd-bucket/dir/')).toContain('s3://s3cmd-bucket/dir/file.bin');
  const back = join(work, 's3cmd.back');
  await s3cmd('get', 's3://s3cmd-bucket/dir/file.bin', back);
  expect(readFileSync(back).equals(readFileSync(file))).toBe(true);
  await s3cmd('del', 's3://s3cmd-bucket/dir/file.bin');
  expect((await s3cmd('ls', 's3://s3cmd-bucket/dir/')).trim()).toBe('');
});

clientTest('aws', 'the 64 MiB round trip with one node of three killed', async () => {
  await run('aws', awsArgs(0, 's3', 'mb', 's3://degraded'));
  await s3.cluster.kill(2);
  await awsRoundTrip(0, 1, 'degraded', 'degraded');
});
