// Anti-entropy requests to one peer, for many partitions, in one message.
//
// Why: a round walks every partition whose roots differ from the peer's, and a walk is a few small
// requests (Merkle questions, row pulls, row pushes) to that partition's replica. Sent one by one,
// each request pays a message's envelope and framing (about 200 bytes), often more than its
// content: after a node was down, most of a repair's bytes. The syncer walks the partitions side
// by side instead, and the requests its walks make in the same turn go out together, to the peer's
// table actor, which hands each to its local replica and answers all of them at once.
import { RemoteError, type Ref } from '../runtime';
import { PARTITION_COUNT } from '../../protocols/layout';
import { RPC_LIMITS } from '../../protocols/rpc/limits';
import type { ReplicaMessage } from './replica';

/** The replica requests a walk makes, without their reply address. */
export type BatchedRequest =
  | { type: 'merkleNode'; queries: unknown[] }
  | { type: 'getRows'; rowKeys: Buffer[] }
  | { type: 'update'; entries: Buffer[] };

export const BATCHED_TYPES: readonly BatchedRequest['type'][] = ['merkleNode', 'getRows', 'update'];

/** [partition, request] */
export type BatchItem = [number, BatchedRequest];
/** Per item: [0, reply] or [1, error name, error message]. */
export type BatchReplyItem = [0, unknown] | [1, string, string];

export interface ReplicaBatchMessage {
  type: 'replicaBatch';
  items: BatchItem[];
  replyTo: Ref<BatchReplyItem[]>;
}

/** Requests in one batch: enough for a level of every walk of a round trip. */
export const BATCH_ITEMS_MAX = 64;
/** Entry bytes pushed in one batch; a larger push goes alone. */
export const BATCH_PUSH_BYTES_MAX = 4 * 1024 * 1024;
/**
 * Reply bytes one batch may carry (about: buffers plus a little per value). Replies past it are
 * refused with BatchReplyTooLargeError and asked again alone, so a batch stays one message.
 */
export const BATCH_REPLY_BYTES_MAX = RPC_LIMITS.messageBytesMax / 2;

export class BatchReplyTooLargeError extends Error {
  override readonly name = 'BatchReplyTooLargeError';
}

// ---- the asking side ---------------------------------------------------------------------------

export interface PeerReplicas {
  /** Sends `request` to the peer's replica of `partition`, batched with the others of this turn. */
  ask<R>(partition: number, request: BatchedRequest): Promise<R>;
}

interface Pending {
  item: BatchItem;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * `sendBatch` asks the peer's table; `askAlone` asks its replica directly (for a reply too large
 * to share a message).
 */
export function peerReplicas(
  sendBatch: (items: BatchItem[]) => Promise<BatchReplyItem[]>,
  askAlone: (partition: number, request: BatchedRequest) => Promise<unknown>,
): PeerReplicas {
  let pending: Pending[] = [];
  const flush = (): void => {
    const all = pending;
    pending = [];
    for (const chunk of chunksOf(all)) void sendChunk(chunk, sendBatch, askAlone);
  };
  return {
    ask<R>(partition: number, request: BatchedRequest): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        // The first request of a turn schedules the send: walks resumed by the same reply all
        // get to make their next request before it goes.
        if (pending.length === 0) setImmediate(flush);
        pending.push({ item: [partition, request], resolve: resolve as (value: unknown) => void, reject });
      });
    },
  };
}

function chunksOf(all: Pending[]): Pending[][] {
  const chunks: Pending[][] = [];
  let chunk: Pending[] = [];
  let pushBytes = 0;
  for (const request of all) {
    const bytes = request.item[1].type === 'update' ? request.item[1].entries.reduce((sum, entry) => sum + entry.length, 0) : 0;
    if (chunk.length > 0 && (chunk.length >= BATCH_ITEMS_MAX || pushBytes + bytes > BATCH_PUSH_BYTES_MAX)) {
      chunks.push(chunk);
      [chunk, pushBytes] = [[], 0];
    }
    chunk.push(request);
    pushBytes += bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

async function sendChunk(
  chunk: Pending[],
  sendBatch: (items: BatchItem[]) => Promise<BatchReplyItem[]>,
  askAlone: (partition: number, request: BatchedRequest) => Promise<unknown>,
): Promise<void> {
  let replies: BatchReplyItem[];
  try {
    replies = await sendBatch(chunk.map((request) => request.item));
    if (!Array.isArray(replies) || replies.length !== chunk.length) throw new Error('replica batch: one reply per request expected');
  } catch (error) {
    for (const request of chunk) request.reject(error as Error);
    return;
  }
  chunk.forEach((request, index) => {
    const reply = replies[index]!;
    if (reply[0] === 0) return request.resolve(reply[1]);
    if (reply[1] !== 'BatchReplyTooLargeError') return request.reject(new RemoteError(String(reply[1]), String(reply[2])));
    askAlone(request.item[0], request.item[1]).then(request.resolve, request.reject);
  });
}

// ---- the answering side ------------------------------------------------------------------------

/** The batch's items, checked: a peer's message steers which local replicas are asked. */
export function checkBatchItems(items: unknown): BatchItem[] {
  if (!Array.isArray(items) || items.length < 1 || items.length > BATCH_ITEMS_MAX) throw new Error(`replica batch: 1 to ${BATCH_ITEMS_MAX} requests`);
  for (const item of items) {
    const [partition, request] = Array.isArray(item) ? item : [];
    if (!Number.isInteger(partition) || partition < 0 || partition >= PARTITION_COUNT) throw new Error('replica batch: bad partition');
    const type = (request as { type?: unknown } | null)?.type;
    if (!BATCHED_TYPES.includes(type as BatchedRequest['type'])) throw new Error(`replica batch: request type ${String(type)} not batched`);
  }
  return items as BatchItem[];
}

/**
 * Asks each local replica its request and gathers the replies, in order. A failure is that item's
 * only; replies past BATCH_REPLY_BYTES_MAX are refused (the asker asks those again alone).
 */
export async function answerBatch(items: BatchItem[], askReplica: (partition: number, makeMessage: (replyTo: Ref<unknown>) => ReplicaMessage) => Promise<unknown>): Promise<BatchReplyItem[]> {
  const outcomes = await Promise.allSettled(items.map(([partition, request]) => askReplica(partition, (replyTo) => ({ ...request, replyTo }) as ReplicaMessage)));
  let bytesLeft = BATCH_REPLY_BYTES_MAX;
  return outcomes.map((outcome): BatchReplyItem => {
    if (outcome.status === 'rejected') {
      const error = outcome.reason as Error;
      return [1, error?.name ?? 'Error', error?.message ?? String(error)];
    }
    bytesLeft -= approximateBytes(outcome.value);
    return bytesLeft >= 0 ? [0, outcome.value] : [1, 'BatchReplyTooLargeError', 'reply too large for a batch'];
  });
}

/** Encoded size, about: buffer and string bytes plus a few bytes per value. */
export function approximateBytes(value: unknown): number {
  if (Buffer.isBuffer(value)) return value.length + 5;
  if (typeof value === 'string') return value.length * 3 + 5;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + approximateBytes(item), 5);
  if (value !== null && typeof value === 'object') return Object.values(value).reduce((sum: number, item) => sum + approximateBytes(item) + 16, 5);
  return 9;
}
