// `grange node id` and `grange node connect <id>@<host>:<port>`.
import type { CommandModule } from 'yargs';
import { NODE_PATHS } from '../actors/node';
import type { ConnectResult, MembershipMessage } from '../actors/cluster/membership';
import { parseBootstrapPeer, formatHostPort } from '../config';
import { publicAddressOf } from '../server';
import { loadOrCreateNodeIdentity } from '../storage/node-identity';
import { loadCliConfig } from './config-path';
import { CliUsageError } from './errors';
import { withNodeClient } from './node-connection';

const NODE_CONNECT_TIMEOUT_MS = 15_000;

interface NodeArgs {
  config?: string;
  peer?: string;
}

const nodeIdCommand: CommandModule<object, NodeArgs> = {
  command: 'id',
  describe: "print this node's id as <id>@<rpc_public_addr>, for other nodes' bootstrap_peers",
  handler: (args) => {
    const { config } = loadCliConfig(args.config, process.env);
    const identity = loadOrCreateNodeIdentity(config.metadataDir);
    process.stdout.write(`${identity.nodeId}@${publicAddressOf(config)}\n`);
  },
};

const nodeConnectCommand: CommandModule<object, NodeArgs> = {
  command: 'connect <peer>',
  describe: 'make the node connect to another node, given as <id>@<host>:<port>',
  handler: async (args) => {
    const { config } = loadCliConfig(args.config, process.env);
    let peer;
    try {
      peer = parseBootstrapPeer(args.peer ?? '');
    } catch (error) {
      throw new CliUsageError((error as Error).message);
    }
    if (!peer.nodeId) throw new CliUsageError(`peer ${JSON.stringify(args.peer)}: give it as <node id>@<host>:<port> (see \`grange node id\` on that node)`);
    const addr = formatHostPort(peer);
    const result = await withNodeClient(config, (client) =>
      client.ask<MembershipMessage, ConnectResult>(
        NODE_PATHS.membership,
        (replyTo) => ({ type: 'connect', addr, peerId: peer.nodeId ?? null, replyTo }),
        NODE_CONNECT_TIMEOUT_MS,
      ),
    );
    if (!result.ok) throw new Error(result.error);
    process.stdout.write(`connected to ${result.peerId}@${addr}\n`);
  },
};

export const nodeCommand: CommandModule<object, NodeArgs> = {
  command: 'node <command>',
  describe: 'node identity and connections',
  builder: (parser) => parser.command(nodeIdCommand).command(nodeConnectCommand).demandCommand(1),
  handler: () => {},
};
