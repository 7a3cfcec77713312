// Tombstone garbage collection, minus the I/O. A tombstone cannot simply be dropped when it is
// written: a replica that missed it still holds the old value, and anti-entropy would bring that
// value back. So each replica that stores a tombstone also records it in a GC todo tree; once the
// record is older than the GC delay, the GC worker of that node
//   A. sends the tombstone to every node that stores its partition (self included) and waits for
//      every one of them to take it: now no replica holds anything older;
//   B. tells every one of them to delete the row only if its copy is still that tombstone (same
//      entry hash): a replica that meanwhile took a newer value keeps it, and that value wins
//      everywhere again through the usual write path or anti-entropy;
// and removes its own record. If any holder fails at A or B, nothing is removed from the todo tree
// and the batch is tried again later: a tombstone may outlive the delay, never the reverse.
//
// The delay is what makes A enough: a write of an older value still in flight (a slow coordinator,
// a hand-off of a retired layout version) would otherwise land after B and resurrect the row.
//
// Todo record, one per (tombstone write, replica): key = the local time the row became this
// tombstone (8 bytes big-endian, ms) || row key, so the tree is ordered by age and the due records
// are one range scan from its start; value = format byte || entry hash of the tombstone. A row
// tombstoned again (a newer tombstone) gets a second record; the first is dropped once due, as its
// hash no longer matches the row. Records of other nodes' rows are dropped the same way once those
// rows are gone.
import { TableError } from './errors';
import { CONTENT_HASH_BYTES, entryHash, KEY_HASH_BYTES, type Hasher } from './hash';
import { partitionOfRowKey } from './schema';

export const GC_LIMITS = {
  /** Todo records one GC step sends and deletes: bounds the messages of a step (two per holder). */
  gcBatchRowsMax: 64,
  /**
   * Due records one step looks at. Larger than a batch so that records of partitions waiting for
   * a retry (a holder down) do not hold up the others behind them.
   */
  gcScanRecordsMax: 1024,
} as const;

/** Stored format of a todo value; a reader refuses any other. */
export const GC_TODO_FORMAT = 1;
/** Bytes of the time prefix of a todo key. */
export const GC_TODO_TIME_BYTES = 8;

export interface GcTodoRecord {
  /** Local time (ms) at which this replica stored the tombstone. */
  readonly tombstonedAtMs: number;
  readonly rowKey: Buffer;
  /** Entry hash of the tombstone: the row is collected only while it still has this hash. */
  readonly entryHash: Buffer;
}

/** A todo record whose row is still that tombstone here, with the tombstone's bytes. */
export interface GcCandidate {
  readonly record: GcTodoRecord;
  readonly bytes: Buffer;
}

export function gcTodoKey(tombstonedAtMs: number, rowKey: Uint8Array): Buffer {
  const time = Buffer.alloc(GC_TODO_TIME_BYTES);
  time.writeBigUInt64BE(BigInt(checkedTime(tombstonedAtMs)));
  return Buffer.concat([time, rowKey]);
}

export function gcTodoValue(hash: Uint8Array): Buffer {
  if (hash.length !== CONTENT_HASH_BYTES) throw new RangeError(`entry hash must be ${CONTENT_HASH_BYTES} bytes`);
  return Buffer.concat([Buffer.from([GC_TODO_FORMAT]), hash]);
}

export function decodeGcTodo(key: Uint8Array, value: Uint8Array): GcTodoRecord {
  if (key.length < GC_TODO_TIME_BYTES + KEY_HASH_BYTES) throw new TableError('malformed', `GC todo key of ${key.length} bytes`);
  if (value.length !== 1 + CONTENT_HASH_BYTES || value[0] !== GC_TODO_FORMAT) throw new TableError('malformed', `GC todo value of ${value.length} bytes, format ${value[0]}`);
  const keyBytes = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return {
    tombstonedAtMs: Number(keyBytes.readBigUInt64BE(0)),
    rowKey: Buffer.from(keyBytes.subarray(GC_TODO_TIME_BYTES)),
    entryHash: Buffer.from(value.subarray(1)),
  };
}

/**
 * Exclusive upper bound of the todo keys due at `nowMs`: every record tombstoned at or before
 * `nowMs - delayMs` sorts below it, every later one at or above it.
 */
export function gcDueBound(nowMs: number, delayMs: number): Buffer {
  const time = Buffer.alloc(GC_TODO_TIME_BYTES);
  time.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(nowMs - delayMs) + 1)));
  return time;
}

/**
 * The records to collect this step, oldest first: at most `limit`, skipping those of partitions
 * that wait for a retry. Records must come in key order (age order); a record not yet due ends
 * the selection, as every later one is younger.
 */
export function selectGcBatch(records: readonly GcTodoRecord[], dueAtMs: number, isWaiting: (partition: number) => boolean, limit: number = GC_LIMITS.gcBatchRowsMax): GcTodoRecord[] {
  const batch: GcTodoRecord[] = [];
  for (const record of records) {
    if (record.tombstonedAtMs > dueAtMs || batch.length >= limit) break;
    if (!isWaiting(partitionOfRowKey(record.rowKey))) batch.push(record);
  }
  return batch;
}

/**
 * Splits records by what this replica holds now: `collect` those whose row is still the recorded
 * tombstone (with its bytes, to send in step A), `drop` the others (row rewritten or gone).
 */
export function checkLocalRows(records: readonly GcTodoRecord[], localRow: (rowKey: Buffer) => Buffer | null, hasher: Hasher): { collect: GcCandidate[]; drop: GcTodoRecord[] } {
  const collect: GcCandidate[] = [];
  const drop: GcTodoRecord[] = [];
  for (const record of records) {
    const bytes = localRow(record.rowKey);
    if (bytes !== null && entryHash(hasher, bytes).equals(record.entryHash)) collect.push({ record, bytes });
    else drop.push(record);
  }
  return { collect, drop };
}

/** Candidates by layout partition: each partition has its own holders and replica actors. */
export function groupGcByPartition<T extends { record: GcTodoRecord }>(items: readonly T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const partition = partitionOfRowKey(item.record.rowKey);
    const group = groups.get(partition);
    if (group) group.push(item);
    else groups.set(partition, [item]);
  }
  return groups;
}

/**
 * Nodes that must take the tombstone and then delete it: every holder of the partition in every
 * live layout version, and this node, which holds a copy even when it is only handing it off.
 * Empty when no layout gives the partition a holder: then nothing can be confirmed.
 */
export function gcTargets(holders: readonly string[], selfId: string): string[] {
  if (holders.length === 0) return [];
  return [...new Set([...holders, selfId])];
}

function checkedTime(timeMs: number): number {
  if (!Number.isSafeInteger(timeMs) || timeMs < 0) throw new RangeError(`GC todo time ${timeMs} is not a non-negative integer of ms`);
  return timeMs;
}

if (GC_LIMITS.gcBatchRowsMax < 1 || GC_LIMITS.gcScanRecordsMax < GC_LIMITS.gcBatchRowsMax) {
  throw new Error('table GC limits: a step must collect at least one row and scan at least a batch');
}
