// `grange bucket create|list|info|delete|alias|unalias|allow|deny`: buckets, their names and the
// keys that may use them, as Garage's `garage bucket` commands, through the catalog actor.
import type { Argv, CommandModule } from 'yargs';
import type { BucketInfo } from '../actors/s3/catalog';
import { askCatalog, isoTime, permissionFlags, printJson } from './catalog-client';
import { CliUsageError } from './errors';
import { formatTable } from './status';
import { formatBytesApprox } from './format';

interface BucketArgs {
  config?: string;
  json?: boolean;
  name?: string;
  bucket?: string;
  yes?: boolean;
  local?: string;
  key?: string;
  read?: boolean;
  write?: boolean;
  owner?: boolean;
}

const createCommand: CommandModule<object, BucketArgs> = {
  command: 'create <name>',
  describe: 'create a bucket with a global name (no key may use it until `bucket allow`)',
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const info = await askCatalog(args.config, { type: 'createBucket', name: args.name! });
    if (args.json) return printJson(info);
    process.stdout.write(`Bucket ${args.name} created (id ${info.bucketId}).\n`);
  },
};

const listCommand: CommandModule<object, BucketArgs> = {
  command: 'list',
  describe: 'list the buckets',
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const buckets = await askCatalog(args.config, { type: 'listBuckets' });
    if (args.json) return printJson(buckets);
    if (buckets.length === 0) return void process.stdout.write('No buckets yet: `grange bucket create NAME`.\n');
    const rows = buckets.map((bucket) => [
      bucket.bucketId.slice(0, 16),
      isoTime(bucket.createdAtMs),
      bucket.globalAliases.join(','),
      bucket.localAliases.map((alias) => `${alias.accessKeyId}:${alias.name}`).join(','),
    ]);
    process.stdout.write(formatTable([['ID', 'CREATED', 'GLOBAL ALIASES', 'LOCAL ALIASES'], ...rows]));
  },
};

const infoCommand: CommandModule<object, BucketArgs> = {
  command: 'info <bucket>',
  describe: 'show a bucket (global name or id prefix): aliases and keys',
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const info = await askCatalog(args.config, { type: 'bucketInfo', bucket: args.bucket! });
    if (args.json) return printJson(info);
    process.stdout.write(renderBucketInfo(info));
  },
};

const deleteCommand: CommandModule<object, BucketArgs> = {
  command: 'delete <bucket>',
  describe: 'delete an empty bucket, its aliases and every permission on it',
  builder: (parser) => parser.option('yes', { type: 'boolean', describe: 'really delete' }),
  handler: async (args) => {
    if (!args.yes) throw new CliUsageError(`deleting bucket ${args.bucket} cannot be undone: add --yes to do it`);
    const deleted = await askCatalog(args.config, { type: 'deleteBucket', bucket: args.bucket! });
    process.stdout.write(`Bucket ${deleted.bucketId} deleted.\n`);
  },
};

const aliasCommand: CommandModule<object, BucketArgs> = {
  command: 'alias <bucket> <name>',
  describe: 'give a bucket another global name, or with --local KEY a name only that key sees',
  builder: (parser) => parser.option('local', { type: 'string', describe: 'the key (id, id prefix or name) whose namespace gets the alias' }),
  handler: async (args) => {
    const info = await askCatalog(args.config, { type: 'alias', bucket: args.bucket!, name: args.name!, localKey: args.local ?? null });
    process.stdout.write(`Alias ${args.name}${args.local === undefined ? '' : ` (local to ${args.local})`} now points to bucket ${info.bucketId}.\n`);
  },
};

const unaliasCommand: CommandModule<object, BucketArgs> = {
  command: 'unalias <name>',
  describe: 'remove a global alias, or with --local KEY a local one (never a bucket\'s last)',
  builder: (parser) => parser.option('local', { type: 'string', describe: 'the key (id, id prefix or name) whose namespace holds the alias' }),
  handler: async (args) => {
    const info = await askCatalog(args.config, { type: 'unalias', name: args.name!, localKey: args.local ?? null });
    process.stdout.write(`Alias ${args.name} removed from bucket ${info.bucketId}.\n`);
  },
};

function permissionCommand(allow: boolean): CommandModule<object, BucketArgs> {
  return {
    command: `${allow ? 'allow' : 'deny'} <bucket>`,
    describe: `${allow ? 'grant' : 'revoke'} a key's permissions on a bucket: --read, --write, --owner, with --key KEY`,
    builder: (parser) =>
      parser
        .option('read', { type: 'boolean', describe: 'read objects' })
        .option('write', { type: 'boolean', describe: 'write and delete objects' })
        .option('owner', { type: 'boolean', describe: 'manage the bucket (delete it, its settings)' })
        .option('key', { type: 'string', demandOption: true, describe: 'the key: id, id prefix or name' }) as Argv<BucketArgs>,
    handler: async (args) => {
      const flags = { read: args.read === true, write: args.write === true, owner: args.owner === true };
      if (!flags.read && !flags.write && !flags.owner) throw new CliUsageError(`name the permissions to ${allow ? 'grant' : 'revoke'}: --read, --write and/or --owner`);
      const info = await askCatalog(args.config, { type: allow ? 'allow' : 'deny', bucket: args.bucket!, key: args.key!, ...flags });
      const shown = info.keys.find((key) => key.accessKeyId.startsWith(args.key!) || key.name === args.key);
      process.stdout.write(`Permissions of ${shown ? `${shown.accessKeyId} on bucket ${info.bucketId}: ${permissionFlags(shown.permissions)}` : `${args.key} on bucket ${info.bucketId}: none`}\n`);
    },
  };
}

export const bucketCommand: CommandModule<object, BucketArgs> = {
  command: 'bucket <command>',
  describe: 'buckets: create, list, info, delete, alias, unalias, allow, deny',
  builder: (parser) =>
    parser
      .command(createCommand)
      .command(listCommand)
      .command(infoCommand)
      .command(deleteCommand)
      .command(aliasCommand)
      .command(unaliasCommand)
      .command(permissionCommand(true))
      .command(permissionCommand(false))
      .demandCommand(1),
  handler: () => {},
};

export function renderBucketInfo(info: BucketInfo): string {
  const lines = [`Bucket: ${info.bucketId}`, `Created: ${isoTime(info.createdAtMs)}`, ''];
  lines.push(`Global aliases: ${info.globalAliases.length === 0 ? '(none)' : info.globalAliases.join(', ')}`);
  if (info.localAliases.length > 0) lines.push('Local aliases:', ...info.localAliases.map((alias) => `  ${alias.name} (key ${alias.accessKeyId})`));
  lines.push('');
  if (info.counts) {
    const { objects, bytes, unfinishedUploads } = info.counts;
    lines.push(`Objects: ${objects}`, `Size: ${formatBytesApprox(bytes)} (${bytes} bytes)`, `Unfinished multipart uploads: ${unfinishedUploads}`, '');
  } else {
    lines.push('Objects: unknown (not enough of the bucket\'s nodes answered)', '');
  }
  if (info.keys.length === 0) lines.push('No key may use this bucket: `grange bucket allow --read --write BUCKET --key KEY`.');
  else {
    const rows = info.keys.map((key) => [permissionFlags(key.permissions), key.accessKeyId, key.name]);
    lines.push('==== KEYS ====', formatTable([['PERMISSIONS', 'ACCESS KEY', 'NAME'], ...rows]).trimEnd());
  }
  return lines.join('\n') + '\n';
}

