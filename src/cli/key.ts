// `grange key create|list|info|delete|rename|import|allow|deny`: S3 access keys, as Garage's
// `garage key` commands, through the catalog actor of the node named by the config file.
import type { Argv, CommandModule } from 'yargs';
import type { KeyInfo } from '../actors/s3/catalog';
import { askCatalog, permissionFlags, printJson } from './catalog-client';
import { CliUsageError } from './errors';
import { formatTable } from './status';

interface KeyArgs {
  config?: string;
  json?: boolean;
  name?: string;
  key?: string;
  'show-secret'?: boolean;
  yes?: boolean;
  'key-id'?: string;
  'secret-key'?: string;
  'create-bucket'?: boolean;
}

const createCommand: CommandModule<object, KeyArgs> = {
  command: 'create [name]',
  describe: 'create an access key (prints its id and secret)',
  builder: (parser) => parser.positional('name', { type: 'string', describe: 'a name to recognise the key by' }).option('json', { type: 'boolean', describe: 'print JSON' }) as Argv<KeyArgs>,
  handler: async (args) => {
    const created = await askCatalog(args.config, { type: 'createKey', name: args.name ?? null });
    if (args.json) return printJson(created);
    process.stdout.write(`Key name: ${created.name}\nKey ID: ${created.accessKeyId}\nSecret key: ${created.secretAccessKey}\n`);
    process.stdout.write(`\nThe secret is shown again only with \`grange key info --show-secret ${created.accessKeyId}\`.\n`);
  },
};

const listCommand: CommandModule<object, KeyArgs> = {
  command: 'list',
  describe: 'list the access keys',
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const keys = await askCatalog(args.config, { type: 'listKeys' });
    if (args.json) return printJson(keys);
    process.stdout.write(keys.length === 0 ? 'No access keys yet: `grange key create NAME`.\n' : formatTable([['ID', 'NAME'], ...keys.map((key) => [key.accessKeyId, key.name])]));
  },
};

const infoCommand: CommandModule<object, KeyArgs> = {
  command: 'info <key>',
  describe: 'show an access key (id, id prefix or name) and its buckets',
  builder: (parser) =>
    parser
      .option('show-secret', { type: 'boolean', describe: 'print the secret key too' })
      .option('json', { type: 'boolean', describe: 'print JSON' }) as Argv<KeyArgs>,
  handler: async (args) => {
    const info = await askCatalog(args.config, { type: 'keyInfo', key: args.key!, showSecret: args['show-secret'] === true });
    if (args.json) return printJson(info);
    process.stdout.write(renderKeyInfo(info));
  },
};

const deleteCommand: CommandModule<object, KeyArgs> = {
  command: 'delete <key>',
  describe: 'delete an access key (its permissions and local aliases go with it)',
  builder: (parser) => parser.option('yes', { type: 'boolean', describe: 'really delete' }),
  handler: async (args) => {
    if (!args.yes) throw new CliUsageError(`deleting key ${args.key} cannot be undone: add --yes to do it`);
    const deleted = await askCatalog(args.config, { type: 'deleteKey', key: args.key! });
    process.stdout.write(`Key ${deleted.accessKeyId} (${deleted.name}) deleted.\n`);
  },
};

const renameCommand: CommandModule<object, KeyArgs> = {
  command: 'rename <key> <name>',
  describe: 'give an access key a new name',
  handler: async (args) => {
    const renamed = await askCatalog(args.config, { type: 'renameKey', key: args.key!, newName: args.name! });
    process.stdout.write(`Key ${renamed.accessKeyId} is now named ${renamed.name}.\n`);
  },
};

const importCommand: CommandModule<object, KeyArgs> = {
  command: 'import <key-id> <secret-key>',
  describe: 'import an access key made by another cluster (Garage or Grange)',
  builder: (parser) => parser.option('name', { alias: 'n', type: 'string', describe: 'a name for the key' }) as Argv<KeyArgs>,
  handler: async (args) => {
    const imported = await askCatalog(args.config, { type: 'importKey', accessKeyId: args['key-id']!, secretAccessKey: args['secret-key']!, name: args.name ?? null });
    process.stdout.write(`Key ${imported.accessKeyId} (${imported.name}) imported.\n`);
  },
};

function createBucketFlagCommand(allow: boolean): CommandModule<object, KeyArgs> {
  return {
    command: `${allow ? 'allow' : 'deny'} <key>`,
    describe: `${allow ? 'let' : 'stop'} an access key ${allow ? '' : 'from '}creat${allow ? 'e' : 'ing'} buckets (--create-bucket)`,
    builder: (parser) => parser.option('create-bucket', { type: 'boolean', describe: 'the right to create buckets' }) as Argv<KeyArgs>,
    handler: async (args) => {
      if (!args['create-bucket']) throw new CliUsageError(`name what to ${allow ? 'allow' : 'deny'}: --create-bucket`);
      const info = await askCatalog(args.config, { type: 'setCreateBucket', key: args.key!, allow });
      process.stdout.write(`Key ${info.accessKeyId} (${info.name}) ${info.allowCreateBucket ? 'can' : 'cannot'} create buckets.\n`);
    },
  };
}

export const keyCommand: CommandModule<object, KeyArgs> = {
  command: 'key <command>',
  describe: 'S3 access keys: create, list, info, delete, rename, import, allow, deny',
  builder: (parser) =>
    parser
      .command(createCommand)
      .command(listCommand)
      .command(infoCommand)
      .command(deleteCommand)
      .command(renameCommand)
      .command(importCommand)
      .command(createBucketFlagCommand(true))
      .command(createBucketFlagCommand(false))
      .demandCommand(1),
  handler: () => {},
};

export function renderKeyInfo(info: KeyInfo): string {
  const lines = [
    `Key name: ${info.name}`,
    `Key ID: ${info.accessKeyId}`,
    `Secret key: ${info.secretAccessKey ?? '(redacted: add --show-secret)'}`,
    `Can create buckets: ${info.allowCreateBucket}`,
    '',
  ];
  if (info.buckets.length === 0) lines.push('No buckets: `grange bucket allow --read --write BUCKET --key KEY`.');
  else {
    const rows = info.buckets.map((bucket) => [permissionFlags(bucket.permissions), bucket.bucketId.slice(0, 16), bucket.globalAliases.join(','), bucket.localAliases.join(',')]);
    lines.push('==== BUCKETS ====', formatTable([['PERMISSIONS', 'ID', 'GLOBAL ALIASES', 'LOCAL ALIASES'], ...rows]).trimEnd());
  }
  return lines.join('\n') + '\n';
}
