// The scrub worker (/node/blocks/scrub, run by a workerRunner): reads every block stored here, in
// hash order, and verifies it. The store moves a damaged file aside (corrupted/); the worker then
// queues the block for resync, which fetches a good copy from another holder. After each block it
// rests scrub-tranquility × the time the read took, so a scrub never starves client traffic.
// Operators start, pause, resume and cancel it; a pass also starts by itself a month after the
// last one. Its state (phase, cursor, progress, corruptions, last completion) is persisted after
// every block, so a restarted node resumes its pass where it was.
// The state machine is pure (protocols/block/scrub.ts); this file does the I/O.
import type { Worker, WorkerStepResult } from '../runtime';
import {
  applyScrubCommand,
  decodeScrubState,
  encodeScrubState,
  initialScrubState,
  SCRUB_STATE_KEY,
  SCRUB_STATE_TREE,
  scrubChecked,
  scrubCompleted,
  scrubDue,
  type ScrubCommand,
  type ScrubCommandResult,
  type ScrubState,
} from '../../protocols/block/scrub';
import { restAfterMs } from '../../protocols/block/worker-settings';
import { BlockCorruptError, type BlockStore } from '../../storage/blocks';
import type { MetadataStore } from '../../storage/metadata';

export interface ScrubComponents {
  metadata: MetadataStore;
  blocks: BlockStore;
  nowMs: () => number;
  tranquility: () => number;
  sleep: (delayMs: number) => Promise<void>;
  /** A corrupt copy was found (and moved aside): have resync fetch a good one. */
  onCorrupt: (hash: Buffer) => void;
}

export interface ScrubWorker extends Worker {
  command(command: ScrubCommand): ScrubCommandResult;
  state(): ScrubState;
}

export function scrubWorker(components: ScrubComponents): ScrubWorker {
  const { metadata, nowMs } = components;
  const tree = metadata.tree(SCRUB_STATE_TREE);
  let state = decodeScrubState(tree.get(SCRUB_STATE_KEY)) ?? initialScrubState(nowMs());
  let listing: AsyncIterator<Buffer> | null = null;
  // Bumped by every command: a step that awaited across one drops what it was doing.
  let generation = 0;
  let otherErrors = 0;
  let lastOtherError: string | null = null;

  const save = (next: ScrubState): void => {
    state = next;
    tree.insert(SCRUB_STATE_KEY, encodeScrubState(state));
  };
  save(state);

  /** Reads one block; true if it was corrupt. Other read errors are counted and skipped. */
  const verify = async (hash: Buffer): Promise<boolean> => {
    try {
      await components.blocks.get(hash);
      return false;
    } catch (error) {
      if (error instanceof BlockCorruptError) {
        components.onCorrupt(hash);
        return true;
      }
      otherErrors++;
      lastOtherError = `${hash.toString('hex').slice(0, 16)}: ${(error as Error).message}`;
      return false;
    }
  };

  return {
    async step(): Promise<WorkerStepResult> {
      const due = scrubDue(state, nowMs());
      if (due !== state) save(due);
      if (state.phase !== 'running') {
        listing = null;
        return 'idle';
      }
      const mine = generation;
      listing ??= components.blocks.list(state.cursor === null ? undefined : Buffer.from(state.cursor, 'hex'))[Symbol.asyncIterator]();
      const next = await listing.next();
      if (mine !== generation) return 'busy';
      if (next.done) {
        listing = null;
        save(scrubCompleted(state, nowMs()));
        return 'idle';
      }
      const startedMs = nowMs();
      const corrupt = await verify(next.value);
      if (mine !== generation) return 'busy';
      save(scrubChecked(state, next.value.toString('hex'), corrupt));
      const restMs = restAfterMs(components.tranquility(), nowMs() - startedMs);
      if (restMs > 0) await components.sleep(restMs);
      return 'busy';
    },
    command(command) {
      const result = applyScrubCommand(state, command, nowMs());
      if (result.ok) {
        generation++;
        listing = null;
        save(result.state);
      }
      return result;
    },
    state: () => state,
    status: () => ({ ...state, otherErrors, lastOtherError }),
  };
}
