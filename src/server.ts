// Starting and stopping one node process: identity, actor system, network, root actor.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ActorSystem, type Ref } from './actors/runtime';
import { dataDirPaths, nodeActor, NODE_PATHS } from './actors/node';
import type { ListenReport, NetMessage, PeerRoutes } from './actors/net/net';
import { createInboundDelivery, createRemoteDelivery } from './actors/net/remote-delivery';
import { formatHostPort, type GrangeConfig } from './config';
import type { Logger } from './log';
import type { LayoutMessage, LayoutReply } from './actors/cluster/layout';
import type { HandshakeParty } from './protocols/rpc/handshake';
import { loadOrCreateNodeIdentity, type NodeIdentity } from './storage/node-identity';
import { loadLayoutBytes, saveLayoutBytes } from './storage/layout-file';
import { openSqliteStore } from './storage/metadata';
import { BLOCK_BYTES_MAX, openBlockStore } from './storage/blocks';
import { BLOCK_GC_DELAY_DEFAULT_MS, type BlockManagerMessage } from './actors/block/manager';
import { initHashing, schemaRegistry, type TableSchema } from './protocols/table';
import { TEST_SCHEMAS } from './protocols/table/schemas/test-items';
import { blockRefSchema } from './protocols/block/block-ref';
import { keySchema } from './protocols/s3/key';
import { bucketSchema } from './protocols/s3/bucket';
import { bucketAliasSchema } from './protocols/s3/bucket-alias';
import { currentVersion, objectSchema, type S3Object } from './protocols/s3/object';
import { versionSchema } from './protocols/s3/version';
import { multipartUploadSchema } from './protocols/s3/multipart';
import { s3CatalogView } from './actors/api/s3/catalog-view';
import type { S3ListenReport, S3ServerComponents, S3ServerMessage } from './actors/api/s3/server';
import type { K2vListenReport, K2vServerComponents, K2vServerMessage } from './actors/api/k2v/server';
import { k2vItemSchema } from './protocols/k2v/item';
import { loadPeerList, savePeerList } from './storage/peer-list';
import { LayoutError, LayoutHistory } from './protocols/layout';
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
  /** Test hook: serve the test table (src/protocols/table/schemas/test-items.ts). */
  testTables?: boolean;
  /** Test hook: how long an unreferenced block waits before deletion (BLOCK_GC_DELAY_DEFAULT_MS). */
  blockGcDelayMs?: number;
}

export class NodeStartError extends Error {
  override readonly name = 'NodeStartError';
}

const LISTEN_WAIT_MS = 10_000;
const PING_TIMEOUT_DEFAULT_MS = 5_000;
const LAYOUT_PULL_TIMEOUT_MS = 10_000;
const REPLICA_TIMEOUT_DEFAULT_MS = 30_000;
const METADATA_DB_FILE = 'db.sqlite';

/**
 * The tables this node serves, by name (validated, no duplicates): block_ref (block refcounts);
 * key, bucket and bucket_alias (the S3 catalog); object, version and multipart_upload (S3
 * objects); k2v_item (K2V items); the test tables only when asked (GRANGE_TEST_TABLES=1), for the table engine's
 * integration tests.
 */
function tableSchemas(withTestTables: boolean): ReadonlyMap<string, TableSchema<unknown>> {
  const schemas = [blockRefSchema, keySchema, bucketSchema, bucketAliasSchema, objectSchema, versionSchema, multipartUploadSchema, k2vItemSchema] as TableSchema<unknown>[];
  if (withTestTables) schemas.push(...(TEST_SCHEMAS as readonly TableSchema<unknown>[]));
  return schemaRegistry(schemas);
}

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
  const layout = loadLayout(config);
  const store = openSqliteStore({ path: join(config.metadataDir, METADATA_DB_FILE), fsync: config.metadataFsync });
  const hasher = await initHashing();
  const schemas = tableSchemas(options.testTables === true);
  const blockStore = openBlockStore({ config });
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
      layout: { path: NODE_PATHS.layout },
      persistPeers: (peers) => savePeerList(config.metadataDir, peers),
      diskSpace: () => dataDiskSpace(dataDirPaths(config)[0]!),
      pingTimeoutMs: config.rpcPingTimeoutMsec ?? PING_TIMEOUT_DEFAULT_MS,
      nowMs,
      random: Math.random,
    },
    layout: {
      selfId: identity.nodeId,
      initial: layout,
      persist: (encoded) => saveLayoutBytes(config.metadataDir, encoded),
      membership: { path: NODE_PATHS.membership },
      tables: { path: NODE_PATHS.tables },
      blocks: { path: NODE_PATHS.blocks },
      pullTimeoutMs: LAYOUT_PULL_TIMEOUT_MS,
      nowMs,
    },
    tables: {
      layout: { path: NODE_PATHS.layout },
      drainTimeoutMs: 4 * (config.rpcTimeoutMsec ?? REPLICA_TIMEOUT_DEFAULT_MS),
      tables: [...schemas.values()].map((schema) => ({
        schemaOf: (name: string) => schemas.get(name),
        schema,
        store,
        hasher,
        selfId: identity.nodeId,
        policy: { replicationFactor: config.replicationFactor, consistencyMode: config.consistencyMode },
        initialLayout: layout,
        replicaTimeoutMs: config.rpcTimeoutMsec ?? REPLICA_TIMEOUT_DEFAULT_MS,
        syncIntervalMs: config.tableSyncInterval,
        gcDelayMs: config.tableTombstoneGcDelay,
      })),
    },
    blocks: {
      selfId: identity.nodeId,
      store: blockStore,
      metadata: store,
      gcDelayMs: options.blockGcDelayMs ?? BLOCK_GC_DELAY_DEFAULT_MS,
      initialLayout: layout,
      policy: { replicationFactor: config.replicationFactor, consistencyMode: config.consistencyMode },
      ramBufferMaxBytes: config.blockRamBufferMax,
      blockBytesMax: BLOCK_BYTES_MAX,
      transferTimeoutMs: config.rpcTimeoutMsec ?? REPLICA_TIMEOUT_DEFAULT_MS,
    },
    catalog: { nowMs, randomBytes, tableTimeoutMs: config.rpcTimeoutMsec ?? REPLICA_TIMEOUT_DEFAULT_MS, objectSchema: objectSchema as TableSchema<unknown>, holdsObject: (entry) => currentVersion(entry as S3Object) !== null },
    s3: s3Components(config, nowMs),
    k2v: k2vComponents(config, identity.nodeId, nowMs),
    inspector: { nodeId: identity.nodeId, inspect: () => system.inspect() },
  });
  let stopping: Promise<void> | null = null;
  // The store closes after every actor has stopped (their cleanup may still write).
  const stop = (): Promise<void> => (stopping ??= system.shutdown().then(() => store.close()));
  const listen = await system.ask<NetMessage, ListenReport>({ path: NODE_PATHS.net } as Ref<NetMessage>, (replyTo) => ({ type: 'awaitListening', replyTo }), LISTEN_WAIT_MS);
  if (!listen.ok) {
    await stop();
    throw new NodeStartError(`cannot listen on rpc_bind_addr ${formatHostPort(config.rpcBindAddr)}: ${listen.error}`);
  }
  if (config.s3Api.apiBindAddr) {
    const s3 = await system.ask<S3ServerMessage, S3ListenReport>({ path: NODE_PATHS.s3 } as Ref<S3ServerMessage>, (replyTo) => ({ type: 'awaitListening', replyTo }), LISTEN_WAIT_MS);
    if (!s3.ok) {
      await stop();
      throw new NodeStartError(`cannot listen on [s3_api] api_bind_addr ${s3.detail}`);
    }
  }
  if (config.k2vApi) {
    const k2v = await system.ask<K2vServerMessage, K2vListenReport>({ path: NODE_PATHS.k2v } as Ref<K2vServerMessage>, (replyTo) => ({ type: 'awaitListening', replyTo }), LISTEN_WAIT_MS);
    if (!k2v.ok) {
      await stop();
      throw new NodeStartError(`cannot listen on [k2v_api] api_bind_addr ${k2v.detail}`);
    }
  }
  return { identity, system, publicAddr, stop };
}

/** The K2V API's components, or null when `[k2v_api]` is not set. Signed with the S3 region. */
function k2vComponents(config: GrangeConfig, nodeId: string, nowMs: () => number): K2vServerComponents | null {
  if (!config.k2vApi) return null;
  return {
    listen: config.k2vApi.apiBindAddr,
    region: config.s3Api.s3Region,
    nodeId,
    requestTimeoutMs: config.rpcTimeoutMsec ?? REPLICA_TIMEOUT_DEFAULT_MS,
    catalog: (tables) => s3CatalogView(tables, nowMs, randomBytes),
    nowMs,
  };
}

/** The S3 API's components, or null when `[s3_api] api_bind_addr` is not set (no S3 API). */
function s3Components(config: GrangeConfig, nowMs: () => number): S3ServerComponents | null {
  const listen = config.s3Api.apiBindAddr;
  if (!listen) return null;
  return {
    listen,
    region: config.s3Api.s3Region,
    rootDomain: config.s3Api.rootDomain,
    blockSize: config.blockSize,
    blocks: { path: NODE_PATHS.blocks } as Ref<BlockManagerMessage>,
    requestTimeoutMs: config.rpcTimeoutMsec ?? REPLICA_TIMEOUT_DEFAULT_MS,
    catalog: (tables) => s3CatalogView(tables, nowMs, randomBytes),
    nowMs,
  };
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

/** The saved layout, or a fresh one; a saved layout of another replication factor stops the node. */
function loadLayout(config: GrangeConfig): LayoutHistory {
  const bytes = loadLayoutBytes(config.metadataDir);
  if (bytes === null) return LayoutHistory.initial(config.replicationFactor);
  let history: LayoutHistory;
  try {
    history = LayoutHistory.decode(bytes);
  } catch (error) {
    const detail = error instanceof LayoutError ? error.message : String(error);
    throw new NodeStartError(`cannot read the saved layout in ${config.metadataDir}: ${detail}`);
  }
  if (history.replicationFactor !== config.replicationFactor) {
    throw new NodeStartError(
      `replication_factor = ${config.replicationFactor} in the config, but this node's layout was made with ${history.replicationFactor}: ` +
        'set it back (replication_factor must never change on a running cluster)',
    );
  }
  return history;
}

/** Zone and capacity a single-node server gives itself on first start (capacity only weighs nodes). */
export const SINGLE_NODE_ZONE = 'dc1';
export const SINGLE_NODE_CAPACITY_BYTES = 1_000_000_000;

/**
 * A single-node server assigns itself a layout on first start, so that it is ready to store data
 * with nothing to do. A node that already has a layout is left alone.
 */
export async function assignSingleNodeLayout(node: RunningNode): Promise<number> {
  const layoutRef = { path: NODE_PATHS.layout } as Ref<LayoutMessage>;
  const ask = (makeMessage: (replyTo: Ref<LayoutReply>) => LayoutMessage): Promise<LayoutHistory> =>
    node.system.ask<LayoutMessage, LayoutReply>(layoutRef, makeMessage, LISTEN_WAIT_MS).then((reply) => {
      if (!reply.ok) throw new NodeStartError(`cannot assign the single-node layout: ${reply.error}`);
      return LayoutHistory.decode(reply.history);
    });
  const history = await ask((replyTo) => ({ type: 'getLayout', replyTo }));
  if (history.current.roles.size > 0 || history.hasStagedChanges()) return history.current.version;
  const role = { zone: SINGLE_NODE_ZONE, capacity: SINGLE_NODE_CAPACITY_BYTES, tags: [] };
  await ask((replyTo) => ({ type: 'stageRole', nodeId: node.identity.nodeId, role, replyTo }));
  const applied = await ask((replyTo) => ({ type: 'apply', version: history.current.version + 1, replyTo }));
  return applied.current.version;
}
