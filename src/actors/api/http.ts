// What the node's HTTP API servers (S3, K2V) share: listening on a configured address, and the
// request headers in the shape the Signature V4 core reads.
import type { IncomingMessage, Server } from 'node:http';
import type { ListenAddress } from '../../config/address';
import type { SignedRequest } from '../../protocols/sigv4';
import type { Ref } from '../runtime';

export interface ListenReport {
  ok: boolean;
  /** host:port or socket path on success; the reason on failure. */
  detail: string;
}

/** Starts listening; `onResult` is called once, with where, or why not. */
export function listenHttp(server: Server, address: ListenAddress, onResult: (report: ListenReport) => void): void {
  const where = address.kind === 'unix' ? address.path : `${address.host}:${address.port}`;
  server.once('listening', () => onResult({ ok: true, detail: where }));
  server.once('error', (error: Error) => onResult({ ok: false, detail: `${where}: ${error.message}` }));
  if (address.kind === 'unix') server.listen(address.path);
  else server.listen(address.port, address.host);
}

/** Where a server actor is with listening, and who waits to know. */
export interface ListenState {
  listen: ListenReport | null;
  waiters: Ref<ListenReport>[];
}

/** An `awaitListening` ask: answered now if the outcome is known, else once it is. */
export function awaitListening(state: ListenState, replyTo: Ref<ListenReport>, tell: (to: Ref<ListenReport>, report: ListenReport) => void): void {
  if (state.listen) tell(replyTo, state.listen);
  else state.waiters.push(replyTo);
}

/** The outcome of listenHttp: recorded, and told to everyone waiting. */
export function listenResult(state: ListenState, report: ListenReport, tell: (to: Ref<ListenReport>, report: ListenReport) => void): void {
  state.listen = report;
  for (const waiter of state.waiters.splice(0)) tell(waiter, report);
}

/** Stops accepting and drops open connections (a stopping node answers nothing more). */
export function closeHttpServer(server: Server | undefined): Promise<void> | void {
  if (!server) return;
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The request as the Signature V4 core reads it: raw path and query as sent, flat headers. */
export function signedRequestOf(http: IncomingMessage): SignedRequest {
  const url = http.url ?? '/';
  const queryStart = url.indexOf('?');
  return {
    method: http.method ?? 'GET',
    rawPath: queryStart < 0 ? url : url.slice(0, queryStart),
    rawQuery: queryStart < 0 ? '' : url.slice(queryStart + 1),
    headers: flatHeaders(http),
  };
}

/** Lowercase names, duplicates joined by ', ' (Node's parse), for SignedRequest. */
function flatHeaders(http: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(http.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
