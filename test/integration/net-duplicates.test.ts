// Two nodes that dial each other at the same moment keep one connection and close the other
// (net.ts). Asks sent meanwhile must all be answered, or fail at once as unreachable: none may be
// lost on the closing connection and leave its asker waiting for a timeout. Real net actors, real
// WebSockets and handshakes on loopback, in this process: the race is repeated over many fresh
// pairs, as its timing varies from one to the next.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ActorSystem, AskTimeoutError, defineActor, type Ref } from '../../src/actors/runtime';
import { netActor, type NetMessage, type PeerRoutes } from '../../src/actors/net/net';
import { createInboundDelivery, createRemoteDelivery, PeerUnreachableError } from '../../src/actors/net/remote-delivery';
import { rawPublicKeyHex } from '../../src/storage/node-identity';
import { freePort } from '../harness/ports';
import { waitFor } from '../harness/wait';

jest.setTimeout(120_000);

const ROUNDS = 12;
const ASKS_PER_ROUND = 60;
/** Well under the test's budget, well over a loopback round trip on a busy machine. */
const ASK_TIMEOUT_MS = 8_000;
const SECRET = randomBytes(32);

type EchoMessage = { type: 'echo'; value: number; replyTo: Ref<number> };

const echoActor = defineActor<EchoMessage, null>({
  kind: 'echo',
  remote: { accepts: ['echo'] },
  init: () => null,
  handle: (message, context) => context.tell(message.replyTo, message.value),
});

interface TestNode {
  system: ActorSystem;
  nodeId: string;
  addr: string;
  routes: PeerRoutes;
  net: Ref<NetMessage>;
}

async function startTestNode(): Promise<TestNode> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const nodeId = rawPublicKeyHex(publicKey);
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const system = new ActorSystem({ nodeId });
  const routes: PeerRoutes = new Map();
  system.setRemoteDelivery(createRemoteDelivery(system, routes));
  system.spawn(echoActor, 'echo', {});
  const net = system.spawn(netActor, 'net', {
    party: { nodeId, privateKey, secret: SECRET, publicAddr: addr, role: 'node', randomBytes },
    listen: { host: '127.0.0.1', port },
    routes,
    events: null,
    deliver: createInboundDelivery(system),
    failAsk: (replyTo, error) => system.replyError(replyTo, error),
  }) as Ref<NetMessage>;
  await system.ask(net, (replyTo) => ({ type: 'awaitListening' as const, replyTo }), 10_000);
  return { system, nodeId, addr, routes, net };
}

/** Asks `to` to echo, from the moment `from` has a route to it, while the duplicates are sorted out. */
async function burstOfAsks(from: TestNode, to: TestNode): Promise<{ answered: number; unreachable: number; timedOut: number }> {
  await waitFor(() => from.routes.has(to.nodeId), { what: 'a route', intervalMs: 1 });
  const outcomes = await Promise.all(
    Array.from({ length: ASKS_PER_ROUND }, async (_, value) => {
      // Spread over a few turns of the event loop: some go before the duplicate is closed, some after.
      for (let turn = 0; turn < value % 8; turn++) await new Promise((resolve) => setImmediate(resolve));
      try {
        const echoed = await from.system.ask<EchoMessage, number>({ node: to.nodeId, path: '/echo' }, (replyTo) => ({ type: 'echo', value, replyTo }), ASK_TIMEOUT_MS);
        return echoed === value ? 'answered' : 'wrong';
      } catch (error) {
        if (error instanceof AskTimeoutError) return 'timedOut';
        if (error instanceof PeerUnreachableError) return 'unreachable';
        throw error;
      }
    }),
  );
  expect(outcomes).not.toContain('wrong');
  const count = (kind: string): number => outcomes.filter((outcome) => outcome === kind).length;
  return { answered: count('answered'), unreachable: count('unreachable'), timedOut: count('timedOut') };
}

describe('two nodes dialing each other at once', () => {
  it('lose no ask while one of their two connections is closed', async () => {
    let answered = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const [a, b] = [await startTestNode(), await startTestNode()];
      try {
        a.system.tell(a.net, { type: 'dial', addr: b.addr });
        b.system.tell(b.net, { type: 'dial', addr: a.addr });
        const [fromA, fromB] = await Promise.all([burstOfAsks(a, b), burstOfAsks(b, a)]);
        expect({ round, timedOut: fromA.timedOut + fromB.timedOut }).toEqual({ round, timedOut: 0 });
        answered += fromA.answered + fromB.answered;
      } finally {
        await Promise.all([a.system.shutdown(), b.system.shutdown()]);
      }
    }
    expect(answered).toBeGreaterThan(0);
  });
});
