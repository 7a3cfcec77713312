// The block workers' pure parts (settings, scrub state machine, error records, who needs a block)
// and the shared resync queue with in-memory stores: several workers never check one block at once.
import { openMemoryStore } from '../../src/storage/metadata';
import { blockHash, openMemoryBlockStore } from '../../src/storage/blocks';
import { resync, RESYNC_QUEUE_TREE, type ResyncComponents } from '../../src/actors/block/resync-worker';
import { scrubWorker } from '../../src/actors/block/scrub-worker';
import { decodeResyncError, encodeResyncError, holdersNeedingBlock, RESYNC_LIMITS, resyncErrorAfterFailure, resyncKey, resyncValue } from '../../src/protocols/block/resync';
import { applyScrubCommand, decodeScrubState, encodeScrubState, initialScrubState, SCRUB_INTERVAL_MS, scrubChecked, scrubCompleted, scrubDue } from '../../src/protocols/block/scrub';
import { BLOCK_WORKER_SETTINGS_DEFAULT, decodeSettings, encodeSettingValue, parseWorkerSetting, restAfterMs, withSetting, WORKER_SETTING_LIMITS } from '../../src/protocols/block/worker-settings';
import type { Placement } from '../../src/protocols/table';

describe('worker settings', () => {
  it('accepts counts from 1 to 8 and tranquilities from 0, with precise errors otherwise', () => {
    expect(parseWorkerSetting('resync-worker-count', '4')).toEqual({ ok: true, name: 'resync-worker-count', value: 4 });
    expect(parseWorkerSetting('resync-tranquility', '0')).toEqual({ ok: true, name: 'resync-tranquility', value: 0 });
    expect(parseWorkerSetting('scrub-tranquility', 10)).toEqual({ ok: true, name: 'scrub-tranquility', value: 10 });
    expect(parseWorkerSetting('resync-worker-count', '0')).toEqual({ ok: false, error: 'resync-worker-count must be an integer from 1 to 8, got "0"' });
    expect(parseWorkerSetting('resync-worker-count', '9')).toMatchObject({ ok: false });
    expect(parseWorkerSetting('resync-worker-count', '2.5')).toMatchObject({ ok: false });
    expect(parseWorkerSetting('resync-tranquility', '-1')).toEqual({ ok: false, error: `resync-tranquility must be an integer from 0 to ${WORKER_SETTING_LIMITS.tranquilityMax}, got "-1"` });
    expect(parseWorkerSetting('scrub-tranquility', 'fast')).toMatchObject({ ok: false });
    expect(parseWorkerSetting('resync-speed', '1')).toEqual({ ok: false, error: 'unknown worker setting "resync-speed": expected one of resync-worker-count, resync-tranquility, scrub-tranquility' });
  });

  it('reads back what was stored, keeping defaults for missing or bad rows', () => {
    const rows = new Map<string, Buffer>([
      ['resync-worker-count', encodeSettingValue(3)],
      ['scrub-tranquility', encodeSettingValue(99_999)],
    ]);
    expect(decodeSettings((name) => rows.get(name) ?? null)).toEqual({ ...BLOCK_WORKER_SETTINGS_DEFAULT, resyncWorkerCount: 3 });
    expect(withSetting(BLOCK_WORKER_SETTINGS_DEFAULT, 'resync-tranquility', 0).resyncTranquility).toBe(0);
  });

  it('rests tranquility times the item, within a bound', () => {
    expect(restAfterMs(2, 30)).toBe(60);
    expect(restAfterMs(0, 30)).toBe(0);
    expect(restAfterMs(1000, 3_600_000)).toBe(WORKER_SETTING_LIMITS.restMaxMs);
  });
});

describe('scrub state', () => {
  it('starts, pauses, resumes, cancels, and refuses the transitions that make no sense', () => {
    const idle = initialScrubState(0);
    const running = applyScrubCommand(idle, 'start', 10);
    expect(running).toMatchObject({ ok: true, state: { phase: 'running', startedMs: 10, checked: 0 } });
    if (!running.ok) throw new Error('unreachable');
    expect(applyScrubCommand(running.state, 'start', 11)).toMatchObject({ ok: false });
    expect(applyScrubCommand(running.state, 'resume', 11)).toEqual({ ok: false, error: 'no scrub is paused (it is running)' });
    const checked = scrubChecked(running.state, 'ab', true);
    const paused = applyScrubCommand(checked, 'pause', 12);
    expect(paused).toMatchObject({ ok: true, state: { phase: 'paused', cursor: 'ab', checked: 1, corruptions: 1 } });
    if (!paused.ok) throw new Error('unreachable');
    expect(applyScrubCommand(paused.state, 'resume', 13)).toMatchObject({ ok: true, state: { phase: 'running', cursor: 'ab' } });
    expect(applyScrubCommand(paused.state, 'cancel', 13)).toMatchObject({ ok: true, state: { phase: 'idle', cursor: null, checked: 0, corruptionsTotal: 1 } });
    expect(applyScrubCommand(idle, 'cancel', 13)).toEqual({ ok: false, error: 'no scrub to cancel' });
  });

  it('records completion, schedules the next pass, and round-trips its stored form', () => {
    const done = scrubCompleted(scrubChecked(initialScrubState(0), 'ff', false), 500);
    expect(done).toMatchObject({ phase: 'idle', lastCompletedMs: 500, nextRunMs: 500 + SCRUB_INTERVAL_MS });
    expect(scrubDue(done, 499 + SCRUB_INTERVAL_MS)).toBe(done);
    expect(scrubDue(done, 500 + SCRUB_INTERVAL_MS).phase).toBe('running');
    expect(decodeScrubState(encodeScrubState(done))).toEqual(done);
    expect(decodeScrubState(Buffer.from('junk'))).toBeNull();
  });
});

describe('resync errors and deletion', () => {
  it('counts failures and backs off, and round-trips', () => {
    const first = resyncErrorAfterFailure(null, 'boom', 1000);
    expect(first).toEqual({ errorCount: 1, lastError: 'boom', lastTryMs: 1000, nextTryMs: 1000 + RESYNC_LIMITS.retryMinMs });
    const second = resyncErrorAfterFailure(first, 'x'.repeat(2000), 5000);
    expect(second.errorCount).toBe(2);
    expect(second.lastError.length).toBe(500);
    expect(decodeResyncError(encodeResyncError(second))).toEqual(second);
  });

  it('hands a block over only to holders that count a reference and lack it', () => {
    expect(
      holdersNeedingBlock([
        { nodeId: 'a', refcount: 1, present: false },
        { nodeId: 'b', refcount: 1, present: true },
        { nodeId: 'c', refcount: 0, present: false },
        { nodeId: 'd', refcount: null, present: false },
      ]),
    ).toEqual(['a']);
  });
});

/** Resync components over in-memory stores: a node 'self' sharing every partition with 'other'. */
function resyncComponents(metadata: ResyncComponents['metadata'], blocks: ResyncComponents['blocks'], overrides: Partial<ResyncComponents>): ResyncComponents {
  return {
    selfId: 'self',
    metadata,
    blocks,
    placement: () => placementOf(['self', 'other']),
    gcDelayMs: 60_000,
    nowMs: () => 1_000_000,
    tranquility: () => 0,
    sleep: async () => undefined,
    fetchFrom: async () => null,
    storeOn: async () => undefined,
    askNeed: async (nodeId) => ({ nodeId, refcount: 0, present: true }),
    isReferenced: async () => false,
    hashOf: blockHash,
    ...overrides,
  };
}

function placementOf(holders: string[]): Placement {
  return { holders: () => holders, writeSets: () => [{ nodes: holders, quorum: holders.length }] } as unknown as Placement;
}

describe('shared resync queue', () => {
  it('lets several workers drain one queue without checking a block twice at once', async () => {
    const metadata = openMemoryStore();
    const blocks = openMemoryBlockStore();
    const inFlight = new Set<string>();
    let overlaps = 0;
    let fetches = 0;
    const components = resyncComponents(metadata, blocks, {
      fetchFrom: async (_nodeId, hash) => {
        const hex = hash.toString('hex');
        if (inFlight.has(hex)) overlaps++;
        inFlight.add(hex);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight.delete(hex);
        fetches++;
        throw new Error('absent');
      },
    });
    // Ten referenced blocks this node lacks, each queued twice.
    const counters = metadata.tree('cnt_block');
    const hashes = Array.from({ length: 10 }, (_, i) => blockHash(Buffer.from([i])));
    const queue = metadata.tree(RESYNC_QUEUE_TREE);
    for (const hash of hashes) {
      const counter = Buffer.alloc(16);
      counter.writeBigInt64BE(1n, 0);
      counters.insert(hash, counter);
      queue.insert(resyncKey(1, hash), resyncValue(0));
      queue.insert(resyncKey(2, hash), resyncValue(0));
    }
    const shared = resync(components);
    const workers = [shared.worker('resync-0'), shared.worker('resync-1'), shared.worker('resync-2')];
    const run = async (worker: (typeof workers)[number]): Promise<void> => {
      for (let steps = 0; steps < 100 && (await worker.step()) !== 'idle'; steps++);
    };
    await Promise.all(workers.map(run));
    expect(overlaps).toBe(0);
    expect(fetches).toBeGreaterThanOrEqual(10);
    // Every failure is in the error list, with its count and next try; retry-now requeues them.
    const errors = shared.errors(100);
    expect(errors.map((error) => error.hash).sort()).toEqual(hashes.map((hash) => hash.toString('hex')).sort());
    expect(errors.every((error) => error.errorCount >= 1 && /no holder sent block/.test(error.lastError))).toBe(true);
    expect(shared.retryNow('all')).toBe(10);
  });

  it('scrubs every block, queues the corrupt ones, and persists its progress', async () => {
    const metadata = openMemoryStore();
    const blocks = openMemoryBlockStore();
    const good = Buffer.from('good block');
    const bad = Buffer.from('bad block');
    await blocks.put(blockHash(good), good);
    await blocks.put(blockHash(bad), bad);
    blocks.damage(blockHash(bad), Buffer.from('damaged'));
    const corrupt: string[] = [];
    const components = { metadata, blocks, nowMs: () => 1000, tranquility: () => 0, sleep: async () => undefined, onCorrupt: (hash: Buffer) => void corrupt.push(hash.toString('hex')) };
    const scrub = scrubWorker(components);
    expect(await scrub.step()).toBe('idle');
    expect(scrub.command('start').ok).toBe(true);
    for (let steps = 0; steps < 10 && (await scrub.step()) !== 'idle'; steps++);
    expect(corrupt).toEqual([blockHash(bad).toString('hex')]);
    expect(scrub.state()).toMatchObject({ phase: 'idle', lastCompletedMs: 1000, corruptionsTotal: 1 });
    // A new worker over the same metadata (a restart) sees the same state.
    expect(scrubWorker(components).state()).toEqual(scrub.state());
  });
});

describe('resync pacing', () => {
  /** One referenced block this node lacks, a fake clock, and a fetch that takes `fetchMs` of it. */
  function slowFetchSetup(fetchOutcome: 'fails' | 'succeeds') {
    const metadata = openMemoryStore();
    const blocks = openMemoryBlockStore();
    let now = 1_000_000;
    const sleeps: number[] = [];
    const data = Buffer.from('block bytes');
    const hash = blockHash(data);
    const counter = Buffer.alloc(16);
    counter.writeBigInt64BE(1n, 0);
    metadata.tree('cnt_block').insert(hash, counter);
    metadata.tree(RESYNC_QUEUE_TREE).insert(resyncKey(1, hash), resyncValue(0));
    const components = resyncComponents(metadata, blocks, {
      nowMs: () => now,
      tranquility: () => 2,
      // A rest that never ends by itself: only a request for new work can end it.
      sleep: (delayMs) => {
        sleeps.push(delayMs);
        return new Promise(() => undefined);
      },
      fetchFrom: async () => {
        now += 30_000; // as long as an RPC timeout
        if (fetchOutcome === 'fails') throw new Error('no answer within 30000 ms');
        return data;
      },
    });
    return { shared: resync(components), sleeps, blocks, hash };
  }

  it('does not rest after a failed check: the block backs off, the others go on', async () => {
    const { shared, sleeps, hash } = slowFetchSetup('fails');
    expect(await shared.worker('resync-0').step()).toBe('busy'); // the startup scan
    expect(await shared.worker('resync-0').step()).toBe('busy'); // the failed check, no rest
    expect(sleeps).toEqual([]);
    expect(shared.errorOf(hash)?.errorCount).toBe(1);
  });

  it('rests tranquility times a successful check, until new work is asked for', async () => {
    const { shared, sleeps, blocks, hash } = slowFetchSetup('succeeds');
    const worker = shared.worker('resync-0');
    expect(await worker.step()).toBe('busy'); // the startup scan
    const checking = worker.step();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await blocks.has(hash)).toBe(true);
    expect(sleeps).toEqual([60_000]);
    shared.requestScan(true); // `grange repair blocks`
    expect(await checking).toBe('busy');
  });
});

describe('deleting an unreferenced block', () => {
  const OLD_MS = 0;
  const NOW_MS = 1_000_000;

  async function setup(answer: { refcount: number; present: boolean }, referencedInTable: boolean) {
    const metadata = openMemoryStore();
    const blocks = openMemoryBlockStore();
    const data = Buffer.from('unreferenced block');
    const hash = blockHash(data);
    await blocks.put(hash, data);
    const counter = Buffer.alloc(16); // count 0, zero since OLD_MS
    counter.writeBigUInt64BE(BigInt(OLD_MS), 8);
    metadata.tree('cnt_block').insert(hash, counter);
    metadata.tree(RESYNC_QUEUE_TREE).insert(resyncKey(1, hash), resyncValue(0));
    const events: string[] = [];
    const shared = resync(
      resyncComponents(metadata, blocks, {
        nowMs: () => NOW_MS,
        storeOn: async (nodeId) => void events.push(`store on ${nodeId}`),
        askNeed: async (nodeId) => {
          events.push(`ask ${nodeId}`);
          return { nodeId, ...answer };
        },
        isReferenced: async () => referencedInTable,
      }),
    );
    const worker = shared.worker('resync-0');
    // The startup scan first, then the queue.
    for (let steps = 0; steps < 10 && (await worker.step()) !== 'idle'; steps++);
    return { events, present: await blocks.has(hash), counter: metadata.tree('cnt_block').get(hash) };
  }

  it('asks the other holders, hands the block to one that references it and lacks it, then deletes', async () => {
    const result = await setup({ refcount: 1, present: false }, false);
    expect(result.events).toEqual(['ask other', 'store on other']);
    expect(result.present).toBe(false);
    expect(result.counter).toBeNull();
  });

  it('deletes after asking when no holder needs it', async () => {
    const result = await setup({ refcount: 0, present: true }, false);
    expect(result.events).toEqual(['ask other']);
    expect(result.present).toBe(false);
  });

  it('keeps a block the block_ref table still references, for another delay', async () => {
    const result = await setup({ refcount: 0, present: true }, true);
    expect(result.present).toBe(true);
    expect(result.counter!.readBigUInt64BE(8)).toBe(BigInt(NOW_MS));
  });
});
