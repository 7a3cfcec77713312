// Link diagnostics between nodes: echo and sink endpoints, and a load runner that measures asks
// and bulk transfers from this node to another over the real transport. Used by `bench/rpc` and
// the fabric's tests; an operator can use it to check a link.
import { assertNever, defineActor, errorMessage, type ActorContext, type Outcome, type Ref } from '../runtime';

/** Bounds on what one load run may ask for, so a request cannot make a node flood itself. */
export const DIAGNOSTICS_LIMITS = {
  operationsMax: 1_000_000,
  inFlightMax: 1024,
  payloadBytesMax: 16 * 1024 * 1024,
  askTimeoutMsMax: 120_000,
};

export interface LoadRequest {
  peerId: string;
  /** 'echo': interactive asks with a small body; 'bulk': background asks carrying `payloadBytes`. */
  mode: 'echo' | 'bulk';
  count: number;
  inFlight: number;
  payloadBytes: number;
  askTimeoutMs: number;
}

export interface LoadReport {
  completed: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
  latencyMs: { p50: number; p99: number; max: number } | null;
}

export type DiagnosticsMessage =
  | { type: 'echo'; payload: unknown; replyTo: Ref<unknown> }
  | { type: 'sink'; payload: Buffer; replyTo: Ref<number> }
  | { type: 'runLoad'; request: LoadRequest; replyTo: Ref<LoadReport | { error: string }> }
  | { type: 'loadDone'; replyTo: Ref<LoadReport | { error: string }>; outcome: Outcome<LoadReport> };

export interface DiagnosticsComponents {
  nowMs: () => number;
}

type Context = ActorContext<DiagnosticsMessage, null, DiagnosticsComponents>;

export const diagnosticsActor = defineActor<DiagnosticsMessage, null, DiagnosticsComponents>({
  kind: 'diagnostics',
  remote: { accepts: ['echo', 'sink', 'runLoad'] },
  init: () => null,
  handle(message, context) {
    switch (message.type) {
      case 'echo': return context.tell(message.replyTo, message.payload);
      case 'sink': return context.tell(message.replyTo, Buffer.isBuffer(message.payload) ? message.payload.length : 0);
      case 'runLoad': return onRunLoad(message.request, message.replyTo, context);
      case 'loadDone': return context.tell(message.replyTo, message.outcome.ok ? message.outcome.value : { error: message.outcome.error.message });
      default: return assertNever(message);
    }
  },
});

function onRunLoad(request: LoadRequest, replyTo: Ref<LoadReport | { error: string }>, context: Context): void {
  const problem = validateLoad(request);
  if (problem) return context.tell(replyTo, { error: problem });
  context.pipeToSelf(runLoad(request, context), (outcome) => ({ type: 'loadDone', replyTo, outcome }));
}

function validateLoad(request: LoadRequest): string | null {
  const limits = DIAGNOSTICS_LIMITS;
  if (!Number.isInteger(request.count) || request.count < 1 || request.count > limits.operationsMax) return `count must be 1..${limits.operationsMax}`;
  if (!Number.isInteger(request.inFlight) || request.inFlight < 1 || request.inFlight > limits.inFlightMax) return `inFlight must be 1..${limits.inFlightMax}`;
  if (!Number.isInteger(request.payloadBytes) || request.payloadBytes < 0 || request.payloadBytes > limits.payloadBytesMax) return `payloadBytes must be 0..${limits.payloadBytesMax}`;
  if (!(request.askTimeoutMs > 0 && request.askTimeoutMs <= limits.askTimeoutMsMax)) return `askTimeoutMs must be 1..${limits.askTimeoutMsMax}`;
  if (request.mode !== 'echo' && request.mode !== 'bulk') return 'mode must be echo or bulk';
  return null;
}

/** Keeps `inFlight` asks outstanding until `count` have finished; measures each one. */
async function runLoad(request: LoadRequest, context: Context): Promise<LoadReport> {
  const now = context.components.nowMs;
  const target: Ref<DiagnosticsMessage> = { node: request.peerId, path: context.path };
  const payload = request.mode === 'bulk' ? Buffer.alloc(request.payloadBytes, 0x5a) : 'x'.repeat(request.payloadBytes);
  const latencies: number[] = [];
  let started = 0;
  let failed = 0;
  let firstError: string | null = null;
  const startedAtMs = now();
  const one = async (): Promise<void> => {
    while (started < request.count) {
      started++;
      const sentAtMs = now();
      try {
        if (request.mode === 'bulk') {
          await context.ask(target, (replyTo: Ref<number>) => ({ type: 'sink' as const, payload: payload as Buffer, replyTo }), request.askTimeoutMs, { priority: 'background' });
        } else {
          await context.ask(target, (replyTo: Ref<unknown>) => ({ type: 'echo' as const, payload, replyTo }), request.askTimeoutMs);
        }
        latencies.push(now() - sentAtMs);
      } catch (error) {
        failed++;
        firstError ??= `${(error as Error).name}: ${errorMessage(error)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.inFlight, request.count) }, one));
  return { completed: latencies.length, failed, firstError, elapsedMs: now() - startedAtMs, latencyMs: summarize(latencies) };
}

function summarize(latencies: number[]): LoadReport['latencyMs'] {
  if (latencies.length === 0) return null;
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (fraction: number): number => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}
