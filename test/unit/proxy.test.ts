// The WAN link proxy of the test harness, driven through real sockets on 127.0.0.1.

import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LinkProxy, startLinkProxy } from '../harness/proxy';

const HOST = '127.0.0.1';
/** How long a test waits for something that should happen; far above what a loaded CI box needs. */
const EVENT_DEADLINE_MS = 10_000;
/** How long a test watches for a reply that must not come. A partition shows nothing faster, so
 * this wait is the cost of the assertion; with zero latency a reply takes well under 10 ms. */
const NO_REPLY_WINDOW_MS = 300;
const POLL_INTERVAL_MS = 5;
const BULK_BYTES = 4 * 1024 * 1024;
const ONE_WAY_DELAY_MS = 100;
/** Lower bound for a round trip over two 100 ms legs; 10 ms of slack for timer rounding. */
const ROUND_TRIP_MS_MIN = 190;
/** The reset test keeps data in the delay line for this long, and sends the reset this long after
 * the data; the gap must stay well below the delay, or the data would leave before the reset. */
const RESET_DELAY_MS = 300;
const RESET_GAP_MS = 100;
const ORDERED_MESSAGES = 100;
const ORDERED_MESSAGE_BYTES = 8;
const ORDERED_JITTER_MS = 200;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface TestServer {
  port: number;
  receivedBytes(): number;
}

/** A server on a free port, closed with all its sockets after the test. */
async function startServer(onConnection: (socket: net.Socket) => void, allowHalfOpen = false): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let receivedBytes = 0;
  const server = net.createServer({ allowHalfOpen }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => (receivedBytes += chunk.length));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, receivedBytes: () => receivedBytes };
}

function startEchoServer(): Promise<TestServer> {
  return startServer((socket) => socket.pipe(socket));
}

async function startProxy(targetPort: number, random?: () => number): Promise<LinkProxy> {
  const proxy = await startLinkProxy({ targetHost: HOST, targetPort, random });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A client socket that records what it receives and how it ends. */
class Client {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  ended = false;
  closed = false;
  error: NodeJS.ErrnoException | undefined;

  constructor(port: number) {
    this.socket = net.connect({ host: HOST, port, allowHalfOpen: true });
    this.socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    this.socket.on('end', () => (this.ended = true));
    this.socket.on('error', (error) => (this.error = error));
    this.socket.on('close', () => (this.closed = true));
    cleanups.push(() => this.socket.destroy());
  }

  static async connect(port: number): Promise<Client> {
    const client = new Client(port);
    await new Promise<void>((resolve, reject) => {
      client.socket.once('connect', resolve);
      client.socket.once('error', reject);
    });
    return client;
  }

  /** Sends a request and waits until the reply, of the given length, is complete. */
  async roundTrip(request: string, replyBytes: number): Promise<Buffer> {
    const alreadyReceived = this.received.length;
    this.socket.write(request);
    await waitUntil(() => this.received.length >= alreadyReceived + replyBytes, 'reply');
    return this.received.subarray(alreadyReceived);
  }
}

async function waitUntil(condition: () => boolean, what: string, deadlineMs = EVENT_DEADLINE_MS): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await sleep(POLL_INTERVAL_MS);
  }
}

/** A port that was free a moment ago and has nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Deterministic generator (mulberry32), so a failing jitter test can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function countResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const resource of process.getActiveResourcesInfo()) counts.set(resource, (counts.get(resource) ?? 0) + 1);
  return counts;
}

describe('LinkProxy', () => {
  test('passes a few MB each way byte-identical, and counts them', async () => {
    const echo = await startEchoServer();
    const proxy = await startProxy(echo.port, seededRandom(1));
    proxy.setLatency({ delayMs: 2, jitterMs: 3 });
    const payload = randomBytes(BULK_BYTES);

    const client = await Client.connect(proxy.port);
    client.socket.end(payload);
    await waitUntil(() => client.ended, 'end of the echo');

    expect(client.received.length).toBe(payload.length);
    expect(client.received.equals(payload)).toBe(true);
    expect(proxy.stats()).toMatchObject({ clientToServerBytes: BULK_BYTES, serverToClientBytes: BULK_BYTES, connectionsAccepted: 1 });
  });

  test('delays each direction independently', async () => {
    const echo = await startEchoServer();
    const proxy = await startProxy(echo.port);
    proxy.setLatency({ delayMs: ONE_WAY_DELAY_MS, jitterMs: 0 });
    const client = await Client.connect(proxy.port);

    const startedMs = performance.now();
    const reply = await client.roundTrip('ping', 4);
    const roundTripMs = performance.now() - startedMs;

    console.log(`round trip with ${ONE_WAY_DELAY_MS} ms each way: ${roundTripMs.toFixed(1)} ms`);
    expect(reply.toString()).toBe('ping');
    expect(roundTripMs).toBeGreaterThanOrEqual(ROUND_TRIP_MS_MIN);
  });

  test('never reorders bytes, however large the jitter', async () => {
    const echo = await startEchoServer();
    // Alternate the largest and the smallest jitter: without the ordering rule, every other
    // message would overtake the one before it.
    let call = 0;
    const proxy = await startProxy(echo.port, () => (call++ % 2 === 0 ? 0.999 : 0));
    proxy.setLatency({ delayMs: 1, jitterMs: ORDERED_JITTER_MS });
    const client = await Client.connect(proxy.port);

    for (let index = 0; index < ORDERED_MESSAGES; index += 1) {
      client.socket.write(String(index).padStart(ORDERED_MESSAGE_BYTES - 1, '0') + '\n');
      // Separate writes in separate turns, so the proxy sees separate chunks with their own jitter.
      await sleep(1);
    }
    await waitUntil(() => client.received.length >= ORDERED_MESSAGES * ORDERED_MESSAGE_BYTES, 'all messages');

    const numbers = client.received.toString().trim().split('\n').map(Number);
    expect(numbers).toEqual([...Array(ORDERED_MESSAGES).keys()]);
    expect(call).toBeGreaterThan(ORDERED_MESSAGES / 2); // the test is void if chunks were merged
  });

  test('passes a half-close on after the data sent before it', async () => {
    // Replies with the byte count once the client has finished sending, then ends.
    const counter = await startServer((socket) => {
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
      socket.on('end', () => socket.end(String(bytes)));
    }, true);
    const proxy = await startProxy(counter.port);
    proxy.setLatency({ delayMs: 20, jitterMs: 20 });
    const client = await Client.connect(proxy.port);

    client.socket.end(randomBytes(100_000));
    await waitUntil(() => client.ended, 'end from the server');

    expect(client.received.toString()).toBe('100000');
    expect(client.error).toBeUndefined();
  });

  test('passes a reset on after the data sent before it', async () => {
    const serverSockets: net.Socket[] = [];
    const resetter = await startServer((socket) => {
      serverSockets.push(socket);
      socket.once('data', () => socket.write('bye'));
    });
    const proxy = await startProxy(resetter.port);
    proxy.setLatency({ delayMs: RESET_DELAY_MS, jitterMs: 0 });
    const client = await Client.connect(proxy.port);
    client.socket.write('hello');

    // Reset the server once the proxy holds 'bye' in its delay line. The pause keeps 'bye' and
    // the reset apart at the client too: libuv reports data and a reset read together as a clean end.
    await waitUntil(() => proxy.stats().inFlightBytes === 'bye'.length, "'bye' in the delay line");
    await sleep(RESET_GAP_MS);
    expect(proxy.stats().inFlightBytes).toBe('bye'.length);
    serverSockets[0]!.resetAndDestroy();
    await waitUntil(() => client.closed, 'close');

    expect(client.received.toString()).toBe('bye');
    expect(client.error?.code).toBe('ECONNRESET');
  });

  test('resets the client when the target refuses the connection', async () => {
    const proxy = await startProxy(await closedPort());
    const client = await Client.connect(proxy.port);

    await waitUntil(() => client.closed, 'close');

    expect(client.error?.code).toBe('ECONNRESET');
  });

  test('cut() freezes established connections: nothing crosses, nothing closes; heal() delivers in order', async () => {
    const echo = await startEchoServer();
    const proxy = await startProxy(echo.port);
    const established = await Client.connect(proxy.port);
    expect((await established.roundTrip('ping', 4)).toString()).toBe('ping');
    const echoedBeforeCut = echo.receivedBytes();

    proxy.cut();
    established.socket.write('one,');
    established.socket.write('two');
    await sleep(NO_REPLY_WINDOW_MS);
    expect(echo.receivedBytes()).toBe(echoedBeforeCut);
    expect(established.closed).toBe(false);
    expect(established.received.toString()).toBe('ping');

    proxy.heal();
    await waitUntil(() => established.received.toString() === 'pingone,two', 'delivery after heal, in order');
  });

  test('cut({ mode: reset }) resets connections and blackholes new ones; heal() lets traffic through again', async () => {
    const echo = await startEchoServer();
    const proxy = await startProxy(echo.port);
    const before = await Client.connect(proxy.port);
    expect((await before.roundTrip('ping', 4)).toString()).toBe('ping');

    proxy.cut({ mode: 'reset' });
    await waitUntil(() => before.closed, 'close of the established connection');
    const echoedBeforeCut = echo.receivedBytes();
    const during = await Client.connect(proxy.port);
    during.socket.write('lost');
    await sleep(NO_REPLY_WINDOW_MS);

    expect(during.received.length).toBe(0);
    expect(during.closed).toBe(false);
    expect(echo.receivedBytes()).toBe(echoedBeforeCut);
    expect(proxy.stats()).toMatchObject({ connectionsOpen: 0, connectionsHeld: 1 });

    proxy.heal();
    const after = await Client.connect(proxy.port);
    expect((await after.roundTrip('pong', 4)).toString()).toBe('pong');
    // The connection held during the partition goes through, like a retransmitted SYN.
    await waitUntil(() => during.received.toString() === 'lost', 'late reply on the held connection');
    expect(proxy.stats()).toMatchObject({ connectionsOpen: 2, connectionsHeld: 0 });
  });

  test('close() leaves no socket or timer behind', async () => {
    const echo = await startEchoServer();
    const baseline = countResources();
    // One proxy with data waiting in a delay line (so a timer is armed), one with a held connection.
    const delaying = await startLinkProxy({ targetHost: HOST, targetPort: echo.port, latency: { delayMs: 5_000, jitterMs: 0 } });
    const partitioned = await startLinkProxy({ targetHost: HOST, targetPort: echo.port });
    cleanups.push(() => delaying.close(), () => partitioned.close()); // only if the test fails early
    const forwarded = await Client.connect(delaying.port);
    forwarded.socket.write('stuck');
    partitioned.cut();
    const held = await Client.connect(partitioned.port);
    await waitUntil(() => delaying.stats().inFlightBytes === 'stuck'.length, 'data in the delay line');
    expect(partitioned.stats().connectionsHeld).toBe(1);

    await Promise.all([delaying.close(), partitioned.close()]);
    await waitUntil(() => forwarded.closed && held.closed, 'close of the clients');
    await waitUntil(
      () => [...countResources()].every(([resource, count]) => count <= (baseline.get(resource) ?? 0)),
      `resources back to the baseline ${JSON.stringify([...baseline])}`,
    );
    const refused = new Client(delaying.port);
    await waitUntil(() => refused.closed, 'refusal of a new connection');
    expect(refused.error?.code).toBe('ECONNREFUSED');
  });
});
