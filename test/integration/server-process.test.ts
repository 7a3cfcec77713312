// The real `grange` process: starts from a config file, prints its node id and folders, and
// exits 0 soon after SIGTERM; bad config gives one line and exit code 2.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { REPO_ROOT, runCli, startCli } from '../harness/cli';
import { freePort } from '../harness/ports';
import { waitFor } from '../harness/wait';

const SECRET = 'a'.repeat(64);
let folder: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'grange-server-'));
});
afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

async function writeConfig(extra = ''): Promise<string> {
  const path = join(folder, 'grange.toml');
  writeFileSync(
    path,
    [
      `metadata_dir = "${join(folder, 'meta')}"`,
      `data_dir = "${join(folder, 'data')}"`,
      `replication_factor = 1`,
      `rpc_secret = "${SECRET}"`,
      `rpc_bind_addr = "127.0.0.1:${await freePort()}"`,
      extra,
    ].join('\n'),
  );
  return path;
}

async function runUntilStarted(args: string[], cwd?: string) {
  const server = startCli(args, cwd ? { cwd } : {});
  await waitFor(() => /node id:\s+([0-9a-f]{64})/.exec(server.output.stdout), {
    what: `node id on stdout (stderr: ${server.output.stderr})`,
    timeoutMs: 30_000,
  });
  return server;
}

describe('grange server process', () => {
  it('starts, prints its node id and data folders, keeps the id across restarts, and stops on SIGTERM', async () => {
    const config = await writeConfig();
    const first = await runUntilStarted(['-c', config, 'server']);
    const nodeId = /node id:\s+([0-9a-f]{64})/.exec(first.output.stdout)![1];
    expect(first.output.stdout).toContain(join(folder, 'meta'));
    expect(first.output.stdout).toContain(join(folder, 'data'));
    first.child.kill('SIGTERM');
    await expect(first.exited).resolves.toEqual({ code: 0, signal: null });
    expect(first.output.stdout).toContain('Grange node stopped');

    const second = await runUntilStarted(['-c', config, 'server']);
    expect(second.output.stdout).toContain(nodeId);
    second.child.kill('SIGINT');
    await expect(second.exited).resolves.toEqual({ code: 0, signal: null });
  });

  it('--single-node creates its folder and secret once and reuses them', async () => {
    const root = join(folder, 'quick');
    const first = await runUntilStarted(['server', '--single-node', '--data-root', root]);
    const secret = readFileSync(join(root, 'rpc_secret'), 'utf8');
    expect(secret.trim()).toMatch(/^[0-9a-f]{64}$/);
    // Ready to store data: the node gave itself a layout.
    expect(first.output.stdout).toMatch(/layout:\s+version 1 /);
    const shown = runCli(['-c', join(root, 'grange.toml'), 'layout', 'show', '--json']);
    expect(shown.status).toBe(0);
    const layout = JSON.parse(shown.stdout) as { version: number; partitions: string[][] };
    expect(layout.version).toBe(1);
    expect(layout.partitions.every((row) => row.length === 1)).toBe(true);
    first.child.kill('SIGTERM');
    await expect(first.exited).resolves.toMatchObject({ code: 0 });

    const second = await runUntilStarted(['server', '--single-node', '--data-root', root]);
    expect(readFileSync(join(root, 'rpc_secret'), 'utf8')).toBe(secret);
    expect(second.output.stdout).toMatch(/layout:\s+version 1 /); // kept, not assigned again
    second.child.kill('SIGTERM');
    await expect(second.exited).resolves.toMatchObject({ code: 0 });
  });

  it('`npm start` (the README quick start) builds and starts a ready single-node server', async () => {
    const root = join(folder, 'npm-start');
    // What the README's first command runs after `npm ci`; --data-root keeps it out of the repo.
    const started = spawn('npm', ['start', '--', '--data-root', root], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    started.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => started.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /node id:\s+[0-9a-f]{64}/.test(stdout) && /layout:\s+version 1 /.test(stdout), { what: `npm start to print the node id (got: ${stdout})`, timeoutMs: 120_000, intervalMs: 200 });
    } finally {
      process.kill(-started.pid!, 'SIGINT'); // npm and the node it runs, as Ctrl-C would
    }
    await exited;
    expect(stdout).toContain(join(root, 'meta'));
  });

  it('bad config: one clear line on stderr and exit code 2', async () => {
    const config = await writeConfig('rpc_secert = "oops"');
    const result = runCli(['-c', config, 'server']);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('rpc_secert');
    expect(result.stderr).toContain('rpc_secret');

    const missing = runCli(['-c', join(folder, 'nope.toml'), 'server']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.toml');
  });

  it('CLI: --help, --version, strict parsing', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('grange');
    expect(help.stdout).toContain('server');
    const version = runCli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const unknown = runCli(['serverr']);
    expect(unknown.status).toBe(2);
    const badFlag = runCli(['server', '--bogus-flag']);
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toMatch(/bogus-flag/);
  });
});
