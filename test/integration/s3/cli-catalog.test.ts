// Keys, buckets, aliases and permissions through the real `grange` CLI on a 3-node cluster with a
// layout applied: what one node writes reaches every node (full-copy tables), and every refusal
// exits non-zero with a message that says what to fix.
import type { KeyInfo, BucketInfo, BucketSummary, CreatedKey, KeySummary } from '../../../src/actors/s3/catalog';
import { runCliAsync, type CliResult } from '../../harness/cli';
import type { Cluster } from '../../harness/cluster';
import { startTableCluster } from '../../harness/tables';
import { waitFor } from '../../harness/wait';

jest.setTimeout(240_000);

function grange(cluster: Cluster, index: number, args: string[]): Promise<CliResult> {
  return runCliAsync(['-c', cluster.nodes[index]!.configPath, ...args]);
}

async function ok(cluster: Cluster, index: number, args: string[]): Promise<string> {
  const result = await grange(cluster, index, args);
  if (result.status !== 0) throw new Error(`grange ${args.join(' ')} on node ${index + 1} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

async function json<T>(cluster: Cluster, index: number, args: string[]): Promise<T> {
  return JSON.parse(await ok(cluster, index, [...args, '--json'])) as T;
}

/** A command on a node that may not have received the previous write yet (a write quorum is 2 of 3). */
function eventually(cluster: Cluster, index: number, args: string[], what: string): Promise<string> {
  return waitFor(() => ok(cluster, index, args), { what, intervalMs: 300 });
}

async function refused(cluster: Cluster, index: number, args: string[], message: RegExp): Promise<void> {
  const result = await grange(cluster, index, args);
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(message);
}

describe('grange key and bucket commands', () => {
  let cluster: Cluster;
  afterAll(async () => cluster?.stop());

  it('creates a key and a bucket, grants, aliases, denies and deletes across nodes', async () => {
    cluster = await startTableCluster(3, { syncIntervalMs: 2_000 });

    const key = await json<CreatedKey>(cluster, 0, ['key', 'create', 'alice']);
    expect(key.accessKeyId).toMatch(/^GK[0-9a-f]{24}$/);
    expect(key.secretAccessKey).toMatch(/^[0-9a-f]{64}$/);
    expect(key.name).toBe('alice');
    expect(await ok(cluster, 0, ['bucket', 'create', 'photos'])).toMatch(/Bucket photos created/);

    // Granted through node 2, by key name and bucket name: both must have reached it.
    await eventually(cluster, 1, ['bucket', 'allow', '--read', '--write', 'photos', '--key', 'alice'], 'node 2 to grant alice on photos');
    // Shown on node 3 from its own copy, by id prefix.
    const info = await waitFor(
      async () => {
        const shown = await json<KeyInfo>(cluster, 2, ['key', 'info', key.accessKeyId.slice(0, 10)]);
        return shown.buckets.length === 1 ? shown : undefined;
      },
      { what: 'node 3 to show the permission', intervalMs: 300 },
    );
    expect(info.secretAccessKey).toBeNull();
    expect(info.buckets[0]).toMatchObject({ globalAliases: ['photos'], permissions: { read: true, write: true, owner: false } });
    expect(await ok(cluster, 2, ['key', 'info', 'alice'])).toMatch(/RW-\s+[0-9a-f]{16}\s+photos/);
    expect((await json<KeyInfo>(cluster, 2, ['key', 'info', 'alice', '--show-secret'])).secretAccessKey).toBe(key.secretAccessKey);
    expect((await json<KeySummary[]>(cluster, 1, ['key', 'list'])).map((entry) => entry.accessKeyId)).toEqual([key.accessKeyId]);

    // Aliases: a second global name, the first removed, the last refused; a local one for alice.
    await ok(cluster, 0, ['bucket', 'alias', 'photos', 'pictures']);
    await ok(cluster, 0, ['bucket', 'unalias', 'photos']);
    await refused(cluster, 0, ['bucket', 'unalias', 'pictures'], /last alias of bucket .*delete the bucket instead/);
    await ok(cluster, 0, ['bucket', 'alias', 'pictures', 'mine', '--local', 'alice']);
    const bucket = await json<BucketInfo>(cluster, 0, ['bucket', 'info', 'pictures']);
    expect(bucket.globalAliases).toEqual(['pictures']);
    expect(bucket.localAliases).toEqual([{ accessKeyId: key.accessKeyId, name: 'mine' }]);
    expect(bucket.keys).toEqual([{ accessKeyId: key.accessKeyId, name: 'alice', permissions: { read: true, write: true, owner: false } }]);
    await waitFor(
      async () => {
        const shown = await json<KeyInfo>(cluster, 2, ['key', 'info', 'alice']);
        return shown.buckets[0]?.localAliases.includes('mine') && shown.buckets[0]?.globalAliases.join() === 'pictures';
      },
      { what: 'node 3 to show the aliases', intervalMs: 300 },
    );

    // Deny write, through node 3; node 1 sees read only.
    await eventually(cluster, 2, ['bucket', 'deny', '--write', 'pictures', '--key', 'alice'], 'node 3 to deny write');
    await waitFor(async () => (await json<KeyInfo>(cluster, 0, ['key', 'info', 'alice'])).buckets[0]?.permissions.write === false, { what: 'node 1 to see write denied', intervalMs: 300 });
    expect((await json<KeyInfo>(cluster, 0, ['key', 'info', 'alice'])).buckets[0]!.permissions).toEqual({ read: true, write: false, owner: false });

    // The create-bucket flag.
    expect(await ok(cluster, 0, ['key', 'allow', '--create-bucket', 'alice'])).toMatch(/can create buckets/);
    expect((await json<KeyInfo>(cluster, 0, ['key', 'info', 'alice'])).allowCreateBucket).toBe(true);
    expect(await ok(cluster, 0, ['key', 'deny', '--create-bucket', 'alice'])).toMatch(/cannot create buckets/);

    // Refusals: exit code 2 and what to fix.
    await refused(cluster, 0, ['key', 'info', 'nobody'], /no access key matches "nobody"/);
    await refused(cluster, 0, ['bucket', 'info', 'nothing-here'], /no bucket "nothing-here"/);
    await refused(cluster, 0, ['bucket', 'create', 'Bad_Name'], /"Bad_Name" is not valid: it may contain only lowercase/);
    await refused(cluster, 0, ['bucket', 'create', 'pictures'], /already exists/);
    await refused(cluster, 0, ['bucket', 'delete', 'pictures'], /add --yes/);
    await refused(cluster, 0, ['bucket', 'allow', 'pictures', '--key', 'alice'], /--read, --write and\/or --owner/);
    await refused(cluster, 0, ['key', 'import', 'GK123', 'abc'], /GK followed by 24 lowercase hex digits/);
    await refused(cluster, 0, ['key', 'allow', 'alice'], /--create-bucket/);

    // Delete the bucket: its aliases and alice's permission go everywhere.
    await ok(cluster, 0, ['bucket', 'delete', 'pictures', '--yes']);
    await waitFor(async () => (await json<BucketSummary[]>(cluster, 2, ['bucket', 'list'])).length === 0, { what: 'node 3 to see the bucket gone', intervalMs: 300 });
    await waitFor(async () => (await json<KeyInfo>(cluster, 1, ['key', 'info', 'alice'])).buckets.length === 0, { what: 'node 2 to see the permission gone', intervalMs: 300 });
    await refused(cluster, 0, ['bucket', 'info', 'pictures'], /no bucket "pictures"/);
    // The name is free for a new bucket.
    await ok(cluster, 0, ['bucket', 'create', 'pictures']);

    // Import, rename and delete keys.
    const importedId = 'GK' + '1a'.repeat(12);
    await ok(cluster, 1, ['key', 'import', importedId, '2b'.repeat(32), '-n', 'old-cluster']);
    await refused(cluster, 1, ['key', 'import', importedId, '2b'.repeat(32)], /already exists/);
    await ok(cluster, 1, ['key', 'rename', importedId, 'migrated']);
    expect((await json<KeyInfo>(cluster, 1, ['key', 'info', 'migrated'])).accessKeyId).toBe(importedId);
    await refused(cluster, 0, ['key', 'delete', 'alice'], /add --yes/);
    await ok(cluster, 0, ['key', 'delete', 'alice', '--yes']);
    await waitFor(
      async () => (await json<KeySummary[]>(cluster, 2, ['key', 'list'])).map((entry) => entry.name).join() === 'migrated',
      { what: 'node 3 to list only the imported key', intervalMs: 300 },
    );
  });
});
