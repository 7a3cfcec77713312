// `grange block list-errors|info|retry-now`: the blocks of the reached node that resync could not
// fix, what the node has of one block, and retrying failed blocks at once (Garage's `garage block`).
import type { CommandModule } from 'yargs';
import { NODE_PATHS } from '../actors/node';
import type { BlockInfoReply, BlockManagerMessage } from '../actors/block/manager';
import type { Ref } from '../actors/runtime';
import type { NodeClient } from '../client/node-client';
import type { GrangeConfig } from '../config';
import type { ResyncErrorInfo } from '../actors/block/resync-worker';
import type { TableMessage } from '../actors/table/table';
import { blockRefSchema } from '../protocols/block/block-ref';
import { decodeEntry } from '../protocols/table';
import { loadCliConfig } from './config-path';
import { CliUsageError } from './errors';
import { CLI_ASK_TIMEOUT_MS, withNodeClient } from './node-connection';
import { formatTable } from './status';

// ---- shared with repair.ts and worker.ts: asking the block manager of the configured node ----------

const BLOCK_HASH_HEX_PATTERN = /^[0-9a-fA-F]{64}$/;

export function parseBlockHash(text: string): Buffer {
  if (!BLOCK_HASH_HEX_PATTERN.test(text)) throw new CliUsageError(`a block hash is 64 hex digits, got ${JSON.stringify(text)}`);
  return Buffer.from(text, 'hex');
}

export async function askBlockManager<R>(configPath: string | undefined, makeMessage: (replyTo: Ref<R>) => BlockManagerMessage): Promise<R> {
  const { config } = loadCliConfig(configPath, process.env);
  return withBlockManager(config, (ask) => ask(makeMessage));
}

export async function withBlockManager<T>(
  config: GrangeConfig,
  work: (ask: <R>(makeMessage: (replyTo: Ref<R>) => BlockManagerMessage) => Promise<R>, client: NodeClient) => Promise<T>,
): Promise<T> {
  return withNodeClient(config, (client) =>
    work(<R>(makeMessage: (replyTo: Ref<R>) => BlockManagerMessage) => client.ask<BlockManagerMessage, R>(NODE_PATHS.blocks, makeMessage, CLI_ASK_TIMEOUT_MS), client),
  );
}

export function formatTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

// ---- commands -------------------------------------------------------------------------------------

/** References listed by `block info` (a block used by more versions shows this many). */
const BLOCK_INFO_REFERENCES_MAX = 100;

interface BlockArgs {
  config?: string;
  json?: boolean;
  hash?: string;
  hashes?: string[];
  all?: boolean;
}

const listErrorsCommand: CommandModule<BlockArgs, BlockArgs> = {
  command: 'list-errors',
  describe: 'blocks whose resync failed: hash, errors in a row, last try, next try, last error',
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const errors = await askBlockManager<ResyncErrorInfo[]>(args.config, (replyTo) => ({ type: 'listBlockErrors', replyTo }));
    if (args.json) return void process.stdout.write(JSON.stringify(errors, null, 2) + '\n');
    if (errors.length === 0) return void process.stdout.write('No block errors.\n');
    const rows = errors.map((error) => [error.hash, String(error.errorCount), formatTime(error.lastTryMs), formatTime(error.nextTryMs), error.lastError]);
    process.stdout.write(formatTable([['HASH', 'ERRORS', 'LAST TRY', 'NEXT TRY', 'LAST ERROR'], ...rows]));
  },
};

interface BlockReference {
  version: string;
  deleted: boolean;
}

const infoCommand: CommandModule<BlockArgs, BlockArgs> = {
  command: 'info <hash>',
  describe: "what the reached node has of a block: its file, its refcount, its error record, and the block's references",
  builder: (parser) => parser.positional('hash', { type: 'string', describe: 'block hash (64 hex digits)' }).option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const hash = parseBlockHash(args.hash ?? '');
    const { config } = loadCliConfig(args.config, process.env);
    const { info, references } = await withBlockManager(config, async (ask, client) => {
      const info = await ask<BlockInfoReply>((replyTo) => ({ type: 'blockInfo', hash, replyTo }));
      // The references are a quorum read of the block_ref table, from whichever nodes hold them.
      const rows = await client.ask<TableMessage, Buffer[]>(
        '/node/tables/block_ref',
        (replyTo) => ({ type: 'range', partitionKey: hash, start: null, end: null, limit: BLOCK_INFO_REFERENCES_MAX, reverse: false, replyTo }),
        CLI_ASK_TIMEOUT_MS,
      );
      const references: BlockReference[] = rows.map((bytes) => decodeEntry(blockRefSchema, bytes)).map((ref) => ({ version: ref.version.toString('hex'), deleted: ref.deleted }));
      return { info, references };
    });
    if (args.json) return void process.stdout.write(JSON.stringify({ ...info, references }, null, 2) + '\n');
    const lines = [
      `Block:      ${info.hash}`,
      `Present:    ${info.present ? 'yes' : 'no'}`,
      `Refcount:   ${info.refcount === null ? 'none (never counted here)' : info.refcount}${info.refcount === 0 ? ` (unreferenced since ${formatTime(info.zeroSinceMs)})` : ''}`,
      `Error:      ${info.error === null ? 'none' : `${info.error.errorCount} in a row, last ${formatTime(info.error.lastTryMs)}, next ${formatTime(info.error.nextTryMs)}: ${info.error.lastError}`}`,
      `References: ${references.length === 0 ? 'none' : ''}`,
      ...references.map((ref) => `  version ${ref.version}${ref.deleted ? ' (deleted)' : ''}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  },
};

const retryNowCommand: CommandModule<BlockArgs, BlockArgs> = {
  command: 'retry-now [hashes..]',
  describe: 'check blocks of the error list again at once: those named, or --all',
  builder: (parser) =>
    parser.positional('hashes', { type: 'string', array: true, describe: 'block hashes (64 hex digits)' }).option('all', { type: 'boolean', describe: 'every block of the error list' }),
  handler: async (args) => {
    const hashes = (args.hashes ?? []).map(parseBlockHash);
    if (args.all && hashes.length > 0) throw new CliUsageError('give either --all or block hashes, not both');
    if (!args.all && hashes.length === 0) throw new CliUsageError('name block hashes, or give --all');
    const reply = await askBlockManager<{ requeued: number }>(args.config, (replyTo) => ({ type: 'retryNow', all: args.all === true, hashes, replyTo }));
    process.stdout.write(`${reply.requeued} block(s) queued for resync now.\n`);
  },
};

export const blockCommand: CommandModule<object, BlockArgs> = {
  command: 'block <command>',
  describe: "the reached node's data blocks: errors, info, retries",
  builder: (parser) => parser.command(listErrorsCommand).command(infoCommand).command(retryNowCommand).demandCommand(1),
  handler: () => {},
};
