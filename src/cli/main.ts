// `grange [-c FILE] <command>`: the CLI entry point. Each command lives in its own file; this file
// wires them into yargs, and maps named errors to one clear line and an exit code, once.
import yargs from 'yargs';
import { ConfigError } from '../config';
import { actorsCommand } from './actors';
import { blockCommand } from './block';
import { bucketCommand } from './bucket';
import { k2vCommand } from './k2v';
import { keyCommand } from './key';
import { layoutCommand } from './layout';
import { nodeCommand } from './node';
import { repairCommand } from './repair';
import { serverCommand } from './server';
import { statsCommand } from './stats';
import { statusCommand } from './status';
import { workerCommand } from './worker';
import { packageVersion } from '../version';
import { CliUsageError, EXIT_USAGE, EXIT_FAILURE } from './errors';


export async function main(argv: string[]): Promise<void> {
  try {
    await buildParser(hoistConfigOption(argv)).parseAsync();
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

export function buildParser(argv: string[]) {
  return yargs(argv)
    .scriptName('grange')
    .usage('$0 [-c FILE] <command>\n\nGrange: a self-hosted, geo-distributed S3-compatible object store.\n-c FILE (before the command) or --config FILE names the config file.')
    .option('config', {
      type: 'string',
      describe: 'config file (default: ./grange.toml, then /etc/grange.toml)',
    })
    .command(serverCommand)
    .command(statusCommand)
    .command(nodeCommand)
    .command(layoutCommand)
    .command(statsCommand)
    .command(actorsCommand)
    .command(blockCommand)
    .command(repairCommand)
    .command(workerCommand)
    .command(keyCommand)
    .command(bucketCommand)
    .command(k2vCommand)
    .demandCommand(1, 'name a command; `grange --help` lists them')
    .strict()
    .version(packageVersion())
    .help()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new CliUsageError(message);
    });
}

/**
 * `-c FILE` before the command names the config file, as in Garage; after the command, `-c` is
 * the command's own (`layout assign -c 500G`). yargs cannot tell the two apart, so the leading
 * one is rewritten to --config here.
 */
export function hoistConfigOption(argv: string[]): string[] {
  const result = [...argv];
  for (let index = 0; index < result.length; index++) {
    const token = result[index]!;
    if (!token.startsWith('-')) break; // the command: what follows is the command's
    if (token === '-c') result[index] = '--config';
    else if (token.startsWith('-c=')) result[index] = `--config=${token.slice(3)}`;
    if (result[index] === '--config') index++; // skip its value
  }
  return result;
}

function reportError(error: unknown): number {
  if (error instanceof ConfigError || error instanceof CliUsageError) {
    process.stderr.write(`grange: ${error.message}\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`grange: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_FAILURE;
}
