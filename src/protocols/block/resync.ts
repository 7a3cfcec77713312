// The resync queue and decision (Garage's block resync in spirit), as pure functions. A node
// keeps a persistent queue of block hashes to check, ordered by when each is due; checking a
// block compares what this node should do with it (placement, local refcount) with what it has.
// The worker (src/actors/block/resync-worker.ts) reads the store and carries the decision out.
import type { LocalCounter } from '../table/counter';
import { isDeletable } from '../table/counter';

export const RESYNC_HASH_BYTES = 32;
const DUE_BYTES = 8;
export const RESYNC_KEY_BYTES = DUE_BYTES + RESYNC_HASH_BYTES;

/** Stored value format marker (first byte), so a later format can be told apart. */
const RESYNC_VALUE_FORMAT = 1;
const RESYNC_VALUE_BYTES = 5;

export const RESYNC_LIMITS = {
  /** Queue entries checked per worker step, and counter or block-list entries enqueued per step. */
  batchMax: 32,
  /** Error backoff of one block: doubles from min to max with each failed check. */
  retryMinMs: 1_000,
  retryMaxMs: 60 * 60_000,
  /** After this many failed checks a block leaves the queue; the next scan brings it back. */
  attemptsMax: 20,
} as const;

/** Queue key: due time (ms, 8 bytes big-endian) || hash, so a range scan yields due blocks first. */
export function resyncKey(dueMs: number, hash: Buffer): Buffer {
  if (hash.length !== RESYNC_HASH_BYTES) throw new Error(`a block hash is ${RESYNC_HASH_BYTES} bytes, got ${hash.length}`);
  const key = Buffer.alloc(RESYNC_KEY_BYTES);
  key.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(dueMs))), 0);
  hash.copy(key, DUE_BYTES);
  return key;
}

export function decodeResyncKey(key: Buffer): { dueMs: number; hash: Buffer } {
  if (key.length !== RESYNC_KEY_BYTES) throw new Error(`a resync key is ${RESYNC_KEY_BYTES} bytes, got ${key.length}`);
  return { dueMs: Number(key.readBigUInt64BE(0)), hash: Buffer.from(key.subarray(DUE_BYTES)) };
}

/** The exclusive upper bound of the keys due at `nowMs`. */
export function resyncDueBound(nowMs: number): Buffer {
  const bound = Buffer.alloc(DUE_BYTES);
  bound.writeBigUInt64BE(BigInt(Math.floor(nowMs) + 1), 0);
  return bound;
}

/** The value: format || failed attempts so far (uint32). */
export function resyncValue(attempts: number): Buffer {
  const value = Buffer.alloc(RESYNC_VALUE_BYTES);
  value.writeUInt8(RESYNC_VALUE_FORMAT, 0);
  value.writeUInt32BE(attempts, 1);
  return value;
}

export function decodeResyncValue(value: Buffer): { attempts: number } {
  if (value.length !== RESYNC_VALUE_BYTES || value[0] !== RESYNC_VALUE_FORMAT) throw new Error('malformed resync queue value');
  return { attempts: value.readUInt32BE(1) };
}

/** When a block whose check failed `attempts` times (1 = first failure) is tried again, or null to drop it. */
export function resyncRetryDueMs(attempts: number, nowMs: number): number | null {
  if (attempts >= RESYNC_LIMITS.attemptsMax) return null;
  const delayMs = Math.min(RESYNC_LIMITS.retryMaxMs, RESYNC_LIMITS.retryMinMs * 2 ** Math.max(0, attempts - 1));
  return nowMs + delayMs;
}

export interface ResyncFacts {
  /** This node is among the placement's holders of the block's partition. */
  shouldHold: boolean;
  /** The local refcount, or null if this node never counted a reference to the block. */
  counter: LocalCounter | null;
  /** A block file is here. */
  present: boolean;
  nowMs: number;
  /** How long a refcount must stay at zero before the block may go. */
  gcDelayMs: number;
}

export type ResyncAction =
  | { kind: 'none' }
  /** Fetch the block from another holder and store it here. */
  | { kind: 'fetch' }
  /** Make sure every holder has it, then delete the local copy. */
  | { kind: 'offload' }
  /** Unreferenced for the whole delay: delete the local copy (and forget its counter). */
  | { kind: 'delete' }
  /** Unreferenced, but not for long enough: check again then. */
  | { kind: 'recheck'; dueMs: number };

export function resyncAction(facts: ResyncFacts): ResyncAction {
  const { counter, present, nowMs, gcDelayMs } = facts;
  // A copy this node no longer should hold always goes through the holders first, whatever its
  // refcount here: after a layout change the references move too, and this may be the last copy.
  if (!facts.shouldHold) return present ? { kind: 'offload' } : { kind: 'none' };
  // A block nobody ever referenced here (just put, refs not arrived yet) is left alone: deleting
  // it would race the write that is about to reference it.
  if (counter !== null && counter.count === 0) {
    if (isDeletable(counter, nowMs, gcDelayMs)) return present ? { kind: 'delete' } : { kind: 'none' };
    return { kind: 'recheck', dueMs: (counter.zeroSinceMs ?? nowMs) + gcDelayMs };
  }
  if (!present && counter !== null && counter.count > 0) return { kind: 'fetch' };
  return { kind: 'none' };
}

/** How often the counters are scanned for blocks whose refcount fell to zero. */
export function gcScanIntervalMs(gcDelayMs: number): number {
  const GC_SCANS_PER_DELAY = 4;
  const GC_SCAN_MIN_MS = 500;
  const GC_SCAN_MAX_MS = 10 * 60_000;
  return Math.min(GC_SCAN_MAX_MS, Math.max(GC_SCAN_MIN_MS, Math.floor(gcDelayMs / GC_SCANS_PER_DELAY)));
}

// ---- the error list ------------------------------------------------------------------------------

/** Blocks whose last check failed: hash -> ResyncErrorRecord. Cleared by the next good check. */
export const RESYNC_ERRORS_TREE = 'blk_resync_errors';

/** An error message is cut to this many characters before it is stored. */
const RESYNC_ERROR_MESSAGE_CHARS_MAX = 500;
const RESYNC_ERROR_FORMAT = 1;

export interface ResyncErrorRecord {
  /** Failed checks in a row. */
  errorCount: number;
  lastError: string;
  lastTryMs: number;
  /** When the block is due again; null once it left the queue (too many attempts: retry-now brings it back). */
  nextTryMs: number | null;
}

/** The record after one more failed check. */
export function resyncErrorAfterFailure(previous: ResyncErrorRecord | null, message: string, nowMs: number): ResyncErrorRecord {
  const errorCount = (previous?.errorCount ?? 0) + 1;
  return { errorCount, lastError: message.slice(0, RESYNC_ERROR_MESSAGE_CHARS_MAX), lastTryMs: nowMs, nextTryMs: resyncRetryDueMs(errorCount, nowMs) };
}

export function encodeResyncError(record: ResyncErrorRecord): Buffer {
  return Buffer.concat([Buffer.from([RESYNC_ERROR_FORMAT]), Buffer.from(JSON.stringify(record), 'utf8')]);
}

export function decodeResyncError(bytes: Buffer): ResyncErrorRecord {
  if (bytes.length < 2 || bytes[0] !== RESYNC_ERROR_FORMAT) throw new Error('malformed resync error record');
  const raw = JSON.parse(bytes.subarray(1).toString('utf8')) as Partial<ResyncErrorRecord>;
  if (typeof raw.errorCount !== 'number' || typeof raw.lastError !== 'string' || typeof raw.lastTryMs !== 'number') throw new Error('malformed resync error record');
  return { errorCount: raw.errorCount, lastError: raw.lastError, lastTryMs: raw.lastTryMs, nextTryMs: typeof raw.nextTryMs === 'number' ? raw.nextTryMs : null };
}

// ---- deleting after the other holders were asked -----------------------------------------------

/** What another holder of the partition says of a block this node is about to delete. */
export interface HolderNeed {
  nodeId: string;
  refcount: number | null;
  present: boolean;
}

/**
 * The holders that must be given the block before this node deletes its copy: they count a
 * reference to it and lack it (Garage's need_block). A holder that counts a reference and has it
 * needs nothing from here; its own resync keeps its copy.
 */
export function holdersNeedingBlock(answers: readonly HolderNeed[]): string[] {
  return answers.filter((answer) => (answer.refcount ?? 0) > 0 && !answer.present).map((answer) => answer.nodeId);
}
