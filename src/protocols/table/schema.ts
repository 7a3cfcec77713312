// A table is data plus merge: an entry type, its keys, a merge, a tombstone test and an `updated`
// hook. Replication, sync and GC are written once, on top of this interface, and know nothing of
// S3 or K2V.
//
// Keys. `partitionHash = sha256(partitionKey)`; its first byte is the layout partition (256 of
// them); the stored row key is `partitionHash (32 bytes) || sortKey`, so every sort key of one
// partition key is one contiguous, ordered range of rows.
//
// Replication. `sharded`: a row lives on the RF nodes the layout gives its partition. `full`:
// every storage node stores every row (bucket, key and alias tables: small, read locally on every
// request). Full-copy tables use the same row keys, and their partition only splits the Merkle
// tries; their entries have an empty partition key, so all fall in one partition and one trie,
// which the syncer compares with every other node.
import { partitionOf } from '../layout/types';
import { TableError } from './errors';
import { KEY_HASH_BYTES, sha256 } from './hash';
import { TABLE_LIMITS } from './limits';

export type Replication = 'sharded' | 'full';

/** A write the `updated` hook asks for, applied by the caller in the same transaction. */
export interface QueuedWrite {
  /** Name of the target table (may be this table). */
  readonly table: string;
  /** The entry in the target schema's wire form (`toWire`); the caller decodes and merges it. */
  readonly entry: unknown;
}

/** A change to a node-local counter the `updated` hook asks for (block refcounts). */
export interface CounterDelta {
  /** Which counter tree, e.g. `block` for block refcounts. */
  readonly counter: string;
  readonly key: Buffer;
  readonly delta: number;
}

/** Handed to `updated`: the only way a hook acts on the world. */
export interface TableEffects {
  /** A write to another table (or this one), carried out later by a quorum write. */
  queue(tableName: string, wireEntry: unknown): void;
  /**
   * A change to a counter of this node only, in the same transaction. Every replica of the row
   * runs the hook, so each holder counts its own references (Garage's block refcounts).
   */
  adjust(counter: string, key: Buffer, delta: number): void;
}

export interface TableSchema<E> {
  /** Storage tree and actor path segment: lowercase letters, digits and `_`. */
  readonly name: string;
  readonly replication: Replication;
  partitionKey(entry: E): Buffer;
  sortKey(entry: E): Buffer;
  /** Commutative, associative, idempotent (tested per schema). */
  merge(a: E, b: E): E;
  /** A tombstone is kept only until GC has confirmed every replica has it. */
  isTombstone(entry: E): boolean;
  /** Wire form: a value encoding.ts accepts (plain objects, arrays, strings, numbers, bytes). */
  toWire(entry: E): unknown;
  /** Throws on a malformed value (reported as TableError 'malformed'). */
  fromWire(raw: unknown): E;
  /** Current format of the wire form; 1 when absent. Bump it when the wire shape changes. */
  readonly formatVersion?: number;
  /** Turns the wire form of an older format into the current one. */
  migrate?(fromVersion: number, raw: unknown): unknown;
  /** Range reads: whether an entry matches a caller's filter (all match when absent). */
  filter?(entry: E, filter: unknown): boolean;
  /**
   * Runs when a write changes a stored row, in the write's transaction: `old` is null for a new
   * row. It must be deterministic and pure apart from `effects` (cascading deletes go through it).
   */
  updated?(old: E | null, next: E, effects: TableEffects): void;
}

/** Rejects a schema that breaks the rules; call at startup (a failure is a programmer error). */
export function validateSchema(schema: TableSchema<unknown>): void {
  if (!/^[a-z0-9_]+$/.test(schema.name) || schema.name.length > TABLE_LIMITS.tableNameLengthMax) {
    throw new TableError('invalid-schema', `table name ${JSON.stringify(schema.name)} is not [a-z0-9_]{1,${TABLE_LIMITS.tableNameLengthMax}}`);
  }
  if (schema.replication !== 'sharded' && schema.replication !== 'full') {
    throw new TableError('invalid-schema', `${schema.name}: replication must be 'sharded' or 'full'`);
  }
  const format = schema.formatVersion;
  if (format !== undefined && (!Number.isSafeInteger(format) || format < 1)) {
    throw new TableError('invalid-schema', `${schema.name}: formatVersion must be a positive integer`);
  }
}

/** Schemas by name, refusing duplicates: the `updated` hooks address tables by name. */
export function schemaRegistry(schemas: readonly TableSchema<unknown>[]): ReadonlyMap<string, TableSchema<unknown>> {
  const registry = new Map<string, TableSchema<unknown>>();
  for (const schema of schemas) {
    validateSchema(schema);
    if (registry.has(schema.name)) throw new TableError('invalid-schema', `two tables are named ${schema.name}`);
    registry.set(schema.name, schema);
  }
  return registry;
}

// ---- keys -------------------------------------------------------------------------------------

export function partitionHash(partitionKey: Uint8Array): Buffer {
  if (partitionKey.length > TABLE_LIMITS.partitionKeyBytesMax) {
    throw new TableError('too-large', `partition key of ${partitionKey.length} bytes exceeds ${TABLE_LIMITS.partitionKeyBytesMax}`);
  }
  return sha256(partitionKey);
}

/** The layout partition (0..255) of a partition key: the first byte of its hash. */
export function partitionOfKey(partitionKey: Uint8Array): number {
  return partitionOf(partitionHash(partitionKey));
}

/** The layout partition of a stored row: its first byte, which is its partition hash's. */
export function partitionOfRowKey(rowKey: Uint8Array): number {
  if (rowKey.length < KEY_HASH_BYTES) throw new TableError('malformed', `row key of ${rowKey.length} bytes has no partition hash`);
  return rowKey[0]!;
}

export function rowKeyOf(partitionKey: Uint8Array, sortKey: Uint8Array): Buffer {
  if (sortKey.length > TABLE_LIMITS.sortKeyBytesMax) {
    throw new TableError('too-large', `sort key of ${sortKey.length} bytes exceeds ${TABLE_LIMITS.sortKeyBytesMax}`);
  }
  return Buffer.concat([partitionHash(partitionKey), sortKey]);
}

/** The stored key of an entry: `sha256(partitionKey) || sortKey`. */
export function rowKey<E>(schema: TableSchema<E>, entry: E): Buffer {
  return rowKeyOf(schema.partitionKey(entry), schema.sortKey(entry));
}

export function splitRowKey(rowKey: Uint8Array): { partitionHash: Buffer; sortKey: Buffer } {
  partitionOfRowKey(rowKey);
  const bytes = Buffer.from(rowKey.buffer, rowKey.byteOffset, rowKey.byteLength);
  return { partitionHash: bytes.subarray(0, KEY_HASH_BYTES), sortKey: bytes.subarray(KEY_HASH_BYTES) };
}

/** Row keys `[start, end)` of every sort key of one partition key (end null: no upper bound). */
export function partitionKeyRange(partitionKey: Uint8Array): { start: Buffer; end: Buffer | null } {
  const start = partitionHash(partitionKey);
  return { start, end: prefixEnd(start) };
}

/** Row keys `[start, end)` of one layout partition, for a syncer or a hand-off. */
export function partitionRange(partition: number): { start: Buffer; end: Buffer | null } {
  if (!Number.isInteger(partition) || partition < 0 || partition > 255) throw new RangeError(`partition ${partition} not in 0..255`);
  return { start: Buffer.from([partition]), end: partition === 255 ? null : Buffer.from([partition + 1]) };
}

/** The smallest key above every key starting with `prefix`, or null if there is none (all 0xff). */
function prefixEnd(prefix: Buffer): Buffer | null {
  const end = Buffer.from(prefix);
  for (let index = end.length - 1; index >= 0; index -= 1) {
    if (end[index]! < 0xff) {
      end[index] = end[index]! + 1;
      return end.subarray(0, index + 1);
    }
  }
  return null;
}

export function matchesFilter<E>(schema: TableSchema<E>, entry: E, filter: unknown): boolean {
  return filter === undefined || schema.filter === undefined || schema.filter(entry, filter);
}
