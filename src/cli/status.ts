// `grange status [--json]`: the nodes of the cluster as the reached node sees them.
import type { CommandModule } from 'yargs';
import { NODE_PATHS } from '../actors/node';
import type { ClusterStatus, MembershipMessage } from '../actors/cluster/membership';
import type { ClusterNodeStatus } from '../protocols/membership/peers';
import { loadCliConfig } from './config-path';
import { formatBinaryBytes, formatCapacity } from './format';
import { CLI_ASK_TIMEOUT_MS, withNodeClient } from './node-connection';

interface StatusArgs {
  config?: string;
  json?: boolean;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'show the nodes of the cluster: id, address, up or down, last seen, RTT',
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const { config } = loadCliConfig(args.config, process.env);
    const status = await withNodeClient(config, (client) =>
      client.ask<MembershipMessage, ClusterStatus>(NODE_PATHS.membership, (replyTo) => ({ type: 'getClusterStatus', replyTo }), CLI_ASK_TIMEOUT_MS),
    );
    process.stdout.write(args.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status.nodes));
  },
};

export function formatStatus(nodes: ClusterNodeStatus[]): string {
  const rows = nodes.map((node) => [
    node.id.slice(0, 16) + (node.isSelf ? ' (this node)' : ''),
    node.hostname ?? '?',
    node.addr ?? '?',
    node.isUp ? 'up' : 'DOWN',
    node.isSelf ? '-' : node.lastSeenSecsAgo === null ? 'never' : `${node.lastSeenSecsAgo}s ago`,
    node.rttMs === null ? '-' : `${node.rttMs} ms`,
    node.zone ?? '-',
    node.capacity === null ? (node.zone ? 'gateway' : '-') : formatCapacity(node.capacity),
    node.dataPartition ? `${formatBinaryBytes(node.dataPartition.available)} free` : '-',
  ]);
  const header = ['ID', 'HOSTNAME', 'ADDRESS', 'STATE', 'LAST SEEN', 'RTT', 'ZONE', 'CAPACITY', 'DATA DISK'];
  return formatTable([header, ...rows]);
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n';
}
