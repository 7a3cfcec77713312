// Conditional GET and HEAD (RFC 9110 section 13, formerly RFC 7232; AWS GetObject and HeadObject).
// The preconditions are evaluated in the RFC's order (section 13.2.2), which is what AWS documents:
//   1. If-Match present: false -> 412; true -> skip step 2.
//   2. Else If-Unmodified-Since present: false -> 412.
//   3. If-None-Match present: false (a tag matches) -> 304 for GET and HEAD; true -> skip step 4.
//   4. Else If-Modified-Since present: false (not modified since) -> 304.
// So If-Match true with If-Unmodified-Since false is ok, and If-None-Match false with
// If-Modified-Since true is 304, as AWS says.
//
// Entity tags: a comma-separated list of quoted tags, each maybe weak (`W/"..."`), or `*`.
// If-Match compares strongly (a weak tag never matches), If-None-Match weakly (the W/ is ignored).
// S3 ETags are never weak. Clients that send a tag without quotes are accepted (AWS accepts them).
// Dates: HTTP-date in its three forms; a date that does not parse makes its header ignored (RFC
// 9110). Last-Modified goes out in whole seconds, so both sides are compared in whole seconds.

export interface ConditionHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

export type ConditionResult = 'ok' | 'notModified' | 'preconditionFailed';

/** A header longer than this is not parsed (the HTTP layer bounds headers more tightly). */
const CONDITION_HEADER_LENGTH_MAX = 8192;

export function evaluateConditions(
  headers: ConditionHeaders,
  object: { etag: string; lastModifiedMs: number },
  // GET and HEAD answer a false If-None-Match with 304; other methods would answer 412.
  method: 'GET' | 'HEAD',
): ConditionResult {
  const lastModifiedSeconds = Math.floor(object.lastModifiedMs / 1000);
  if (headers.ifMatch !== undefined) {
    if (!tagListMatches(headers.ifMatch, object.etag, 'strong')) return 'preconditionFailed';
  } else {
    const since = parseHttpDateSeconds(headers.ifUnmodifiedSince);
    if (since !== null && lastModifiedSeconds > since) return 'preconditionFailed';
  }
  const notModified: ConditionResult = method === 'GET' || method === 'HEAD' ? 'notModified' : 'preconditionFailed';
  if (headers.ifNoneMatch !== undefined) {
    if (tagListMatches(headers.ifNoneMatch, object.etag, 'weak')) return notModified;
  } else {
    const since = parseHttpDateSeconds(headers.ifModifiedSince);
    if (since !== null && lastModifiedSeconds <= since) return notModified;
  }
  return 'ok';
}

// ---- entity tags ------------------------------------------------------------------------------

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** The stored ETag without its quotes, if it was stored with them. */
function unquote(tag: string): string {
  return tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"') ? tag.slice(1, -1) : tag;
}

function tagListMatches(header: string, etag: string, comparison: 'strong' | 'weak'): boolean {
  const tags = parseTagList(header);
  if (tags === '*') return true; // the object exists: the caller only evaluates conditions on one
  const current = unquote(etag);
  return tags.some((tag) => tag.opaque === current && (comparison === 'weak' || !tag.weak));
}

/**
 * `*`, or the tags of a list. Quoted tags may contain commas, so the list is scanned, not split;
 * an unquoted item runs to the next comma. An empty list matches nothing.
 */
function parseTagList(header: string): EntityTag[] | '*' {
  const text = header.slice(0, CONDITION_HEADER_LENGTH_MAX).trim();
  if (text === '*') return '*';
  const tags: EntityTag[] = [];
  let index = 0;
  while (index < text.length) {
    while (index < text.length && (text[index] === ',' || text[index] === ' ' || text[index] === '\t')) index += 1;
    if (index >= text.length) break;
    let weak = false;
    if (text.startsWith('W/', index)) {
      weak = true;
      index += 2;
    }
    let end: number;
    if (text[index] === '"') {
      const close = text.indexOf('"', index + 1);
      end = close < 0 ? text.length : close + 1;
      tags.push({ weak, opaque: text.slice(index + 1, close < 0 ? text.length : close) });
    } else {
      const comma = text.indexOf(',', index);
      end = comma < 0 ? text.length : comma;
      tags.push({ weak, opaque: text.slice(index, end).trim() });
    }
    index = end;
  }
  return tags;
}

// ---- HTTP dates -------------------------------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
/** Obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = /^[A-Za-z]+, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
/** Obsolete asctime: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_DATE = /^[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/** Seconds since the epoch of an HTTP-date, or null if absent or not a valid HTTP-date. */
export function parseHttpDateSeconds(value: string | undefined): number | null {
  if (value === undefined || value.length > 64) return null;
  const text = value.trim();
  let match = IMF_FIXDATE.exec(text);
  if (match !== null) return dateSeconds(Number(match[3]), match[2]!, Number(match[1]), match.slice(4, 7));
  match = RFC850_DATE.exec(text);
  if (match !== null) {
    // Two-digit years: RFC 9110 reads one more than 50 years ahead as the past century; without a
    // clock, a fixed pivot does (70-99: 19xx, 00-69: 20xx), as most HTTP libraries.
    const twoDigits = Number(match[3]);
    return dateSeconds(twoDigits >= 70 ? 1900 + twoDigits : 2000 + twoDigits, match[2]!, Number(match[1]), match.slice(4, 7));
  }
  match = ASCTIME_DATE.exec(text);
  if (match !== null) return dateSeconds(Number(match[6]), match[1]!, Number(match[2]!.trim()), match.slice(3, 6));
  return null;
}

function dateSeconds(year: number, monthName: string, day: number, time: string[]): number | null {
  const month = MONTHS.indexOf(monthName);
  const [hour, minute, second] = time.map(Number) as [number, number, number];
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March: refuse a day the month does not have.
  if (new Date(ms).getUTCDate() !== day) return null;
  return Math.floor(ms / 1000);
}
