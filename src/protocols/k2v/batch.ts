// K2V's JSON requests and answers (InsertBatch, ReadBatch, DeleteBatch), checked field by field,
// and the sort-key bounds of a search. Pure: the gateway reads the body and runs the searches.
import { decodeCausalityToken, encodeCausalityToken, type CausalContext } from './causality';
import { K2vError } from './errors';
import { causalContextOf, isK2vTombstone, valuesOf, type K2vItem, type K2vValue } from './item';
import { K2V_LIMITS } from './limits';

export interface InsertBatchItem {
  partitionKey: string;
  sortKey: string;
  context: CausalContext | null;
  value: K2vValue;
}

export interface Search {
  partitionKey: string;
  prefix: string | null;
  start: string | null;
  end: string | null;
  limit: number | null;
  reverse: boolean;
  singleItem: boolean;
  conflictsOnly: boolean;
  tombstones: boolean;
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new K2vError('InvalidJson', `the request body is not JSON: ${(error as Error).message}`);
  }
}

/** Strict base64 (standard or URL-safe alphabet): a typo is an error, not silently other bytes. */
export function decodeBase64(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) throw new K2vError('InvalidBase64', `${what} is not base64`);
  const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length > K2V_LIMITS.valueBytesMax) throw new K2vError('PayloadTooLarge', `${what} is over ${K2V_LIMITS.valueBytesMax} bytes`);
  return bytes;
}

function list(json: unknown, what: string): unknown[] {
  if (!Array.isArray(json)) throw new K2vError('InvalidJson', `${what}: the body must be a JSON array`);
  if (json.length > K2V_LIMITS.batchItemsMax) throw new K2vError('BatchTooLarge', `${what}: at most ${K2V_LIMITS.batchItemsMax} entries in one request, got ${json.length}`);
  return json;
}

function key(value: unknown, field: string, index: number, bytesMax: number): string {
  if (typeof value !== 'string') throw new K2vError('InvalidJson', `entry ${index}: ${field} must be a string`);
  if (Buffer.byteLength(value) > bytesMax) throw new K2vError('KeyTooLong', `entry ${index}: ${field} is over ${bytesMax} bytes`);
  return value;
}

function optionalString(value: unknown, field: string, index: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new K2vError('InvalidJson', `search ${index}: ${field} must be a string or null`);
  return value;
}

function flag(value: unknown, field: string, index: number): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new K2vError('InvalidJson', `search ${index}: ${field} must be true or false`);
  return value;
}

export function parseInsertBatch(json: unknown): InsertBatchItem[] {
  return list(json, 'InsertBatch').map((raw, index) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new K2vError('InvalidJson', `entry ${index}: { pk, sk, ct, v } expected`);
    const item = raw as Record<string, unknown>;
    const token = item.ct;
    if (token !== undefined && token !== null && typeof token !== 'string') throw new K2vError('InvalidJson', `entry ${index}: ct must be a causality token or null`);
    const value = item.v;
    if (value !== null && typeof value !== 'string') throw new K2vError('InvalidJson', `entry ${index}: v must be a base64 string or null`);
    return {
      partitionKey: key(item.pk, 'pk', index, K2V_LIMITS.partitionKeyBytesMax),
      sortKey: key(item.sk, 'sk', index, K2V_LIMITS.sortKeyBytesMax),
      context: typeof token === 'string' ? decodeCausalityToken(token) : null,
      value: value === null ? null : decodeBase64(value, `entry ${index}: v`),
    };
  });
}

/** ReadBatch searches; DeleteBatch's take only partitionKey, prefix, start, end and singleItem. */
export function parseSearches(json: unknown, forDelete: boolean): Search[] {
  return list(json, forDelete ? 'DeleteBatch' : 'ReadBatch').map((raw, index) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new K2vError('InvalidJson', `search ${index}: an object with partitionKey expected`);
    const search = raw as Record<string, unknown>;
    if (forDelete) {
      for (const field of ['limit', 'reverse', 'conflictsOnly', 'tombstones']) {
        if (search[field] !== undefined && search[field] !== null && search[field] !== false) throw new K2vError('InvalidRequest', `search ${index}: DeleteBatch does not take ${field}`);
      }
    }
    const limit = search.limit;
    if (limit !== undefined && limit !== null && (!Number.isSafeInteger(limit) || (limit as number) < 0)) throw new K2vError('InvalidJson', `search ${index}: limit must be a non-negative integer or null`);
    const parsed: Search = {
      partitionKey: key(search.partitionKey, 'partitionKey', index, K2V_LIMITS.partitionKeyBytesMax),
      prefix: optionalString(search.prefix, 'prefix', index),
      start: optionalString(search.start, 'start', index),
      end: optionalString(search.end, 'end', index),
      limit: typeof limit === 'number' ? limit : null,
      reverse: flag(search.reverse, 'reverse', index),
      singleItem: flag(search.singleItem, 'singleItem', index),
      conflictsOnly: flag(search.conflictsOnly, 'conflictsOnly', index),
      tombstones: flag(search.tombstones, 'tombstones', index),
    };
    if (parsed.singleItem && parsed.start === null) throw new K2vError('InvalidRequest', `search ${index}: singleItem needs start (the sort key to read)`);
    return parsed;
  });
}

/** Sort-key bounds of a search for the table's [start, end) range reads, in its direction. */
export function searchBounds(search: Search): { start: Buffer | null; end: Buffer | null } {
  const bytes = (text: string | null): Buffer | null => (text === null ? null : Buffer.from(text, 'utf8'));
  if (search.singleItem) return { start: bytes(search.start), end: keyAfter(bytes(search.start)!) };
  const prefix = bytes(search.prefix);
  const prefixEnd = prefix === null ? null : prefixUpperBound(prefix);
  // Forward: [start, end). Reverse: start is the highest key listed, end the excluded lowest.
  let [low, high] = search.reverse ? [search.end === null ? null : keyAfter(bytes(search.end)!), search.start === null ? null : keyAfter(bytes(search.start)!)] : [bytes(search.start), bytes(search.end)];
  if (prefix !== null && (low === null || Buffer.compare(low, prefix) < 0)) low = prefix;
  if (prefixEnd !== null && (high === null || Buffer.compare(high, prefixEnd) > 0)) high = prefixEnd;
  return { start: low, end: high };
}

/** Whether a read item goes into a search's answer. */
export function searchKeeps(search: Search, item: K2vItem): boolean {
  if (!search.tombstones && isK2vTombstone(item)) return false;
  if (search.conflictsOnly && valuesOf(item).length < 2) return false;
  return true;
}

/** An item as ReadBatch lists it: { sk, ct, v: [base64 | null, ...] }. */
export function itemJson(item: K2vItem): { sk: string; ct: string; v: (string | null)[] } {
  return { sk: item.sortKey, ct: encodeCausalityToken(causalContextOf(item)), v: valuesOf(item).map((value) => (value === null ? null : value.toString('base64'))) };
}

/** The search as answered (the spec repeats its parameters). */
export function searchJson(search: Search): Record<string, unknown> {
  const { partitionKey, prefix, start, end, limit, reverse, conflictsOnly, tombstones, singleItem } = search;
  return { partitionKey, prefix, start, end, limit, reverse, conflictsOnly, tombstones, singleItem };
}

export interface PollRangeRequest {
  search: Search;
  timeoutSeconds: number;
  /** What the caller saw (node -> latest time), or null on its first call. */
  seen: CausalContext | null;
}

/** PollRange's body: { prefix, start, end, timeout, seenMarker }, all optional. */
export function parsePollRange(json: unknown, partitionKey: string): PollRangeRequest {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new K2vError('InvalidJson', 'PollRange: the body must be a JSON object');
  const body = json as Record<string, unknown>;
  const timeout = body.timeout ?? K2V_LIMITS.pollTimeoutDefaultSeconds;
  if (!Number.isSafeInteger(timeout) || (timeout as number) < 1) throw new K2vError('InvalidJson', 'PollRange: timeout must be a number of seconds');
  const marker = body.seenMarker;
  if (marker !== undefined && marker !== null && typeof marker !== 'string') throw new K2vError('InvalidJson', 'PollRange: seenMarker must be a string or null');
  const search: Search = {
    partitionKey,
    prefix: optionalString(body.prefix, 'prefix', 0),
    start: optionalString(body.start, 'start', 0),
    end: optionalString(body.end, 'end', 0),
    limit: null,
    reverse: false,
    singleItem: false,
    conflictsOnly: false,
    tombstones: true,
  };
  return { search, timeoutSeconds: Math.min(timeout as number, K2V_LIMITS.pollTimeoutMaxSeconds), seen: typeof marker === 'string' ? decodeCausalityToken(marker) : null };
}

/** ReadIndex's query: the same bounds as a search, over partition keys. */
export function parseIndexQuery(query: ReadonlyMap<string, string>): Search {
  const limitText = query.get('limit');
  if (limitText !== undefined && !/^\d+$/.test(limitText)) throw new K2vError('InvalidArgument', `limit must be a non-negative integer, got ${JSON.stringify(limitText)}`);
  const reverse = query.get('reverse');
  if (reverse !== undefined && reverse !== 'true' && reverse !== 'false') throw new K2vError('InvalidArgument', 'reverse must be true or false');
  return {
    partitionKey: '',
    prefix: query.get('prefix') ?? null,
    start: query.get('start') ?? null,
    end: query.get('end') ?? null,
    limit: limitText === undefined ? null : Number(limitText),
    reverse: reverse === 'true',
    singleItem: false,
    conflictsOnly: false,
    tombstones: false,
  };
}

function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

/** The first key after every key starting with `prefix`; null if there is none (all 0xff). */
export function prefixUpperBound(prefix: Buffer): Buffer | null {
  const bytes = Buffer.from(prefix);
  for (let index = bytes.length - 1; index >= 0; index--) {
    if (bytes[index]! < 0xff) {
      bytes[index]!++;
      return bytes.subarray(0, index + 1);
    }
  }
  return null;
}
