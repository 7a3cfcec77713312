// One S3 request from start to end: request id, routing, authentication (Signature V4), then the
// operation's handler, then the response, or AWS's error XML for any failure. Every request runs
// on its own promise: nothing here waits for another request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { signedRequestOf } from '../http';
import { once } from 'node:events';
import { parseAuth, verifySignature, type PayloadMode, type SignedRequest, type SigningContext } from '../../../protocols/sigv4';
import { S3Error } from '../../../protocols/s3/errors';
import { routeS3Request, type S3Operation, type S3Route } from '../../../protocols/s3/router';
import { xmlDocument } from '../../../protocols/s3/xml';
import { QuorumError } from '../../table/table';
import { openPayload, type Payload } from './body';
import type { S3Catalog, S3Services } from './services';
import { memoizedReads } from '../../table/client';
import { bucketHandlers } from './buckets';
import { objectHandlers } from './objects';
import { listingHandlers } from './listing';
import { multipartHandlers } from './multipart';

export interface S3Request {
  id: string;
  http: IncomingMessage;
  route: S3Route;
  signed: SignedRequest;
  accessKeyId: string;
  /** The key and bucket catalog, its table reads remembered for this request. */
  catalog: S3Catalog;
  /** The request body, decoded and verified as it is read. */
  payload: Payload;
  services: S3Services;
}

export interface S3Response {
  status: number;
  headers?: [string, string][];
  /** A string is sent as XML; an iterable is streamed with backpressure. */
  body?: string | Buffer | AsyncIterable<Buffer>;
}

export type S3Handler = (request: S3Request) => Promise<S3Response>;

/** The catalog's tables: one request reads the same key row several times (secret, alias, permissions). */
const CATALOG_TABLES = ['key', 'bucket', 'bucket_alias'];

const HANDLERS: Readonly<Record<S3Operation, S3Handler>> = { ...bucketHandlers, ...objectHandlers, ...listingHandlers, ...multipartHandlers };

export interface S3RequestCounters {
  inFlight: number;
  served: number;
  errors: number;
}

export async function handleS3Request(http: IncomingMessage, response: ServerResponse, services: S3Services, counters: S3RequestCounters): Promise<void> {
  const id = services.randomBytes(8).toString('hex').toUpperCase();
  counters.inFlight++;
  try {
    const answer = await answerRequest(id, http, services);
    await sendResponse(response, answer, id, http.method === 'HEAD');
    counters.served++;
  } catch (error) {
    counters.errors++;
    await sendError(response, toS3Error(error, services, id), id, http);
  } finally {
    counters.inFlight--;
  }
}

async function answerRequest(id: string, http: IncomingMessage, services: S3Services): Promise<S3Response> {
  const signed = signedRequestOf(http);
  const route = routeS3Request({ method: signed.method, rawPath: signed.rawPath, rawQuery: signed.rawQuery, host: signed.headers.host }, services.rootDomain);
  const catalog = services.catalogOver(memoizedReads(services.tables, CATALOG_TABLES));
  const { accessKeyId, payload, signing } = await authenticate(signed, catalog, services);
  const request: S3Request = { id, http, route, signed, accessKeyId, catalog, payload: openPayload(http, signed, payload, signing), services };
  return HANDLERS[route.operation](request);
}

async function authenticate(signed: SignedRequest, catalog: S3Catalog, services: S3Services): Promise<{ accessKeyId: string; payload: PayloadMode; signing: SigningContext }> {
  const auth = parseAuth(signed, { region: services.region, nowMs: services.nowMs() });
  if (auth.kind === 'anonymous') throw new S3Error('AccessDenied', 'Anonymous access is not allowed: sign the request with an access key.');
  const secret = await catalog.secretOf(auth.credential.accessKeyId);
  if (secret === null) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: auth.credential.accessKeyId });
  const signing = verifySignature(signed, auth, secret);
  return { accessKeyId: auth.credential.accessKeyId, payload: auth.payload, signing };
}


async function sendResponse(response: ServerResponse, answer: S3Response, id: string, isHead: boolean): Promise<void> {
  response.statusCode = answer.status;
  setCommonHeaders(response, id);
  for (const [name, value] of answer.headers ?? []) response.setHeader(name, value);
  const body = answer.body;
  if (body === undefined || isHead) {
    if (!response.hasHeader('content-length') && !isHead) response.setHeader('content-length', 0);
    response.end();
    return;
  }
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    if (typeof body === 'string') response.setHeader('content-type', 'application/xml');
    response.setHeader('content-length', Buffer.byteLength(body));
    response.end(body);
    return;
  }
  await streamBody(response, body);
}

/** Streams with backpressure; a failure mid-body can only cut the connection (headers are sent). */
async function streamBody(response: ServerResponse, body: AsyncIterable<Buffer>): Promise<void> {
  try {
    for await (const chunk of body) {
      if (response.destroyed) return;
      if (!response.write(chunk)) await Promise.race([once(response, 'drain'), once(response, 'close')]);
    }
    response.end();
  } catch (error) {
    response.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

function setCommonHeaders(response: ServerResponse, id: string): void {
  response.setHeader('x-amz-request-id', id);
  response.setHeader('x-amz-id-2', id);
  response.setHeader('server', 'Grange');
}

function toS3Error(error: unknown, services: S3Services, id: string): S3Error {
  if (error instanceof S3Error) return error;
  if (error instanceof QuorumError) {
    // The client sees a 503 and retries; the operator sees why.
    services.log.warn('S3 request: quorum not reached', { requestId: id, error: error.message });
    return new S3Error('ServiceUnavailable', `Not enough nodes answered: ${error.message}`);
  }
  services.log.error('S3 request failed', { requestId: id, error: error instanceof Error ? error.stack ?? error.message : String(error) });
  return new S3Error('InternalError');
}

async function sendError(response: ServerResponse, error: S3Error, id: string, http: IncomingMessage): Promise<void> {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.statusCode = error.status;
  setCommonHeaders(response, id);
  for (const [name, value] of error.headers) response.setHeader(name, value);
  // A client that is still sending a body we refused gets the answer, then the connection ends.
  if (!http.complete) response.setHeader('connection', 'close');
  if (http.method === 'HEAD' || error.status === 304) {
    response.end();
    return;
  }
  const resource = (http.url ?? '/').split('?')[0]!;
  const details = Object.entries(error.details).map(([name, value]) => [name, value] as const);
  const body = xmlDocument(['Error', [['Code', error.code], ['Message', error.message], ...details, ['Resource', resource], ['RequestId', id]]], { namespace: false });
  response.setHeader('content-type', 'application/xml');
  response.setHeader('content-length', Buffer.byteLength(body));
  response.end(body);
}
