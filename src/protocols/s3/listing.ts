// ListObjects (v1) and ListObjectsV2 over the object table, without I/O: the caller injects a page
// fetcher over the bucket's rows (a quorum range read), this core decides what to list.
//
// Order is the byte order of UTF-8 keys (the table's sort key order, and AWS's), never JS string
// order, which differs above U+FFFF. With a delimiter, the keys whose remainder after the prefix
// contains it roll up into one common prefix (`prefix` + remainder up to and including the first
// delimiter); a common prefix counts once towards maxKeys, and the scan jumps past all its keys at
// once (one fetch from the prefix's byte-wise successor), however many there are.
//
// Start. Listing starts strictly after `startAfter` (v1 Marker, v2 StartAfter or the decoded
// continuation token). When `startAfter` is itself a common prefix (the nextMarker of a page that
// ended on one), the listing starts after every key under it, so it is not listed twice. As in
// Garage, a `startAfter` inside a common prefix that is not the prefix itself lists that common
// prefix again if keys after `startAfter` roll up into it.
//
// Truncation is exact: isTruncated is true only when something is left to list (the scan reads one
// item past the page to know). maxKeys = 0 lists nothing and is not truncated, as AWS answers.
// Work is bounded: at most LIST_FETCHES_MAX fetches per call; past that the page ends early,
// truncated, with nextMarker at the scan position (AWS allows short pages).
import { S3Error } from './errors';
import { currentVersion, type ObjectVersion, type S3Object } from './object';

export interface ListQuery {
  prefix: string;
  /** Any non-empty string, or null for no roll-up. */
  delimiter: string | null;
  /** Exclusive. */
  startAfter: string | null;
  /** 0..LIST_KEYS_MAX. */
  maxKeys: number;
}

export interface ListedObject {
  key: string;
  /** The current version: complete, not a delete marker. */
  version: ObjectVersion;
}

export interface ListResult {
  objects: ListedObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** When truncated: the last key or common prefix returned (the next page's startAfter). */
  nextMarker: string | null;
}

/**
 * `fetchPage(startInclusive, limit)`: rows with sort key >= start, ascending by bytes, at most
 * `limit`, and fewer only when the range has no more rows (a short page ends the listing).
 */
export type FetchPage = (startInclusive: Buffer, limit: number) => Promise<S3Object[]>;

/** AWS: a page lists at most 1000 keys and common prefixes. */
export const LIST_KEYS_MAX = 1000;
/** Rows one fetch asks for at most. */
export const LIST_FETCH_ROWS_MAX = 1000;
/** Rows asked for beyond what the page still needs: some rows have no current version. */
export const LIST_FETCH_SLACK = 16;
/** Fetches one call makes at most: a bucket full of deleted keys cannot hold a request forever. */
export const LIST_FETCHES_MAX = 64;

interface Scan {
  readonly query: ListQuery;
  readonly prefixBytes: Buffer;
  result: ListResult;
  /** Where the next fetch starts (inclusive); null when nothing can follow. */
  cursor: Buffer | null;
  /** The last position consumed, as a startAfter: a key, or a common prefix skipped whole. */
  position: string | null;
  /** The last key or common prefix listed. */
  lastListed: string | null;
  count: number;
  done: boolean;
}

export async function listObjects(query: ListQuery, fetchPage: FetchPage): Promise<ListResult> {
  checkQuery(query);
  const scan: Scan = {
    query,
    prefixBytes: Buffer.from(query.prefix, 'utf8'),
    result: { objects: [], commonPrefixes: [], isTruncated: false, nextMarker: null },
    cursor: startCursor(query),
    position: query.startAfter,
    lastListed: null,
    count: 0,
    done: query.maxKeys === 0,
  };
  for (let fetches = 0; !scan.done && scan.cursor !== null; fetches += 1) {
    // Out of budget with something maybe left: a short page, resumed from where the scan is. Only
    // once the position moved, or the next page would start where this one did.
    if (fetches >= LIST_FETCHES_MAX && scan.position !== query.startAfter) {
      scan.result.isTruncated = true;
      scan.result.nextMarker = scan.position;
      break;
    }
    const limit = Math.min(LIST_FETCH_ROWS_MAX, query.maxKeys - scan.count + 1 + LIST_FETCH_SLACK);
    const cursor = scan.cursor;
    const page = await fetchPage(cursor, limit);
    for (const entry of page) {
      if (scan.done || scan.cursor === null) break;
      consume(scan, entry);
    }
    if (page.length < limit) break; // the table has no more rows
    // A page that only found the listing full (its first row was one too many) ends the loop above.
    if (!scan.done && scan.cursor !== null && Buffer.compare(scan.cursor, cursor) <= 0) throw new Error('listObjects: a page did not advance the scan');
  }
  return scan.result;
}

function checkQuery(query: ListQuery): void {
  if (!Number.isSafeInteger(query.maxKeys) || query.maxKeys < 0 || query.maxKeys > LIST_KEYS_MAX) {
    throw new S3Error('InvalidArgument', `max-keys must be an integer in 0..${LIST_KEYS_MAX}`, { ArgumentName: 'max-keys' });
  }
  if (query.delimiter === '') throw new S3Error('InvalidArgument', 'delimiter must not be empty', { ArgumentName: 'delimiter' });
  // A lone surrogate has no UTF-8 form: string and byte comparisons would disagree about it.
  for (const [name, value] of [['prefix', query.prefix], ['delimiter', query.delimiter], ['start-after', query.startAfter]] as const) {
    if (value !== null && Buffer.from(value, 'utf8').toString('utf8') !== value) {
      throw new S3Error('InvalidArgument', `${name} must be valid Unicode`, { ArgumentName: name });
    }
  }
}

/** The first row key that may be listed: the prefix, or just after startAfter if that is later. */
function startCursor(query: ListQuery): Buffer | null {
  const prefixBytes = Buffer.from(query.prefix, 'utf8');
  if (query.startAfter === null) return prefixBytes;
  const commonPrefix = commonPrefixOf(query, query.startAfter);
  const after = commonPrefix === query.startAfter ? bytesSuccessor(Buffer.from(commonPrefix, 'utf8')) : keySuccessor(Buffer.from(query.startAfter, 'utf8'));
  if (after === null) return null;
  return Buffer.compare(after, prefixBytes) > 0 ? after : prefixBytes;
}

/** One row of a page, in order: list it, roll it up, skip it, or stop. */
function consume(scan: Scan, entry: S3Object): void {
  const keyBytes = Buffer.from(entry.key, 'utf8');
  if (Buffer.compare(keyBytes, scan.cursor!) < 0) return; // already passed (a common prefix's key)
  if (!keyBytes.subarray(0, scan.prefixBytes.length).equals(scan.prefixBytes)) {
    scan.done = true; // past the prefix: nothing later can match
    return;
  }
  const version = currentVersion(entry);
  if (version === null) {
    scan.cursor = keySuccessor(keyBytes);
    // Not a key that is its own common prefix (`a/` with delimiter `/`): as a startAfter it would
    // skip the keys under it, which roll up into a common prefix not listed yet. The position then
    // lags behind the cursor, and a resumed listing reads a few rows again.
    if (commonPrefixOf(scan.query, entry.key) !== entry.key) scan.position = entry.key;
    return;
  }
  const commonPrefix = commonPrefixOf(scan.query, entry.key);
  if (scan.count === scan.query.maxKeys) {
    // Something is left to list: the page is full and truncated. The marker is the last item
    // listed (what AWS's NextMarker is), not the scan position: rows skipped since are re-read.
    scan.result.isTruncated = true;
    scan.result.nextMarker = scan.lastListed;
    scan.done = true;
    return;
  }
  scan.count += 1;
  if (commonPrefix === null) {
    scan.result.objects.push({ key: entry.key, version });
    scan.cursor = keySuccessor(keyBytes);
    scan.position = entry.key;
    scan.lastListed = entry.key;
  } else {
    scan.result.commonPrefixes.push(commonPrefix);
    scan.cursor = bytesSuccessor(Buffer.from(commonPrefix, 'utf8'));
    scan.position = commonPrefix;
    scan.lastListed = commonPrefix;
  }
}

/** The common prefix a key rolls up into, or null (no delimiter, outside the prefix, none after it). */
export function commonPrefixOf(query: Pick<ListQuery, 'prefix' | 'delimiter'>, key: string): string | null {
  if (query.delimiter === null || !key.startsWith(query.prefix)) return null;
  const index = key.indexOf(query.delimiter, query.prefix.length);
  return index < 0 ? null : key.slice(0, index + query.delimiter.length);
}

/** The smallest byte string after `key`: `key` followed by a zero byte. */
function keySuccessor(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.alloc(1)]);
}

/**
 * The smallest byte string after every string that starts with `prefix`: the prefix with its last
 * byte below 0xff incremented and the rest cut. Null when there is none (all 0xff, or empty).
 */
export function bytesSuccessor(prefix: Buffer): Buffer | null {
  for (let index = prefix.length - 1; index >= 0; index -= 1) {
    if (prefix[index]! < 0xff) {
      const successor = Buffer.from(prefix.subarray(0, index + 1));
      successor[index] = successor[index]! + 1;
      return successor;
    }
  }
  return null;
}
