// `grange k2v read|insert|delete|index`: K2V items of a bucket, for an operator, through the K2V
// API of the node named by the config file, signed with an access key whose secret the CLI reads
// from the catalog (the operator holds the RPC secret already).
import type { Argv, CommandModule } from 'yargs';
import { K2vClient, K2vClientError } from '../client/k2v-client';
import { formatHostPort } from '../config';
import { askCatalog, printJson } from './catalog-client';
import { loadCliConfig } from './config-path';
import { CliUsageError } from './errors';
import { formatTable } from './status';

interface K2vArgs {
  config?: string;
  json?: boolean;
  key?: string;
  bucket?: string;
  pk?: string;
  sk?: string;
  value?: string;
  base64?: boolean;
  token?: string;
  prefix?: string;
}

/** A client for the config's node, signing with `key` (id, id prefix or name). */
async function clientFor(args: K2vArgs): Promise<K2vClient> {
  const { config } = loadCliConfig(args.config, process.env);
  const listen = config.k2vApi?.apiBindAddr;
  if (!listen) throw new CliUsageError('this node has no K2V API: add a [k2v_api] section with api_bind_addr to its config');
  if (listen.kind === 'unix') throw new CliUsageError('the K2V API listens on a unix socket: the CLI reaches it over TCP only');
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  const key = await askCatalog(args.config, { type: 'keyInfo', key: args.key!, showSecret: true });
  return new K2vClient({ endpoint: `http://${formatHostPort({ host, port: listen.port })}`, region: config.s3Api.s3Region, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey! });
}

/** K2V's refusals become one line saying what went wrong (exit code 2). */
async function refusalsAsUsage<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof K2vClientError && error.status < 500) throw new CliUsageError(error.message);
    throw error;
  }
}

function itemArgs(parser: Argv<object>): Argv<K2vArgs> {
  return parser
    .positional('bucket', { type: 'string', demandOption: true, describe: 'bucket name' })
    .positional('pk', { type: 'string', demandOption: true, describe: 'partition key' })
    .positional('sk', { type: 'string', demandOption: true, describe: 'sort key' })
    .option('key', { type: 'string', demandOption: true, describe: 'access key (id, id prefix or name) to sign with' })
    .option('json', { type: 'boolean', describe: 'print JSON' }) as Argv<K2vArgs>;
}

/** A value as text when it is printable UTF-8, else as base64 (marked). */
function showValue(value: Buffer | null): string {
  if (value === null) return '(deleted)';
  const text = value.toString('utf8');
  return Buffer.from(text, 'utf8').equals(value) && !/[\u0000-\u0008\u000e-\u001f]/.test(text) ? text : `base64:${value.toString('base64')}`;
}

const readCommand: CommandModule<object, K2vArgs> = {
  command: 'read <bucket> <pk> <sk>',
  describe: 'read an item: its values (several when writes were concurrent) and causality token',
  builder: itemArgs,
  handler: async (args) =>
    refusalsAsUsage(async () => {
      const item = await (await clientFor(args)).readItem(args.bucket!, args.pk!, args.sk!);
      if (item === null) throw new CliUsageError(`no item ${args.pk}/${args.sk} in bucket ${args.bucket}`);
      if (args.json) return printJson({ values: item.values.map((value) => (value === null ? null : value.toString('base64'))), token: item.token });
      process.stdout.write(`${item.values.map(showValue).join('\n')}\ncausality token: ${item.token}\n`);
    }),
};

const insertCommand: CommandModule<object, K2vArgs> = {
  command: 'insert <bucket> <pk> <sk> <value>',
  describe: 'write a value; with --token it replaces what that read returned, else it adds a concurrent value',
  builder: (parser) =>
    itemArgs(parser)
      .positional('value', { type: 'string', demandOption: true, describe: 'the value (text, or base64 with --base64)' })
      .option('base64', { type: 'boolean', describe: 'the value is base64' })
      .option('token', { type: 'string', describe: 'causality token of a previous read' }) as Argv<K2vArgs>,
  handler: async (args) =>
    refusalsAsUsage(async () => {
      const value = args.base64 ? Buffer.from(args.value!, 'base64') : Buffer.from(args.value!, 'utf8');
      await (await clientFor(args)).insertItem(args.bucket!, args.pk!, args.sk!, value, args.token);
      if (args.json) return printJson({ inserted: true });
      process.stdout.write('Inserted.\n');
    }),
};

const deleteCommand: CommandModule<object, K2vArgs> = {
  command: 'delete <bucket> <pk> <sk>',
  describe: 'delete an item: what --token saw, or without it, what a read finds now',
  builder: (parser) => itemArgs(parser).option('token', { type: 'string', describe: 'causality token of a previous read' }) as Argv<K2vArgs>,
  handler: async (args) =>
    refusalsAsUsage(async () => {
      const client = await clientFor(args);
      const token = args.token ?? (await client.readItem(args.bucket!, args.pk!, args.sk!))?.token;
      if (token === undefined) throw new CliUsageError(`no item ${args.pk}/${args.sk} in bucket ${args.bucket}`);
      await client.deleteItem(args.bucket!, args.pk!, args.sk!, token);
      if (args.json) return printJson({ deleted: true });
      process.stdout.write('Deleted.\n');
    }),
};

interface IndexAnswer {
  partitionKeys: { pk: string; entries: number; conflicts: number; values: number; bytes: number }[];
  more: boolean;
  nextStart: string | null;
}

const indexCommand: CommandModule<object, K2vArgs> = {
  command: 'index <bucket>',
  describe: 'list the partition keys of a bucket with their item, conflict, value and byte counts',
  builder: (parser) =>
    parser
      .positional('bucket', { type: 'string', demandOption: true, describe: 'bucket name' })
      .option('key', { type: 'string', demandOption: true, describe: 'access key (id, id prefix or name) to sign with' })
      .option('prefix', { type: 'string', describe: 'only partition keys starting with this' })
      .option('json', { type: 'boolean', describe: 'print JSON' }) as Argv<K2vArgs>,
  handler: async (args) =>
    refusalsAsUsage(async () => {
      const client = await clientFor(args);
      const answer = await client.request('GET', `/${encodeURIComponent(args.bucket!)}`, args.prefix ? { prefix: args.prefix } : {});
      if (answer.status !== 200) {
        const { code, message } = JSON.parse(answer.body.toString('utf8')) as { code: string; message: string };
        throw new K2vClientError(answer.status, code, message);
      }
      const index = JSON.parse(answer.body.toString('utf8')) as IndexAnswer;
      if (args.json) return printJson(index);
      const rows = index.partitionKeys.map((entry) => [entry.pk, String(entry.entries), String(entry.conflicts), String(entry.values), String(entry.bytes)]);
      process.stdout.write(rows.length === 0 ? 'No items.\n' : formatTable([['PARTITION KEY', 'ITEMS', 'CONFLICTS', 'VALUES', 'BYTES'], ...rows]));
      if (index.more) process.stdout.write(`(more from ${index.nextStart})\n`);
    }),
};

export const k2vCommand: CommandModule = {
  command: 'k2v <command>',
  describe: 'read and write K2V items (through this node\'s [k2v_api])',
  builder: (parser) => parser.command(readCommand).command(insertCommand).command(deleteCommand).command(indexCommand).demandCommand(1),
  handler: () => undefined,
};
