// Cutting messages into bounded frames and putting them back together, with two priority
// classes. Pure: the connection actor feeds bytes in and takes frames out.
//
// Why frames: a 1 MiB block sent as one WebSocket message would hold up every interactive ask
// behind it for the whole transfer. Each message is cut into fragments of at most
// FRAGMENT_BYTES_MAX; the sender always prefers interactive fragments, so an interactive ask waits
// at most for one background fragment (plus what the socket already holds).
//
// Small messages share frames: when several are queued, one frame carries as many records as fit
// in FRAGMENT_BYTES_MAX, so a burst of small asks costs one seal, one WebSocket message and one
// mailbox hop instead of one each.
//
// Plaintext frame layout (before encryption):
//   u8  frame version (FRAME_VERSION)
//   then one or more records:
//     u8  flags: bit 0 = last fragment of its message, bit 1 = background class
//     u32 message id (per connection and direction; wraps around)
//     u32 fragment length
//     ... fragment bytes
import { RPC_LIMITS, type RpcLimits } from './limits';

export const FRAME_VERSION = 2;
const FRAME_HEADER_BYTES = 1;
const RECORD_HEADER_BYTES = 9;
const FLAG_LAST = 0b01;
const FLAG_BACKGROUND = 0b10;
/** A frame stops taking records once less than this is left of its budget. */
const RECORD_ROOM_MIN_BYTES = 512;

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

interface Outgoing<O> {
  messageId: number;
  /** The message's bytes, in parts (an envelope's header, then its attachments), never copied. */
  parts: readonly Buffer[];
  length: number;
  /** Bytes already framed, in all; and where that is in the parts. */
  offset: number;
  partIndex: number;
  partOffset: number;
  /** What the message was made from, handed back by takeUnsent. */
  origin: O | undefined;
}

/**
 * Per-connection outgoing queue. Invariant: queued bytes of each class never exceed its budget,
 * so a slow peer costs bounded memory; enqueue refuses instead.
 */
export class SendQueue<O = unknown> {
  private readonly queues: Record<Priority, Outgoing<O>[]> = { interactive: [], background: [] };
  private readonly queuedBytes: Record<Priority, number> = { interactive: 0, background: 0 };
  private nextMessageId = 0;
  private interactiveInARow = 0;

  constructor(private readonly limits: Readonly<RpcLimits> = RPC_LIMITS) {}

  /** Queues one encoded message (whole, or in parts); throws SendBufferFullError when its class is over budget. */
  enqueue(message: Buffer | readonly Buffer[], priority: Priority, origin?: O): void {
    const parts = Buffer.isBuffer(message) ? [message] : message.filter((part) => part.length > 0);
    const length = parts.reduce((total, part) => total + part.length, 0);
    const budget = priority === 'interactive' ? this.limits.interactiveQueueBytesMax : this.limits.backgroundQueueBytesMax;
    if (this.queuedBytes[priority] + length > budget) throw new SendBufferFullError(priority, this.queuedBytes[priority]);
    if (length > this.limits.messageBytesMax) throw new FramingError(`message of ${length} bytes exceeds ${this.limits.messageBytesMax}`);
    this.queues[priority].push({ messageId: this.nextMessageId, parts, length, offset: 0, partIndex: 0, partOffset: 0, origin });
    this.nextMessageId = (this.nextMessageId + 1) >>> 0;
    this.queuedBytes[priority] += length;
  }

  /**
   * Empties the queue, returning the origins of the messages not yet wholly framed, oldest first
   * within each class. The peer cannot have received any of them whole, so they may be sent again
   * on another connection.
   */
  takeUnsent(): O[] {
    const origins = [...this.queues.interactive, ...this.queues.background].flatMap((entry) => (entry.origin === undefined ? [] : [entry.origin]));
    this.queues.interactive = [];
    this.queues.background = [];
    this.queuedBytes.interactive = 0;
    this.queuedBytes.background = 0;
    return origins;
  }

  isEmpty(): boolean {
    return this.queues.interactive.length === 0 && this.queues.background.length === 0;
  }

  bytesQueued(): number {
    return this.queuedBytes.interactive + this.queuedBytes.background;
  }

  /** The next plaintext frame to send, or null (parts concatenated: for tests). */
  nextFrame(): Buffer | null {
    const parts = this.nextFrameParts();
    return parts && Buffer.concat(parts);
  }

  /**
   * The next frame as a list of buffers to seal in order: fragments are views of the queued
   * messages, not copies. Records are taken one at a time, interactive first, background now and
   * then so that it is never starved.
   */
  nextFrameParts(): Buffer[] | null {
    if (this.isEmpty()) return null;
    const parts: Buffer[] = [Buffer.from([FRAME_VERSION])];
    let room = this.limits.fragmentBytesMax;
    do {
      const priority = this.nextPriority();
      const views = this.takeFragment(priority, room);
      parts.push(...views);
      room -= views.reduce((total, view) => total + view.length, 0);
    } while (!this.isEmpty() && this.worthAnotherRecord(room));
    return parts;
  }

  /** Another record goes in if a whole message fits, or a fragment of a useful size. */
  private worthAnotherRecord(room: number): boolean {
    const space = room - RECORD_HEADER_BYTES;
    if (space <= 0) return false;
    const heads = [this.queues.interactive[0], this.queues.background[0]].filter((head): head is Outgoing<O> => head !== undefined);
    return heads.some((head) => head.length - head.offset <= space) || space >= RECORD_ROOM_MIN_BYTES;
  }

  private nextPriority(): Priority {
    const preferBackground = this.interactiveInARow >= this.limits.interactiveFramesBeforeBackground && this.queues.background.length > 0;
    const priority: Priority = preferBackground || this.queues.interactive.length === 0 ? 'background' : 'interactive';
    this.interactiveInARow = priority === 'interactive' ? this.interactiveInARow + 1 : 0;
    return priority;
  }

  /** The record header, then the fragment as views of the message's parts. */
  private takeFragment(priority: Priority, room: number): Buffer[] {
    const queue = this.queues[priority];
    const head = queue[0]!;
    const length = Math.min(room - RECORD_HEADER_BYTES, head.length - head.offset);
    const last = head.offset + length === head.length;
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    header.writeUInt8((last ? FLAG_LAST : 0) | (priority === 'background' ? FLAG_BACKGROUND : 0), 0);
    header.writeUInt32BE(head.messageId, 1);
    header.writeUInt32BE(length, 5);
    const views: Buffer[] = [header];
    for (let left = length; left > 0; ) {
      const part = head.parts[head.partIndex]!;
      const take = Math.min(left, part.length - head.partOffset);
      views.push(part.subarray(head.partOffset, head.partOffset + take));
      left -= take;
      head.partOffset += take;
      if (head.partOffset === part.length) {
        head.partIndex++;
        head.partOffset = 0;
      }
    }
    head.offset += length;
    if (last) {
      queue.shift();
      this.queuedBytes[priority] -= head.length;
    }
    return views;
  }

}

/**
 * Puts fragments back together. Any violation (unknown version, a message over the size bound,
 * too many messages in progress) is a FramingError: the connection is closed, the node goes on.
 */
export class Reassembler {
  private readonly partial = new Map<number, { chunks: Buffer[]; bytes: number }>();

  constructor(private readonly limits: Readonly<RpcLimits> = RPC_LIMITS) {}

  /** The messages this frame completed (often none, for a fragment of a large message). */
  accept(frame: Buffer): { bytes: Buffer; priority: Priority }[] {
    if (frame.length < FRAME_HEADER_BYTES + RECORD_HEADER_BYTES) throw new FramingError(`frame of ${frame.length} bytes is shorter than its headers`);
    if (frame.length > this.limits.fragmentBytesMax + FRAME_HEADER_BYTES) throw new FramingError(`frame of ${frame.length} bytes exceeds ${this.limits.fragmentBytesMax}`);
    if (frame.readUInt8(0) !== FRAME_VERSION) throw new FramingError(`unsupported frame version ${frame.readUInt8(0)}`);
    const completed: { bytes: Buffer; priority: Priority }[] = [];
    let offset = FRAME_HEADER_BYTES;
    while (offset < frame.length) {
      if (frame.length - offset < RECORD_HEADER_BYTES) throw new FramingError('truncated record header');
      const flags = frame.readUInt8(offset);
      const messageId = frame.readUInt32BE(offset + 1);
      const length = frame.readUInt32BE(offset + 5);
      offset += RECORD_HEADER_BYTES;
      if (length > frame.length - offset) throw new FramingError(`record of ${length} bytes overruns its frame`);
      const message = this.acceptFragment(flags, messageId, frame.subarray(offset, offset + length));
      offset += length;
      if (message) completed.push(message);
    }
    return completed;
  }

  private acceptFragment(flags: number, messageId: number, fragment: Buffer): { bytes: Buffer; priority: Priority } | null {
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
