// The Range header of GET and HEAD (RFC 9110 section 14, AWS GetObject): one byte range, or the
// whole object.
//
// What is ignored (null: serve the whole object with 200): an absent header, a unit other than
// `bytes`, a syntactically invalid range (`bytes=5-2`, `bytes=-`, `bytes=a-b`), and a list of
// several ranges. AWS GetObject "doesn't support retrieving multiple ranges of data per GET
// request" and answers such a request with the whole object, and RFC 9110 lets a server ignore a
// Range header it does not support; doing the same for an invalid one keeps clients that send
// odd headers working rather than failing them.
//
// What fails (416 InvalidRange): a well-formed range no byte of the object satisfies: a first byte
// at or past the end, a suffix of zero bytes, or any range of an empty object.
import { S3Error } from './errors';

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** `bytes=first-last`, `bytes=first-`, `bytes=-suffix`; whitespace around the parts allowed. */
const SINGLE_RANGE = /^bytes=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*$/i;

export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const match = SINGLE_RANGE.exec(header.trim());
  if (match === null) return null; // another unit, a list of ranges, or garbage
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  // Digits only, so Number() never fails; a huge value becomes a huge (or infinite) number, which
  // compares as it should.
  if (first === '') return suffixRange(header, Number(last), size);
  const start = Number(first);
  const end = last === '' ? Infinity : Number(last);
  if (end < start) return null; // invalid (RFC 9110 section 14.1.1): ignored
  if (start >= size) throw unsatisfiable(header, size);
  return { start, end: Math.min(end, size - 1) };
}

/** The last `length` bytes; more than the object means all of it. */
function suffixRange(header: string, length: number, size: number): ByteRange {
  if (length === 0 || size === 0) throw unsatisfiable(header, size);
  return { start: Math.max(0, size - length), end: size - 1 };
}

function unsatisfiable(header: string, size: number): S3Error {
  return new S3Error('InvalidRange', undefined, { RangeRequested: header, ActualObjectSize: String(size) });
}

/** The Content-Range header of a 206 answer. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}
