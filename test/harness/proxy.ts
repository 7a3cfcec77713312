// A userspace TCP proxy that stands in for a WAN link in multi-node tests. The test machines
// have no netem, so one-way delay, jitter and partitions are simulated here, between sockets
// on 127.0.0.1 only.
//
// Model of the link:
// - Each direction is a delay line: every chunk read from one side is delivered to the other
//   at max(previous delivery time, arrival + delayMs + random() * jitterMs). Jitter varies the
//   delay but never reorders bytes, as TCP would not.
// - A FIN (end) or a reset travels through the same delay line, so it reaches the other side
//   only after the data sent before it.
// - cut() is a partition. By default ('blackhole') established connections are frozen: nothing
//   crosses in either direction, nothing is closed, and what was sent waits (bounded, with
//   backpressure) as a TCP sender's unacknowledged data would; heal() lets it through, in order,
//   as retransmission would. cut({ mode: 'reset' }) instead resets them on both sides and drops
//   their undelivered data (a link whose NAT or firewall forgot the connection). New connections
//   are held in both modes: the proxy accepts them (userspace
//   cannot leave a SYN unanswered once the port is listening) but reads nothing from them and
//   connects them to nothing, so requests get no reply, as in a blackhole where packets are
//   dropped. The alternatives are worse: a refusal or an immediate close tells the client at
//   once that the peer is unreachable, but a real partition says nothing until a timeout.
// - heal() ends the partition. Held connections are then connected to the target and the bytes
//   the client sent meanwhile are delivered, like a SYN retransmitted after the link came back.
//   A client that gave up meanwhile has closed its socket, and nothing is sent for it.
//
// When data and a reset reach the proxy together, libuv reports them as data and a clean end,
// so that reset is passed on as a FIN (a direct connection would see the same). What the model
// leaves out: the client's connect() completes at once instead of after one
// round trip, and there is no bandwidth limit or packet loss apart from cut().

import net from 'node:net';
import { performance } from 'node:perf_hooks';

const LOOPBACK_HOST = '127.0.0.1';

/** Bytes one direction may hold in its delay line before the source socket is paused. Together
 * with the delay this bounds throughput (8 MiB per 100 ms = 80 MiB/s), like a TCP window. */
export const DELAY_LINE_BYTES_MAX = 8 * 1024 * 1024;
/** The paused source resumes once the delay line has drained to this. Half the maximum, so the
 * source is not paused and resumed on every chunk. */
const DELAY_LINE_BYTES_RESUME = DELAY_LINE_BYTES_MAX / 2;
/** Largest delay or jitter accepted; anything larger is a mistake in a test, not a WAN. */
export const LATENCY_MS_MAX = 60_000;
const PORT_MAX = 65_535;

assert(DELAY_LINE_BYTES_RESUME < DELAY_LINE_BYTES_MAX, 'resume threshold must be below the maximum');

export interface LinkLatency {
  /** Delay added to each direction independently: 100 ms means about 200 ms per round trip. */
  delayMs: number;
  /** Extra delay per chunk, uniform in [0, jitterMs). */
  jitterMs: number;
}

export interface LinkProxyInit {
  targetHost: string;
  targetPort: number;
  /** Port to listen on, on 127.0.0.1; 0 or absent picks a free port. */
  listenPort?: number;
  /** Latency from the start; default none. */
  latency?: LinkLatency;
  /** Source of jitter, returning values in [0, 1); default Math.random. Inject for determinism. */
  random?: () => number;
}

export interface LinkProxyStats {
  /** Bytes delivered to the target, from clients. */
  clientToServerBytes: number;
  /** Bytes delivered to clients, from the target. */
  serverToClientBytes: number;
  /** Bytes read from either side and waiting in a delay line. */
  inFlightBytes: number;
  /** Connections accepted since start, including held ones. */
  connectionsAccepted: number;
  /** Connections currently forwarded between a client and the target. */
  connectionsOpen: number;
  /** Connections accepted during a partition, waiting for heal(). */
  connectionsHeld: number;
}

export interface LinkProxy {
  readonly port: number;
  /** Applies to chunks that arrive from now on, on existing and new connections. */
  setLatency(latency: LinkLatency): void;
  /** Starts a partition: resets established connections and holds new ones. Idempotent. */
  cut(options?: { mode?: 'blackhole' | 'reset' }): void;
  /** Ends a partition: held connections are connected to the target. Idempotent. */
  heal(): void;
  isCut(): boolean;
  stats(): LinkProxyStats;
  /** Closes the listener, resets every connection (held ones too) and clears every timer. Idempotent. */
  close(): Promise<void>;
}

export async function startLinkProxy(init: LinkProxyInit): Promise<LinkProxy> {
  validateInit(init);
  const proxy = new LinkProxyServer(init);
  await proxy.listen(init.listenPort ?? 0);
  return proxy;
}

function validateInit(init: LinkProxyInit): void {
  assert(Number.isInteger(init.targetPort) && init.targetPort > 0 && init.targetPort <= PORT_MAX, `bad targetPort ${init.targetPort}`);
  const listenPort = init.listenPort ?? 0;
  assert(Number.isInteger(listenPort) && listenPort >= 0 && listenPort <= PORT_MAX, `bad listenPort ${listenPort}`);
  if (init.latency !== undefined) validateLatency(init.latency);
}

function validateLatency(latency: LinkLatency): void {
  for (const [name, valueMs] of [['delayMs', latency.delayMs], ['jitterMs', latency.jitterMs]] as const) {
    assert(Number.isFinite(valueMs) && valueMs >= 0 && valueMs <= LATENCY_MS_MAX, `bad ${name} ${valueMs}`);
  }
}

/** What a delay line needs from its proxy: read at each chunk, so setLatency reaches live connections. */
interface DelayLineContext {
  latency(): LinkLatency;
  random(): number;
  countDelivered(bytes: number): void;
  /** Reports a change of the bytes waiting in this delay line. */
  addInFlight(deltaBytes: number): void;
}

class LinkProxyServer implements LinkProxy {
  port = 0;
  private readonly server: net.Server;
  private readonly connections = new Set<ProxiedConnection>();
  private readonly heldSockets = new Set<net.Socket>();
  private latency: LinkLatency = { delayMs: 0, jitterMs: 0 };
  private partitioned = false;
  private closing: Promise<void> | undefined;
  private readonly counters = { clientToServerBytes: 0, serverToClientBytes: 0, inFlightBytes: 0, connectionsAccepted: 0 };
  private readonly toServerContext: DelayLineContext;
  private readonly toClientContext: DelayLineContext;

  constructor(private readonly init: LinkProxyInit) {
    if (init.latency !== undefined) this.latency = { ...init.latency };
    const random = init.random ?? Math.random;
    const checkedRandom = (): number => {
      const value = random();
      assert(value >= 0 && value < 1, `random() returned ${value}, outside [0, 1)`);
      return value;
    };
    const shared = {
      latency: (): LinkLatency => this.latency,
      random: checkedRandom,
      addInFlight: (deltaBytes: number) => (this.counters.inFlightBytes += deltaBytes),
    };
    this.toServerContext = { ...shared, countDelivered: (bytes) => (this.counters.clientToServerBytes += bytes) };
    this.toClientContext = { ...shared, countDelivered: (bytes) => (this.counters.serverToClientBytes += bytes) };
    // pauseOnConnect: nothing is read from a client before the proxy decides to forward or hold it.
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.onConnection(socket));
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, LOOPBACK_HOST, () => {
        this.server.off('error', reject);
        // Accept errors (EMFILE and the like) must not crash the test process; the client just sees no answer.
        this.server.on('error', ignoreError);
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  setLatency(latency: LinkLatency): void {
    validateLatency(latency);
    this.latency = { ...latency };
  }

  cut(options: { mode?: 'blackhole' | 'reset' } = {}): void {
    this.partitioned = true;
    if (options.mode === 'reset') {
      for (const connection of this.connections) connection.reset();
      this.connections.clear();
      return;
    }
    for (const connection of this.connections) connection.freeze();
  }

  heal(): void {
    if (!this.partitioned || this.closing !== undefined) return;
    this.partitioned = false;
    for (const connection of this.connections) connection.thaw();
    const held = [...this.heldSockets];
    this.heldSockets.clear();
    for (const socket of held) if (!socket.destroyed) this.forward(socket);
  }

  isCut(): boolean {
    return this.partitioned;
  }

  stats(): LinkProxyStats {
    return { ...this.counters, connectionsOpen: this.connections.size, connectionsHeld: this.heldSockets.size };
  }

  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) connection.reset();
    this.connections.clear();
    for (const socket of this.heldSockets) resetSocket(socket);
    this.heldSockets.clear();
    await closed;
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', ignoreError);
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    this.counters.connectionsAccepted += 1;
    if (this.partitioned) this.hold(socket);
    else this.forward(socket);
  }

  private hold(socket: net.Socket): void {
    this.heldSockets.add(socket);
    socket.once('close', () => this.heldSockets.delete(socket));
  }

  private forward(client: net.Socket): void {
    const server = net.connect({ host: this.init.targetHost, port: this.init.targetPort, allowHalfOpen: true });
    const connection = new ProxiedConnection(client, server, this.toServerContext, this.toClientContext, () =>
      this.connections.delete(connection),
    );
    this.connections.add(connection);
    connection.start();
  }
}

/** One client connection and its connection to the target, with a delay line each way. */
class ProxiedConnection {
  private readonly toServer: DelayLine;
  private readonly toClient: DelayLine;

  constructor(
    private readonly client: net.Socket,
    private readonly server: net.Socket,
    toServerContext: DelayLineContext,
    toClientContext: DelayLineContext,
    onClosed: () => void,
  ) {
    this.toServer = new DelayLine(client, server, toServerContext);
    this.toClient = new DelayLine(server, client, toClientContext);
    let socketsOpen = 2;
    for (const socket of [client, server]) {
      // Errors reach the other side as a reset, through the 'close' handler of the delay line.
      socket.on('error', ignoreError);
      // The proxy adds delay on purpose; Nagle's algorithm would add more, unasked for.
      socket.setNoDelay(true);
      socket.once('close', () => {
        socketsOpen -= 1;
        if (socketsOpen > 0) return;
        this.stopDelayLines();
        onClosed();
      });
    }
  }

  start(): void {
    this.toServer.start();
    this.toClient.start();
  }

  /** Blackhole partition: nothing crosses either way until thaw(). */
  freeze(): void {
    this.toServer.freeze();
    this.toClient.freeze();
  }

  thaw(): void {
    this.toServer.thaw();
    this.toClient.thaw();
  }

  /** Partition or shutdown: undelivered data is dropped and both sides see a reset. */
  reset(): void {
    this.stopDelayLines();
    resetSocket(this.client);
    resetSocket(this.server);
  }

  private stopDelayLines(): void {
    this.toServer.stop();
    this.toClient.stop();
  }
}

type DelayedItem =
  | { kind: 'data'; deliverAtMs: number; chunk: Buffer }
  | { kind: 'end' | 'reset'; deliverAtMs: number };

/**
 * One direction of a connection. Invariants: items are queued in nondecreasing deliverAtMs, so
 * one timer, armed for the head, serves the whole queue; nothing is queued after a reset.
 */
class DelayLine {
  private readonly queue = new Fifo<DelayedItem>();
  private queuedBytes = 0;
  private lastDeliverAtMs = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private endQueued = false;
  private resetQueued = false;
  private stopped = false;
  private destinationFull = false;
  private lineFull = false;
  private sourcePaused = true;
  private frozen = false;

  constructor(
    private readonly source: net.Socket,
    private readonly destination: net.Socket,
    private readonly context: DelayLineContext,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => this.onEnd());
    source.on('close', (hadError: boolean) => this.onSourceClose(hadError));
    destination.on('drain', () => this.onDrain());
  }

  start(): void {
    this.sourcePaused = false;
    this.source.resume();
  }

  freeze(): void {
    this.frozen = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.updateSourceFlow();
  }

  thaw(): void {
    this.frozen = false;
    this.armTimer();
    this.updateSourceFlow();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.clear();
    this.changeQueuedBytes(-this.queuedBytes);
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.changeQueuedBytes(chunk.length);
    if (this.queuedBytes >= DELAY_LINE_BYTES_MAX) this.lineFull = true;
    this.enqueue({ kind: 'data', chunk, deliverAtMs: this.nextDeliverAtMs() });
    this.updateSourceFlow();
  }

  private onEnd(): void {
    if (this.stopped || this.endQueued || this.resetQueued) return;
    this.endQueued = true;
    this.enqueue({ kind: 'end', deliverAtMs: this.nextDeliverAtMs() });
  }

  /** A source that closes after a clean end needs nothing more. One that errored, or closed without
   * sending its end, died abruptly: the other side gets a reset, after the data sent before it. */
  private onSourceClose(hadError: boolean): void {
    if (this.stopped || this.resetQueued) return;
    if (this.endQueued && !hadError) return;
    this.resetQueued = true;
    this.enqueue({ kind: 'reset', deliverAtMs: this.nextDeliverAtMs() });
  }

  private onDrain(): void {
    this.destinationFull = false;
    this.updateSourceFlow();
  }

  private nextDeliverAtMs(): number {
    const { delayMs, jitterMs } = this.context.latency();
    const wantedMs = performance.now() + delayMs + this.context.random() * jitterMs;
    // Never before the previous item: jitter delays chunks but must not reorder bytes.
    this.lastDeliverAtMs = Math.max(this.lastDeliverAtMs, wantedMs);
    return this.lastDeliverAtMs;
  }

  private enqueue(item: DelayedItem): void {
    // Fast path: nothing waits ahead and no delay is due, so a zero-latency link costs no timer.
    if (!this.frozen && this.queue.isEmpty() && item.deliverAtMs <= performance.now()) {
      this.deliver(item);
      return;
    }
    this.queue.push(item);
    this.armTimer();
  }

  private armTimer(): void {
    const head = this.queue.peek();
    if (this.timer !== undefined || this.stopped || this.frozen || head === undefined) return;
    const waitMs = Math.max(0, Math.ceil(head.deliverAtMs - performance.now()));
    this.timer = setTimeout(() => this.onTimer(), waitMs);
  }

  private onTimer(): void {
    this.timer = undefined;
    // Timers may fire slightly early; a head that is not yet due is left for the next timer.
    const nowMs = performance.now();
    for (let head = this.queue.peek(); head !== undefined && head.deliverAtMs <= nowMs; head = this.queue.peek()) {
      this.queue.shift();
      this.deliver(head);
      if (this.stopped) return;
    }
    this.armTimer();
  }

  private deliver(item: DelayedItem): void {
    switch (item.kind) {
      case 'data':
        return this.deliverData(item.chunk);
      case 'end':
        // Half-close: the destination may still send; its own delay line carries that back.
        if (this.destination.writable) this.destination.end();
        return;
      case 'reset':
        return resetSocket(this.destination);
      default:
        return assertNever(item);
    }
  }

  private deliverData(chunk: Buffer): void {
    this.changeQueuedBytes(-chunk.length);
    if (this.lineFull && this.queuedBytes <= DELAY_LINE_BYTES_RESUME) this.lineFull = false;
    // A destination that is gone drops the data, like packets to a dead host; its own close is
    // passed back to the source by the other delay line.
    if (this.destination.writable) {
      this.context.countDelivered(chunk.length);
      if (!this.destination.write(chunk)) this.destinationFull = true;
    }
    this.updateSourceFlow();
  }

  private changeQueuedBytes(deltaBytes: number): void {
    this.queuedBytes += deltaBytes;
    this.context.addInFlight(deltaBytes);
  }

  /** Backpressure: the source reads only while the destination and the delay line have room. */
  private updateSourceFlow(): void {
    const shouldPause = this.destinationFull || this.lineFull || this.frozen;
    if (shouldPause === this.sourcePaused || this.stopped) return;
    this.sourcePaused = shouldPause;
    if (shouldPause) this.source.pause();
    else this.source.resume();
  }
}

/** A reset (RST), not a FIN: the peer must see an error, as after a crash or a timeout, not a clean end. */
function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  // A socket still connecting has nothing to reset yet, and resetAndDestroy would wait for the connect.
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

/** First-in first-out queue with O(1) push and shift, for delay lines that may hold many small chunks. */
class Fifo<T> {
  private head: FifoNode<T> | undefined;
  private tail: FifoNode<T> | undefined;

  isEmpty(): boolean {
    return this.head === undefined;
  }

  peek(): T | undefined {
    return this.head?.value;
  }

  push(value: T): void {
    const node: FifoNode<T> = { value, next: undefined };
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
  }

  shift(): T | undefined {
    const node = this.head;
    if (node === undefined) return undefined;
    this.head = node.next;
    if (this.head === undefined) this.tail = undefined;
    return node.value;
  }

  clear(): void {
    this.head = undefined;
    this.tail = undefined;
  }
}

interface FifoNode<T> {
  value: T;
  next: FifoNode<T> | undefined;
}

function ignoreError(): void {
  // Deliberately empty: socket errors are handled through 'close', and an 'error' event without
  // a listener would crash the test process.
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`LinkProxy assertion failed: ${message}`);
}

function assertNever(value: never): never {
  throw new Error(`LinkProxy: unexpected ${JSON.stringify(value)}`);
}
