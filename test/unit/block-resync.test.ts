// The resync queue's keys and the pure resync decision.
import { decodeResyncKey, decodeResyncValue, gcScanIntervalMs, RESYNC_LIMITS, resyncAction, resyncDueBound, resyncKey, resyncRetryDueMs, resyncValue, type ResyncFacts } from '../../src/protocols/block/resync';

const hash = (byte: number): Buffer => Buffer.alloc(32, byte);
const facts = (overrides: Partial<ResyncFacts>): ResyncFacts => ({ shouldHold: true, counter: null, present: true, nowMs: 100_000, gcDelayMs: 10_000, ...overrides });

describe('resync queue keys', () => {
  it('round-trips and orders by due time first', () => {
    const key = resyncKey(1234, hash(7));
    expect(decodeResyncKey(key)).toEqual({ dueMs: 1234, hash: hash(7) });
    expect(Buffer.compare(resyncKey(999, hash(255)), resyncKey(1000, hash(0)))).toBeLessThan(0);
    expect(decodeResyncValue(resyncValue(3))).toEqual({ attempts: 3 });
  });

  it('bounds the due keys at now, inclusive', () => {
    expect(Buffer.compare(resyncKey(1000, hash(255)), resyncDueBound(1000))).toBeLessThan(0);
    expect(Buffer.compare(resyncKey(1001, hash(0)), resyncDueBound(1000))).toBeGreaterThanOrEqual(0);
  });

  it('backs off exponentially, capped, and drops a block after the last attempt', () => {
    expect(resyncRetryDueMs(1, 0)).toBe(RESYNC_LIMITS.retryMinMs);
    expect(resyncRetryDueMs(2, 0)).toBe(2 * RESYNC_LIMITS.retryMinMs);
    expect(resyncRetryDueMs(RESYNC_LIMITS.attemptsMax - 1, 0)).toBe(RESYNC_LIMITS.retryMaxMs);
    expect(resyncRetryDueMs(RESYNC_LIMITS.attemptsMax, 0)).toBeNull();
  });

  it('scans the counters several times per GC delay, within bounds', () => {
    expect(gcScanIntervalMs(4_000)).toBe(1_000);
    expect(gcScanIntervalMs(10)).toBe(500);
    expect(gcScanIntervalMs(24 * 3600_000)).toBe(600_000);
  });
});

describe('resync decision', () => {
  it('fetches a referenced block this node should hold but lacks', () => {
    expect(resyncAction(facts({ present: false, counter: { count: 2, zeroSinceMs: null } }))).toEqual({ kind: 'fetch' });
    expect(resyncAction(facts({ present: true, counter: { count: 2, zeroSinceMs: null } }))).toEqual({ kind: 'none' });
    // Never referenced here: nothing to restore.
    expect(resyncAction(facts({ present: false, counter: null }))).toEqual({ kind: 'none' });
  });

  it('offloads a block this node should no longer hold', () => {
    expect(resyncAction(facts({ shouldHold: false, counter: { count: 1, zeroSinceMs: null } }))).toEqual({ kind: 'offload' });
    expect(resyncAction(facts({ shouldHold: false, counter: null }))).toEqual({ kind: 'offload' });
    expect(resyncAction(facts({ shouldHold: false, counter: { count: 0, zeroSinceMs: 0 } }))).toEqual({ kind: 'offload' });
    expect(resyncAction(facts({ shouldHold: false, present: false }))).toEqual({ kind: 'none' });
  });

  it('deletes an unreferenced block only after the delay, and says when to look again', () => {
    const zero = { count: 0, zeroSinceMs: 95_000 };
    expect(resyncAction(facts({ counter: zero }))).toEqual({ kind: 'recheck', dueMs: 105_000 });
    expect(resyncAction(facts({ counter: zero, nowMs: 104_999 }))).toEqual({ kind: 'recheck', dueMs: 105_000 });
    expect(resyncAction(facts({ counter: zero, nowMs: 105_000 }))).toEqual({ kind: 'delete' });
    expect(resyncAction(facts({ counter: zero, nowMs: 105_000, present: false }))).toEqual({ kind: 'none' });
  });
});
