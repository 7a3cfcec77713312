// K2V operations over the k2v_item table. A write reads the item from a quorum first, so the value
// it adds is stamped after every value this node wrote before (DVVS, protocols/k2v/item.ts), then
// writes only its change (what the client's token supersedes, and the new value): replicas merge.
import { decodeCausalityToken, encodeCausalityToken, k2vNodeId, type CausalContext } from '../../../protocols/k2v/causality';
import { K2vError } from '../../../protocols/k2v/errors';
import { causalContextOf, isK2vTombstone, itemWrite, K2V_INDEX_COUNTERS, k2vItemSchema, k2vPartitionKey, latestTimeOf, valuesOf, type K2vItem, type K2vValue } from '../../../protocols/k2v/item';
import { K2V_LIMITS } from '../../../protocols/k2v/limits';
import { itemJson, parseIndexQuery, parseInsertBatch, parseJson, parsePollRange, parseSearches, prefixUpperBound, searchBounds, searchJson, searchKeeps, type Search } from '../../../protocols/k2v/batch';
import { TABLE_CLIENT_RANGE_LIMIT_MAX } from '../../table/client';
import type { BucketPermissions } from '../s3/services';
import type { K2vOperation } from '../../../protocols/k2v/router';
import type { K2vHandler, K2vRequest, K2vResponse } from './pipeline';

const TOKEN_HEADER = 'x-garage-causality-token';
/** How often a PollItem re-reads its item while it waits. */
export const K2V_POLL_INTERVAL_MS = 250;
/** Items of one batch read or written at once. */
const BATCH_CONCURRENCY = 8;

async function bucketOf(request: K2vRequest, needs: keyof BucketPermissions): Promise<Buffer> {
  const name = request.route.bucket;
  const bucketId = await request.catalog.resolveBucket(request.accessKeyId, name);
  if (bucketId === null) throw new K2vError('NoSuchBucket', `no bucket ${name}`);
  const permissions = await request.catalog.permissionsOf(request.accessKeyId, bucketId);
  if (!permissions[needs]) throw new K2vError('AccessDenied', `key ${request.accessKeyId} has no ${needs} permission on bucket ${name}`);
  return bucketId;
}

function readItemRow(request: K2vRequest, bucketId: Buffer, partitionKey: string, sortKey: string): Promise<K2vItem | null> {
  return request.services.tables.get(k2vItemSchema, k2vPartitionKey(bucketId, partitionKey), Buffer.from(sortKey, 'utf8'));
}

/** Reads the item, then writes `value` superseding what `context` saw. */
async function writeItem(request: K2vRequest, bucketId: Buffer, partitionKey: string, sortKey: string, context: CausalContext, value: K2vValue): Promise<K2vItem> {
  const { services } = request;
  const self = k2vNodeId(services.nodeId);
  const current = await readItemRow(request, bucketId, partitionKey, sortKey);
  const { item, time } = itemWrite({ bucketId, partitionKey, sortKey }, self, context, value, Math.max(latestTimeOf(current, self), services.lastTime), services.nowMs());
  services.lastTime = Math.max(services.lastTime, time);
  return item;
}

function tokenOf(request: K2vRequest, required: boolean): CausalContext {
  const header = request.http.headers[TOKEN_HEADER];
  const token = Array.isArray(header) ? header[0] : header;
  if (token === undefined) {
    if (required) throw new K2vError('InvalidRequest', `${request.route.operation} needs the ${TOKEN_HEADER} header (the token of a read)`);
    return new Map();
  }
  return decodeCausalityToken(token);
}

function sortKeyOf(request: K2vRequest): string {
  return request.route.query.get('sort_key')!;
}

// ---- single items ------------------------------------------------------------------------------

const insertItem: K2vHandler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  const context = tokenOf(request, false);
  const value = await request.body(K2V_LIMITS.valueBytesMax);
  const item = await writeItem(request, bucketId, request.route.partitionKey!, sortKeyOf(request), context, value);
  await request.services.tables.insert(k2vItemSchema, [item]);
  return { status: 204 };
};

const deleteItem: K2vHandler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  const context = tokenOf(request, true);
  const item = await writeItem(request, bucketId, request.route.partitionKey!, sortKeyOf(request), context, null);
  await request.services.tables.insert(k2vItemSchema, [item]);
  return { status: 204 };
};

const readItem: K2vHandler = async (request) => {
  const bucketId = await bucketOf(request, 'read');
  const format = answerFormat(request.http.headers.accept);
  const item = await readItemRow(request, bucketId, request.route.partitionKey!, sortKeyOf(request));
  return itemResponse(item, format);
};

const pollItem: K2vHandler = async (request) => {
  const bucketId = await bucketOf(request, 'read');
  const format = answerFormat(request.http.headers.accept);
  const seen = decodeCausalityToken(request.route.query.get('causality_token')!);
  const timeoutSeconds = pollTimeoutOf(request.route.query.get('timeout'));
  const deadline = request.services.nowMs() + timeoutSeconds * 1000;
  for (;;) {
    const item = await readItemRow(request, bucketId, request.route.partitionKey!, sortKeyOf(request));
    if (item !== null && isNewer(causalContextOf(item), seen)) return itemResponse(item, format);
    const left = deadline - request.services.nowMs();
    if (left <= 0 || clientGone(request)) return { status: 304 };
    await new Promise((resolve) => setTimeout(resolve, Math.min(K2V_POLL_INTERVAL_MS, left)));
  }
};

/** The client hung up: a poll stops waiting. (The request itself ends once its body is read.) */
function clientGone(request: K2vRequest): boolean {
  return request.http.socket === null || request.http.socket.destroyed;
}

/** Some node wrote after what the token saw. */
function isNewer(context: CausalContext, seen: CausalContext): boolean {
  for (const [node, time] of context) if (time > (seen.get(node) ?? 0)) return true;
  return false;
}

function pollTimeoutOf(text: string | undefined): number {
  if (text === undefined) return K2V_LIMITS.pollTimeoutDefaultSeconds;
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || seconds < 1) throw new K2vError('InvalidArgument', `timeout must be a number of seconds, got ${JSON.stringify(text)}`);
  return Math.min(seconds, K2V_LIMITS.pollTimeoutMaxSeconds);
}

type AnswerFormat = 'json' | 'binary' | 'binary-or-json';

/** The spec's choice between a JSON list and the raw value, from the Accept header. */
function answerFormat(accept: string | undefined): AnswerFormat {
  if (accept === undefined) return 'json';
  const types = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  const json = types.includes('application/json') || types.includes('*/*') || types.includes('application/*');
  const binary = types.includes('application/octet-stream');
  if (json && binary) return 'binary-or-json';
  if (json) return 'json';
  if (binary) return 'binary';
  throw new K2vError('NotAcceptable', 'Accept must include application/json or application/octet-stream');
}

function itemResponse(item: K2vItem | null, format: AnswerFormat): K2vResponse {
  if (item === null || item.nodes.size === 0) throw new K2vError('NoSuchKey', 'no such item');
  const values = valuesOf(item);
  const headers: [string, string][] = [[TOKEN_HEADER, encodeCausalityToken(causalContextOf(item))]];
  if (values.length === 0) throw new K2vError('NoSuchKey', 'no such item');
  if (format !== 'json' && values.length === 1) {
    const value = values[0]!;
    headers.push(['content-type', 'application/octet-stream']);
    return value === null ? { status: 204, headers } : { status: 200, headers, body: value };
  }
  if (format === 'binary') return { status: 409, headers: [...headers, ['content-type', 'application/octet-stream']] };
  return { status: 200, headers, body: values.map((value) => (value === null ? null : value.toString('base64'))) };
}

// ---- batches -----------------------------------------------------------------------------------

const insertBatch: K2vHandler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  const items = parseInsertBatch(parseJson(await request.body(K2V_LIMITS.batchBodyBytesMax)));
  const writes = await mapLimited(items, (item) => writeItem(request, bucketId, item.partitionKey, item.sortKey, item.context ?? new Map(), item.value));
  await request.services.tables.insert(k2vItemSchema, writes);
  return { status: 204 };
};

const readBatch: K2vHandler = async (request) => {
  const bucketId = await bucketOf(request, 'read');
  const searches = parseSearches(parseJson(await request.body(K2V_LIMITS.batchBodyBytesMax)), false);
  const answers = await mapLimited(searches, async (search) => {
    const { items, more, nextStart } = await runSearch(request, bucketId, search);
    return { ...searchJson(search), items: items.map(itemJson), more, nextStart };
  });
  return { status: 200, body: answers };
};

const deleteBatch: K2vHandler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  const searches = parseSearches(parseJson(await request.body(K2V_LIMITS.batchBodyBytesMax)), true);
  const answers = [];
  for (const search of searches) {
    let deletedItems = 0;
    // Page by page: each page's items get tombstones superseding what was read of them.
    for (let from: Search = search; ; ) {
      const { items, more, nextStart } = await runSearch(request, bucketId, from);
      const tombstones = await mapLimited(items, (item) => writeItem(request, bucketId, item.partitionKey, item.sortKey, causalContextOf(item), null));
      await request.services.tables.insert(k2vItemSchema, tombstones);
      deletedItems += items.length;
      if (!more || nextStart === null) break;
      from = { ...from, start: nextStart };
    }
    const { partitionKey, prefix, start, end, singleItem } = search;
    answers.push({ partitionKey, prefix, start, end, singleItem, deletedItems });
  }
  return { status: 200, body: answers };
};

/**
 * The items of a search, at most its limit (and K2V_LIMITS.searchItemsMax), read page by page
 * since filters may drop rows; `nextStart` is the first item kept past the limit.
 */
async function runSearch(request: K2vRequest, bucketId: Buffer, search: Search): Promise<{ items: K2vItem[]; more: boolean; nextStart: string | null }> {
  const wanted = Math.min(search.limit ?? K2V_LIMITS.searchItemsMax, K2V_LIMITS.searchItemsMax);
  const partitionKey = k2vPartitionKey(bucketId, search.partitionKey);
  let { start, end } = searchBounds(search);
  const kept: K2vItem[] = [];
  for (;;) {
    const page = await request.services.tables.range(k2vItemSchema, partitionKey, { start, end, limit: TABLE_CLIENT_RANGE_LIMIT_MAX, reverse: search.reverse });
    for (const item of page) {
      if (!searchKeeps(search, item)) continue;
      if (kept.length === wanted) return { items: kept, more: true, nextStart: item.sortKey };
      kept.push(item);
    }
    if (page.length < TABLE_CLIENT_RANGE_LIMIT_MAX || search.singleItem) return { items: kept, more: false, nextStart: null };
    const last = Buffer.from(page.at(-1)!.sortKey, 'utf8');
    if (search.reverse) end = last;
    else start = Buffer.concat([last, Buffer.from([0])]);
  }
}

async function mapLimited<T, R>(items: readonly T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) results[index] = await run(items[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, items.length) }, lane));
  return results;
}

const readIndex: K2vHandler = async (request) => {
  const bucketId = await bucketOf(request, 'read');
  const search = parseIndexQuery(request.route.query);
  const wanted = Math.min(search.limit ?? K2V_LIMITS.searchItemsMax, K2V_LIMITS.searchItemsMax);
  const bounds = searchBounds(search);
  const rows = await request.services.scanCounters({
    counters: [...K2V_INDEX_COUNTERS],
    start: Buffer.concat([bucketId, bounds.start ?? Buffer.alloc(0)]),
    end: bounds.end ? Buffer.concat([bucketId, bounds.end]) : prefixUpperBound(bucketId),
    limit: wanted + 1,
    reverse: search.reverse,
  });
  const partitionKeys = rows.slice(0, wanted).map(([key, [entries, conflicts, values, bytes]]) => ({ pk: key.subarray(bucketId.length).toString('utf8'), entries, conflicts, values, bytes }));
  const next = rows[wanted];
  const { prefix, start, end, limit, reverse } = search;
  return { status: 200, body: { prefix, start, end, limit, reverse, partitionKeys, more: next !== undefined, nextStart: next ? next[0].subarray(bucketId.length).toString('utf8') : null } };
};

/**
 * Items of the range changed since the seen marker (a node -> latest time map, encoded as a
 * causality token), re-read every K2V_POLL_INTERVAL_MS until some are or the timeout passes
 * (304). Without a marker: the whole range at once. A poll watches the first
 * K2V_LIMITS.searchItemsMax items of its range. Every stamp one node makes is later than its
 * earlier ones (K2vServices.lastTime), so "changed" is "has a time past the marker's".
 */
const pollRange: K2vHandler = async (request) => {
  const bucketId = await bucketOf(request, 'read');
  const poll = parsePollRange(parseJson(await request.body(K2V_LIMITS.batchBodyBytesMax)), request.route.partitionKey!);
  const deadline = request.services.nowMs() + poll.timeoutSeconds * 1000;
  for (;;) {
    const { items } = await runSearch(request, bucketId, poll.search);
    const changed = poll.seen === null ? items.filter((item) => !isK2vTombstone(item)) : items.filter((item) => isNewer(causalContextOf(item), poll.seen!));
    if (poll.seen === null || changed.length > 0) {
      const marker = new Map(poll.seen ?? []);
      for (const item of items) for (const [node, time] of causalContextOf(item)) marker.set(node, Math.max(time, marker.get(node) ?? 0));
      return { status: 200, body: { seenMarker: encodeCausalityToken(marker), items: changed.map(itemJson) } };
    }
    const left = deadline - request.services.nowMs();
    if (left <= 0 || clientGone(request)) return { status: 304 };
    await new Promise((resolve) => setTimeout(resolve, Math.min(K2V_POLL_INTERVAL_MS, left)));
  }
};

export const k2vHandlers: Readonly<Record<K2vOperation, K2vHandler>> = {
  ReadItem: readItem,
  PollItem: pollItem,
  InsertItem: insertItem,
  DeleteItem: deleteItem,
  InsertBatch: insertBatch,
  ReadBatch: readBatch,
  DeleteBatch: deleteBatch,
  ReadIndex: readIndex,
  PollRange: pollRange,
};

