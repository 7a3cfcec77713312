// The S3 API server of one node (`[s3_api] api_bind_addr`): an HTTP server whose requests each
// run on their own promise (handleS3Request), so a slow upload never holds up another request.
// The actor owns the listening socket and the request counters; the services it hands the
// handlers reach the tables and the block manager through this actor's `ask`.
import { createServer, type Server } from 'node:http';
import { awaitListening, closeHttpServer, listenHttp, listenResult, type ListenReport } from '../http';
import { randomBytes } from 'node:crypto';
import { assertNever, defineActor, restartWithBackoff, type InitContext, type Ref } from '../../runtime';
import type { ListenAddress } from '../../../config/address';
import { S3_BLOCK_GETS_IN_FLIGHT_MAX, S3_BLOCK_PUTS_IN_FLIGHT_MAX, S3_HEADER_BYTES_MAX, S3_KEEP_ALIVE_IDLE_MS } from '../../../protocols/s3/limits';
import { Slots } from './slots';
import { tableClient, type TableAsk, type TableClient } from '../../table/client';
import type { BlockManagerMessage, BlockPutReply } from '../../block/manager';
import type { TableMessage } from '../../table/table';
import { handleS3Request, type S3RequestCounters } from './pipeline';
import type { S3BlockAccess, S3Catalog, S3Services } from './services';

export type S3ListenReport = ListenReport;

export type S3ServerMessage =
  | { type: 'awaitListening'; replyTo: Ref<S3ListenReport> }
  // Internal:
  | { type: 'listenResult'; report: S3ListenReport };

export interface S3ServerComponents {
  listen: ListenAddress;
  region: string;
  rootDomain: string | undefined;
  blockSize: number;
  /** The node's block manager. */
  blocks: Ref<BlockManagerMessage>;
  /** How long one table operation or block transfer may take. */
  requestTimeoutMs: number;
  /** Builds the catalog view over this node's tables (src/actors/s3/catalog.ts). */
  catalog(tables: TableClient): S3Catalog;
  nowMs(): number;
}

interface S3ServerState {
  server: Server;
  listen: S3ListenReport | null;
  waiters: Ref<S3ListenReport>[];
  counters: S3RequestCounters;
}

export const s3ServerActor = defineActor<S3ServerMessage, S3ServerState, S3ServerComponents>({
  kind: 's3-api',
  supervision: restartWithBackoff(),
  init(context) {
    const counters: S3RequestCounters = { inFlight: 0, served: 0, errors: 0 };
    const services = servicesOf(context);
    const server = createServer({ maxHeaderSize: S3_HEADER_BYTES_MAX, keepAliveTimeout: S3_KEEP_ALIVE_IDLE_MS, headersTimeout: S3_KEEP_ALIVE_IDLE_MS + 5_000 }, (request, response) => {
      void handleS3Request(request, response, services, counters);
    });
    const self = context.self;
    listenHttp(server, context.components.listen, (report) => context.tell(self, { type: 'listenResult', report }));
    return { server, listen: null, waiters: [], counters };
  },
  handle(message, context) {
    switch (message.type) {
      case 'awaitListening':
        return awaitListening(context.state, message.replyTo, context.tell);
      case 'listenResult':
        if (!message.report.ok) context.log.error('the S3 API cannot listen', { reason: message.report.detail });
        return listenResult(context.state, message.report, context.tell);
      default:
        return assertNever(message);
    }
  },
  cleanup: (context) => closeHttpServer(context.state?.server),
  status: (context) => ({ listening: context.state.listen?.detail ?? null, ...context.state.counters }),
});


function servicesOf(context: InitContext<S3ServerMessage, S3ServerComponents>): S3Services {
  const { components } = context;
  const timeoutMs = components.requestTimeoutMs;
  const ask: TableAsk = (path, makeMessage, askTimeoutMs) => context.ask({ path } as Ref<TableMessage>, makeMessage, askTimeoutMs);
  const tables = tableClient(ask, timeoutMs);
  const putSlots = new Slots(S3_BLOCK_PUTS_IN_FLIGHT_MAX);
  const getSlots = new Slots(S3_BLOCK_GETS_IN_FLIGHT_MAX);
  const blocks: S3BlockAccess = {
    put: (hash, data) => putSlots.run(() => context.ask(components.blocks, (replyTo: Ref<BlockPutReply>) => ({ type: 'put' as const, hash, data, replyTo }), timeoutMs)).then(() => undefined),
    get: (hash) => getSlots.run(() => context.ask(components.blocks, (replyTo: Ref<Buffer>) => ({ type: 'get' as const, hash, replyTo }), timeoutMs)),
  };
  return {
    region: components.region,
    rootDomain: components.rootDomain,
    blockSize: components.blockSize,
    catalogOver: components.catalog,
    tables,
    blocks,
    nowMs: components.nowMs,
    randomBytes,
    log: context.log,
  };
}
