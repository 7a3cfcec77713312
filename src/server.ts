// Starting and stopping one node process: identity, actor system, root actor.
import { ActorSystem } from './actors/runtime';
import { nodeActor } from './actors/node';
import type { GrangeConfig } from './config';
import type { Logger } from './log';
import { loadOrCreateNodeIdentity, type NodeIdentity } from './storage/node-identity';

export interface RunningNode {
  identity: NodeIdentity;
  system: ActorSystem;
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  config: GrangeConfig;
  logger: Logger;
  nowMs?: () => number;
}

export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  const identity = loadOrCreateNodeIdentity(options.config.metadataDir);
  const nowMs = options.nowMs ?? Date.now;
  const system = new ActorSystem({ nodeId: identity.nodeId, logger: options.logger, nowMs });
  system.spawn(nodeActor, 'node', { nodeId: identity.nodeId, config: options.config, nowMs });
  let stopping: Promise<void> | null = null;
  return {
    identity,
    system,
    stop: () => (stopping ??= system.shutdown()),
  };
}
