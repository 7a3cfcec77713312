// The contract of background workers (resync, scrub, GC, ...) and the actor that runs them.
// A worker only knows how to do one bounded unit of work; the runner owns scheduling, error
// backoff, pausing and the status shown by inspection, so every worker behaves the same way.
import { WORKER_ERROR_BACKOFF_MAX_MS, WORKER_ERROR_BACKOFF_MIN_MS, WORKER_IDLE_DELAY_MS } from '../../limits';
import { errorMessage } from './errors';
import { backoffDelayMs, restartWithBackoff, type Backoff } from './supervision';
import { assertNever, defineActor, type ActorContext, type Outcome, type Ref } from './types';

/** What one step reports: more work right away, nothing to do for now, or finished for good. */
export type WorkerStepResult = 'busy' | 'idle' | 'done';

export interface Worker {
  /** One bounded unit of work (a block, a batch of entries): never a whole scan in one step. */
  step(): Promise<WorkerStepResult>;
  status?(): Record<string, unknown>;
  /**
   * How long an idle worker waits after a wake before it steps (default 0: at once). Wakes that
   * come in a burst (one per write) then share one step, and its batch, instead of one each.
   */
  readonly wakeDelayMs?: number;
}

export type WorkerPhase = WorkerStepResult | 'paused' | 'error-backoff';

export interface WorkerRunnerStatus {
  phase: WorkerPhase;
  steps: number;
  errors: number;
  consecutiveErrors: number;
  lastError: { message: string; atMs: number } | null;
  worker: Record<string, unknown> | null;
}

export type WorkerRunnerMessage =
  | { type: 'wake' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'getStatus'; replyTo: Ref<WorkerRunnerStatus> }
  | { type: 'step' }
  | { type: 'stepped'; outcome: Outcome<WorkerStepResult> };

export interface WorkerRunnerComponents {
  worker: Worker;
  idleDelayMs?: number;
  errorBackoff?: Backoff;
  nowMs?: () => number;
  random?: () => number;
}

interface WorkerRunnerState {
  phase: WorkerPhase;
  stepping: boolean;
  steps: number;
  errors: number;
  consecutiveErrors: number;
  lastError: { message: string; atMs: number } | null;
}

type Context = ActorContext<WorkerRunnerMessage, WorkerRunnerState, WorkerRunnerComponents>;

const NEXT_STEP_TIMER = 'next-step';
const DEFAULT_ERROR_BACKOFF: Backoff = { minMs: WORKER_ERROR_BACKOFF_MIN_MS, maxMs: WORKER_ERROR_BACKOFF_MAX_MS, jitter: 0.1 };

export const workerRunner = defineActor<WorkerRunnerMessage, WorkerRunnerState, WorkerRunnerComponents>({
  kind: 'worker',
  supervision: restartWithBackoff(),
  init(context) {
    context.tell(context.self, { type: 'step' });
    return { phase: 'busy', stepping: false, steps: 0, errors: 0, consecutiveErrors: 0, lastError: null };
  },
  handle(message, context) {
    switch (message.type) {
      case 'step': return onStep(context);
      case 'stepped': return onStepped(message.outcome, context);
      case 'wake': return onWake(context);
      case 'pause': return onPause(context);
      case 'resume': return onResume(context);
      case 'getStatus': return context.tell(message.replyTo, runnerStatus(context));
      default: return assertNever(message);
    }
  },
  status: (context) => ({ ...runnerStatus(context) }),
});

function onStep(context: Context): void {
  const state = context.state;
  if (state.stepping || state.phase === 'done' || state.phase === 'paused') return;
  state.stepping = true;
  // A worker that throws synchronously is treated like one whose promise rejects.
  const work = Promise.resolve().then(() => context.components.worker.step());
  context.pipeToSelf(work, (outcome) => ({ type: 'stepped', outcome }));
}

function onStepped(outcome: Outcome<WorkerStepResult>, context: Context): void {
  const state = context.state;
  state.stepping = false;
  if (!outcome.ok) return scheduleAfterError(outcome.error, context);
  state.steps++;
  state.consecutiveErrors = 0;
  if (state.phase === 'paused') return;
  state.phase = outcome.value;
  if (outcome.value === 'busy') context.tell(context.self, { type: 'step' });
  if (outcome.value === 'idle') context.startTimer(NEXT_STEP_TIMER, context.components.idleDelayMs ?? WORKER_IDLE_DELAY_MS, { type: 'step' });
}

function scheduleAfterError(error: Error, context: Context): void {
  const state = context.state;
  const nowMs = context.components.nowMs ?? Date.now;
  state.errors++;
  state.consecutiveErrors++;
  state.lastError = { message: errorMessage(error), atMs: nowMs() };
  context.log.warn('worker step failed', { error: error.message, consecutiveErrors: state.consecutiveErrors });
  if (state.phase === 'paused') return;
  state.phase = 'error-backoff';
  const backoff = context.components.errorBackoff ?? DEFAULT_ERROR_BACKOFF;
  const delayMs = backoffDelayMs(backoff, state.consecutiveErrors - 1, context.components.random ?? Math.random);
  context.startTimer(NEXT_STEP_TIMER, delayMs, { type: 'step' });
}

function onWake(context: Context): void {
  if (context.state.phase !== 'idle') return;
  context.state.phase = 'busy';
  const delayMs = context.components.worker.wakeDelayMs ?? 0;
  // Same key: replaces the idle timer. While busy, later wakes change nothing.
  if (delayMs > 0) return context.startTimer(NEXT_STEP_TIMER, delayMs, { type: 'step' });
  context.cancelTimer(NEXT_STEP_TIMER);
  onStep(context);
}

function onPause(context: Context): void {
  if (context.state.phase === 'done') return;
  context.cancelTimer(NEXT_STEP_TIMER);
  context.state.phase = 'paused';
}

function onResume(context: Context): void {
  if (context.state.phase !== 'paused') return;
  context.state.phase = 'busy';
  onStep(context);
}

function runnerStatus(context: Context): WorkerRunnerStatus {
  const state = context.state;
  return {
    phase: state.phase,
    steps: state.steps,
    errors: state.errors,
    consecutiveErrors: state.consecutiveErrors,
    lastError: state.lastError,
    worker: context.components.worker.status?.() ?? null,
  };
}
