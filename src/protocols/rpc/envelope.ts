// What travels between nodes once a connection is secured: an envelope addressed to an actor
// path, encoded with msgpack (binary payloads stay raw bytes, never base64).
//
// An ask is a tell whose body carries a `replyTo` ref to a temporary path on the asking node; the
// reply is a tell to that path, and a failure an `error` envelope to it. The temporary path is
// the correlation id.
import { addExtension, Packr } from 'msgpackr';

export const ENVELOPE_VERSION = 1;
const KIND_TELL = 1;
const KIND_ERROR = 2;
const ERROR_TEXT_LENGTH_MAX = 2048;
const PATH_LENGTH_MAX = 1024;

export interface WireError {
  name: string;
  message: string;
}

export type Envelope = { kind: 'tell'; to: string; body: unknown } | { kind: 'error'; to: string; error: WireError };

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

// Records off: plain maps on the wire, so a peer of another version decodes them without shared
// structure definitions. `useRecords: false` also keeps decoding free of peer-defined state.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

// ---- attachments ---------------------------------------------------------------------------------
// Binary values of ATTACHMENT_BYTES_MIN and more (data blocks) travel after the msgpack header
// rather than inside it: msgpack would copy each into its output, and at transfer speeds those
// copies (and the garbage collections their garbage brings) cost more than the encryption.
//   with attachments: ATTACHED_MARKER (1) | count (1) | length per attachment (4 each, big-endian)
//                     | msgpack header | attachment bytes, in order
// In the header, each attachment is a msgpack extension holding its index. A plain envelope starts
// with a msgpack array (0x94), never with the marker. Decoded attachments are views of the message.

const ATTACHMENT_BYTES_MIN = 16 * 1024;
const ATTACHMENTS_MAX = 255;
const ATTACHED_MARKER = 0x00;
const ATTACHMENT_EXTENSION_TYPE = 0x41;
/** Containers deeper than this are sent as they are (a message body is a few levels deep). */
const ATTACHMENT_SEARCH_DEPTH_MAX = 4;

class AttachmentRef {
  constructor(readonly index: number) {}
}

/** The attachments of the envelope being decoded (decoding is synchronous). */
let decoding: Buffer[] | null = null;

addExtension({
  Class: AttachmentRef,
  type: ATTACHMENT_EXTENSION_TYPE,
  pack: (ref: AttachmentRef) => Buffer.of(ref.index),
  unpack: (bytes: Uint8Array) => {
    const attachment = bytes.length === 1 && decoding !== null ? decoding[bytes[0]!] : undefined;
    if (attachment === undefined) throw new EnvelopeError('envelope refers to a missing attachment');
    return attachment;
  },
});

/** `value` with its large binary values replaced by refs into `found` (containers copied, never changed). */
function detach(value: unknown, found: Buffer[], depth: number): unknown {
  if (value instanceof Uint8Array) {
    if (value.length < ATTACHMENT_BYTES_MIN || found.length >= ATTACHMENTS_MAX) return value;
    found.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    return new AttachmentRef(found.length - 1);
  }
  if (depth >= ATTACHMENT_SEARCH_DEPTH_MAX || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    value.forEach((item, index) => {
      const replaced = detach(item, found, depth + 1);
      if (replaced !== item) (copy ??= [...value])[index] = replaced;
    });
    return copy ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let copy: Record<string, unknown> | null = null;
  for (const [key, item] of Object.entries(value)) {
    const replaced = detach(item, found, depth + 1);
    if (replaced !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = replaced;
  }
  return copy ?? value;
}

/** The encoded envelope as parts to send in order: large binary values are not copied. */
export function encodeEnvelopeParts(envelope: Envelope): Buffer[] {
  const attachments: Buffer[] = [];
  const payload = envelope.kind === 'tell' ? detach(envelope.body, attachments, 0) : [envelope.error.name, envelope.error.message];
  const header = packr.pack([ENVELOPE_VERSION, envelope.kind === 'tell' ? KIND_TELL : KIND_ERROR, envelope.to, payload]);
  if (attachments.length === 0) return [header];
  const prefix = Buffer.allocUnsafe(2 + 4 * attachments.length);
  prefix[0] = ATTACHED_MARKER;
  prefix[1] = attachments.length;
  attachments.forEach((attachment, index) => prefix.writeUInt32BE(attachment.length, 2 + 4 * index));
  return [prefix, header, ...attachments];
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  const parts = encodeEnvelopeParts(envelope);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** The msgpack header and the attachments of an envelope's bytes. */
function splitAttachments(bytes: Buffer): { header: Buffer; attachments: Buffer[] } {
  if (bytes.length === 0 || bytes[0] !== ATTACHED_MARKER) return { header: bytes, attachments: [] };
  const count = bytes.length > 1 ? bytes[1]! : 0;
  const lengthsEnd = 2 + 4 * count;
  if (count === 0 || bytes.length < lengthsEnd) throw new EnvelopeError('envelope attachments are malformed');
  const lengths = Array.from({ length: count }, (_, index) => bytes.readUInt32BE(2 + 4 * index));
  const attachedBytes = lengths.reduce((total, length) => total + length, 0);
  const headerEnd = bytes.length - attachedBytes;
  if (headerEnd <= lengthsEnd) throw new EnvelopeError('envelope attachments are longer than the envelope');
  let offset = headerEnd;
  const attachments = lengths.map((length) => bytes.subarray(offset, (offset += length)));
  return { header: bytes.subarray(lengthsEnd, headerEnd), attachments };
}

export function decodeEnvelope(bytes: Buffer): Envelope {
  let decoded: unknown;
  try {
    const { header, attachments } = splitAttachments(bytes);
    decoding = attachments;
    decoded = packr.unpack(header);
  } catch (error) {
    throw error instanceof EnvelopeError ? error : new EnvelopeError(`undecodable envelope: ${(error as Error).message}`);
  } finally {
    decoding = null;
  }
  if (!Array.isArray(decoded) || decoded.length !== 4) throw new EnvelopeError('envelope is not a 4-element array');
  const [version, kind, to, payload] = decoded as [unknown, unknown, unknown, unknown];
  if (version !== ENVELOPE_VERSION) throw new EnvelopeError(`unsupported envelope version ${String(version)}`);
  if (typeof to !== 'string' || !to.startsWith('/') || to.length > PATH_LENGTH_MAX) throw new EnvelopeError('envelope has no valid target path');
  if (kind === KIND_TELL) return { kind: 'tell', to, body: payload };
  if (kind === KIND_ERROR && Array.isArray(payload) && typeof payload[0] === 'string' && typeof payload[1] === 'string') {
    return { kind: 'error', to, error: { name: payload[0].slice(0, 128), message: payload[1].slice(0, ERROR_TEXT_LENGTH_MAX) } };
  }
  throw new EnvelopeError(`unknown envelope kind ${String(kind)}`);
}

export function toWireError(error: Error): WireError {
  return { name: error.name, message: error.message.slice(0, ERROR_TEXT_LENGTH_MAX) };
}
