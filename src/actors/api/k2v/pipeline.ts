// One K2V request from start to end: routing, authentication (Signature V4, service `k2v`, the
// S3 region and keys), the operation's handler, then the response, or a JSON error
// ({ code, message, region, path }, as Garage answers) for any failure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { signedRequestOf } from '../http';
import { parseAuth, verifySignature } from '../../../protocols/sigv4';
import { K2vError } from '../../../protocols/k2v/errors';
import { routeK2vRequest, type K2vOperation, type K2vRoute } from '../../../protocols/k2v/router';
import { S3Error } from '../../../protocols/s3/errors';
import { QuorumError } from '../../table/table';
import { memoizedReads, type TableClient } from '../../table/client';
import { openPayload, readSmallBody, type Payload } from '../s3/body';
import type { S3Catalog } from '../s3/services';
import type { Logger } from '../../../log';
import type { CounterQuery, CounterRow } from '../../table/counter-scan';
import { k2vHandlers } from './handlers';

export interface K2vServices {
  region: string;
  nodeId: string;
  tables: TableClient;
  catalogOver(tables: TableClient): S3Catalog;
  nowMs(): number;
  randomBytes(size: number): Buffer;
  log: Logger;
  /** Node-local counters over a key range, merged from every storage node (ReadIndex). */
  scanCounters(query: CounterQuery): Promise<CounterRow[]>;
  /** The largest time this node stamped on a value since it started (values of one node never share one). */
  lastTime: number;
}

export interface K2vRequest {
  http: IncomingMessage;
  route: K2vRoute;
  accessKeyId: string;
  catalog: S3Catalog;
  /** Reads the whole body (verified against its signature), refusing more than `maxBytes`. */
  body(maxBytes: number): Promise<Buffer>;
  services: K2vServices;
}

export interface K2vResponse {
  status: number;
  headers?: [string, string][];
  /** An object is sent as JSON. */
  body?: Buffer | object;
}

export type K2vHandler = (request: K2vRequest) => Promise<K2vResponse>;

export interface K2vCounters {
  inFlight: number;
  served: number;
  errors: number;
}

const CATALOG_TABLES = ['key', 'bucket', 'bucket_alias'];
const HANDLERS: Readonly<Record<K2vOperation, K2vHandler>> = k2vHandlers;

export async function handleK2vRequest(http: IncomingMessage, response: ServerResponse, services: K2vServices, counters: K2vCounters): Promise<void> {
  counters.inFlight++;
  try {
    send(response, await answerRequest(http, services));
    counters.served++;
  } catch (error) {
    counters.errors++;
    sendError(response, http, services, error);
  } finally {
    counters.inFlight--;
  }
}

async function answerRequest(http: IncomingMessage, services: K2vServices): Promise<K2vResponse> {
  const signed = signedRequestOf(http);
  const catalog = services.catalogOver(memoizedReads(services.tables, CATALOG_TABLES));
  const auth = parseAuth(signed, { region: services.region, nowMs: services.nowMs(), service: 'k2v' });
  if (auth.kind === 'anonymous') throw new K2vError('AccessDenied', 'Anonymous access is not allowed: sign the request with an access key (service k2v).');
  const secret = await catalog.secretOf(auth.credential.accessKeyId);
  if (secret === null) throw new K2vError('InvalidAccessKeyId', `no access key ${auth.credential.accessKeyId}`);
  const signing = verifySignature(signed, auth, secret);
  const route = routeK2vRequest(signed);
  const payload = openPayload(http, signed, auth.payload, signing);
  const request: K2vRequest = { http, route, accessKeyId: auth.credential.accessKeyId, catalog, body: (maxBytes) => bodyOf(payload, maxBytes), services };
  return HANDLERS[route.operation](request);
}


/** The whole body; past `maxBytes`, 413 (a value or batch too large), not S3's 400. */
async function bodyOf(payload: Payload, maxBytes: number): Promise<Buffer> {
  try {
    return await readSmallBody(payload, maxBytes);
  } catch (error) {
    if (error instanceof S3Error && error.code === 'MaxMessageLengthExceeded') throw new K2vError('PayloadTooLarge', `the request body is over ${maxBytes} bytes`);
    throw error;
  }
}

function send(response: ServerResponse, answer: K2vResponse): void {
  response.statusCode = answer.status;
  response.setHeader('server', 'Grange');
  for (const [name, value] of answer.headers ?? []) response.setHeader(name, value);
  const body = answer.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(answer.body) ? answer.body : Buffer.from(JSON.stringify(answer.body));
  if (answer.body !== undefined && !Buffer.isBuffer(answer.body)) response.setHeader('content-type', 'application/json');
  if (answer.status === 204 || answer.status === 304) {
    response.end();
    return;
  }
  response.setHeader('content-length', body.length);
  response.end(body);
}

function sendError(response: ServerResponse, http: IncomingMessage, services: K2vServices, error: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const { status, code, message } = describe(error, services);
  response.statusCode = status;
  response.setHeader('server', 'Grange');
  if (!http.complete) response.setHeader('connection', 'close');
  const body = Buffer.from(JSON.stringify({ code, message, region: services.region, path: (http.url ?? '/').split('?')[0] }));
  response.setHeader('content-type', 'application/json');
  response.setHeader('content-length', body.length);
  response.end(body);
}

/** Every failure as one HTTP status and code: K2V's, S3's (signatures, bodies), 503 for quorums. */
function describe(error: unknown, services: K2vServices): { status: number; code: string; message: string } {
  if (error instanceof K2vError || error instanceof S3Error) return { status: error.status, code: error.code, message: error.message };
  if (error instanceof QuorumError) {
    services.log.warn('K2V request: quorum not reached', { error: error.message });
    return { status: 503, code: 'ServiceUnavailable', message: `Not enough nodes answered: ${error.message}` };
  }
  services.log.error('K2V request failed', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  return { status: 500, code: 'InternalError', message: 'internal error' };
}
