// A short-lived connection to one node, as the CLI (and tests) use it: an actor system of its own
// with an ephemeral identity, a net actor that only dials, and the same handshake as a node, in
// the 'client' role so that the node neither gossips nor persists it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ActorSystem, assertNever, defineActor, type Ref } from '../actors/runtime';
import { netActor, type NetEvent, type NetMessage, type PeerRoutes } from '../actors/net/net';
import { createInboundDelivery, createRemoteDelivery } from '../actors/net/remote-delivery';
import { rawPublicKeyHex } from '../storage/node-identity';

export interface NodeClient {
  /** The id of the node this client is connected to. */
  nodeId: string;
  ask<M, R>(path: string, makeMessage: (replyTo: Ref<R>) => M, timeoutMs: number, nodeId?: string): Promise<R>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  addr: string;
  secret: Buffer;
  expectedNodeId?: string;
  timeoutMs: number;
}

export class NodeConnectError extends Error {
  override readonly name = 'NodeConnectError';
}

type WatcherMessage = NetEvent;

const connectionWatcher = defineActor<WatcherMessage, null, { onEvent: (event: NetEvent) => void }>({
  kind: 'connection-watcher',
  init: () => null,
  handle(message, context) {
    switch (message.type) {
      case 'peerUp':
      case 'peerDown':
      case 'dialFailed':
        return context.components.onEvent(message);
      default:
        return assertNever(message);
    }
  },
});

export async function connectToNode(options: ConnectOptions): Promise<NodeClient> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const clientId = rawPublicKeyHex(publicKey);
  const system = new ActorSystem({ nodeId: clientId });
  const routes: PeerRoutes = new Map();
  system.setRemoteDelivery(createRemoteDelivery(system, routes));
  let settle: (event: NetEvent | { type: 'timeout' }) => void = () => {};
  const firstEvent = new Promise<NetEvent | { type: 'timeout' }>((resolve) => (settle = resolve));
  const watcher = system.spawn(connectionWatcher, 'watcher', { onEvent: (event) => settle(event) });
  const net = system.spawn(netActor, 'net', {
    party: { nodeId: clientId, privateKey, secret: options.secret, publicAddr: '', role: 'client', randomBytes },
    listen: null,
    routes,
    events: watcher,
    deliver: createInboundDelivery(system),
    failAsk: (replyTo, error) => system.replyError(replyTo, error),
  }) as Ref<NetMessage>;
  system.tell(net, { type: 'dial', addr: options.addr, ...(options.expectedNodeId ? { expectedPeerId: options.expectedNodeId } : {}) });
  const timer = setTimeout(() => settle({ type: 'timeout' }), options.timeoutMs);
  const event = await firstEvent;
  clearTimeout(timer);
  if (event.type !== 'peerUp') {
    await system.shutdown();
    const reason = event.type === 'timeout' ? `no answer within ${options.timeoutMs} ms` : event.type === 'dialFailed' ? event.reason : event.reason;
    throw new NodeConnectError(`cannot reach the node at ${options.addr}: ${reason}`);
  }
  const nodeId = event.peerId;
  return {
    nodeId,
    ask: (path, makeMessage, timeoutMs, targetNode) => system.ask({ node: targetNode ?? nodeId, path }, makeMessage, timeoutMs),
    close: () => system.shutdown(),
  };
}
