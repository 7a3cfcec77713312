// Last-writer-wins register: a value and the time it was written. Merge keeps the later write;
// equal timestamps (two nodes writing in the same millisecond) keep the value with the larger
// canonical bytes, so every node picks the same one whatever the order of arrival.
//
// Timestamps are milliseconds from the caller's clock (injected). `lwwUpdate` bumps the stored
// timestamp by at least one, so a write that follows another on the same node wins even if the
// clock went backwards. Across nodes, clock skew decides; tables needing more (object versions)
// order with their own rule (DESIGN section 5).
import { compareValues, integerCodec, malformed, type Codec, type Crdt } from './crdt';

export interface Lww<T> {
  readonly timestamp: number;
  readonly value: T;
}

export function lwwNew<T>(value: T, nowMs: number): Lww<T> {
  return { timestamp: checkedTimestamp(nowMs), value };
}

/** A new value written after `register`: later than it even if the clock is behind. */
export function lwwUpdate<T>(register: Lww<T>, value: T, nowMs: number): Lww<T> {
  return { timestamp: Math.max(checkedTimestamp(nowMs), register.timestamp + 1), value };
}

export function mergeLww<T>(codec: Codec<T>, a: Lww<T>, b: Lww<T>): Lww<T> {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp ? a : b;
  return compareValues(codec, a.value, b.value) >= 0 ? a : b;
}

/** The CRDT of LWW registers holding values of `codec`. Wire form: `[timestamp, value]`. */
export function lwwRegister<T>(codec: Codec<T>): Crdt<Lww<T>> {
  return {
    merge: (a, b) => mergeLww(codec, a, b),
    toWire: (register) => [register.timestamp, codec.toWire(register.value)],
    fromWire(raw) {
      if (!Array.isArray(raw) || raw.length !== 2) throw malformed('LWW register: expected [timestamp, value]');
      return { timestamp: checkedTimestamp(integerCodec.fromWire(raw[0])), value: codec.fromWire(raw[1]) };
    },
  };
}

function checkedTimestamp(timestamp: number): number {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw malformed(`LWW timestamp ${timestamp} is not a non-negative integer`);
  return timestamp;
}
