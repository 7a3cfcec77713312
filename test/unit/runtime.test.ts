// The actor runtime, exercised for real over nact: supervision, cascading stop, ask, pipe to
// self, the registry and clean shutdown.
import {
  ActorCrashedError,
  ActorNotFoundError,
  ActorSystem,
  AskTimeoutError,
  backoffDelayMs,
  decideOnFailure,
  defineActor,
  escalateOnFailure,
  restartWithBackoff,
  workerRunner,
  type ActorInfo,
  type Ref,
  type Worker,
  type WorkerRunnerStatus,
} from '../../src/actors/runtime';
import { waitFor } from '../harness/wait';

type CrashMessage = { type: 'crash' } | { type: 'count'; replyTo: Ref<number> } | { type: 'ignore' };

const jitterless = { minMs: 40, maxMs: 10_000, jitter: 0 };

function crashing(options: { onInit: () => void; supervision: ReturnType<typeof restartWithBackoff> }) {
  return defineActor<CrashMessage, { handled: number }, Record<string, never>>({
    kind: 'crashing',
    supervision: options.supervision,
    init() {
      options.onInit();
      return { handled: 0 };
    },
    handle(message, context) {
      context.state.handled++;
      switch (message.type) {
        case 'crash': throw new Error('boom');
        case 'count': return context.tell(message.replyTo, context.state.handled);
        case 'ignore': return;
      }
    },
  });
}

let system: ActorSystem;
beforeEach(() => {
  system = new ActorSystem({ nodeId: 'test-node' });
});
afterEach(async () => {
  await system.shutdown();
});

describe('supervision decisions (pure)', () => {
  it('doubles the delay per recent restart, caps it, and gives up after the limit in the window', () => {
    const policy = restartWithBackoff({ backoff: { minMs: 100, maxMs: 350, jitter: 0 }, maxRestarts: 3, windowMs: 1000 });
    const first = decideOnFailure(policy, [], 0, () => 0.5);
    expect(first).toEqual({ action: 'restart', delayMs: 100, restartTimesMs: [0] });
    const second = decideOnFailure(policy, [0], 10, () => 0.5);
    expect(second).toMatchObject({ action: 'restart', delayMs: 200 });
    const third = decideOnFailure(policy, [0, 10], 20, () => 0.5);
    expect(third).toMatchObject({ action: 'restart', delayMs: 350 });
    expect(decideOnFailure(policy, [0, 10, 20], 30, () => 0.5)).toEqual({ action: 'stop' });
    // Restarts older than the window no longer count.
    expect(decideOnFailure(policy, [0, 10, 20], 2000, () => 0.5)).toMatchObject({ action: 'restart', delayMs: 100 });
  });

  it('keeps jitter within its fraction and under the cap', () => {
    const backoff = { minMs: 1000, maxMs: 1100, jitter: 0.2 };
    expect(backoffDelayMs(backoff, 0, () => 0)).toBe(800);
    expect(backoffDelayMs(backoff, 0, () => 1)).toBe(1100);
    expect(backoffDelayMs(backoff, 5, () => 0.5)).toBe(1100);
  });

  it('escalates when restarts are exhausted and the policy says so', () => {
    const policy = restartWithBackoff({ maxRestarts: 1, windowMs: 1000, whenExhausted: 'escalate' });
    expect(decideOnFailure(policy, [5], 10, Math.random)).toEqual({ action: 'escalate' });
  });
});

describe('actor runtime', () => {
  it('restarts a crashing actor with growing delays, then stops it after its limit', async () => {
    const initTimes: number[] = [];
    const supervision = restartWithBackoff({ backoff: jitterless, maxRestarts: 3, windowMs: 60_000 });
    const ref = system.spawn(crashing({ onInit: () => initTimes.push(Date.now()), supervision }), 'crasher', {});
    for (let restart = 1; restart <= 3; restart++) {
      system.tell(ref, { type: 'crash' });
      await waitFor(() => initTimes.length === restart + 1, { what: `restart ${restart}` });
    }
    const gaps = initTimes.slice(1).map((time, index) => time - initTimes[index]!);
    // Each restart waited at least its backoff: 40, 80, 160 ms (timers never fire early).
    expect(gaps[0]).toBeGreaterThanOrEqual(39);
    expect(gaps[1]).toBeGreaterThanOrEqual(79);
    expect(gaps[2]).toBeGreaterThanOrEqual(159);
    expect(system.inspect('/crasher')[0]).toMatchObject({ restarts: 3, failures: 3, lastError: { message: 'boom' } });
    // State was reset by each restart: the fresh incarnation has handled only this message.
    await expect(system.ask<CrashMessage, number>(ref, (replyTo) => ({ type: 'count', replyTo }), 1000)).resolves.toBe(1);
    system.tell(ref, { type: 'crash' });
    await waitFor(() => !system.isAlive(ref), { what: 'stop after the restart limit' });
    expect(initTimes).toHaveLength(4);
  });

  it('holds messages sent during a restart backoff and delivers them to the new incarnation', async () => {
    let inits = 0;
    const supervision = restartWithBackoff({ backoff: { minMs: 150, maxMs: 150, jitter: 0 } });
    const ref = system.spawn(crashing({ onInit: () => inits++, supervision }), 'held', {});
    system.tell(ref, { type: 'crash' });
    system.tell(ref, { type: 'ignore' });
    const count = await system.ask<CrashMessage, number>(ref, (replyTo) => ({ type: 'count', replyTo }), 5000);
    expect(inits).toBe(2);
    expect(count).toBe(2);
  });

  it('resume keeps state; stop (the default) ends the actor', async () => {
    const resumer = defineActor<CrashMessage, { handled: number }, Record<string, never>>({
      kind: 'resumer',
      supervision: { strategy: 'resume' },
      init: () => ({ handled: 0 }),
      handle(message, context) {
        context.state.handled++;
        if (message.type === 'crash') throw new Error('tolerated');
        if (message.type === 'count') context.tell(message.replyTo, context.state.handled);
      },
    });
    const ref = system.spawn(resumer, 'resumer', {});
    system.tell(ref, { type: 'crash' });
    await expect(system.ask<CrashMessage, number>(ref, (replyTo) => ({ type: 'count', replyTo }), 1000)).resolves.toBe(2);

    const stopper = system.spawn(crashing({ onInit: () => {}, supervision: { strategy: 'stop' } as never }), 'stopper', {});
    system.tell(stopper, { type: 'crash' });
    await waitFor(() => !system.isAlive(stopper), { what: 'default stop' });
  });

  it('escalates a child failure to its parent, whose restart brings up a fresh subtree', async () => {
    let parentInits = 0;
    let childInits = 0;
    const child = crashing({ onInit: () => childInits++, supervision: escalateOnFailure as never });
    const parent = defineActor<never, null, Record<string, never>>({
      kind: 'parent',
      supervision: restartWithBackoff({ backoff: { minMs: 10, maxMs: 10, jitter: 0 } }),
      init(context) {
        parentInits++;
        context.spawn(child, 'child', {});
        return null;
      },
      handle() {},
    });
    system.spawn(parent, 'parent', {});
    system.tell<CrashMessage>({ path: '/parent/child' }, { type: 'crash' });
    await waitFor(() => parentInits === 2 && childInits === 2, { what: 'parent restart' });
    const [info] = system.inspect('/parent');
    expect(info).toMatchObject({ restarts: 1, lastError: { message: 'boom' } });
    expect(info!.children.map((c) => c.name)).toEqual(['child']);
  });

  it('stop cascades to every descendant and runs their cleanup, deepest first', async () => {
    const cleaned: string[] = [];
    const node = defineActor<never, null, { depth: number }>({
      kind: 'tree-node',
      init(context) {
        if (context.components.depth < 2) {
          context.spawn(node, 'a', { depth: context.components.depth + 1 });
          context.spawn(node, 'b', { depth: context.components.depth + 1 });
        }
        context.startTimer('tick', 10, undefined as never, { repeat: true });
        return null;
      },
      handle() {},
      cleanup(context) {
        cleaned.push(context.path);
      },
    });
    const root = system.spawn(node, 'root', { depth: 0 });
    expect(system.stats().actors).toBe(7);
    system.stop(root);
    expect(cleaned).toHaveLength(7);
    expect(cleaned.indexOf('/root/a/a')).toBeLessThan(cleaned.indexOf('/root/a'));
    expect(cleaned[cleaned.length - 1]).toBe('/root');
    expect(system.stats().actors).toBe(0);
    expect(system.isAlive({ path: '/root/b/b' })).toBe(false);
  });

  it('ask rejects with the named timeout error, and at once for a missing actor or a crashing handler', async () => {
    const ref = system.spawn(crashing({ onInit: () => {}, supervision: { strategy: 'resume' } as never }), 'silent', {});
    const started = Date.now();
    const timedOut = system.ask<CrashMessage, number>(ref, () => ({ type: 'ignore' }), 100);
    await expect(timedOut).rejects.toBeInstanceOf(AskTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(99);
    await expect(system.ask({ path: '/nobody' }, () => ({}), 100)).rejects.toBeInstanceOf(ActorNotFoundError);

    const answersByCrashing = defineActor<{ type: 'q'; replyTo: Ref<number> }, null, Record<string, never>>({
      kind: 'bad-answerer',
      supervision: { strategy: 'resume' },
      init: () => null,
      handle() {
        throw new Error('cannot answer');
      },
    });
    const bad = system.spawn(answersByCrashing, 'bad', {});
    const crashed = system.ask<{ type: 'q'; replyTo: Ref<number> }, number>(bad, (replyTo) => ({ type: 'q', replyTo }), 10_000);
    await expect(crashed).rejects.toBeInstanceOf(ActorCrashedError);
    await expect(crashed).rejects.toThrow('cannot answer');
  });

  it('pipes asynchronous outcomes back as messages; a slow operation does not delay other messages', async () => {
    type Message =
      | { type: 'startSlow'; durationMs: number }
      | { type: 'slowDone'; ok: boolean; value: string }
      | { type: 'ping'; replyTo: Ref<string[]> };
    const events: string[] = [];
    const piper = defineActor<Message, { log: string[] }, Record<string, never>>({
      kind: 'piper',
      init: () => ({ log: events }),
      handle(message, context) {
        switch (message.type) {
          case 'startSlow': {
            const slow = new Promise<string>((resolve) => setTimeout(() => resolve('slow result'), message.durationMs));
            context.pipeToSelf(slow, (outcome) => ({ type: 'slowDone', ok: outcome.ok, value: outcome.ok ? outcome.value : outcome.error.message }));
            context.pipeToSelf(Promise.reject(new Error('disk full')), (outcome) => ({ type: 'slowDone', ok: outcome.ok, value: outcome.ok ? '' : outcome.error.message }));
            return;
          }
          case 'slowDone':
            context.state.log.push(`${message.ok ? 'ok' : 'error'}:${message.value}`);
            return;
          case 'ping':
            context.state.log.push('ping');
            return context.tell(message.replyTo, [...context.state.log]);
        }
      },
    });
    const ref = system.spawn(piper, 'piper', {});
    system.tell(ref, { type: 'startSlow', durationMs: 400 });
    const seen = await system.ask<Message, string[]>(ref, (replyTo) => ({ type: 'ping', replyTo }), 5000);
    expect(seen).not.toContain('ok:slow result');
    await waitFor(() => events.includes('ok:slow result'), { what: 'slow outcome' });
    expect(events).toContain('error:disk full');
  });

  it('registry shows the tree with kinds, counts, last error and status', async () => {
    type Message = { type: 'work' } | { type: 'fail' };
    const leaf = defineActor<Message, { done: number }, Record<string, never>>({
      kind: 'leaf',
      supervision: { strategy: 'resume' },
      init: () => ({ done: 0 }),
      handle(message, context) {
        if (message.type === 'fail') throw new Error('leaf broke');
        context.state.done++;
      },
      status: (context) => ({ done: context.state.done }),
    });
    const branch = defineActor<never, null, Record<string, never>>({
      kind: 'branch',
      init(context) {
        context.spawn(leaf, 'leaf', {});
        return null;
      },
      handle() {},
    });
    system.spawn(branch, 'node', {});
    const leafRef = { path: '/node/leaf' };
    system.tell<Message>(leafRef, { type: 'work' });
    system.tell<Message>(leafRef, { type: 'work' });
    system.tell<Message>(leafRef, { type: 'fail' });
    const leafInfo = await waitFor<ActorInfo | undefined>(() => {
      const info = system.inspect()[0]?.children[0];
      return info && info.processed === 3 ? info : undefined;
    });
    expect(system.inspect()[0]).toMatchObject({ path: '/node', kind: 'branch', parent: null });
    expect(leafInfo).toMatchObject({
      path: '/node/leaf',
      kind: 'leaf',
      parent: '/node',
      mailboxLength: 0,
      processed: 3,
      failures: 1,
      restarts: 0,
      status: { done: 2 },
      lastError: { message: 'leaf broke' },
    });
  });

  it('shutdown leaves no timer behind and fails pending asks', async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const ticker = defineActor<{ type: 'tick' } | { type: 'never'; replyTo: Ref<void> }, null, Record<string, never>>({
      kind: 'ticker',
      supervision: restartWithBackoff({ backoff: { minMs: 60_000, maxMs: 60_000, jitter: 0 } }),
      init(context) {
        context.startTimer('tick', 5, { type: 'tick' }, { repeat: true });
        context.startTimer('once', 60_000, { type: 'tick' });
        return null;
      },
      handle() {},
    });
    const ref = system.spawn(ticker, 'ticker', {});
    const pending = system.ask(ref, (replyTo: Ref<void>) => ({ type: 'never' as const, replyTo }), 60_000);
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBeGreaterThan(timersBefore);
    await system.shutdown();
    await expect(pending).rejects.toThrow('actor system stopped');
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBe(timersBefore);
  });
});

describe('worker runner', () => {
  it('steps while busy, sleeps when idle, wakes on demand, and backs off after errors', async () => {
    let remaining = 3;
    let failNext = false;
    let steps = 0;
    const worker: Worker = {
      async step() {
        steps++;
        if (failNext) {
          failNext = false;
          throw new Error('transient');
        }
        if (remaining > 0) {
          remaining--;
          return 'busy';
        }
        return 'idle';
      },
      status: () => ({ remaining }),
    };
    const ref = system.spawn(workerRunner, 'worker', { worker, idleDelayMs: 60_000, errorBackoff: { minMs: 50, maxMs: 50, jitter: 0 } });
    const status = () => system.ask(ref, (replyTo: Ref<WorkerRunnerStatus>) => ({ type: 'getStatus' as const, replyTo }), 1000);
    await waitFor(async () => (await status()).phase === 'idle', { what: 'idle' });
    expect(steps).toBe(4);
    expect((await status()).worker).toEqual({ remaining: 0 });

    failNext = true;
    remaining = 1;
    system.tell(ref, { type: 'wake' });
    await waitFor(async () => {
      const current = await status();
      return current.phase === 'idle' && current.errors === 1 ? current : undefined;
    }, { what: 'recovery after the error backoff' });
    const final = await status();
    expect(final).toMatchObject({ errors: 1, consecutiveErrors: 0, lastError: { message: 'transient' } });
    expect(steps).toBe(7);
  });
});
