// Framing and envelopes, without sockets: fragments, priorities, bounds, malformed input.
import { randomBytes } from 'node:crypto';
import { decodeEnvelope, encodeEnvelope, encodeEnvelopeParts, EnvelopeError } from '../../src/protocols/rpc/envelope';
import { FramingError, Reassembler, SendBufferFullError, SendQueue } from '../../src/protocols/rpc/framing';
import { RPC_LIMITS } from '../../src/protocols/rpc/limits';

const small = { ...RPC_LIMITS, fragmentBytesMax: 16, interactiveQueueBytesMax: 100, backgroundQueueBytesMax: 1000, messageBytesMax: 500 };


/** One record: flags, message id, length, bytes (the wire layout of framing.ts). */
function record(flags: number, messageId: number, bytes: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(messageId, 1);
  header.writeUInt32BE(bytes.length, 5);
  return Buffer.concat([header, bytes]);
}

const frameOf = (...records: Buffer[]): Buffer => Buffer.concat([Buffer.from([2]), ...records]);

describe('framing', () => {
  it('cuts a large message into bounded frames and reassembles it byte-identical', () => {
    const queue = new SendQueue(small);
    const reassembler = new Reassembler(small);
    const big = randomBytes(400);
    queue.enqueue(big, 'background');
    const frames: Buffer[] = [];
    for (let frame = queue.nextFrame(); frame; frame = queue.nextFrame()) frames.push(frame);
    expect(frames.length).toBeGreaterThan(1);
    frames.forEach((frame) => expect(frame.length).toBeLessThanOrEqual(small.fragmentBytesMax + 1));
    const results = frames.map((frame) => reassembler.accept(frame));
    expect(results.slice(0, -1).every((result) => result.length === 0)).toBe(true);
    expect(results[results.length - 1]).toEqual([{ bytes: big, priority: 'background' }]);
    expect(queue.bytesQueued()).toBe(0);
  });

  it('hands back the messages not wholly framed when a connection closes, and empties itself', () => {
    const queue = new SendQueue<string>({ ...small, fragmentBytesMax: 64 });
    queue.enqueue(Buffer.alloc(20, 1), 'interactive', 'framed');
    queue.enqueue(Buffer.alloc(10, 2), 'interactive', 'framed too');
    queue.enqueue(Buffer.alloc(100, 3), 'background', 'cut in fragments');
    queue.enqueue(Buffer.alloc(10, 4), 'background', 'waiting');
    // Two frames: both interactive messages whole, then the first fragment of the large one.
    queue.nextFrame();
    queue.nextFrame();
    expect(queue.takeUnsent()).toEqual(['cut in fragments', 'waiting']);
    expect(queue.isEmpty()).toBe(true);
    expect(queue.bytesQueued()).toBe(0);
    expect(queue.nextFrame()).toBeNull();
  });

  it('packs several small messages into one frame', () => {
    const queue = new SendQueue(RPC_LIMITS);
    for (let i = 0; i < 100; i++) queue.enqueue(Buffer.from(`message-${i}`), 'interactive');
    const frame = queue.nextFrame()!;
    expect(queue.isEmpty()).toBe(true);
    const messages = new Reassembler(RPC_LIMITS).accept(frame);
    expect(messages.map((message) => message.bytes.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `message-${i}`));
  });

  it('lets interactive messages overtake a large background one, without starving it', () => {
    const limits = { ...small, fragmentBytesMax: 600 };
    const queue = new SendQueue({ ...limits, interactiveQueueBytesMax: 100_000, backgroundQueueBytesMax: 100_000, messageBytesMax: 50_000 });
    const reassembler = new Reassembler({ ...limits, messageBytesMax: 50_000 });
    queue.enqueue(Buffer.alloc(20_000, 66), 'background');
    reassembler.accept(queue.nextFrame()!); // the background transfer is under way
    queue.enqueue(Buffer.from('ask-1'), 'interactive');
    // The very next frame carries the whole interactive message first.
    const next = reassembler.accept(queue.nextFrame()!);
    expect(next[0]).toEqual({ bytes: Buffer.from('ask-1'), priority: 'interactive' });

    // Under a steady stream of interactive records, background still gets a turn.
    const backgroundBytesBefore = queue.bytesQueued();
    for (let i = 0; i < 50; i++) {
      for (let j = 0; j < 20; j++) queue.enqueue(Buffer.from('tiny'), 'interactive');
      reassembler.accept(queue.nextFrame()!);
    }
    expect(queue.bytesQueued()).toBeLessThan(backgroundBytesBefore);
  });

  it('refuses to queue past a class budget (a slow peer costs bounded memory)', () => {
    const queue = new SendQueue(small);
    queue.enqueue(Buffer.alloc(90), 'interactive');
    expect(() => queue.enqueue(Buffer.alloc(20), 'interactive')).toThrow(SendBufferFullError);
    queue.enqueue(Buffer.alloc(400), 'background');
    expect(() => queue.enqueue(Buffer.alloc(501), 'background')).toThrow(/exceeds|full/);
  });

  it('rejects malformed, oversized and too many partial messages with FramingError', () => {
    const limits = { ...small, fragmentBytesMax: 64 };
    const reassembler = new Reassembler(limits);
    expect(() => reassembler.accept(Buffer.alloc(3))).toThrow(FramingError);
    expect(() => reassembler.accept(Buffer.concat([Buffer.from([9]), record(1, 1, Buffer.alloc(4))]))).toThrow(/version/);
    expect(() => reassembler.accept(frameOf(record(1, 1, Buffer.alloc(80))))).toThrow(/exceeds/);
    const overrun = frameOf(record(1, 1, Buffer.alloc(10))).subarray(0, 15);
    expect(() => reassembler.accept(overrun)).toThrow(/overruns/);
    const growing = new Reassembler(limits);
    expect(() => {
      for (let i = 0; i < 40; i++) growing.accept(frameOf(record(0, 7, Buffer.alloc(50))));
    }).toThrow(/exceeds 500/);
    const many = new Reassembler({ ...limits, messagesInProgressMax: 3 });
    expect(() => {
      for (let id = 0; id < 4; id++) many.accept(frameOf(record(0, id, Buffer.alloc(1))));
    }).toThrow(/in progress/);
  });
});

describe('envelopes', () => {
  it('round-trips tells with raw binary bodies and errors', () => {
    const body = { type: 'putBlock', data: randomBytes(1000), replyTo: { node: 'ab'.repeat(32), path: '/temp/7' } };
    const decoded = decodeEnvelope(encodeEnvelope({ kind: 'tell', to: '/node/blocks', body }));
    expect(decoded).toEqual({ kind: 'tell', to: '/node/blocks', body });
    const encoded = encodeEnvelope({ kind: 'tell', to: '/x', body: { data: Buffer.alloc(1000, 7) } });
    expect(encoded.length).toBeLessThan(1100); // raw bytes, not base64
    expect(decodeEnvelope(encodeEnvelope({ kind: 'error', to: '/temp/3', error: { name: 'AskTimeoutError', message: 'slow' } }))).toEqual({
      kind: 'error',
      to: '/temp/3',
      error: { name: 'AskTimeoutError', message: 'slow' },
    });
  });

  it('sends large binary values as attachments: not copied on either side, decoded byte-identical', () => {
    const block = randomBytes(300_000);
    const small = randomBytes(100);
    const body = { type: 'store', hash: small, data: block, nested: [{ more: randomBytes(20_000) }], replyTo: { node: 'cd'.repeat(32), path: '/temp/9' } };
    const parts = encodeEnvelopeParts({ kind: 'tell', to: '/node/blocks', body });
    // Prefix, msgpack header, then the two large values themselves (the same memory, not copies).
    expect(parts).toHaveLength(4);
    expect(parts[2]!.buffer).toBe(block.buffer);
    expect(parts[0]![0]).toBe(0);
    // Through a send queue and a reassembler, as on a connection.
    const queue = new SendQueue({ ...RPC_LIMITS, fragmentBytesMax: 64 * 1024 });
    const reassembler = new Reassembler(RPC_LIMITS);
    queue.enqueue(parts, 'background');
    const received: Buffer[] = [];
    for (let frame = queue.nextFrame(); frame; frame = queue.nextFrame()) received.push(...reassembler.accept(frame).map((message) => message.bytes));
    expect(received).toHaveLength(1);
    const decoded = decodeEnvelope(received[0]!);
    expect(decoded).toEqual({ kind: 'tell', to: '/node/blocks', body });
    // The caller's body is left as it was.
    expect(body.data).toBe(block);
    // Small bodies stay one plain msgpack array, as before.
    expect(encodeEnvelopeParts({ kind: 'tell', to: '/x', body: { data: small } })).toHaveLength(1);
  });

  it('refuses malformed attachment lists with EnvelopeError', () => {
    const parts = encodeEnvelopeParts({ kind: 'tell', to: '/x', body: { data: randomBytes(40_000) } });
    const whole = Buffer.concat(parts);
    expect(() => decodeEnvelope(whole.subarray(0, whole.length - 1))).toThrow(EnvelopeError);
    expect(() => decodeEnvelope(Buffer.from([0, 0]))).toThrow(EnvelopeError);
    expect(() => decodeEnvelope(Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xff, 0x94]))).toThrow(EnvelopeError);
    const noAttachments = Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1]), encodeEnvelope({ kind: 'tell', to: '/x', body: {} }), Buffer.from([7])]);
    expect(decodeEnvelope(noAttachments)).toEqual({ kind: 'tell', to: '/x', body: {} });
  });

  it('rejects garbage with EnvelopeError, never another exception', () => {
    for (let i = 0; i < 500; i++) {
      const garbage = randomBytes(1 + (i % 64));
      try {
        decodeEnvelope(garbage);
      } catch (error) {
        expect(error).toBeInstanceOf(EnvelopeError);
      }
    }
    expect(() => decodeEnvelope(encodeEnvelope({ kind: 'tell', to: '/ok', body: 1 }).subarray(0, 3))).toThrow(EnvelopeError);
  });
});
