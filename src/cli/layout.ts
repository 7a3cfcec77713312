// `grange layout show|assign|remove|config|apply|revert|history`: stage and apply changes to the
// cluster layout through the node named by the config file. Rendering uses the pure layout core
// on the history the node sends back, so what is shown is exactly what the node holds.
import type { Argv, CommandModule } from 'yargs';
import { NODE_PATHS } from '../actors/node';
import type { ClusterStatus, MembershipMessage } from '../actors/cluster/membership';
import type { LayoutMessage, LayoutReply } from '../actors/cluster/layout';
import { parseSize, type GrangeConfig } from '../config';
import { formatCapacity } from './format';
import type { NodeClient } from '../client/node-client';
import type { Ref } from '../actors/runtime';
import { LayoutError, LayoutHistory, PARTITION_COUNT, type LayoutPreview, type NodeRole, type ZoneRedundancy } from '../protocols/layout';
import { loadCliConfig } from './config-path';
import { CliUsageError } from './errors';
import { CLI_ASK_TIMEOUT_MS, withNodeClient } from './node-connection';
import { formatTable } from './status';

interface LayoutArgs {
  config?: string;
  json?: boolean;
  zone?: string;
  capacity?: string;
  gateway?: boolean;
  tag?: string[];
  nodes?: string[];
  node?: string;
  'redundancy'?: string;
  version?: number;
}

/** Asks the node's layout actor; a refused edit becomes one line for the operator. */
async function askLayout(client: NodeClient, makeMessage: (replyTo: Ref<LayoutReply>) => LayoutMessage): Promise<LayoutHistory> {
  const reply = await client.ask<LayoutMessage, LayoutReply>(NODE_PATHS.layout, makeMessage, CLI_ASK_TIMEOUT_MS);
  if (!reply.ok) throw new CliUsageError(reply.error);
  return LayoutHistory.decode(reply.history);
}

function withLayout<T>(args: LayoutArgs, work: (client: NodeClient, config: GrangeConfig) => Promise<T>): Promise<T> {
  const { config } = loadCliConfig(args.config, process.env);
  return withNodeClient(config, (client) => work(client, config));
}

/** Full node ids from unambiguous prefixes, among the nodes the cluster knows and the layout names. */
async function resolveNodeIds(client: NodeClient, history: LayoutHistory, prefixes: string[]): Promise<string[]> {
  const status = await client.ask<MembershipMessage, ClusterStatus>(NODE_PATHS.membership, (replyTo) => ({ type: 'getClusterStatus', replyTo }), CLI_ASK_TIMEOUT_MS);
  const known = new Set([...status.nodes.map((node) => node.id), ...history.current.roles.keys(), ...history.stagedRoleChanges().keys()]);
  return prefixes.map((prefix) => {
    const matches = [...known].filter((id) => id.startsWith(prefix.toLowerCase()));
    if (matches.length === 0) throw new CliUsageError(`no node ${JSON.stringify(prefix)} in the cluster (see \`grange status\`)`);
    if (matches.length > 1) throw new CliUsageError(`node prefix ${JSON.stringify(prefix)} is ambiguous: ${matches.map((id) => id.slice(0, 16)).join(', ')}`);
    return matches[0]!;
  });
}

const showCommand: CommandModule<object, LayoutArgs> = {
  command: 'show',
  describe: 'show the current layout, and the staged changes with a preview of their effect',
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: (args) =>
    withLayout(args, async (client) => {
      const history = await askLayout(client, (replyTo) => ({ type: 'getLayout', replyTo }));
      process.stdout.write(args.json ? JSON.stringify(layoutJson(history), null, 2) + '\n' : renderLayout(history));
    }),
};

const assignCommand: CommandModule<object, LayoutArgs> = {
  command: 'assign <nodes..>',
  describe: 'stage a role for nodes: a zone and a capacity (500G, 2T), or gateway (-g)',
  builder: (parser: Argv<LayoutArgs>) =>
    parser
      .option('zone', { alias: 'z', type: 'string', describe: 'zone (site) of the nodes' })
      .option('capacity', { alias: 'c', type: 'string', describe: 'storage capacity, e.g. 500G, 2T, 1TiB' })
      .option('gateway', { alias: 'g', type: 'boolean', describe: 'gateway: no capacity, stores nothing' })
      .option('tag', { alias: 't', type: 'string', array: true, describe: 'tags (repeatable)' }) as Argv<LayoutArgs>,
  handler: (args) =>
    withLayout(args, async (client) => {
      const current = await askLayout(client, (replyTo) => ({ type: 'getLayout', replyTo }));
      const nodeIds = await resolveNodeIds(client, current, args.nodes ?? []);
      for (const nodeId of nodeIds) {
        const role = roleFromArgs(args, current.nextRoles().get(nodeId) ?? null);
        await askLayout(client, (replyTo) => ({ type: 'stageRole', nodeId, role, replyTo }));
        process.stdout.write(`staged: ${nodeId.slice(0, 16)} zone ${role.zone}, ${role.capacity === null ? 'gateway' : `capacity ${formatCapacity(role.capacity)}`}\n`);
      }
      process.stdout.write('Review with `grange layout show`, then `grange layout apply --version N`.\n');
    }),
};

function roleFromArgs(args: LayoutArgs, previous: NodeRole | null): NodeRole {
  const zone = args.zone ?? previous?.zone;
  if (!zone) throw new CliUsageError('give the zone of the node with -z ZONE');
  if (args.gateway && args.capacity !== undefined) throw new CliUsageError('a gateway (-g) has no capacity: drop -c or -g');
  let capacity: number | null;
  if (args.gateway) capacity = null;
  else if (args.capacity !== undefined) {
    try {
      capacity = parseSize(args.capacity);
    } catch (error) {
      throw new CliUsageError(`capacity ${JSON.stringify(args.capacity)}: ${(error as Error).message}`);
    }
  } else if (previous) capacity = previous.capacity;
  else throw new CliUsageError('give the capacity of the node with -c (e.g. -c 500G), or -g for a gateway');
  return { zone, capacity, tags: args.tag ?? previous?.tags ?? [] };
}

const removeCommand: CommandModule<object, LayoutArgs> = {
  command: 'remove <node>',
  describe: 'stage the removal of a node from the layout',
  handler: (args) =>
    withLayout(args, async (client) => {
      const current = await askLayout(client, (replyTo) => ({ type: 'getLayout', replyTo }));
      const [nodeId] = await resolveNodeIds(client, current, [args.node ?? '']);
      await askLayout(client, (replyTo) => ({ type: 'stageRole', nodeId: nodeId!, role: null, replyTo }));
      process.stdout.write(`staged: remove ${nodeId!.slice(0, 16)}\n`);
    }),
};

const configCommand: CommandModule<object, LayoutArgs> = {
  command: 'config',
  describe: 'stage layout parameters: zone redundancy (-r maximum, or a number of zones)',
  builder: (parser) => parser.option('redundancy', { alias: 'r', type: 'string', demandOption: true, describe: 'maximum, or the least number of zones per partition' }),
  handler: (args) =>
    withLayout(args, async (client) => {
      const zoneRedundancy = parseRedundancy(args.redundancy ?? '');
      await askLayout(client, (replyTo) => ({ type: 'stageParameters', parameters: { zoneRedundancy }, replyTo }));
      process.stdout.write(`staged: zone redundancy ${zoneRedundancy}\n`);
    }),
};

function parseRedundancy(text: string): ZoneRedundancy {
  if (text === 'maximum') return 'maximum';
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1) throw new CliUsageError(`zone redundancy ${JSON.stringify(text)}: give "maximum" or a number of zones (1 or more)`);
  return count;
}

const applyCommand: CommandModule<object, LayoutArgs> = {
  command: 'apply',
  describe: 'apply the staged changes as the next layout version',
  // --version here is the layout version, not the program's.
  builder: (parser) => parser.version(false).option('version', { type: 'number', demandOption: true, describe: 'the new version: current + 1 (see `layout show`)' }),
  handler: (args) =>
    withLayout(args, async (client) => {
      const history = await askLayout(client, (replyTo) => ({ type: 'apply', version: args.version!, replyTo }));
      process.stdout.write(`applied layout version ${history.current.version}\n`);
    }),
};

const revertCommand: CommandModule<object, LayoutArgs> = {
  command: 'revert',
  describe: 'drop every staged change',
  handler: (args) =>
    withLayout(args, async (client) => {
      await askLayout(client, (replyTo) => ({ type: 'revert', replyTo }));
      process.stdout.write('staged changes dropped\n');
    }),
};

const historyCommand: CommandModule<object, LayoutArgs> = {
  command: 'history',
  describe: 'show the layout versions and, while a change is in progress, each node\'s progress',
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: (args) =>
    withLayout(args, async (client) => {
      const history = await askLayout(client, (replyTo) => ({ type: 'getLayout', replyTo }));
      const versions = history.versionStatuses();
      const trackers = [...history.nodeTrackers()].map(([id, tracker]) => ({ id, ...tracker }));
      if (args.json) {
        process.stdout.write(JSON.stringify({ versions, trackers }, null, 2) + '\n');
        return;
      }
      const rows = versions.map((v) => [String(v.version), v.status, String(v.storageNodes), String(v.gatewayNodes), formatCapacity(v.partitionSize)]);
      process.stdout.write(formatTable([['VERSION', 'STATUS', 'STORAGE NODES', 'GATEWAYS', 'PARTITION SIZE'], ...rows]));
      if (history.versions.length > 1) {
        const trackerRows = trackers.map((t) => [t.id.slice(0, 16), String(t.ack), String(t.sync), String(t.syncAck)]);
        process.stdout.write('\nA layout change is in progress:\n' + formatTable([['NODE', 'ACK', 'SYNC', 'SYNC ACK'], ...trackerRows]));
      }
    }),
};

export const layoutCommand: CommandModule<object, LayoutArgs> = {
  command: 'layout <command>',
  describe: 'cluster layout: zones, capacities, partition assignment',
  builder: (parser) =>
    parser
      .command(showCommand)
      .command(assignCommand)
      .command(removeCommand)
      .command(configCommand)
      .command(applyCommand)
      .command(revertCommand)
      .command(historyCommand)
      .demandCommand(1),
  handler: () => {},
};

// ---- rendering ---------------------------------------------------------------------------------

export function layoutJson(history: LayoutHistory) {
  const current = history.current;
  const counts = partitionCounts(current.table);
  const preview = history.hasStagedChanges() ? history.preview() : null;
  return {
    version: current.version,
    replicationFactor: current.replicationFactor,
    zoneRedundancy: current.parameters.zoneRedundancy,
    partitionSize: current.partitionSize,
    usableCapacity: current.partitionSize * PARTITION_COUNT,
    roles: [...current.roles].map(([id, role]) => ({ id, zone: role.zone, capacity: role.capacity, tags: role.tags, partitions: counts.get(id) ?? 0 })),
    partitions: current.table.map((row) => [...row]),
    staged: {
      roles: [...history.stagedRoleChanges()].map(([id, role]) => (role ? { id, zone: role.zone, capacity: role.capacity, tags: role.tags } : { id, remove: true })),
      parameters: history.stagedParameters(),
    },
    preview: preview === null ? null : preview instanceof LayoutError ? { error: preview.message } : previewJson(preview),
  };
}

function previewJson(preview: LayoutPreview) {
  return {
    version: preview.version,
    partitionSize: preview.partitionSize,
    usableCapacity: preview.usableCapacity,
    movedPartitions: preview.movedPartitions,
    partitionsPerNode: Object.fromEntries(preview.partitionsPerNode),
  };
}

function partitionCounts(table: readonly (readonly string[])[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of table) for (const id of row) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

function renderLayout(history: LayoutHistory): string {
  const current = history.current;
  const counts = partitionCounts(current.table);
  const lines: string[] = [`==== CURRENT CLUSTER LAYOUT (version ${current.version}) ====`];
  if (current.roles.size === 0) lines.push('No nodes have a role yet: `grange layout assign -z ZONE -c CAPACITY NODE_ID`.');
  else {
    const rows = [...current.roles].map(([id, role]) => [id.slice(0, 16), role.zone, capacityText(role), String(counts.get(id) ?? 0), role.tags.join(',')]);
    lines.push(formatTable([['ID', 'ZONE', 'CAPACITY', 'PARTITIONS', 'TAGS'], ...rows]).trimEnd());
    lines.push(`Zone redundancy: ${current.parameters.zoneRedundancy}   Usable capacity: ${formatCapacity(current.partitionSize * PARTITION_COUNT)}`);
  }
  if (history.hasStagedChanges()) lines.push('', ...renderStaged(history));
  return lines.join('\n') + '\n';
}

function renderStaged(history: LayoutHistory): string[] {
  const lines = ['==== STAGED CHANGES ===='];
  const rows = [...history.stagedRoleChanges()].map(([id, role]) => [id.slice(0, 16), role ? role.zone : '(remove)', role ? capacityText(role) : '', role?.tags.join(',') ?? '']);
  if (rows.length > 0) lines.push(formatTable([['ID', 'ZONE', 'CAPACITY', 'TAGS'], ...rows]).trimEnd());
  const parameters = history.stagedParameters();
  if (parameters) lines.push(`Zone redundancy: ${parameters.zoneRedundancy}`);
  const preview = history.preview();
  if (preview instanceof LayoutError) {
    lines.push('', `These changes cannot be applied: ${preview.message}`);
    return lines;
  }
  lines.push('', `==== NEW LAYOUT PREVIEW (version ${preview.version}) ====`);
  const previewRows = [...preview.partitionsPerNode].map(([id, count]) => [id.slice(0, 16), String(count), String(preview.newPartitionsPerNode.get(id) ?? 0)]);
  lines.push(formatTable([['ID', 'PARTITIONS', 'NEW'], ...previewRows]).trimEnd());
  lines.push(`Usable capacity: ${formatCapacity(preview.usableCapacity)}   Partition copies to move: ${preview.movedPartitions}`);
  lines.push(`To apply: grange layout apply --version ${preview.version}`);
  return lines;
}

function capacityText(role: NodeRole): string {
  return role.capacity === null ? 'gateway' : formatCapacity(role.capacity);
}
