// The scrub's state machine (pure): operator commands, progress, completion and the automatic
// schedule. The scrub worker (src/actors/block/scrub-worker.ts) reads blocks and persists this
// state in the metadata store after each step, so a restart resumes where the pass was.

export const SCRUB_STATE_TREE = 'blk_scrub';
export const SCRUB_STATE_KEY = Buffer.from('state');

/** A full pass runs by itself this long after the previous one ended (Garage: about a month). */
export const SCRUB_INTERVAL_MS = 30 * 24 * 3600_000;

export type ScrubPhase = 'idle' | 'running' | 'paused';
export const SCRUB_COMMANDS = ['start', 'pause', 'resume', 'cancel'] as const;
export type ScrubCommand = (typeof SCRUB_COMMANDS)[number];

export interface ScrubState {
  phase: ScrubPhase;
  /** Hex hash of the last block checked in this pass (blocks are listed in hash order); null at its start. */
  cursor: string | null;
  /** Blocks checked in this pass. */
  checked: number;
  /** Corrupt blocks found in this pass, and since the node's first scrub. */
  corruptions: number;
  corruptionsTotal: number;
  startedMs: number | null;
  lastCompletedMs: number | null;
  /** When the next pass starts by itself. */
  nextRunMs: number;
}

export function initialScrubState(nowMs: number): ScrubState {
  return { phase: 'idle', cursor: null, checked: 0, corruptions: 0, corruptionsTotal: 0, startedMs: null, lastCompletedMs: null, nextRunMs: nowMs + SCRUB_INTERVAL_MS };
}

export type ScrubCommandResult = { ok: true; state: ScrubState } | { ok: false; error: string };

function started(state: ScrubState, nowMs: number): ScrubState {
  return { ...state, phase: 'running', cursor: null, checked: 0, corruptions: 0, startedMs: nowMs };
}

export function applyScrubCommand(state: ScrubState, command: ScrubCommand, nowMs: number): ScrubCommandResult {
  switch (command) {
    case 'start':
      if (state.phase !== 'idle') return { ok: false, error: `a scrub is already ${state.phase} (${state.checked} blocks checked): resume or cancel it` };
      return { ok: true, state: started(state, nowMs) };
    case 'pause':
      if (state.phase !== 'running') return { ok: false, error: `no scrub is running (it is ${state.phase})` };
      return { ok: true, state: { ...state, phase: 'paused' } };
    case 'resume':
      if (state.phase !== 'paused') return { ok: false, error: `no scrub is paused (it is ${state.phase})` };
      return { ok: true, state: { ...state, phase: 'running' } };
    case 'cancel':
      if (state.phase === 'idle') return { ok: false, error: 'no scrub to cancel' };
      // The next automatic pass stays where it was: a cancelled pass is not a completed one.
      return { ok: true, state: { ...state, phase: 'idle', cursor: null, checked: 0, corruptions: 0, startedMs: null } };
  }
}

/** An idle scrub whose time has come starts a pass by itself. */
export function scrubDue(state: ScrubState, nowMs: number): ScrubState {
  return state.phase === 'idle' && nowMs >= state.nextRunMs ? started(state, nowMs) : state;
}

export function scrubChecked(state: ScrubState, hashHex: string, corrupt: boolean): ScrubState {
  return {
    ...state,
    cursor: hashHex,
    checked: state.checked + 1,
    corruptions: state.corruptions + (corrupt ? 1 : 0),
    corruptionsTotal: state.corruptionsTotal + (corrupt ? 1 : 0),
  };
}

export function scrubCompleted(state: ScrubState, nowMs: number): ScrubState {
  return { ...state, phase: 'idle', cursor: null, startedMs: null, lastCompletedMs: nowMs, nextRunMs: nowMs + SCRUB_INTERVAL_MS };
}

const SCRUB_STATE_FORMAT = 1;

export function encodeScrubState(state: ScrubState): Buffer {
  return Buffer.concat([Buffer.from([SCRUB_STATE_FORMAT]), Buffer.from(JSON.stringify(state), 'utf8')]);
}

/** The stored state, or null if there is none or it cannot be read (then a fresh state is used). */
export function decodeScrubState(bytes: Buffer | null): ScrubState | null {
  if (bytes === null || bytes.length < 2 || bytes[0] !== SCRUB_STATE_FORMAT) return null;
  try {
    const raw = JSON.parse(bytes.subarray(1).toString('utf8')) as ScrubState;
    if (!['idle', 'running', 'paused'].includes(raw.phase) || typeof raw.checked !== 'number' || typeof raw.nextRunMs !== 'number') return null;
    return raw;
  } catch {
    return null;
  }
}
