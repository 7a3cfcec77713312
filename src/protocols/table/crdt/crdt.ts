// What every CRDT of the table core offers: a merge that is commutative, associative and
// idempotent, and a canonical wire form (the stored bytes, and so the Merkle hashes, come from it).
// CRDTs compose: a map of LWW registers, a deletable map of booleans, each built from its parts.
import { TableError } from '../errors';
import { encodeCanonical, isWireValue, type WireValue } from '../encoding';

/** A plain value's wire form. `fromWire` throws TableError 'malformed' on a bad value. */
export interface Codec<T> {
  toWire(value: T): WireValue;
  fromWire(raw: unknown): T;
}

export interface Crdt<T> extends Codec<T> {
  merge(a: T, b: T): T;
}

export function malformed(what: string): TableError {
  return new TableError('malformed', what);
}

/** Canonical bytes of a value: equal values, equal bytes. */
export function encodeValue<T>(codec: Codec<T>, value: T): Buffer {
  return encodeCanonical(codec.toWire(value));
}

export function valuesEqual<T>(codec: Codec<T>, a: T, b: T): boolean {
  return encodeValue(codec, a).equals(encodeValue(codec, b));
}

/** Orders values by their canonical bytes: a total order every node agrees on (LWW tie-break). */
export function compareValues<T>(codec: Codec<T>, a: T, b: T): number {
  return Buffer.compare(encodeValue(codec, a), encodeValue(codec, b));
}

/** Map keys in one order on every node: UTF-16 code units. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedKeys(map: ReadonlyMap<string, unknown>): string[] {
  return [...map.keys()].sort(compareKeys);
}

// ---- codecs of plain values -------------------------------------------------------------------

export const stringCodec: Codec<string> = {
  toWire: (value) => value,
  fromWire(raw) {
    if (typeof raw !== 'string') throw malformed('expected a string');
    return raw;
  },
};

export const bytesCodec: Codec<Buffer> = {
  toWire: (value) => value,
  fromWire(raw) {
    if (!(raw instanceof Uint8Array)) throw malformed('expected bytes');
    return Buffer.from(raw);
  },
};

/** Safe integers only: what timestamps, sizes and counters are. */
export const integerCodec: Codec<number> = {
  toWire: (value) => value,
  fromWire(raw) {
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) throw malformed('expected a safe integer');
    return raw;
  },
};

export const booleanCodec: Codec<boolean> = {
  toWire: (value) => value,
  fromWire(raw) {
    if (typeof raw !== 'boolean') throw malformed('expected a boolean');
    return raw;
  },
};

/** Any wire value as is (for values whose shape another layer checks). */
export const wireValueCodec: Codec<WireValue> = {
  toWire: (value) => value,
  fromWire(raw) {
    if (!isWireValue(raw)) throw malformed('not a wire value');
    return raw;
  },
};

export function nullableCodec<T>(inner: Codec<T>): Codec<T | null> {
  return {
    toWire: (value) => (value === null ? null : [inner.toWire(value)]),
    fromWire(raw) {
      if (raw === null) return null;
      if (!Array.isArray(raw) || raw.length !== 1) throw malformed('expected null or [value]');
      return inner.fromWire(raw[0]);
    },
  };
}
