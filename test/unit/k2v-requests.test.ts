// K2V request cores: routing, batch bodies checked field by field, a search's sort-key bounds.
import { decodeBase64, parseInsertBatch, parseSearches, searchBounds, type Search } from '../../src/protocols/k2v/batch';
import { encodeCausalityToken } from '../../src/protocols/k2v/causality';
import { K2vError } from '../../src/protocols/k2v/errors';
import { routeK2vRequest } from '../../src/protocols/k2v/router';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof K2vError) return error.code;
    throw error;
  }
  throw new Error('expected a K2vError');
}

const route = (method: string, path: string, query = ''): string => routeK2vRequest({ method, rawPath: path, rawQuery: query }).operation;

describe('K2V routing', () => {
  it('names every operation of the spec', () => {
    expect(route('GET', '/b/pk', 'sort_key=sk')).toBe('ReadItem');
    expect(route('GET', '/b/pk', 'sort_key=sk&causality_token=x')).toBe('PollItem');
    expect(route('PUT', '/b/pk', 'sort_key=sk')).toBe('InsertItem');
    expect(route('DELETE', '/b/pk', 'sort_key=sk')).toBe('DeleteItem');
    expect(route('GET', '/b')).toBe('ReadIndex');
    expect(route('POST', '/b')).toBe('InsertBatch');
    expect(route('POST', '/b', 'search')).toBe('ReadBatch');
    expect(route('SEARCH', '/b')).toBe('ReadBatch');
    expect(route('POST', '/b', 'delete')).toBe('DeleteBatch');
    expect(route('POST', '/b/pk', 'poll_range')).toBe('PollRange');
    expect(route('SEARCH', '/b/pk', 'poll_range')).toBe('PollRange');
    expect(codeOf(() => route('POST', '/b', 'poll_range'))).toBe('InvalidRequest');
  });

  it('decodes the partition key (slashes included) and refuses what it cannot route', () => {
    const decoded = routeK2vRequest({ method: 'GET', rawPath: '/b/mail%2Fbox/x', rawQuery: 'sort_key=a%20b' });
    expect(decoded.partitionKey).toBe('mail/box/x');
    expect(decoded.query.get('sort_key')).toBe('a b');
    expect(codeOf(() => route('GET', '/b/pk'))).toBe('InvalidRequest');
    expect(codeOf(() => route('PATCH', '/b/pk', 'sort_key=x'))).toBe('MethodNotAllowed');
    expect(codeOf(() => route('GET', '/'))).toBe('InvalidRequest');
    expect(codeOf(() => route('GET', '/b/%E0%A4%A', 'sort_key=x'))).toBe('InvalidRequest');
  });
});

describe('K2V batch bodies', () => {
  it('parses InsertBatch entries with tokens, values and deletions', () => {
    const token = encodeCausalityToken(new Map([['00000000000000a1', 5]]));
    const items = parseInsertBatch([
      { pk: 'p', sk: 'a', ct: null, v: Buffer.from('hello').toString('base64') },
      { pk: 'p', sk: 'b', ct: token, v: null },
    ]);
    expect(items[0]).toEqual({ partitionKey: 'p', sortKey: 'a', context: null, value: Buffer.from('hello') });
    expect(items[1]!.context).toEqual(new Map([['00000000000000a1', 5]]));
    expect(items[1]!.value).toBeNull();
  });

  it('refuses each malformed field with its own code', () => {
    expect(codeOf(() => parseInsertBatch({}))).toBe('InvalidJson');
    expect(codeOf(() => parseInsertBatch([{ pk: 1, sk: 'a', v: null }]))).toBe('InvalidJson');
    expect(codeOf(() => parseInsertBatch([{ pk: 'p', sk: 'a', ct: 'bad token!', v: null }]))).toBe('InvalidCausalityToken');
    expect(codeOf(() => parseInsertBatch([{ pk: 'p', sk: 'a', v: '@@@' }]))).toBe('InvalidBase64');
    expect(codeOf(() => parseInsertBatch(Array.from({ length: 1001 }, () => ({ pk: 'p', sk: 'a', v: null }))))).toBe('BatchTooLarge');
    expect(codeOf(() => parseSearches([{ partitionKey: 'p', limit: -1 }], false))).toBe('InvalidJson');
    expect(codeOf(() => parseSearches([{ partitionKey: 'p', singleItem: true }], false))).toBe('InvalidRequest');
    expect(codeOf(() => parseSearches([{ partitionKey: 'p', tombstones: true }], true))).toBe('InvalidRequest');
    expect(codeOf(() => decodeBase64('abcde', 'v'))).toBe('InvalidBase64');
  });
});

describe('search bounds', () => {
  const search = (fields: Partial<Search>): Search => ({ partitionKey: 'p', prefix: null, start: null, end: null, limit: null, reverse: false, singleItem: false, conflictsOnly: false, tombstones: false, ...fields });
  const text = (bounds: { start: Buffer | null; end: Buffer | null }): [string | null, string | null] => [bounds.start?.toString('latin1') ?? null, bounds.end?.toString('latin1') ?? null];

  it('forward: [start, end), narrowed by the prefix', () => {
    expect(text(searchBounds(search({ start: 'b', end: 'x' })))).toEqual(['b', 'x']);
    expect(text(searchBounds(search({ prefix: 'ab' })))).toEqual(['ab', 'ac']);
    expect(text(searchBounds(search({ prefix: 'ab', start: 'aa', end: 'zz' })))).toEqual(['ab', 'ac']);
  });

  it('reverse: start is the highest key listed, end the excluded lowest', () => {
    expect(text(searchBounds(search({ reverse: true, start: 'm', end: 'c' })))).toEqual(['c\0', 'm\0']);
    expect(text(searchBounds(search({ singleItem: true, start: 'k' })))).toEqual(['k', 'k\0']);
  });
});
