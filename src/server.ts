// Starting and stopping one node process: identity, actor system, network, root actor.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ActorSystem, type Ref } from './actors/runtime';
import { dataDirPaths, nodeActor, NODE_PATHS } from './actors/node';
import type { ListenReport, NetMessage, PeerRoutes } from './actors/net/net';
import { createInboundDelivery, createRemoteDelivery } from './actors/net/remote-delivery';
import { formatHostPort, type GrangeConfig } from './config';
import type { Logger } from './log';
import type { HandshakeParty } from './protocols/rpc/handshake';
import { loadOrCreateNodeIdentity, type NodeIdentity } from './storage/node-identity';
import { loadPeerList, savePeerList } from './storage/peer-list';
import { packageVersion } from './version';

export interface RunningNode {
  identity: NodeIdentity;
  system: ActorSystem;
  /** host:port where this node accepts other nodes. */
  publicAddr: string;
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  config: GrangeConfig;
  logger: Logger;
  nowMs?: () => number;
  /** Test hook: rewrites the address dialed for a peer (a link proxy in tests). */
  dialAddress?: (addr: string) => string;
}

export class NodeStartError extends Error {
  override readonly name = 'NodeStartError';
}

const LISTEN_WAIT_MS = 10_000;
const PING_TIMEOUT_DEFAULT_MS = 5_000;

export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  const { config, logger } = options;
  const nowMs = options.nowMs ?? Date.now;
  const identity = loadOrCreateNodeIdentity(config.metadataDir);
  for (const path of dataDirPaths(config)) mkdirSync(path, { recursive: true });
  const publicAddr = publicAddressOf(config);
  const system = new ActorSystem({ nodeId: identity.nodeId, logger, nowMs });
  const routes: PeerRoutes = new Map();
  system.setRemoteDelivery(createRemoteDelivery(system, routes));
  const party: HandshakeParty = {
    nodeId: identity.nodeId,
    privateKey: identity.privateKey,
    secret: Buffer.from(config.rpcSecret.reveal(), 'hex'),
    publicAddr,
    role: 'node',
    randomBytes,
  };
  const saved = loadPeerList(config.metadataDir);
  if (saved.problem) logger.warn('ignoring the saved peer list', { problem: saved.problem });
  system.spawn(nodeActor, 'node', {
    nodeId: identity.nodeId,
    config,
    nowMs,
    net: {
      party,
      listen: { host: config.rpcBindAddr.host, port: config.rpcBindAddr.port },
      routes,
      events: { path: NODE_PATHS.membership },
      deliver: createInboundDelivery(system),
      failAsk: (replyTo, error) => system.replyError(replyTo, error),
      ...(options.dialAddress ? { dialAddress: options.dialAddress } : {}),
    },
    membership: {
      selfId: identity.nodeId,
      publicAddr,
      hostname: hostname(),
      version: packageVersion(),
      bootstrap: config.bootstrapPeers.map((peer) => ({ addr: formatHostPort(peer), ...(peer.nodeId ? { id: peer.nodeId } : {}) })),
      persistedPeers: saved.peers,
      net: { path: NODE_PATHS.net },
      persistPeers: (peers) => savePeerList(config.metadataDir, peers),
      diskSpace: () => dataDiskSpace(dataDirPaths(config)[0]!),
      pingTimeoutMs: config.rpcPingTimeoutMsec ?? PING_TIMEOUT_DEFAULT_MS,
      nowMs,
      random: Math.random,
    },
    inspector: { nodeId: identity.nodeId, inspect: () => system.inspect() },
  });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= system.shutdown());
  const listen = await system.ask<NetMessage, ListenReport>({ path: NODE_PATHS.net } as Ref<NetMessage>, (replyTo) => ({ type: 'awaitListening', replyTo }), LISTEN_WAIT_MS);
  if (!listen.ok) {
    await stop();
    throw new NodeStartError(`cannot listen on rpc_bind_addr ${formatHostPort(config.rpcBindAddr)}: ${listen.error}`);
  }
  return { identity, system, publicAddr, stop };
}

/** Where other nodes (and the CLI) reach this node: rpc_public_addr, else the bind address. */
export function publicAddressOf(config: GrangeConfig): string {
  if (config.rpcPublicAddr) return formatHostPort(config.rpcPublicAddr);
  const bind = config.rpcBindAddr;
  const wildcard = bind.host === '0.0.0.0' || bind.host === '::';
  return formatHostPort({ host: wildcard ? '127.0.0.1' : bind.host, port: bind.port });
}

async function dataDiskSpace(path: string): Promise<{ available: number; total: number } | null> {
  const stats = await statfs(path);
  return { available: stats.bavail * stats.bsize, total: stats.blocks * stats.bsize };
}
