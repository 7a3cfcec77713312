// Which K2V operation a request is (Garage's K2V spec), from its method, path and query. Pure.
// Paths are path-style: /<bucket> or /<bucket>/<partition key> (the key is everything after the
// bucket's slash, percent-decoded, so it may hold slashes).
import { K2vError } from './errors';
import { K2V_LIMITS } from './limits';

export type K2vOperation = 'ReadItem' | 'PollItem' | 'InsertItem' | 'DeleteItem' | 'ReadIndex' | 'InsertBatch' | 'ReadBatch' | 'DeleteBatch' | 'PollRange';

export interface K2vRoute {
  operation: K2vOperation;
  bucket: string;
  /** The partition key of single-item operations. */
  partitionKey: string | null;
  query: ReadonlyMap<string, string>;
}

export function routeK2vRequest(request: { method: string; rawPath: string; rawQuery: string }): K2vRoute {
  const query = parseQuery(request.rawQuery);
  const path = request.rawPath.startsWith('/') ? request.rawPath.slice(1) : request.rawPath;
  const slash = path.indexOf('/');
  const bucket = decode(slash < 0 ? path : path.slice(0, slash), 'bucket name');
  if (bucket === '') throw new K2vError('InvalidRequest', 'K2V requests name a bucket: /<bucket>[/<partition key>]');
  const partitionKey = slash < 0 ? null : decode(path.slice(slash + 1), 'partition key');
  const method = request.method.toUpperCase();
  const operation = partitionKey === null ? bucketOperation(method, query) : itemOperation(method, query);
  if (partitionKey !== null && Buffer.byteLength(partitionKey) > K2V_LIMITS.partitionKeyBytesMax) {
    throw new K2vError('KeyTooLong', `a partition key is at most ${K2V_LIMITS.partitionKeyBytesMax} bytes`);
  }
  return { operation, bucket, partitionKey, query };
}

function itemOperation(method: string, query: ReadonlyMap<string, string>): K2vOperation {
  if (query.has('poll_range')) {
    if (method === 'POST' || method === 'SEARCH') return 'PollRange';
    throw new K2vError('MethodNotAllowed', `PollRange is POST or SEARCH, not ${method}`);
  }
  const sortKey = query.get('sort_key');
  if (sortKey === undefined) throw new K2vError('InvalidRequest', 'item operations need the sort_key query parameter');
  if (Buffer.byteLength(sortKey) > K2V_LIMITS.sortKeyBytesMax) throw new K2vError('KeyTooLong', `a sort key is at most ${K2V_LIMITS.sortKeyBytesMax} bytes`);
  if (method === 'GET') return query.has('causality_token') ? 'PollItem' : 'ReadItem';
  if (method === 'PUT') return 'InsertItem';
  if (method === 'DELETE') return 'DeleteItem';
  throw new K2vError('MethodNotAllowed', `${method} is not a K2V item operation (GET, PUT, DELETE)`);
}

function bucketOperation(method: string, query: ReadonlyMap<string, string>): K2vOperation {
  if (method === 'GET') return 'ReadIndex';
  if (method === 'SEARCH') return 'ReadBatch';
  if (method !== 'POST') throw new K2vError('MethodNotAllowed', `${method} is not a K2V bucket operation (GET, POST, SEARCH)`);
  if (query.has('search')) return 'ReadBatch';
  if (query.has('delete')) return 'DeleteBatch';
  if (query.has('poll_range')) throw new K2vError('InvalidRequest', 'PollRange names a partition key: POST /<bucket>/<partition key>?poll_range');
  return 'InsertBatch';
}

function parseQuery(rawQuery: string): Map<string, string> {
  const query = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const name = decode(equals < 0 ? part : part.slice(0, equals), 'query parameter');
    query.set(name, decode(equals < 0 ? '' : part.slice(equals + 1), `query parameter ${name}`));
  }
  return query;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new K2vError('InvalidRequest', `the ${what} is not valid percent-encoded UTF-8`);
  }
}
