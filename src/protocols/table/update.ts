// The write path of one replica, minus the I/O: merge an incoming entry into the stored row and
// say what to persist. The partition replica actor reads the old bytes, calls `planUpdate`, and in
// one transaction stores `bytes` under `rowKey`, records `merkleTodoValue(entryHash)` in the todo
// tree, and applies `effects` (each one a `planUpdate` on its target table, recursively).
import { TableError } from './errors';
import { decodeEntry, encodeEntry } from './encoding';
import { entryHash, type Hasher } from './hash';
import { TABLE_LIMITS } from './limits';
import { rowKey, type CounterDelta, type QueuedWrite, type TableEffects, type TableSchema } from './schema';

export interface RowUpdate<E> {
  readonly rowKey: Buffer;
  readonly old: E | null;
  readonly next: E;
  /** Canonical bytes of `next`, to store. */
  readonly bytes: Buffer;
  /** Hash of `bytes`, for the Merkle todo queue. */
  readonly entryHash: Buffer;
  /** Writes the `updated` hook queued, in the order it queued them. */
  readonly effects: readonly QueuedWrite[];
  /** Local counter changes the hook asked for, in order. */
  readonly counters: readonly CounterDelta[];
}

/** Collects what an `updated` hook queues, refusing a runaway cascade. */
export class EffectsCollector implements TableEffects {
  readonly writes: QueuedWrite[] = [];
  readonly counters: CounterDelta[] = [];

  queue(tableName: string, wireEntry: unknown): void {
    if (this.writes.length >= TABLE_LIMITS.effectsPerUpdateMax) {
      throw new TableError('too-large', `an updated hook queued more than ${TABLE_LIMITS.effectsPerUpdateMax} writes`);
    }
    this.writes.push({ table: tableName, entry: wireEntry });
  }

  adjust(counter: string, key: Buffer, delta: number): void {
    if (!Number.isSafeInteger(delta)) throw new TableError('malformed', `counter delta ${delta} must be an integer`);
    if (this.counters.length >= TABLE_LIMITS.effectsPerUpdateMax) {
      throw new TableError('too-large', `an updated hook changed more than ${TABLE_LIMITS.effectsPerUpdateMax} counters`);
    }
    this.counters.push({ counter, key: Buffer.from(key), delta });
  }
}

/**
 * Merges `incoming` into the stored row (`oldBytes`, null if absent). Returns null when the row
 * would not change (same canonical bytes), so a replayed write costs no write, no Merkle work and
 * no hook. `incoming` must belong at the row whose bytes are given: the caller read them at
 * `rowKey(schema, incoming)`. The hook runs only on a change; it sees a row stored in an older
 * format and rewritten in the current one as a change.
 */
export function planUpdate<E>(schema: TableSchema<E>, hasher: Hasher, oldBytes: Uint8Array | null, incoming: E): RowUpdate<E> | null {
  const key = rowKey(schema, incoming);
  const old = oldBytes === null ? null : decodeEntry(schema, oldBytes);
  const next = old === null ? incoming : schema.merge(old, incoming);
  const bytes = encodeEntry(schema, next);
  if (oldBytes !== null && Buffer.from(oldBytes.buffer, oldBytes.byteOffset, oldBytes.byteLength).equals(bytes)) return null;
  const effects = new EffectsCollector();
  schema.updated?.(old, next, effects);
  return { rowKey: key, old, next, bytes, entryHash: entryHash(hasher, bytes), effects: effects.writes, counters: effects.counters };
}
