// Node-local counters that `updated` hooks adjust in the write's transaction (block refcounts:
// how many live references this node's replicas hold to a block). A counter remembers since when
// it has been zero, so that what it counts is deleted only after a delay (a reference may still
// arrive from a write in flight). Stored as 16 bytes: count (int64) || zero since ms (0: nonzero).
import { TableError } from './errors';

export interface LocalCounter {
  readonly count: number;
  /** When the count last became zero; null while it is positive. */
  readonly zeroSinceMs: number | null;
}

const COUNTER_BYTES = 16;

export function encodeCounter(counter: LocalCounter): Buffer {
  const bytes = Buffer.alloc(COUNTER_BYTES);
  bytes.writeBigInt64BE(BigInt(counter.count), 0);
  bytes.writeBigUInt64BE(BigInt(counter.zeroSinceMs ?? 0), 8);
  return bytes;
}

export function decodeCounter(bytes: Uint8Array): LocalCounter {
  if (bytes.length !== COUNTER_BYTES) throw new TableError('malformed', `a counter is ${COUNTER_BYTES} bytes, got ${bytes.length}`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Number(view.readBigInt64BE(0));
  const zeroSince = Number(view.readBigUInt64BE(8));
  return { count, zeroSinceMs: count > 0 ? null : zeroSince };
}

/**
 * The counter after `delta` at `nowMs`. A count never goes below zero: references are counted
 * from this node's own replicas, so a decrement without its increment is a replay, not a debt.
 */
export function adjustCounter(old: LocalCounter | null, delta: number, nowMs: number): LocalCounter {
  const before = old?.count ?? 0;
  const count = Math.max(0, before + delta);
  if (count > 0) return { count, zeroSinceMs: null };
  return { count: 0, zeroSinceMs: before > 0 || old === null ? nowMs : old.zeroSinceMs };
}

/** Whether what the counter counts may be deleted: zero for at least `delayMs`. */
export function isDeletable(counter: LocalCounter, nowMs: number, delayMs: number): boolean {
  return counter.count === 0 && counter.zeroSinceMs !== null && nowMs - counter.zeroSinceMs >= delayMs;
}
