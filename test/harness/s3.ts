// S3 clusters for integration tests: N real node processes, each with its S3 API on its own
// loopback port, layout applied, and an access key made with the real CLI (`grange key create`).
// Clients are the AWS SDK for JavaScript v3, path style, one attempt (a test sees every error).
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Cluster } from './cluster';
import { runCliAsync } from './cli';
import { freePort } from './ports';
import { startTableCluster } from './tables';

export const S3_TEST_REGION = 'garage';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3Cluster {
  cluster: Cluster;
  /** http://127.0.0.1:<port> of each node's S3 API. */
  endpoints: string[];
  /** http://127.0.0.1:<port> of each node's K2V API (empty unless started with `k2v`). */
  k2vEndpoints: string[];
  /** A key allowed to create buckets. */
  credentials: S3Credentials;
  client(index: number, credentials?: S3Credentials): S3Client;
  /** Runs `grange <args>` against node `index`; throws with its stderr when it fails. */
  cli(index: number, args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startS3Cluster(size = 3, options: { extraConfig?: string; env?: NodeJS.ProcessEnv; k2v?: boolean } = {}): Promise<S3Cluster> {
  const ports: number[] = [];
  const k2vPorts: number[] = [];
  for (let index = 0; index < size; index++) ports.push(await freePort());
  if (options.k2v) for (let index = 0; index < size; index++) k2vPorts.push(await freePort());
  const cluster = await startTableCluster(size, {
    testTables: false,
    ...(options.extraConfig ? { extraConfig: options.extraConfig } : {}),
    ...(options.env ? { env: options.env } : {}),
    nodeConfig: (index) =>
      `[s3_api]\napi_bind_addr = "127.0.0.1:${ports[index]}"\ns3_region = "${S3_TEST_REGION}"` + (options.k2v ? `\n[k2v_api]\napi_bind_addr = "127.0.0.1:${k2vPorts[index]}"` : ''),
  });
  const endpoints = ports.map((port) => `http://127.0.0.1:${port}`);
  const k2vEndpoints = k2vPorts.map((port) => `http://127.0.0.1:${port}`);
  const clients: S3Client[] = [];
  const cli = async (index: number, args: string[]): Promise<string> => {
    const result = await runCliAsync(['-c', cluster.nodes[index]!.configPath, ...args]);
    if (result.status !== 0) throw new Error(`grange ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
    return result.stdout;
  };
  try {
    const created = JSON.parse(await cli(0, ['key', 'create', 'test-key', '--json'])) as S3Credentials;
    await cli(0, ['key', 'allow', '--create-bucket', created.accessKeyId]);
    const credentials = { accessKeyId: created.accessKeyId, secretAccessKey: created.secretAccessKey };
    return {
      cluster,
      endpoints,
      k2vEndpoints,
      credentials,
      cli,
      client(index, keys = credentials) {
        const client = new S3Client({ endpoint: endpoints[index]!, region: S3_TEST_REGION, credentials: keys, forcePathStyle: true, maxAttempts: 1 });
        clients.push(client);
        return client;
      },
      async stop() {
        for (const client of clients) client.destroy();
        await cluster.stop();
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** Reads a whole SDK body stream. */
export async function bodyBytes(body: unknown): Promise<Buffer> {
  const stream = body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await stream.transformToByteArray());
}

// ---- raw signed requests (for what the SDK will not send: bad XML, wrong digests, odd queries) ----


/** node:crypto behind the Checksum interface SignatureV4 expects (HMAC when given a secret). */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {}
}

function bytesOf(data: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export interface RawRequest {
  method: string;
  /** Already percent-encoded path, e.g. /bucket/key. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  region?: string;
  /** The signing service (default s3; K2V signs as k2v). */
  service?: string;
  /** Signing time (default now). */
  signingDate?: Date;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** Signs with the real AWS signer (header mode, payload hash signed) and sends with fetch. */
export async function signedRequest(endpoint: string, credentials: S3Credentials | null, request: RawRequest): Promise<RawResponse> {
  const url = new URL(endpoint);
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const headers: Record<string, string> = { host: url.host, ...(request.headers ?? {}) };
  if (body !== undefined) headers['x-amz-content-sha256'] ??= createHash('sha256').update(body).digest('hex');
  else headers['x-amz-content-sha256'] ??= createHash('sha256').update('').digest('hex');
  let finalHeaders = headers;
  if (credentials !== null) {
    const signer = new SignatureV4({ credentials, region: request.region ?? S3_TEST_REGION, service: request.service ?? 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const signed = await signer.sign(
      { method: request.method, protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: request.path, query: request.query ?? {}, headers, ...(body !== undefined ? { body } : {}) },
      request.signingDate ? { signingDate: request.signingDate } : {},
    );
    finalHeaders = signed.headers as Record<string, string>;
  }
  const search = new URLSearchParams(request.query ?? {}).toString().replace(/\+/g, '%20');
  const response = await fetch(`${endpoint}${request.path}${search ? `?${search}` : ''}`, {
    method: request.method,
    headers: Object.fromEntries(Object.entries(finalHeaders).filter(([name]) => name.toLowerCase() !== 'host')),
    ...(body !== undefined ? { body } : {}),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** The Code of an S3 error XML body. */
export function errorCode(body: string): string | null {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? null;
}

/**
 * What an SDK call ends with: 'ok', the S3 error code, or the HTTP status when the response had
 * no body to name one (a 304, or a HEAD's 404 which the SDK calls NotFound).
 */
export async function outcomeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    if (!(error instanceof S3ServiceException)) throw error;
    return error.name === 'Unknown' || error.name === '' ? String(error.$metadata.httpStatusCode) : error.name;
  }
}
