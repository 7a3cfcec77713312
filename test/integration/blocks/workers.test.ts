// The block workers and their CLI on real node processes (RF 3): `grange worker get|set|list`
// (settings checked, applied at run time, kept across a restart, workers visible in `grange
// actors`), and `grange block list-errors|info|retry-now` and `grange repair blocks` on a block no
// holder has.
import { randomBytes } from 'node:crypto';
import type { ActorInfo } from '../../../src/actors/runtime';
import type { WorkerSettingsReply } from '../../../src/actors/block/manager';
import { startTableCluster } from '../../harness/tables';
import { askBlocks, writeBlockRefs } from '../../harness/blocks';
import { runCliAsync, type CliResult } from '../../harness/cli';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(120_000);

const EXIT_USAGE = 2;

function grange(cluster: Cluster, index: number, args: string[]): Promise<CliResult> {
  return runCliAsync(['-c', cluster.nodes[index]!.configPath, ...args]);
}

async function ok(cluster: Cluster, index: number, args: string[]): Promise<string> {
  const result = await grange(cluster, index, args);
  if (result.status !== 0) throw new Error(`grange ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

function flatten(actors: ActorInfo[]): ActorInfo[] {
  return actors.flatMap((actor) => [actor, ...flatten(actor.children)]);
}

async function blockWorkerPaths(cluster: Cluster, index: number): Promise<string[]> {
  const report = JSON.parse(await ok(cluster, index, ['actors', '--json'])) as { actors: ActorInfo[] };
  return flatten(report.actors)
    .map((actor) => actor.path)
    .filter((path) => /^\/node\/blocks\/(resync-\d+|scrub)$/.test(path))
    .sort();
}

async function workerNames(cluster: Cluster, index: number): Promise<string[]> {
  return (JSON.parse(await ok(cluster, index, ['worker', 'list', '--json'])) as { name: string }[]).map((worker) => worker.name);
}

describe('block workers', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('gets and sets worker settings at run time, refuses bad values, and keeps them across a restart', async () => {
    cluster = await startTableCluster(3);
    expect(await ok(cluster, 0, ['worker', 'get'])).toBe('resync-worker-count: 1\nresync-tranquility: 2\nscrub-tranquility: 4\n');
    expect(await workerNames(cluster, 0)).toEqual(['resync-0', 'scrub']);
    expect(await blockWorkerPaths(cluster, 0)).toEqual(['/node/blocks/resync-0', '/node/blocks/scrub']);

    expect(await ok(cluster, 0, ['worker', 'set', 'resync-worker-count', '3'])).toBe('resync-worker-count: 3\n');
    expect(await ok(cluster, 0, ['worker', 'set', 'resync-tranquility', '0'])).toBe('resync-tranquility: 0\n');
    expect(await ok(cluster, 0, ['worker', 'get', 'resync-worker-count'])).toBe('resync-worker-count: 3\n');
    expect(await workerNames(cluster, 0)).toEqual(['resync-0', 'resync-1', 'resync-2', 'scrub']);
    expect(await blockWorkerPaths(cluster, 0)).toEqual(['/node/blocks/resync-0', '/node/blocks/resync-1', '/node/blocks/resync-2', '/node/blocks/scrub']);
    const listed = await ok(cluster, 0, ['worker', 'list']);
    expect(listed).toMatch(/^NAME\s+STATE\s+QUEUE\s+PROGRESS\s+ERRORS\s+TRANQUILITY/);
    expect(listed).toMatch(/resync-2 /);

    // Bad values: a usage error from the CLI, naming the bounds; the node refuses them too.
    for (const [name, value, message] of [
      ['resync-worker-count', '9', 'resync-worker-count must be an integer from 1 to 8, got "9"'],
      ['resync-worker-count', '0', 'resync-worker-count must be an integer from 1 to 8, got "0"'],
      ['resync-tranquility', '-1', 'resync-tranquility must be an integer from 0 to 1000, got "-1"'],
      ['scrub-tranquility', 'slow', 'scrub-tranquility must be an integer from 0 to 1000, got "slow"'],
      ['resync-speed', '1', 'unknown worker setting "resync-speed"'],
    ] as const) {
      const result = await grange(cluster, 0, ['worker', 'set', name, value]);
      expect(result.status).toBe(EXIT_USAGE);
      expect(result.stderr).toContain(message);
    }
    await expect(askBlocks<WorkerSettingsReply>(cluster, 0, (replyTo) => ({ type: 'setWorkerSetting', name: 'resync-worker-count', value: '12', replyTo }))).rejects.toThrow(
      /resync-worker-count must be an integer from 1 to 8/,
    );
    expect((await grange(cluster, 0, ['worker', 'get', 'nope'])).status).toBe(EXIT_USAGE);

    // Fewer workers: the extra ones stop.
    await ok(cluster, 0, ['worker', 'set', 'resync-worker-count', '2']);
    await waitFor(async () => JSON.stringify(await blockWorkerPaths(cluster, 0)) === JSON.stringify(['/node/blocks/resync-0', '/node/blocks/resync-1', '/node/blocks/scrub']), {
      what: 'resync-2 to stop',
      intervalMs: 200,
    });
    // Down and up again at once: the stopped worker's name is free for the new one.
    await ok(cluster, 0, ['worker', 'set', 'resync-worker-count', '1']);
    await ok(cluster, 0, ['worker', 'set', 'resync-worker-count', '2']);
    expect(await workerNames(cluster, 0)).toEqual(['resync-0', 'resync-1', 'scrub']);
    await ok(cluster, 0, ['worker', 'set', 'scrub-tranquility', '7']);

    // Settings are node-local: node 2 still has the defaults; node 1 keeps its own over a restart.
    expect(await ok(cluster, 1, ['worker', 'get', 'resync-worker-count'])).toBe('resync-worker-count: 1\n');
    await cluster.kill(0);
    await cluster.restart(0, { bootstrap: false });
    expect(JSON.parse(await ok(cluster, 0, ['worker', 'get', '--json']))).toEqual({ 'resync-worker-count': 2, 'resync-tranquility': 0, 'scrub-tranquility': 7 });
    expect(await workerNames(cluster, 0)).toEqual(['resync-0', 'resync-1', 'scrub']);
  });

  it('lists a block resync cannot fetch, shows its info, and retries it on demand', async () => {
    cluster = await startTableCluster(3);
    // Referenced, yet never stored anywhere: every fetch fails.
    const hash = randomBytes(32);
    const version = Buffer.from('lost-version');
    expect((await ok(cluster, 0, ['block', 'list-errors'])).trim()).toBe('No block errors.');
    // The new reference alone queues the block for a fetch (the refcount's change feed).
    await writeBlockRefs(cluster, 0, [{ block: hash, version, deleted: false }]);
    const listed = await waitFor(
      async () => {
        const errors = JSON.parse(await ok(cluster, 0, ['block', 'list-errors', '--json'])) as { hash: string; errorCount: number; lastError: string; nextTryMs: number | null }[];
        return errors.find((error) => error.hash === hash.toString('hex'));
      },
      { what: 'the missing block in the error list', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(listed.errorCount).toBeGreaterThanOrEqual(1);
    expect(listed.lastError).toMatch(/no holder sent block/);
    expect(listed.nextTryMs).toBeGreaterThan(Date.now() - 60_000);
    expect(await ok(cluster, 0, ['block', 'list-errors'])).toContain(hash.toString('hex'));

    const info = JSON.parse(await ok(cluster, 0, ['block', 'info', hash.toString('hex'), '--json'])) as {
      present: boolean;
      refcount: number;
      error: { errorCount: number } | null;
      references: { version: string; deleted: boolean }[];
    };
    expect(info).toMatchObject({ present: false, refcount: 1 });
    expect(info.error?.errorCount).toBeGreaterThanOrEqual(1);
    expect(info.references).toEqual([{ version: version.toString('hex'), deleted: false }]);
    expect(await ok(cluster, 0, ['block', 'info', hash.toString('hex')])).toMatch(/Present:\s+no\nRefcount:\s+1\n/);

    expect(await ok(cluster, 0, ['block', 'retry-now', '--all'])).toMatch(/^[1-9]\d* block\(s\) queued for resync now\.\n$/);
    expect(await ok(cluster, 0, ['block', 'retry-now', hash.toString('hex')])).toBe('1 block(s) queued for resync now.\n');
    // The retry failed again: its count went up.
    await waitFor(
      async () => {
        const errors = JSON.parse(await ok(cluster, 0, ['block', 'list-errors', '--json'])) as { hash: string; errorCount: number }[];
        return (errors.find((error) => error.hash === hash.toString('hex'))?.errorCount ?? 0) > listed.errorCount;
      },
      { what: 'the retry to fail again and be counted', timeoutMs: 30_000, intervalMs: 200 },
    );
    for (const args of [['block', 'retry-now'], ['block', 'retry-now', '--all', hash.toString('hex')], ['block', 'info', 'xyz'], ['block', 'retry-now', 'abc']]) {
      const result = await grange(cluster, 0, args);
      expect(result.status).toBe(EXIT_USAGE);
    }
    expect((await grange(cluster, 0, ['block', 'info', 'xyz'])).stderr).toContain('a block hash is 64 hex digits, got "xyz"');
    expect(await ok(cluster, 0, ['repair', 'blocks'])).toMatch(/Block repair started/);
  });
});
