// The K2V API server of one node (`[k2v_api] api_bind_addr`), Garage's K2V spec: an HTTP server
// whose requests each run on their own promise (pipeline.ts). Keys, buckets and permissions are
// S3's (the same catalog); items live in the k2v_item table.
import { createServer, type Server } from 'node:http';
import { awaitListening, closeHttpServer, listenHttp, listenResult, type ListenReport } from '../http';
import { randomBytes } from 'node:crypto';
import { assertNever, defineActor, restartWithBackoff, type InitContext, type Ref } from '../../runtime';
import type { ListenAddress } from '../../../config/address';
import { K2V_LIMITS } from '../../../protocols/k2v/limits';
import { S3_HEADER_BYTES_MAX, S3_KEEP_ALIVE_IDLE_MS } from '../../../protocols/s3/limits';
import { TABLE_PATH_PREFIX, tableClient, type TableAsk, type TableClient } from '../../table/client';
import type { CounterRow } from '../../table/counter-scan';
import { k2vItemSchema } from '../../../protocols/k2v/item';
import type { TableMessage } from '../../table/table';
import type { S3Catalog } from '../s3/services';
import { handleK2vRequest, type K2vCounters, type K2vServices } from './pipeline';

export type K2vListenReport = ListenReport;

export type K2vServerMessage =
  | { type: 'awaitListening'; replyTo: Ref<K2vListenReport> }
  // Internal:
  | { type: 'listenResult'; report: K2vListenReport };

export interface K2vServerComponents {
  listen: ListenAddress;
  /** The S3 region: K2V requests are signed with it and the service `k2v`. */
  region: string;
  /** This node's id: its K2V id (first 8 bytes) stamps the values written through it. */
  nodeId: string;
  requestTimeoutMs: number;
  catalog(tables: TableClient): S3Catalog;
  nowMs(): number;
}

interface K2vServerState {
  server: Server;
  listen: K2vListenReport | null;
  waiters: Ref<K2vListenReport>[];
  counters: K2vCounters;
}

/** A PollItem may wait this long (its timeout, at most 600 s) before its answer: no request timeout cuts it. */
const K2V_REQUEST_TIMEOUT_MS = (K2V_LIMITS.pollTimeoutMaxSeconds + 60) * 1000;

export const k2vServerActor = defineActor<K2vServerMessage, K2vServerState, K2vServerComponents>({
  kind: 'k2v-api',
  supervision: restartWithBackoff(),
  init(context) {
    const counters: K2vCounters = { inFlight: 0, served: 0, errors: 0 };
    const services = servicesOf(context);
    const server = createServer(
      { maxHeaderSize: S3_HEADER_BYTES_MAX, keepAliveTimeout: S3_KEEP_ALIVE_IDLE_MS, headersTimeout: S3_KEEP_ALIVE_IDLE_MS + 5_000, requestTimeout: K2V_REQUEST_TIMEOUT_MS },
      (request, response) => void handleK2vRequest(request, response, services, counters),
    );
    const self = context.self;
    listenHttp(server, context.components.listen, (report) => context.tell(self, { type: 'listenResult', report }));
    return { server, listen: null, waiters: [], counters };
  },
  handle(message, context) {
    switch (message.type) {
      case 'awaitListening':
        return awaitListening(context.state, message.replyTo, context.tell);
      case 'listenResult':
        if (!message.report.ok) context.log.error('the K2V API cannot listen', { reason: message.report.detail });
        return listenResult(context.state, message.report, context.tell);
      default:
        return assertNever(message);
    }
  },
  cleanup: (context) => closeHttpServer(context.state?.server),
  status: (context) => ({ listening: context.state.listen?.detail ?? null, ...context.state.counters }),
});


function servicesOf(context: InitContext<K2vServerMessage, K2vServerComponents>): K2vServices {
  const { components } = context;
  const ask: TableAsk = (path, makeMessage, timeoutMs) => context.ask({ path } as Ref<TableMessage>, makeMessage, timeoutMs);
  return {
    region: components.region,
    nodeId: components.nodeId,
    tables: tableClient(ask, components.requestTimeoutMs),
    catalogOver: components.catalog,
    nowMs: components.nowMs,
    randomBytes,
    log: context.log,
    lastTime: 0,
    scanCounters: (query) =>
      context.ask({ path: `${TABLE_PATH_PREFIX}${k2vItemSchema.name}` } as Ref<TableMessage>, (replyTo: Ref<CounterRow[]>) => ({ type: 'counterScan' as const, query, replyTo }), components.requestTimeoutMs),
  };
}
