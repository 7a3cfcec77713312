// Garage's K2V API on three real node processes (RF=3), through the project's K2V client:
// concurrent values and causality tokens, tombstones, polling, batches with filters and
// pagination, a node down, and the precise errors of bad requests.
import { K2vClient, K2vClientError } from '../../../src/client/k2v-client';
import { S3_TEST_REGION, signedRequest, startS3Cluster, type S3Cluster, type S3Credentials } from '../../harness/s3';
import { waitFor } from '../../harness/wait';

const BUCKET = 'k2v-test';
let s3: S3Cluster;
let clients: K2vClient[];

function clientOf(index: number, credentials: S3Credentials = s3.credentials): K2vClient {
  return new K2vClient({ endpoint: s3.k2vEndpoints[index]!, region: S3_TEST_REGION, ...credentials });
}

const text = (values: (Buffer | null)[]): (string | null)[] => values.map((value) => (value === null ? null : value.toString())).sort();

async function failure(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (error instanceof K2vClientError) return `${error.status} ${error.code}`;
    throw error;
  }
  throw new Error('expected a K2V error');
}

beforeAll(async () => {
  s3 = await startS3Cluster(3, { k2v: true });
  await s3.cli(0, ['bucket', 'create', BUCKET]);
  await s3.cli(0, ['bucket', 'allow', '--read', '--write', BUCKET, '--key', s3.credentials.accessKeyId]);
  clients = [0, 1, 2].map((index) => clientOf(index));
});

afterAll(async () => {
  await s3?.stop();
});

describe('single items', () => {
  test('two writers without a token keep two values; a write with the read token collapses them', async () => {
    await clients[0]!.insertItem(BUCKET, 'mailboxes', 'INBOX', Buffer.from('first'));
    await clients[1]!.insertItem(BUCKET, 'mailboxes', 'INBOX', Buffer.from('second'));
    const both = await clients[2]!.readItem(BUCKET, 'mailboxes', 'INBOX');
    expect(text(both!.values)).toEqual(['first', 'second']);
    await clients[2]!.insertItem(BUCKET, 'mailboxes', 'INBOX', Buffer.from('merged'), both!.token);
    const one = await clients[0]!.readItem(BUCKET, 'mailboxes', 'INBOX');
    expect(text(one!.values)).toEqual(['merged']);
    expect(one!.token).not.toBe(both!.token);
  });

  test('ReadItem answers by Accept: raw value, 409 on conflicts, 204 for a tombstone, 406 for neither', async () => {
    await clients[0]!.insertItem(BUCKET, 'accept', 'one', Buffer.from([0, 1, 2, 255]));
    const raw = await clients[1]!.request('GET', `/${BUCKET}/accept`, { sort_key: 'one' }, undefined, { accept: 'application/octet-stream' });
    expect(raw.status).toBe(200);
    expect(raw.body).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(raw.headers.get('x-garage-causality-token')).toBeTruthy();
    await clients[1]!.insertItem(BUCKET, 'accept', 'one', Buffer.from('concurrent'));
    expect((await clients[2]!.request('GET', `/${BUCKET}/accept`, { sort_key: 'one' }, undefined, { accept: 'application/octet-stream' })).status).toBe(409);
    const fallback = await clients[2]!.request('GET', `/${BUCKET}/accept`, { sort_key: 'one' }, undefined, { accept: 'application/octet-stream, application/json' });
    expect(fallback.status).toBe(200);
    expect(JSON.parse(fallback.body.toString())).toHaveLength(2);
    expect((await clients[2]!.request('GET', `/${BUCKET}/accept`, { sort_key: 'one' }, undefined, { accept: 'text/html' })).status).toBe(406);
    const read = await clients[0]!.readItem(BUCKET, 'accept', 'one');
    await clients[0]!.deleteItem(BUCKET, 'accept', 'one', read!.token);
    expect((await clients[0]!.readItem(BUCKET, 'accept', 'one'))!.values).toEqual([null]);
    expect((await clients[1]!.request('GET', `/${BUCKET}/accept`, { sort_key: 'one' }, undefined, { accept: 'application/octet-stream' })).status).toBe(204);
    expect(await clients[0]!.readItem(BUCKET, 'accept', 'never-written')).toBeNull();
  });

  test('PollItem returns soon after a write through another node, and 304 after its timeout', async () => {
    await clients[0]!.insertItem(BUCKET, 'poll', 'key', Buffer.from('v1'));
    const seen = await clients[0]!.readItem(BUCKET, 'poll', 'key');
    expect(await clients[1]!.pollItem(BUCKET, 'poll', 'key', seen!.token, 1)).toBeNull();
    const poll = clients[1]!.pollItem(BUCKET, 'poll', 'key', seen!.token, 60);
    const writtenAt = Date.now();
    await clients[2]!.insertItem(BUCKET, 'poll', 'key', Buffer.from('v2'), seen!.token);
    const woken = await poll;
    expect(text(woken!.values)).toEqual(['v2']);
    console.log(`PollItem woke ${Date.now() - writtenAt} ms after the write was acknowledged`);
  });
});

describe('PollRange', () => {
  test('reports only the items changed since its seen marker', async () => {
    await clients[0]!.insertBatch(BUCKET, ['a', 'b', 'c'].map((sk) => ({ pk: 'range', sk, ct: null, v: Buffer.from(`first ${sk}`) })));
    const poll = async (index: number, marker: string | null, timeout = 60): Promise<{ status: number; body: { seenMarker: string; items: { sk: string; v: (string | null)[] }[] } | null }> => {
      const answer = await clients[index]!.request('POST', `/${BUCKET}/range`, { poll_range: '' }, Buffer.from(JSON.stringify({ seenMarker: marker, timeout })));
      return { status: answer.status, body: answer.status === 200 ? JSON.parse(answer.body.toString()) : null };
    };
    const first = await poll(1, null);
    expect(first.body!.items.map((item) => item.sk)).toEqual(['a', 'b', 'c']);
    expect((await poll(2, first.body!.seenMarker, 1)).status).toBe(304);
    const waiting = poll(2, first.body!.seenMarker);
    const b = await clients[0]!.readItem(BUCKET, 'range', 'b');
    await clients[0]!.insertItem(BUCKET, 'range', 'b', Buffer.from('second b'), b!.token);
    const changed = await waiting;
    expect(changed.status).toBe(200);
    expect(changed.body!.items.map((item) => [item.sk, Buffer.from(item.v[0]!, 'base64').toString()])).toEqual([['b', 'second b']]);
    expect((await poll(1, changed.body!.seenMarker, 1)).status).toBe(304);
  });
});

describe('batches', () => {
  const sortKeys = Array.from({ length: 30 }, (_, index) => `item-${String(index).padStart(2, '0')}`);

  beforeAll(async () => {
    await clients[0]!.insertBatch(BUCKET, sortKeys.map((sk) => ({ pk: 'batch', sk, ct: null, v: Buffer.from(`value of ${sk}`) })));
    // A conflict on item-03 and a deletion of item-04.
    await clients[1]!.insertBatch(BUCKET, [{ pk: 'batch', sk: 'item-03', ct: null, v: Buffer.from('concurrent') }]);
    const item4 = await clients[1]!.readItem(BUCKET, 'batch', 'item-04');
    await clients[2]!.insertBatch(BUCKET, [{ pk: 'batch', sk: 'item-04', ct: item4!.token, v: null }]);
  });

  test('ReadBatch with each filter, in both directions, with pagination', async () => {
    const [all, conflicts, withTombstones, page, reversePage, prefixed, single] = await clients[2]!.readBatch(BUCKET, [
      { partitionKey: 'batch' },
      { partitionKey: 'batch', conflictsOnly: true },
      { partitionKey: 'batch', tombstones: true, start: 'item-04', limit: 1 },
      { partitionKey: 'batch', start: 'item-10', limit: 5 },
      { partitionKey: 'batch', start: 'item-10', end: 'item-06', reverse: true },
      { partitionKey: 'batch', prefix: 'item-2' },
      { partitionKey: 'batch', start: 'item-07', singleItem: true },
    ]);
    expect(all!.items.map((item) => item.sk)).toEqual(sortKeys.filter((sk) => sk !== 'item-04'));
    expect(all!.more).toBe(false);
    expect(conflicts!.items.map((item) => item.sk)).toEqual(['item-03']);
    expect(conflicts!.items[0]!.v).toHaveLength(2);
    expect(withTombstones!.items).toEqual([expect.objectContaining({ sk: 'item-04', v: [null] })]);
    expect(page!.items.map((item) => item.sk)).toEqual(['item-10', 'item-11', 'item-12', 'item-13', 'item-14']);
    expect(page!.more).toBe(true);
    expect(page!.nextStart).toBe('item-15');
    expect(reversePage!.items.map((item) => item.sk)).toEqual(['item-10', 'item-09', 'item-08', 'item-07']);
    expect(prefixed!.items.map((item) => item.sk)).toEqual(sortKeys.filter((sk) => sk.startsWith('item-2')));
    expect(single!.items.map((item) => [item.sk, Buffer.from(item.v[0]!, 'base64').toString()])).toEqual([['item-07', 'value of item-07']]);
  });

  test('DeleteBatch writes tombstones over what it read, and counts them', async () => {
    await clients[0]!.insertBatch(BUCKET, ['a', 'b', 'c'].map((sk) => ({ pk: 'doomed', sk, ct: null, v: Buffer.from(sk) })));
    const [deleted] = await clients[1]!.deleteBatch(BUCKET, [{ partitionKey: 'doomed' }]);
    expect(deleted).toEqual(expect.objectContaining({ partitionKey: 'doomed', deletedItems: 3 }));
    const [after] = await clients[2]!.readBatch(BUCKET, [{ partitionKey: 'doomed' }]);
    expect(after!.items).toEqual([]);
  });
});

describe('ReadIndex', () => {
  test('counts entries, conflicts, values and bytes per partition key, with prefix, limit and reverse', async () => {
    await clients[0]!.insertBatch(BUCKET, [
      { pk: 'idx-a', sk: '1', ct: null, v: Buffer.from('aa') },
      { pk: 'idx-a', sk: '2', ct: null, v: Buffer.from('bbb') },
      { pk: 'idx-b', sk: '1', ct: null, v: Buffer.from('c') },
      { pk: 'idx-c', sk: '1', ct: null, v: Buffer.from('gone') },
    ]);
    await clients[1]!.insertItem(BUCKET, 'idx-a', '2', Buffer.from('dddd')); // a conflict
    const gone = await clients[2]!.readItem(BUCKET, 'idx-c', '1');
    await clients[2]!.deleteItem(BUCKET, 'idx-c', '1', gone!.token);
    const index = async (query: Record<string, string>): Promise<{ partitionKeys: unknown[]; more: boolean; nextStart: string | null }> => {
      const answer = await clients[0]!.request('GET', `/${BUCKET}`, query);
      expect(answer.status).toBe(200);
      return JSON.parse(answer.body.toString()) as { partitionKeys: unknown[]; more: boolean; nextStart: string | null };
    };
    const expected = [
      { pk: 'idx-a', entries: 2, conflicts: 1, values: 3, bytes: 9 },
      { pk: 'idx-b', entries: 1, conflicts: 0, values: 1, bytes: 1 },
    ];
    await waitFor(async () => JSON.stringify((await index({ prefix: 'idx-' })).partitionKeys) === JSON.stringify(expected), { what: 'the index to count idx-a and idx-b', timeoutMs: 20_000 });
    expect(await index({ prefix: 'idx-', limit: '1' })).toEqual(expect.objectContaining({ partitionKeys: [expected[0]], more: true, nextStart: 'idx-b' }));
    expect((await index({ prefix: 'idx-', reverse: 'true' })).partitionKeys).toEqual([expected[1], expected[0]]);
    expect((await index({ start: 'idx-b', end: 'idx-c' })).partitionKeys).toEqual([expected[1]]);
  });
});

describe('operator CLI', () => {
  test('grange k2v insert, read, index and delete, with --json', async () => {
    const key = s3.credentials.accessKeyId;
    await s3.cli(1, ['k2v', 'insert', BUCKET, 'cli', 'one', 'hello from the CLI', '--key', key]);
    const read = JSON.parse(await s3.cli(2, ['k2v', 'read', BUCKET, 'cli', 'one', '--key', key, '--json'])) as { values: string[]; token: string };
    expect(read.values).toEqual([Buffer.from('hello from the CLI').toString('base64')]);
    expect(await s3.cli(0, ['k2v', 'read', BUCKET, 'cli', 'one', '--key', key])).toContain('hello from the CLI');
    await waitFor(async () => (await s3.cli(0, ['k2v', 'index', BUCKET, '--prefix', 'cli', '--key', key])).includes('cli'), { what: 'the index to list cli', timeoutMs: 20_000 });
    const index = JSON.parse(await s3.cli(0, ['k2v', 'index', BUCKET, '--prefix', 'cli', '--key', key, '--json'])) as { partitionKeys: unknown[] };
    expect(index.partitionKeys).toEqual([{ pk: 'cli', entries: 1, conflicts: 0, values: 1, bytes: 18 }]);
    await s3.cli(1, ['k2v', 'delete', BUCKET, 'cli', 'one', '--key', key]);
    expect(await s3.cli(2, ['k2v', 'read', BUCKET, 'cli', 'one', '--key', key])).toContain('(deleted)');
    await expect(s3.cli(0, ['k2v', 'read', BUCKET, 'cli', 'never', '--key', key])).rejects.toThrow(/no item cli\/never/);
    await expect(s3.cli(0, ['k2v', 'read', 'no-such-bucket', 'cli', 'one', '--key', key])).rejects.toThrow(/NoSuchBucket/);
  });
});

describe('bad requests', () => {
  /** "status code" of a raw answer. */
  const outcome = (answer: { status: number; body: Buffer }): string => `${answer.status} ${answer.body.length > 0 ? (JSON.parse(answer.body.toString()) as { code: string }).code : ''}`.trim();
  const post = (query: Record<string, string>, body: string, client = clients[0]!): Promise<string> => client.request('POST', `/${BUCKET}`, query, Buffer.from(body)).then(outcome);

  test("AWS's own signer with service k2v is accepted; a request signed for s3 is refused", async () => {
    const endpoint = s3.k2vEndpoints[0]!;
    const accepted = await signedRequest(endpoint, s3.credentials, { method: 'PUT', path: `/${BUCKET}/signed`, query: { sort_key: 'by smithy' }, body: 'v', service: 'k2v' });
    expect(accepted.status).toBe(204);
    expect(text((await clients[1]!.readItem(BUCKET, 'signed', 'by smithy'))!.values)).toEqual(['v']);
    const wrongService = await signedRequest(endpoint, s3.credentials, { method: 'GET', path: `/${BUCKET}/signed`, query: { sort_key: 'by smithy' } });
    expect(wrongService.status).toBe(400);
    expect(JSON.parse(wrongService.body).message).toMatch(/service/);
  });

  test('get the precise 4xx', async () => {
    expect(outcome(await clients[0]!.request('DELETE', `/${BUCKET}/pk`, { sort_key: 'sk' }))).toBe('400 InvalidRequest');
    expect(outcome(await clients[0]!.request('GET', `/${BUCKET}/pk`, {}))).toBe('400 InvalidRequest');
    expect(await failure(clients[0]!.insertItem(BUCKET, 'pk', 'sk', Buffer.from('x'), 'not-a-token!'))).toBe('400 InvalidCausalityToken');
    expect(await failure(clients[0]!.insertItem(BUCKET, 'pk', 'sk', Buffer.from('x'), 'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'))).toBe('400 InvalidCausalityToken');
    expect(await post({}, JSON.stringify([{ pk: 'p', sk: 's', ct: null, v: 'not base64!' }]))).toBe('400 InvalidBase64');
    expect(await post({}, '[{"pk": "p", "sk": ')).toBe('400 InvalidJson');
    expect(await post({ search: '' }, JSON.stringify([{ prefix: 'no partition key' }]))).toBe('400 InvalidJson');
    const tooMany = Array.from({ length: 1001 }, (_, index) => ({ pk: 'p', sk: `s${index}`, ct: null, v: null }));
    expect(await post({}, JSON.stringify(tooMany))).toBe('400 BatchTooLarge');
    expect(await failure(clients[0]!.insertItem(BUCKET, 'pk', 'big', Buffer.alloc(1024 * 1024 + 1)))).toBe('413 PayloadTooLarge');
    expect(await failure(clients[0]!.readItem('no-such-bucket', 'pk', 'sk'))).toBe('404 NoSuchBucket');
    const stranger = JSON.parse(await s3.cli(0, ['key', 'create', 'k2v-stranger', '--json'])) as S3Credentials;
    expect(await failure(clientOf(1, stranger).readItem(BUCKET, 'pk', 'sk'))).toBe('403 AccessDenied');
    expect(await failure(clientOf(1, { ...s3.credentials, secretAccessKey: '0'.repeat(64) }).readItem(BUCKET, 'pk', 'sk'))).toBe('403 SignatureDoesNotMatch');
    const unsigned = await fetch(`${s3.k2vEndpoints[0]}/${BUCKET}/pk?sort_key=sk`);
    expect(unsigned.status).toBe(403);
  });
});

describe('with one node of three down', () => {
  test('a write through one node is read through another', async () => {
    await s3.cluster.kill(2);
    await clients[0]!.insertItem(BUCKET, 'down', 'key', Buffer.from('while node 3 is down'));
    const read = await clients[1]!.readItem(BUCKET, 'down', 'key');
    expect(text(read!.values)).toEqual(['while node 3 is down']);
    await clients[1]!.insertBatch(BUCKET, [{ pk: 'down', sk: 'key', ct: read!.token, v: Buffer.from('replaced') }]);
    const [search] = await clients[0]!.readBatch(BUCKET, [{ partitionKey: 'down' }]);
    expect(search!.items.map((item) => item.v.map((value) => Buffer.from(value!, 'base64').toString()))).toEqual([['replaced']]);
  });
});
