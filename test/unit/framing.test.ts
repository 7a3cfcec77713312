// Framing and envelopes, without sockets: fragments, priorities, bounds, malformed input.
import { randomBytes } from 'node:crypto';
import { decodeEnvelope, encodeEnvelope, EnvelopeError } from '../../src/protocols/rpc/envelope';
import { FramingError, Reassembler, SendBufferFullError, SendQueue } from '../../src/protocols/rpc/framing';
import { RPC_LIMITS } from '../../src/protocols/rpc/limits';

const small = { ...RPC_LIMITS, fragmentBytesMax: 16, interactiveQueueBytesMax: 100, backgroundQueueBytesMax: 1000, messageBytesMax: 500 };

function drain(queue: SendQueue, reassembler: Reassembler) {
  const delivered: { text: string; priority: string }[] = [];
  for (let frame = queue.nextFrame(); frame; frame = queue.nextFrame()) {
    const message = reassembler.accept(frame);
    if (message) delivered.push({ text: message.bytes.toString(), priority: message.priority });
  }
  return delivered;
}

describe('framing', () => {
  it('cuts messages into bounded fragments and reassembles them byte-identical', () => {
    const queue = new SendQueue(small);
    const reassembler = new Reassembler(small);
    const big = randomBytes(400);
    queue.enqueue(big, 'background');
    const frames: Buffer[] = [];
    for (let frame = queue.nextFrame(); frame; frame = queue.nextFrame()) frames.push(frame);
    expect(frames.length).toBe(Math.ceil(400 / 16));
    frames.forEach((frame) => expect(frame.length).toBeLessThanOrEqual(16 + 6));
    const results = frames.map((frame) => reassembler.accept(frame));
    expect(results.slice(0, -1).every((result) => result === null)).toBe(true);
    expect(results[results.length - 1]).toEqual({ bytes: big, priority: 'background' });
    expect(queue.bytesQueued()).toBe(0);
  });

  it('lets an interactive message overtake a large background one, without starving it', () => {
    const queue = new SendQueue(small);
    const reassembler = new Reassembler(small);
    queue.enqueue(Buffer.from('B'.repeat(480)), 'background');
    queue.nextFrame(); // the background transfer is under way
    queue.enqueue(Buffer.from('ask-1'), 'interactive');
    // The very next frame carries the whole interactive message.
    expect(reassembler.accept(queue.nextFrame()!)).toEqual({ bytes: Buffer.from('ask-1'), priority: 'interactive' });

    const queue2 = new SendQueue(small);
    const fresh = new Reassembler(small);
    queue2.enqueue(Buffer.from('B'.repeat(480)), 'background');
    for (let i = 0; i < 5; i++) queue2.enqueue(Buffer.from(`ask-${i}`.padEnd(18, '.')), 'interactive');
    const order = drain(queue2, fresh).map((message) => message.text.slice(0, 5));
    expect(order.slice(0, 5)).toEqual(['ask-0', 'ask-1', 'ask-2', 'ask-3', 'ask-4']);

    // Under a steady stream of interactive frames, background still gets one frame in nine.
    const queue3 = new SendQueue(small);
    queue3.enqueue(Buffer.from('B'.repeat(480)), 'background');
    let backgroundFrames = 0;
    for (let i = 0; i < 90; i++) {
      queue3.enqueue(Buffer.from('tiny'), 'interactive');
      if ((queue3.nextFrame()!.readUInt8(1) & 0b10) !== 0) backgroundFrames++;
    }
    expect(backgroundFrames).toBeGreaterThanOrEqual(9);
    expect(order[5]).toBe('BBBBB');
  });

  it('refuses to queue past a class budget (a slow peer costs bounded memory)', () => {
    const queue = new SendQueue(small);
    queue.enqueue(Buffer.alloc(90), 'interactive');
    expect(() => queue.enqueue(Buffer.alloc(20), 'interactive')).toThrow(SendBufferFullError);
    queue.enqueue(Buffer.alloc(400), 'background');
    expect(() => queue.enqueue(Buffer.alloc(501), 'background')).toThrow(/exceeds|full/);
  });

  it('rejects malformed, oversized and too many partial messages with FramingError', () => {
    const reassembler = new Reassembler(small);
    expect(() => reassembler.accept(Buffer.alloc(3))).toThrow(FramingError);
    expect(() => reassembler.accept(Buffer.from([9, 1, 0, 0, 0, 1]))).toThrow(/version/);
    const oversizedFragment = Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 1]), Buffer.alloc(17)]);
    expect(() => reassembler.accept(oversizedFragment)).toThrow(/fragment/);
    const growing = new Reassembler(small);
    expect(() => {
      for (let i = 0; i < 40; i++) growing.accept(Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 7]), Buffer.alloc(16)]));
    }).toThrow(/exceeds 500/);
    const many = new Reassembler({ ...small, messagesInProgressMax: 3 });
    expect(() => {
      for (let id = 0; id < 4; id++) many.accept(Buffer.from([1, 0, 0, 0, 0, id]));
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
