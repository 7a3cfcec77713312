// Checks shared by the S3 tables' `fromWire`: a field of exact byte length, a bounded integer.
// Each error names its table and field, so a malformed row says where it came from.

/** A byte field of exactly `length` bytes, as a Buffer (msgpack may hand back a Uint8Array). */
export function wireBytes(table: string, raw: unknown, what: string, length: number): Buffer {
  if (!(raw instanceof Uint8Array) || raw.length !== length) throw new Error(`${table}: ${what} must be ${length} bytes`);
  return Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

export function wireInteger(table: string, raw: unknown, what: string, min: number, max: number): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < min || raw > max) throw new Error(`${table}: ${what} must be an integer in ${min}..${max}`);
  return raw;
}
