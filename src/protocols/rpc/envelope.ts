// What travels between nodes once a connection is secured: an envelope addressed to an actor
// path, encoded with msgpack (binary payloads stay raw bytes, never base64).
//
// An ask is a tell whose body carries a `replyTo` ref to a temporary path on the asking node; the
// reply is a tell to that path, and a failure an `error` envelope to it. The temporary path is
// the correlation id.
import { Packr } from 'msgpackr';

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

export function encodeEnvelope(envelope: Envelope): Buffer {
  const payload = envelope.kind === 'tell' ? envelope.body : [envelope.error.name, envelope.error.message];
  return packr.pack([ENVELOPE_VERSION, envelope.kind === 'tell' ? KIND_TELL : KIND_ERROR, envelope.to, payload]);
}

export function decodeEnvelope(bytes: Buffer): Envelope {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch (error) {
    throw new EnvelopeError(`undecodable envelope: ${(error as Error).message}`);
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
