// The root supervisor of one node: builds the node's actor tree from its config.
// Later areas (net, rpc, membership, layout, tables, blocks, api) are spawned from here, each
// under the supervision policy its kind declares.
import type { GrangeConfig } from '../config';
import { assertNever, defineActor, type Ref } from './runtime';

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
}

interface NodeState {
  startedAtMs: number;
}

export const nodeActor = defineActor<NodeMessage, NodeState, NodeComponents>({
  kind: 'node',
  init: (context) => ({ startedAtMs: context.components.nowMs() }),
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
