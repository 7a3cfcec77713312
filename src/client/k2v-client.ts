// A small K2V client (Garage's K2V API over HTTP, Signature V4 with service `k2v`), used by the
// tests and the CLI. Answers come back as the API gives them: values, the causality token, and
// for batches the parsed JSON.
import { signRequest, uriEncode } from '../protocols/sigv4';

export interface K2vClientOptions {
  /** http://host:port of a node's K2V API. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export class K2vClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`K2V ${status} ${code}: ${message}`);
  }
}

export interface ItemRead {
  /** The values (null: a deletion), or the single raw value when asked for octet-stream. */
  values: (Buffer | null)[];
  token: string;
}

export interface K2vSearch {
  partitionKey: string;
  prefix?: string | null;
  start?: string | null;
  end?: string | null;
  limit?: number | null;
  reverse?: boolean;
  singleItem?: boolean;
  conflictsOnly?: boolean;
  tombstones?: boolean;
}

export interface K2vSearchResult {
  partitionKey: string;
  items: { sk: string; ct: string; v: (string | null)[] }[];
  more: boolean;
  nextStart: string | null;
}

interface RawAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
}

export class K2vClient {
  constructor(private readonly options: K2vClientOptions) {}

  /** Every value of an item (JSON answer); null when there is no such item. */
  async readItem(bucket: string, partitionKey: string, sortKey: string): Promise<ItemRead | null> {
    const answer = await this.request('GET', itemPath(bucket, partitionKey), { sort_key: sortKey });
    if (answer.status === 404 && errorCodeOf(answer) === 'NoSuchKey') return null;
    return itemRead(this.check(answer, [200]));
  }

  /** Waits for a value newer than `token`; null after `timeoutSeconds` without one (304). */
  async pollItem(bucket: string, partitionKey: string, sortKey: string, token: string, timeoutSeconds: number): Promise<ItemRead | null> {
    const answer = await this.request('GET', itemPath(bucket, partitionKey), { sort_key: sortKey, causality_token: token, timeout: String(timeoutSeconds) });
    if (answer.status === 304) return null;
    return itemRead(this.check(answer, [200]));
  }

  async insertItem(bucket: string, partitionKey: string, sortKey: string, value: Buffer, token?: string): Promise<void> {
    this.check(await this.request('PUT', itemPath(bucket, partitionKey), { sort_key: sortKey }, value, token ? { 'x-garage-causality-token': token } : {}), [204]);
  }

  async deleteItem(bucket: string, partitionKey: string, sortKey: string, token: string): Promise<void> {
    this.check(await this.request('DELETE', itemPath(bucket, partitionKey), { sort_key: sortKey }, Buffer.alloc(0), { 'x-garage-causality-token': token }), [204]);
  }

  async insertBatch(bucket: string, items: { pk: string; sk: string; ct: string | null; v: Buffer | null }[]): Promise<void> {
    const body = items.map((item) => ({ pk: item.pk, sk: item.sk, ct: item.ct, v: item.v === null ? null : item.v.toString('base64') }));
    this.check(await this.request('POST', `/${uriEncode(bucket)}`, {}, Buffer.from(JSON.stringify(body))), [204]);
  }

  async readBatch(bucket: string, searches: K2vSearch[]): Promise<K2vSearchResult[]> {
    const answer = this.check(await this.request('POST', `/${uriEncode(bucket)}`, { search: '' }, Buffer.from(JSON.stringify(searches))), [200]);
    return JSON.parse(answer.body.toString('utf8')) as K2vSearchResult[];
  }

  async deleteBatch(bucket: string, searches: K2vSearch[]): Promise<{ partitionKey: string; deletedItems: number }[]> {
    const answer = this.check(await this.request('POST', `/${uriEncode(bucket)}`, { delete: '' }, Buffer.from(JSON.stringify(searches))), [200]);
    return JSON.parse(answer.body.toString('utf8')) as { partitionKey: string; deletedItems: number }[];
  }

  /** A signed request as given, for callers that check raw answers (status, headers, body). */
  async request(method: string, rawPath: string, query: Record<string, string>, body: Buffer = Buffer.alloc(0), extraHeaders: Record<string, string> = {}): Promise<RawAnswer> {
    const url = new URL(this.options.endpoint);
    const rawQuery = Object.entries(query)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`)
      .join('&');
    const headers = signRequest(
      { method, rawPath, rawQuery, headers: { host: url.host, ...lowercase(extraHeaders) }, body },
      { accessKeyId: this.options.accessKeyId, secretAccessKey: this.options.secretAccessKey, region: this.options.region, service: 'k2v' },
      Date.now(),
    );
    delete headers.host;
    const response = await fetch(`${this.options.endpoint}${rawPath}${rawQuery ? `?${rawQuery}` : ''}`, { method, headers, ...(body.length > 0 ? { body } : {}) });
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
  }

  private check(answer: RawAnswer, expected: number[]): RawAnswer {
    if (expected.includes(answer.status)) return answer;
    let code = 'Unknown';
    let message = answer.body.toString('utf8');
    try {
      ({ code, message } = JSON.parse(message) as { code: string; message: string });
    } catch {
      // not a JSON error: keep the raw text
    }
    throw new K2vClientError(answer.status, code, message);
  }
}

function errorCodeOf(answer: RawAnswer): string | null {
  try {
    return (JSON.parse(answer.body.toString('utf8')) as { code?: string }).code ?? null;
  } catch {
    return null;
  }
}

function itemPath(bucket: string, partitionKey: string): string {
  return `/${uriEncode(bucket)}/${uriEncode(partitionKey)}`;
}

function itemRead(answer: RawAnswer): ItemRead {
  const token = answer.headers.get('x-garage-causality-token') ?? '';
  const values = (JSON.parse(answer.body.toString('utf8')) as (string | null)[]).map((value) => (value === null ? null : Buffer.from(value, 'base64')));
  return { values, token };
}

function lowercase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
