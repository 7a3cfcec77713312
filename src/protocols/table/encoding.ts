// Canonical msgpack: the same value always gives the same bytes, on every node. Merkle hashes are
// over these bytes, so two replicas holding equal entries must store equal bytes, or anti-entropy
// would resend them forever.
//
// How: one Packr with fixed options (records off: plain maps, no shared structure definitions;
// no extension types), object keys sorted before packing, `undefined` properties dropped, and only
// the value kinds of `WireValue` accepted. msgpackr is pinned in package.json: an upgrade that
// changed its bytes would only cost resyncs (hash mismatches), never data, as merges stay equal.
//
// Stored and wire format of an entry: msgpack of `[formatVersion, wire]`. A schema bumps its
// `formatVersion` when its wire shape changes and gives `migrate` to read older rows.
import { Packr } from 'msgpackr';

import { TableError } from './errors';
import { TABLE_LIMITS } from './limits';
import type { TableSchema } from './schema';

/** What may go on the wire. Maps are plain objects with string keys; binary is a Uint8Array. */
export type WireValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly WireValue[]
  | { readonly [key: string]: WireValue | undefined };

/** Format of an entry when its schema names none. */
export const ENTRY_FORMAT_VERSION_DEFAULT = 1;

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true });

/** Canonical bytes of a wire value. Throws (a bug in a `toWire`) on a value outside WireValue. */
export function encodeCanonical(value: WireValue): Buffer {
  // Copy: msgpackr returns a view into a buffer it reuses; a stored row must not pin that buffer.
  return Buffer.from(packr.pack(canonicalize(value, 0)));
}

/** Decodes msgpack bytes (no trailing bytes allowed). The caller validates the shape. */
export function decodeWire(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new TableError('malformed', `undecodable msgpack: ${(error as Error).message}`);
  }
}

function canonicalize(value: WireValue, depth: number): unknown {
  if (depth > TABLE_LIMITS.wireDepthMax) throw new TableError('too-large', 'wire value nested too deeply');
  if (value === null || typeof value === 'boolean' || typeof value === 'string' || typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`canonical encoding: non-finite number ${value}`);
    return value;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((item: WireValue) => canonicalize(item, depth + 1));
  if (isPlainObject(value)) return canonicalObject(value, depth);
  throw new Error(`canonical encoding: unsupported value ${Object.prototype.toString.call(value)}`);
}

/**
 * Whether a decoded value is a WireValue. msgpack extensions (timestamps decode as Date) are not:
 * a codec taking arbitrary wire values checks with this, so a peer cannot plant a value that the
 * canonical encoder would refuse later.
 */
export function isWireValue(value: unknown, depth = 0): value is WireValue {
  if (depth > TABLE_LIMITS.wireDepthMax) return false;
  if (value === null || typeof value === 'boolean' || typeof value === 'string' || typeof value === 'bigint') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.every((item) => isWireValue(item, depth + 1));
  return isPlainObject(value) && Object.values(value).every((item) => item === undefined || isWireValue(item, depth + 1));
}

function isPlainObject(value: unknown): value is { readonly [key: string]: WireValue | undefined } {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function canonicalObject(value: { readonly [key: string]: WireValue | undefined }, depth: number): Record<string, unknown> {
  const sorted: Record<string, unknown> = {};
  // Sort by UTF-16 code units (the default sort): the same order on every node and engine.
  for (const key of Object.keys(value).sort()) {
    const item = value[key];
    if (item !== undefined) sorted[key] = canonicalize(item, depth + 1);
  }
  return sorted;
}

// ---- entries ----------------------------------------------------------------------------------

export function formatVersionOf(schema: Pick<TableSchema<unknown>, 'formatVersion'>): number {
  return schema.formatVersion ?? ENTRY_FORMAT_VERSION_DEFAULT;
}

/** Stored and wire bytes of an entry: `[formatVersion, wire]`, canonical. */
export function encodeEntry<E>(schema: TableSchema<E>, entry: E): Buffer {
  const bytes = encodeCanonical([formatVersionOf(schema), schema.toWire(entry) as WireValue]);
  if (bytes.length > TABLE_LIMITS.entryBytesMax) {
    throw new TableError('too-large', `${schema.name}: entry of ${bytes.length} bytes exceeds ${TABLE_LIMITS.entryBytesMax}`);
  }
  return bytes;
}

/**
 * An entry from stored or peer bytes. Rows of an older format go through `schema.migrate`; a newer
 * format (a peer running a later version) is refused rather than misread.
 */
export function decodeEntry<E>(schema: TableSchema<E>, bytes: Uint8Array): E {
  if (bytes.length > TABLE_LIMITS.entryBytesMax) throw new TableError('too-large', `${schema.name}: entry of ${bytes.length} bytes`);
  const decoded = decodeWire(bytes);
  if (!Array.isArray(decoded) || decoded.length !== 2) throw new TableError('malformed', `${schema.name}: entry is not [format, wire]`);
  const [version, wire] = decoded as [unknown, unknown];
  return fromWireChecked(schema, migrateWire(schema, version, wire));
}

function migrateWire<E>(schema: TableSchema<E>, version: unknown, wire: unknown): unknown {
  const current = formatVersionOf(schema);
  if (version === current) return wire;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new TableError('malformed', `${schema.name}: bad format version ${String(version)}`);
  }
  if (version > current) throw new TableError('unsupported-format', `${schema.name}: format ${version} is newer than ${current}`);
  if (schema.migrate === undefined) throw new TableError('unsupported-format', `${schema.name}: no migration from format ${version}`);
  return schema.migrate(version, wire);
}

/** `schema.fromWire`, with any error it throws reported as a malformed entry. */
export function fromWireChecked<E>(schema: TableSchema<E>, wire: unknown): E {
  try {
    return schema.fromWire(wire);
  } catch (error) {
    if (error instanceof TableError) throw error;
    throw new TableError('malformed', `${schema.name}: ${(error as Error).message}`);
  }
}
