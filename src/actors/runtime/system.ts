// The actor system: our thin layer over nact, and the only file that imports it.
//
// nact gives each actor a mailbox and runs one message at a time. Everything else is ours,
// because nact 7 lacks it or gets it wrong for us: supervision (nact's spawnStateless ignores
// onCrash, and its reset/escalate can run a parent's mailbox twice), stop that cascades (nact 7's
// stop does not reach grandchildren), ask with a named timeout error, owned timers, and a registry
// of live actors for inspection.
//
// Invariant: a handler runs only inside nact's mailbox processing, so an actor never handles two
// messages at once. A restarting actor holds its mailbox behind a gate until its backoff ends.
//
// Messages wait in a queue of our own (ActorRecord.mailbox); nact's mailbox only ever holds one
// "turn" signal per actor. nact runs each message it holds in a turn of its own (a setImmediate,
// a context with a copy of the child map, a promise), so a burst of N messages cost N event-loop
// turns; one nact turn now handles up to MAILBOX_TURN_MESSAGES_MAX of ours, in order.
import * as nact from 'nact';
import { ASK_TIMEOUT_MAX_MS, ACTOR_NAME_LENGTH_MAX, SHUTDOWN_CLEANUP_TIMEOUT_MS } from '../../limits';
import type { Logger } from '../../log';
import { silentLogger } from '../../log';
import { ActorCrashedError, ActorNotFoundError, ActorSystemStoppedError, AskTimeoutError, UnknownMessageTypeError, errorMessage, toError } from './errors';
import { decideOnFailure, stopOnFailure } from './supervision';
import type { ActorContext, ActorDefinition, ActorInfo, AnyRef, DeliveryOptions, Outcome, Ref, RemoteDelivery, TimerOptions } from './types';

const TEMP_PATH_PREFIX = '/temp/';
/** What nact's mailbox carries: "handle what waits in ours". */
const TURN = Symbol('turn');
/**
 * Messages one actor handles in one turn of the event loop before it yields to I/O and to other
 * actors. Handlers are short synchronous transitions (microseconds), so a full turn holds the
 * loop well under a millisecond, while a burst (a connection's frames, a replica's updates) costs
 * one scheduling hop instead of one per message.
 */
const MAILBOX_TURN_MESSAGES_MAX = 128;
/** Consumed slots at the head of a mailbox that trigger its compaction, once half the array. */
const MAILBOX_COMPACT_AFTER_SLOTS = 1024;

/**
 * One actor's queue: first in, first out, amortized O(1) at both ends (Array.prototype.shift is
 * O(n) once an array leaves V8's fast path, and busy connection mailboxes hold thousands).
 */
class Mailbox {
  private items: unknown[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(message: unknown): void {
    this.items.push(message);
  }

  /** The oldest message; the caller checks `length` first. */
  shift(): unknown {
    const message = this.items[this.head];
    this.items[this.head] = undefined; // let the message be collected
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= MAILBOX_COMPACT_AFTER_SLOTS && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return message;
  }

  /** Empties the queue; returns how many messages it held. */
  clear(): number {
    const count = this.length;
    this.items = [];
    this.head = 0;
    return count;
  }
}

export interface ActorSystemOptions {
  /** This node's id; refs naming another node go through the remote delivery. */
  nodeId?: string;
  logger?: Logger;
  nowMs?: () => number;
  random?: () => number;
}

interface PendingAsk {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDefinition = ActorDefinition<any, any, any>;

class ActorRecord {
  readonly children = new Map<string, ActorRecord>();
  readonly timers = new Map<string, NodeJS.Timeout>();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  context!: ActorContext<any, any, any>;
  nactRef!: nact.Ref<unknown>;
  stopped = false;
  /** Messages not yet handled, oldest first. */
  readonly mailbox = new Mailbox();
  /** A turn signal is in nact's mailbox (or being handled): no need to send another. */
  turnScheduled = false;
  received = 0;
  handled = 0;
  failures = 0;
  restarts = 0;
  restartTimesMs: number[] = [];
  lastError: { message: string; atMs: number } | null = null;
  /** Set while a restart waits out its backoff: messages wait behind it. */
  gate: { promise: Promise<void>; release: () => void; timer: NodeJS.Timeout } | null = null;

  constructor(
    readonly path: string,
    readonly name: string,
    readonly definition: AnyDefinition,
    readonly components: unknown,
    readonly parent: ActorRecord | null,
  ) {}
}

export class ActorSystem {
  readonly nodeId: string | undefined;
  readonly log: Logger;
  private readonly nowMs: () => number;
  private readonly random: () => number;
  private readonly nactSystem = nact.start();
  private readonly records = new Map<string, ActorRecord>();
  private readonly roots = new Map<string, ActorRecord>();
  private readonly pendingAsks = new Map<string, PendingAsk>();
  private readonly pendingCleanups = new Set<Promise<void>>();
  private remote: RemoteDelivery | null = null;
  private askSequence = 0;
  private deadLetters = 0;
  private stopped = false;

  constructor(options: ActorSystemOptions = {}) {
    this.nodeId = options.nodeId;
    this.log = options.logger ?? silentLogger;
    this.nowMs = options.nowMs ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  setRemoteDelivery(remote: RemoteDelivery | null): void {
    this.remote = remote;
  }

  /** Spawns a top-level actor. */
  spawn<M, S, C>(definition: ActorDefinition<M, S, C>, name: string, components: C): Ref<M> {
    return this.spawnUnder(null, definition, name, components);
  }

  refAt<M>(path: string, node?: string): Ref<M> {
    return node === undefined || node === this.nodeId ? { path } : { node, path };
  }

  isAlive(ref: AnyRef): boolean {
    return this.isLocal(ref) && this.records.get(ref.path)?.stopped === false;
  }

  tell<M>(ref: Ref<M>, message: M, options?: DeliveryOptions): void {
    if (!this.isLocal(ref)) {
      if (this.remote) this.remote.tell(ref, message, options);
      else this.deadLetter(ref.path, 'no remote delivery');
      return;
    }
    if (ref.path.startsWith(TEMP_PATH_PREFIX)) {
      this.settleAsk(ref.path, (pending) => pending.resolve(message));
      return;
    }
    const record = this.records.get(ref.path);
    if (!record || record.stopped) {
      this.deadLetter(ref.path, 'no live actor');
      return;
    }
    this.enqueue(record, message);
  }

  ask<M, R>(ref: Ref<M>, makeMessage: (replyTo: Ref<R>) => M, timeoutMs: number, options?: DeliveryOptions): Promise<R> {
    if (this.stopped) return Promise.reject(new ActorSystemStoppedError());
    if (this.isLocal(ref) && !this.isAlive(ref)) return Promise.reject(new ActorNotFoundError(ref.path));
    const boundedTimeoutMs = Math.max(0, Math.min(timeoutMs, ASK_TIMEOUT_MAX_MS));
    const replyPath = `${TEMP_PATH_PREFIX}${++this.askSequence}`;
    const replyTo: Ref<R> = this.nodeId === undefined ? { path: replyPath } : { node: this.nodeId, path: replyPath };
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingAsks.delete(replyPath);
        reject(new AskTimeoutError(ref.path, boundedTimeoutMs));
      }, boundedTimeoutMs);
      this.pendingAsks.set(replyPath, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.tell(ref, makeMessage(replyTo), options);
    });
  }

  /**
   * Delivers a message that arrived from another node. Only actors that declare the message's
   * type in `remote.accepts` receive it; otherwise an ask is answered with the reason, at once.
   */
  deliverFromRemote(path: string, message: unknown): void {
    if (path.startsWith(TEMP_PATH_PREFIX)) {
      this.tell({ path }, message);
      return;
    }
    const record = this.records.get(path);
    const replyTo = replyToOf(message);
    if (!record || record.stopped) {
      if (replyTo) this.replyError(replyTo, new ActorNotFoundError(path));
      else this.deadLetter(path, 'no live actor (remote sender)');
      return;
    }
    const type = (message as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !record.definition.remote?.accepts.includes(type)) {
      if (replyTo) this.replyError(replyTo, new UnknownMessageTypeError(path, String(type)));
      else this.deadLetter(path, `message type ${String(type)} not accepted from other nodes`);
      return;
    }
    this.enqueue(record, message);
  }

  replyError(replyTo: AnyRef, error: Error): void {
    if (!this.isLocal(replyTo)) {
      this.remote?.replyError(replyTo, error);
      return;
    }
    this.settleAsk(replyTo.path, (pending) => pending.reject(error));
  }

  /** Stops an actor and all its descendants, deepest first, running each one's cleanup. */
  stop(ref: AnyRef): void {
    const record = this.isLocal(ref) ? this.records.get(ref.path) : undefined;
    if (record) this.stopRecord(record);
  }

  /**
   * Stops every actor, fails every pending ask and waits for cleanups. Afterwards no timer or
   * socket of the system keeps the process alive.
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const root of [...this.roots.values()]) this.stopRecord(root);
    for (const [path, pending] of this.pendingAsks) {
      clearTimeout(pending.timer);
      this.pendingAsks.delete(path);
      pending.reject(new ActorSystemStoppedError());
    }
    nact.stop(this.nactSystem);
    await this.waitForCleanups();
  }

  /** The live actor tree (or the subtree at `path`), for the admin API and CLI. */
  inspect(path?: string): ActorInfo[] {
    if (path === undefined) return [...this.roots.values()].map((record) => this.describe(record));
    const record = this.records.get(path);
    return record ? [this.describe(record)] : [];
  }

  stats(): { actors: number; pendingAsks: number; deadLetters: number } {
    return { actors: this.records.size, pendingAsks: this.pendingAsks.size, deadLetters: this.deadLetters };
  }

  // ---- spawning ----------------------------------------------------------------------------

  private spawnUnder<M, S, C>(parent: ActorRecord | null, definition: ActorDefinition<M, S, C>, name: string, components: C): Ref<M> {
    if (this.stopped) throw new ActorSystemStoppedError();
    validateActorName(name);
    const siblings = parent ? parent.children : this.roots;
    if (siblings.has(name)) throw new Error(`an actor named ${name} already exists under ${parent?.path ?? '/'}`);
    const path = `${parent?.path ?? ''}/${name}`;
    const record = new ActorRecord(path, name, definition as AnyDefinition, components, parent);
    record.nactRef = nact.spawn(
      (parent?.nactRef ?? this.nactSystem) as nact.ActorSystemRef,
      () => this.onMailboxTurn(record),
      name,
    );
    siblings.set(name, record);
    this.records.set(path, record);
    try {
      this.startIncarnation(record);
    } catch (error) {
      // A definition whose init fails on first spawn is a programmer error: the spawner hears it.
      this.stopRecord(record);
      throw error;
    }
    return { path };
  }

  private startIncarnation(record: ActorRecord): void {
    const context = this.makeContext(record);
    record.context = context;
    context.state = record.definition.init(context);
  }

  // ---- message handling and supervision -----------------------------------------------------

  /** Queues a message for a live local actor; the first one queued asks nact for a turn. */
  private enqueue(record: ActorRecord, message: unknown): void {
    record.received++;
    record.mailbox.push(message);
    if (record.turnScheduled) return;
    record.turnScheduled = true;
    nact.dispatch(record.nactRef, TURN);
  }

  /**
   * One nact turn: handles queued messages in order, at most MAILBOX_TURN_MESSAGES_MAX, then
   * yields (another turn signal) if more wait. A restart gate holds the rest of the queue: nact
   * awaits the returned promise, so nothing else of this actor runs meanwhile.
   */
  private onMailboxTurn(record: ActorRecord): void | Promise<void> {
    for (let handled = 0; handled < MAILBOX_TURN_MESSAGES_MAX; handled++) {
      if (record.stopped) return this.dropMailbox(record);
      if (record.gate) return record.gate.promise.then(() => this.onMailboxTurn(record));
      if (record.mailbox.length === 0) {
        record.turnScheduled = false;
        return;
      }
      this.deliver(record, record.mailbox.shift());
    }
    if (record.stopped) return this.dropMailbox(record);
    if (record.mailbox.length === 0) record.turnScheduled = false;
    else nact.dispatch(record.nactRef, TURN);
  }

  private dropMailbox(record: ActorRecord): void {
    for (let index = record.mailbox.clear(); index > 0; index--) this.deadLetter(record.path, 'actor stopped');
  }

  private deliver(record: ActorRecord, message: unknown): void {
    record.handled++;
    if (record.stopped) {
      this.deadLetter(record.path, 'actor stopped');
      return;
    }
    try {
      record.definition.handle(message, record.context);
    } catch (error) {
      this.failAskOf(record, message, error);
      this.fail(record, toError(error));
    }
  }

  /** An ask whose message crashed its handler fails at once rather than waiting for its timeout. */
  private failAskOf(record: ActorRecord, message: unknown, error: unknown): void {
    const replyTo = replyToOf(message);
    if (replyTo) this.replyError(replyTo, new ActorCrashedError(record.path, errorMessage(error)));
  }

  private fail(record: ActorRecord, error: Error): void {
    record.failures++;
    record.lastError = { message: error.message, atMs: this.nowMs() };
    const policy = record.definition.supervision ?? stopOnFailure;
    const decision = decideOnFailure(policy, record.restartTimesMs, this.nowMs(), this.random);
    this.log.child(record.path).warn('actor failed', { kind: record.definition.kind, error: error.message, action: decision.action });
    switch (decision.action) {
      case 'resume':
        return;
      case 'stop':
        return this.stopRecord(record);
      case 'escalate':
        return this.escalate(record, error);
      case 'restart':
        record.restartTimesMs = decision.restartTimesMs;
        return this.restart(record, decision.delayMs);
    }
  }

  /** The child stops and its parent fails with the child's error, under the parent's own policy. */
  private escalate(record: ActorRecord, error: Error): void {
    const parent = record.parent;
    this.stopRecord(record);
    if (parent && !parent.stopped) this.fail(parent, error);
  }

  private restart(record: ActorRecord, delayMs: number): void {
    record.restarts++;
    this.endIncarnation(record);
    let release = (): void => {};
    const promise = new Promise<void>((resolve) => (release = resolve));
    const timer = setTimeout(() => {
      record.gate = null;
      release();
      this.reinitialize(record);
    }, delayMs);
    record.gate = { promise, release, timer };
  }

  private reinitialize(record: ActorRecord): void {
    if (record.stopped) return;
    try {
      this.startIncarnation(record);
    } catch (error) {
      this.fail(record, toError(error));
    }
  }

  /** Releases what one incarnation holds: timers, children, and whatever its cleanup frees. */
  private endIncarnation(record: ActorRecord): void {
    for (const timer of record.timers.values()) clearTimeout(timer);
    record.timers.clear();
    for (const child of [...record.children.values()]) this.stopRecord(child);
    this.runCleanup(record);
  }

  private stopRecord(record: ActorRecord): void {
    if (record.stopped) return;
    for (const child of [...record.children.values()]) this.stopRecord(child);
    record.stopped = true;
    if (record.gate) {
      clearTimeout(record.gate.timer);
      record.gate.release();
      record.gate = null;
    } else {
      this.endIncarnation(record);
    }
    nact.stop(record.nactRef);
    this.records.delete(record.path);
    (record.parent ? record.parent.children : this.roots).delete(record.name);
  }

  private runCleanup(record: ActorRecord): void {
    const cleanup = record.definition.cleanup;
    if (!cleanup || !record.context) return;
    try {
      const result = cleanup(record.context);
      if (result instanceof Promise) this.trackCleanup(record, result);
    } catch (error) {
      this.log.child(record.path).warn('cleanup failed', { error: errorMessage(error) });
    }
  }

  private trackCleanup(record: ActorRecord, cleanup: Promise<void>): void {
    const tracked = cleanup
      .catch((error) => this.log.child(record.path).warn('cleanup failed', { error: errorMessage(error) }))
      .finally(() => this.pendingCleanups.delete(tracked));
    this.pendingCleanups.add(tracked);
  }

  private async waitForCleanups(): Promise<void> {
    if (this.pendingCleanups.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_CLEANUP_TIMEOUT_MS)));
    await Promise.race([Promise.all([...this.pendingCleanups]), deadline]);
    clearTimeout(timer);
  }

  // ---- contexts, timers, asks ---------------------------------------------------------------

  private makeContext(record: ActorRecord): ActorContext<unknown, unknown, unknown> {
    const self: Ref<unknown> = { path: record.path };
    return {
      self,
      parent: record.parent ? { path: record.parent.path } : null,
      path: record.path,
      name: record.name,
      components: record.components,
      log: this.log.child(record.path),
      state: undefined,
      tell: (ref, message, options) => this.tell(ref, message, options),
      ask: (ref, makeMessage, timeoutMs, options) => this.ask(ref, makeMessage, timeoutMs, options),
      replyError: (replyTo, error) => this.replyError(replyTo, error),
      spawn: (definition, name, components) => this.spawnUnder(record, definition, name, components),
      stopChild: (name) => {
        const child = record.children.get(name);
        if (child) this.stopRecord(child);
      },
      child: (name) => (record.children.has(name) ? { path: `${record.path}/${name}` } : null),
      childNames: () => [...record.children.keys()],
      pipeToSelf: (work, toMessage) => this.pipeToSelf(record, work, toMessage),
      startTimer: (key, delayMs, message, options) => this.startTimer(record, key, delayMs, message, options),
      cancelTimer: (key) => {
        clearTimeout(record.timers.get(key));
        record.timers.delete(key);
      },
    };
  }

  private pipeToSelf<T>(record: ActorRecord, work: Promise<T>, toMessage: (outcome: Outcome<T>) => unknown): void {
    const self = { path: record.path };
    const deliver = (outcome: Outcome<T>): void => {
      let message: unknown;
      try {
        message = toMessage(outcome);
      } catch (error) {
        this.log.child(record.path).error('pipeToSelf mapping failed', { error: errorMessage(error) });
        return;
      }
      this.tell(self, message);
    };
    work.then(
      (value) => deliver({ ok: true, value }),
      (error) => deliver({ ok: false, error: toError(error) }),
    );
  }

  private startTimer(record: ActorRecord, key: string, delayMs: number, message: unknown, options?: TimerOptions): void {
    clearTimeout(record.timers.get(key));
    const self = { path: record.path };
    const timer = options?.repeat
      ? setInterval(() => this.tell(self, message), delayMs)
      : setTimeout(() => {
          record.timers.delete(key);
          this.tell(self, message);
        }, delayMs);
    record.timers.set(key, timer);
  }

  private settleAsk(path: string, settle: (pending: PendingAsk) => void): void {
    const pending = this.pendingAsks.get(path);
    if (!pending) {
      this.deadLetter(path, 'late or unknown reply');
      return;
    }
    this.pendingAsks.delete(path);
    clearTimeout(pending.timer);
    settle(pending);
  }

  private isLocal(ref: AnyRef): boolean {
    return ref.node === undefined || ref.node === this.nodeId;
  }

  private deadLetter(path: string, reason: string): void {
    this.deadLetters++;
    this.log.debug('dead letter', { to: path, reason });
  }

  private describe(record: ActorRecord): ActorInfo {
    return {
      path: record.path,
      name: record.name,
      kind: record.definition.kind,
      parent: record.parent?.path ?? null,
      mailboxLength: record.received - record.handled,
      processed: record.handled,
      failures: record.failures,
      restarts: record.restarts,
      lastError: record.lastError,
      status: this.statusOf(record),
      children: [...record.children.values()].map((child) => this.describe(child)),
    };
  }

  private statusOf(record: ActorRecord): Record<string, unknown> | null {
    const status = record.definition.status;
    if (!status || record.gate) return null;
    try {
      return status(record.context);
    } catch (error) {
      return { statusError: errorMessage(error) };
    }
  }
}

/** The reply ref of an ask's message, when it has one. */
export function replyToOf(message: unknown): AnyRef | null {
  const replyTo = (message as { replyTo?: { path?: unknown; node?: unknown } } | null)?.replyTo;
  if (!replyTo || typeof replyTo.path !== 'string' || !replyTo.path.startsWith(TEMP_PATH_PREFIX)) return null;
  if (replyTo.node !== undefined && typeof replyTo.node !== 'string') return null;
  return replyTo as AnyRef;
}

function validateActorName(name: string): void {
  if (name.length === 0 || name.length > ACTOR_NAME_LENGTH_MAX || name.includes('/') || /\s/.test(name) || name === 'temp') {
    throw new Error(`invalid actor name ${JSON.stringify(name)}: 1 to ${ACTOR_NAME_LENGTH_MAX} characters, no slash or space`);
  }
}
