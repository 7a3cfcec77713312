// `grange actors [--node ID] [--json]`: the live actor tree of a node, from its registry.
import type { CommandModule } from 'yargs';
import { NODE_PATHS } from '../actors/node';
import type { ActorTreeReport, InspectorMessage } from '../actors/cluster/inspector';
import type { ClusterStatus, MembershipMessage } from '../actors/cluster/membership';
import { formatActorTree } from '../actors/runtime';
import { loadCliConfig } from './config-path';
import { CliUsageError } from './errors';
import { CLI_ASK_TIMEOUT_MS, withNodeClient } from './node-connection';

interface ActorsArgs {
  config?: string;
  node?: string;
  json?: boolean;
}

export const actorsCommand: CommandModule<object, ActorsArgs> = {
  command: 'actors',
  describe: "show a node's actor tree: path, kind, mailbox, processed, restarts, last error",
  builder: (parser) =>
    parser
      .option('node', { type: 'string', describe: 'node id (or a unique prefix of it); default: the node of the config file' })
      .option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const { config } = loadCliConfig(args.config, process.env);
    const addr = args.node === undefined ? undefined : await addressOfNode(config, args.node);
    const report = await withNodeClient(
      config,
      (client) => client.ask<InspectorMessage, ActorTreeReport>(NODE_PATHS.inspector, (replyTo) => ({ type: 'inspect', replyTo }), CLI_ASK_TIMEOUT_MS),
      addr,
    );
    process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : `node ${report.nodeId}\n${formatActorTree(report.actors)}\n`);
  },
};

/** Finds another node's address in the cluster status of the node named by the config. */
async function addressOfNode(config: Parameters<typeof withNodeClient>[0], idOrPrefix: string): Promise<string> {
  const status = await withNodeClient(config, (client) =>
    client.ask<MembershipMessage, ClusterStatus>(NODE_PATHS.membership, (replyTo) => ({ type: 'getClusterStatus', replyTo }), CLI_ASK_TIMEOUT_MS),
  );
  const matches = status.nodes.filter((node) => node.id.startsWith(idOrPrefix.toLowerCase()));
  if (matches.length !== 1) {
    throw new CliUsageError(matches.length === 0 ? `no node ${idOrPrefix} in the cluster (see \`grange status\`)` : `node prefix ${idOrPrefix} is ambiguous`);
  }
  const addr = matches[0]!.addr;
  if (!addr) throw new Error(`node ${idOrPrefix} has no known address`);
  return addr;
}
