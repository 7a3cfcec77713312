// Cutting messages into bounded frames and putting them back together, with two priority
// classes. Pure: the connection actor feeds bytes in and takes frames out.
//
// Why frames: a 1 MiB block sent as one WebSocket message would hold up every interactive ask
// behind it for the whole transfer. Each message is cut into fragments of at most
// FRAGMENT_BYTES_MAX; the sender always prefers interactive fragments, so an interactive ask waits
// at most for one background fragment (plus what the socket already holds).
//
// Plaintext frame layout (before encryption):
//   u8  frame version (FRAME_VERSION)
//   u8  flags: bit 0 = last fragment of its message, bit 1 = background class
//   u32 message id (per connection and direction; wraps around)
//   ... fragment bytes
import { RPC_LIMITS } from './limits';

export const FRAME_VERSION = 1;
const FRAME_HEADER_BYTES = 6;
const FLAG_LAST = 0b01;
const FLAG_BACKGROUND = 0b10;

export type Priority = 'interactive' | 'background';

export class FramingError extends Error {
  override readonly name = 'FramingError';
}

export class SendBufferFullError extends Error {
  override readonly name = 'SendBufferFullError';
  constructor(readonly priority: Priority, readonly queuedBytes: number) {
    super(`send buffer full for ${priority} messages (${queuedBytes} bytes queued): peer too slow`);
  }
}

interface Outgoing {
  messageId: number;
  bytes: Buffer;
  offset: number;
}

/**
 * Per-connection outgoing queue. Invariant: queued bytes of each class never exceed its budget,
 * so a slow peer costs bounded memory; enqueue refuses instead.
 */
export class SendQueue {
  private readonly queues: Record<Priority, Outgoing[]> = { interactive: [], background: [] };
  private readonly queuedBytes: Record<Priority, number> = { interactive: 0, background: 0 };
  private nextMessageId = 0;
  private interactiveInARow = 0;

  constructor(private readonly limits = RPC_LIMITS) {}

  /** Queues one encoded message; throws SendBufferFullError when its class is over budget. */
  enqueue(bytes: Buffer, priority: Priority): void {
    const budget = priority === 'interactive' ? this.limits.interactiveQueueBytesMax : this.limits.backgroundQueueBytesMax;
    if (this.queuedBytes[priority] + bytes.length > budget) throw new SendBufferFullError(priority, this.queuedBytes[priority]);
    if (bytes.length > this.limits.messageBytesMax) throw new FramingError(`message of ${bytes.length} bytes exceeds ${this.limits.messageBytesMax}`);
    this.queues[priority].push({ messageId: this.nextMessageId, bytes, offset: 0 });
    this.nextMessageId = (this.nextMessageId + 1) >>> 0;
    this.queuedBytes[priority] += bytes.length;
  }

  isEmpty(): boolean {
    return this.queues.interactive.length === 0 && this.queues.background.length === 0;
  }

  bytesQueued(): number {
    return this.queuedBytes.interactive + this.queuedBytes.background;
  }

  /** The next plaintext frame to send, or null. Background gets a turn now and then so it is never starved. */
  nextFrame(): Buffer | null {
    const preferBackground = this.interactiveInARow >= this.limits.interactiveFramesBeforeBackground && this.queues.background.length > 0;
    const priority: Priority | null = preferBackground
      ? 'background'
      : this.queues.interactive.length > 0
        ? 'interactive'
        : this.queues.background.length > 0
          ? 'background'
          : null;
    if (priority === null) return null;
    this.interactiveInARow = priority === 'interactive' ? this.interactiveInARow + 1 : 0;
    return this.takeFragment(priority);
  }

  private takeFragment(priority: Priority): Buffer {
    const queue = this.queues[priority];
    const head = queue[0]!;
    const length = Math.min(this.limits.fragmentBytesMax, head.bytes.length - head.offset);
    const last = head.offset + length === head.bytes.length;
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
    frame.writeUInt8(FRAME_VERSION, 0);
    frame.writeUInt8((last ? FLAG_LAST : 0) | (priority === 'background' ? FLAG_BACKGROUND : 0), 1);
    frame.writeUInt32BE(head.messageId, 2);
    head.bytes.copy(frame, FRAME_HEADER_BYTES, head.offset, head.offset + length);
    head.offset += length;
    if (last) {
      queue.shift();
      this.queuedBytes[priority] -= head.bytes.length;
    }
    return frame;
  }
}

/**
 * Puts fragments back together. Any violation (unknown version, a message over the size bound,
 * too many messages in progress) is a FramingError: the connection is closed, the node goes on.
 */
export class Reassembler {
  private readonly partial = new Map<number, { chunks: Buffer[]; bytes: number }>();

  constructor(private readonly limits = RPC_LIMITS) {}

  /** Returns the completed message when this frame was its last fragment, otherwise null. */
  accept(frame: Buffer): { bytes: Buffer; priority: Priority } | null {
    if (frame.length < FRAME_HEADER_BYTES) throw new FramingError(`frame of ${frame.length} bytes is shorter than its header`);
    if (frame.readUInt8(0) !== FRAME_VERSION) throw new FramingError(`unsupported frame version ${frame.readUInt8(0)}`);
    const flags = frame.readUInt8(1);
    const messageId = frame.readUInt32BE(2);
    const fragment = frame.subarray(FRAME_HEADER_BYTES);
    if (fragment.length > this.limits.fragmentBytesMax) throw new FramingError(`fragment of ${fragment.length} bytes exceeds ${this.limits.fragmentBytesMax}`);
    const entry = this.partial.get(messageId) ?? this.startMessage(messageId);
    entry.bytes += fragment.length;
    if (entry.bytes > this.limits.messageBytesMax) throw new FramingError(`message exceeds ${this.limits.messageBytesMax} bytes`);
    entry.chunks.push(fragment);
    if ((flags & FLAG_LAST) === 0) return null;
    this.partial.delete(messageId);
    const bytes = entry.chunks.length === 1 ? entry.chunks[0]! : Buffer.concat(entry.chunks, entry.bytes);
    return { bytes, priority: flags & FLAG_BACKGROUND ? 'background' : 'interactive' };
  }

  private startMessage(messageId: number): { chunks: Buffer[]; bytes: number } {
    if (this.partial.size >= this.limits.messagesInProgressMax) throw new FramingError(`more than ${this.limits.messagesInProgressMax} messages in progress`);
    const entry = { chunks: [] as Buffer[], bytes: 0 };
    this.partial.set(messageId, entry);
    return entry;
  }
}
