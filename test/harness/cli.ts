// Runs the real `grange` CLI (bin/grange.js over dist/) as a child process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// From test/harness (jest) or dist/test/harness (compiled benchmarks).
export const REPO_ROOT = existsSync(join(__dirname, '..', '..', 'package.json')) ? join(__dirname, '..', '..') : join(__dirname, '..', '..', '..');
export const GRANGE_BIN = join(REPO_ROOT, 'bin', 'grange.js');

/** Integration tests run the compiled CLI: `npm test` builds first. */
export function assertBuilt(): void {
  if (!existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does) before the integration tests');
  }
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const CLI_TIMEOUT_MS = 30_000;

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliResult {
  assertBuilt();
  const result = spawnSync(process.execPath, [GRANGE_BIN, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    timeout: CLI_TIMEOUT_MS,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Like runCli, without blocking this process's event loop: link proxies and clients living in the
 * test process keep running while the command does (spawnSync would freeze them, and their
 * timers would then fire before their pending I/O).
 */
export async function runCliAsync(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const started = startCli(args, options);
  const timer = setTimeout(() => started.child.kill('SIGKILL'), CLI_TIMEOUT_MS);
  const { code } = await started.exited;
  clearTimeout(timer);
  return { status: code, stdout: started.output.stdout, stderr: started.output.stderr };
}

/**
 * Profiling aid: GRANGE_TEST_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" passes those flags to
 * every long-running grange process (node servers), which NODE_OPTIONS may not carry.
 */
function nodeFlags(): string[] {
  return (process.env.GRANGE_TEST_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
}

/** Starts a long-running CLI command; output is collected as it arrives. */
export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  assertBuilt();
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags(), GRANGE_BIN, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output, exited };
}
