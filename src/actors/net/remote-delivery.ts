// Bridges the actor system to the network: a tell to a ref on another node becomes a `send` to
// the connection actor routed to that node; an envelope from a peer becomes a local delivery.
import { RemoteError, replyToOf, type ActorSystem, type AnyRef, type DeliveryOptions, type RemoteDelivery } from '../runtime';
import { toWireError, type Envelope } from '../../protocols/rpc/envelope';
import type { PeerRoutes } from './net';

/** No connection to the node a message is addressed to. */
export class PeerUnreachableError extends Error {
  override readonly name = 'PeerUnreachableError';
  constructor(readonly nodeId: string) {
    super(`node ${nodeId.slice(0, 16)}… is not connected`);
  }
}

export function createRemoteDelivery(system: ActorSystem, routes: PeerRoutes): RemoteDelivery {
  return {
    tell(ref: AnyRef, message: unknown, options?: DeliveryOptions): void {
      const route = routes.get(ref.node!);
      if (!route) {
        const replyTo = replyToOf(message);
        if (replyTo) system.replyError(replyTo, new PeerUnreachableError(ref.node!));
        return;
      }
      system.tell(route, { type: 'send', to: ref.path, body: message, priority: options?.priority ?? 'interactive' });
    },
    replyError(ref: AnyRef, error: Error): void {
      const route = routes.get(ref.node!);
      if (route) system.tell(route, { type: 'sendError', to: ref.path, error: toWireError(error) });
    },
  };
}

/** Delivers an authenticated peer's envelope into the local system. */
export function createInboundDelivery(system: ActorSystem): (envelope: Envelope, fromPeerId: string) => void {
  return (envelope) => {
    if (envelope.kind === 'tell') system.deliverFromRemote(envelope.to, envelope.body);
    else system.replyError({ path: envelope.to }, new RemoteError(envelope.error.name, envelope.error.message));
  };
}
