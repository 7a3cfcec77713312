// Supervision policies are data; what to do on a failure is a pure function of the policy, the
// recent restart history and the clock, so it is tested without any actor.
import {
  RESTART_BACKOFF_JITTER,
  RESTART_BACKOFF_MAX_MS,
  RESTART_BACKOFF_MIN_MS,
  RESTART_WINDOW_MS,
  RESTARTS_IN_WINDOW_MAX,
} from '../../limits';

export interface Backoff {
  minMs: number;
  maxMs: number;
  /** Fraction of the delay drawn at random, so restarting siblings do not retry in lockstep. */
  jitter: number;
}

export type SupervisionPolicy =
  | { strategy: 'stop' }
  | { strategy: 'resume' }
  | { strategy: 'escalate' }
  | {
      strategy: 'restart';
      backoff: Backoff;
      maxRestarts: number;
      windowMs: number;
      /** What happens once maxRestarts restarts happened within windowMs. */
      whenExhausted: 'stop' | 'escalate';
    };

export const stopOnFailure: SupervisionPolicy = { strategy: 'stop' };
export const resumeOnFailure: SupervisionPolicy = { strategy: 'resume' };
export const escalateOnFailure: SupervisionPolicy = { strategy: 'escalate' };

export function restartWithBackoff(options: Partial<Omit<Extract<SupervisionPolicy, { strategy: 'restart' }>, 'strategy'>> = {}): SupervisionPolicy {
  return {
    strategy: 'restart',
    backoff: options.backoff ?? { minMs: RESTART_BACKOFF_MIN_MS, maxMs: RESTART_BACKOFF_MAX_MS, jitter: RESTART_BACKOFF_JITTER },
    maxRestarts: options.maxRestarts ?? RESTARTS_IN_WINDOW_MAX,
    windowMs: options.windowMs ?? RESTART_WINDOW_MS,
    whenExhausted: options.whenExhausted ?? 'stop',
  };
}

export type SupervisionDecision =
  | { action: 'stop' }
  | { action: 'resume' }
  | { action: 'escalate' }
  | { action: 'restart'; delayMs: number; restartTimesMs: number[] };

/**
 * Decides what a failure leads to. `restartTimesMs` are the times of earlier restarts; only those
 * inside the window count, and the delay doubles with each of them.
 */
export function decideOnFailure(
  policy: SupervisionPolicy,
  restartTimesMs: readonly number[],
  nowMs: number,
  random: () => number,
): SupervisionDecision {
  switch (policy.strategy) {
    case 'stop':
    case 'resume':
    case 'escalate':
      return { action: policy.strategy };
    case 'restart': {
      const recent = restartTimesMs.filter((time) => nowMs - time < policy.windowMs);
      if (recent.length >= policy.maxRestarts) return { action: policy.whenExhausted };
      const delayMs = backoffDelayMs(policy.backoff, recent.length, random);
      return { action: 'restart', delayMs, restartTimesMs: [...recent, nowMs] };
    }
  }
}

/** Delay before retry number `attempt` (0-based): min * 2^attempt, jittered, never above max. */
export function backoffDelayMs(backoff: Backoff, attempt: number, random: () => number): number {
  const exponential = backoff.minMs * 2 ** Math.min(attempt, 52);
  const capped = Math.min(backoff.maxMs, exponential);
  const jittered = capped * (1 - backoff.jitter + 2 * backoff.jitter * random());
  return Math.round(Math.min(backoff.maxMs, Math.max(0, jittered)));
}
