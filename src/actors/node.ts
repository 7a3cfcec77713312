// The root supervisor of one node: builds the node's actor tree from its config.
// Children: net (listener and connections), membership (peers, pings, gossip), layout (the
// versioned partition table), tables (replicated metadata), inspector (actor tree), diagnostics
// (link checks).
// Later areas (layout, tables, blocks, api) are spawned from here, each under the supervision
// policy its kind declares.
import type { GrangeConfig } from '../config';
import { membershipActor, type MembershipComponents } from './cluster/membership';
import { diagnosticsActor } from './cluster/diagnostics';
import { inspectorActor, type InspectorComponents } from './cluster/inspector';
import { layoutActor, type LayoutComponents } from './cluster/layout';
import { netActor, type NetComponents } from './net/net';
import { tablesActor, type TablesComponents } from './table/tables';
import { blockManagerActor, type BlockManagerComponents } from './block/manager';
import { s3ServerActor, type S3ServerComponents } from './api/s3/server';
import { k2vServerActor, type K2vServerComponents } from './api/k2v/server';
import { catalogActor, type CatalogActorComponents } from './s3/catalog-actor';
import { assertNever, defineActor, type Ref } from './runtime';

export const NODE_PATHS = {
  root: '/node',
  net: '/node/net',
  membership: '/node/membership',
  layout: '/node/layout',
  tables: '/node/tables',
  blocks: '/node/blocks',
  s3: '/node/s3',
  k2v: '/node/k2v',
  inspector: '/node/inspector',
  diagnostics: '/node/diagnostics',
  catalog: '/node/catalog',
} as const;

export interface NodeStatus {
  nodeId: string;
  metadataDir: string;
  dataDirs: string[];
  uptimeMs: number;
}

export type NodeMessage = { type: 'getStatus'; replyTo: Ref<NodeStatus> };

export interface NodeComponents {
  nodeId: string;
  config: GrangeConfig;
  nowMs: () => number;
  net: NetComponents;
  membership: MembershipComponents;
  layout: LayoutComponents;
  tables: TablesComponents;
  blocks: BlockManagerComponents;
  /** The S3 API, when `[s3_api] api_bind_addr` is set. */
  s3: S3ServerComponents | null;
  /** The K2V API, when `[k2v_api] api_bind_addr` is set. */
  k2v: K2vServerComponents | null;
  inspector: InspectorComponents;
  catalog: CatalogActorComponents;
}

interface NodeState {
  startedAtMs: number;
}

export const nodeActor = defineActor<NodeMessage, NodeState, NodeComponents>({
  kind: 'node',
  init(context) {
    const components = context.components;
    context.spawn(netActor, 'net', components.net);
    context.spawn(membershipActor, 'membership', components.membership);
    context.spawn(layoutActor, 'layout', components.layout);
    context.spawn(tablesActor, 'tables', components.tables);
    context.spawn(blockManagerActor, 'blocks', components.blocks);
    context.spawn(catalogActor, 'catalog', components.catalog);
    if (components.s3) context.spawn(s3ServerActor, 's3', components.s3);
    if (components.k2v) context.spawn(k2vServerActor, 'k2v', components.k2v);
    context.spawn(inspectorActor, 'inspector', components.inspector);
    context.spawn(diagnosticsActor, 'diagnostics', { nowMs: components.nowMs });
    return { startedAtMs: components.nowMs() };
  },
  handle(message, context) {
    switch (message.type) {
      case 'getStatus': return context.tell(message.replyTo, nodeStatus(context.components, context.state));
      default: return assertNever(message.type);
    }
  },
  status: (context) => ({ ...nodeStatus(context.components, context.state) }),
});

function nodeStatus(components: NodeComponents, state: NodeState): NodeStatus {
  return {
    nodeId: components.nodeId,
    metadataDir: components.config.metadataDir,
    dataDirs: dataDirPaths(components.config),
    uptimeMs: components.nowMs() - state.startedAtMs,
  };
}

export function dataDirPaths(config: GrangeConfig): string[] {
  return config.dataDir.map((entry) => entry.path);
}
