// Bounds of node-to-node messaging. Relations between them are asserted below, at load time.

export interface RpcLimits {
  fragmentBytesMax: number;
  messageBytesMax: number;
  messagesInProgressMax: number;
  interactiveQueueBytesMax: number;
  backgroundQueueBytesMax: number;
  interactiveFramesBeforeBackground: number;
  framesInFlightMax: number;
}

export const RPC_LIMITS: Readonly<RpcLimits> = {
  /**
   * Largest fragment of a message in one frame: an interactive ask waits for at most one (256 KiB
   * is about 2 ms on a 1 Gbit/s link, 20 ms on 100 Mbit/s). Smaller costs bulk throughput.
   */
  fragmentBytesMax: 256 * 1024,
  /** Largest encoded message (a data block of up to 16 MiB plus its envelope). */
  messageBytesMax: 17 * 1024 * 1024,
  /** Messages being reassembled at once on one connection. */
  messagesInProgressMax: 64,
  /** Per-peer send budgets: a slow peer costs at most this much memory. */
  interactiveQueueBytesMax: 16 * 1024 * 1024,
  backgroundQueueBytesMax: 64 * 1024 * 1024,
  /** After this many interactive frames in a row, one background frame goes out. */
  interactiveFramesBeforeBackground: 8,
  /** Frames handed to the socket and not yet flushed: keeps the socket's own buffer short. */
  framesInFlightMax: 32,
};

/** Largest WebSocket message accepted: one sealed frame (header, fragment, tag) with slack. */
export const WEBSOCKET_PAYLOAD_BYTES_MAX = RPC_LIMITS.fragmentBytesMax + 1024;

if (RPC_LIMITS.messageBytesMax > RPC_LIMITS.backgroundQueueBytesMax) {
  throw new Error('limits: a message larger than the background send budget could never be sent');
}
if (RPC_LIMITS.fragmentBytesMax < 1024) {
  throw new Error('limits: a frame must have room for record headers and data');
}
if (RPC_LIMITS.fragmentBytesMax >= WEBSOCKET_PAYLOAD_BYTES_MAX) {
  throw new Error('limits: a full fragment must fit in one WebSocket message');
}
