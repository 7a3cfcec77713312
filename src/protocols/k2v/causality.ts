// Causality tokens: a causal context (node -> largest timestamp of that node's values the client
// has seen), carried by clients as an opaque string in X-Garage-Causality-Token. Encoding as in
// Garage's K2V spec: a u64 checksum (XOR of every node id and timestamp), then (node u64,
// timestamp u64) pairs, big-endian, in base64 (URL-safe alphabet, no padding; both alphabets are
// read). A node's K2V id is the first 8 bytes of its node id.
import { K2vError } from './errors';
import { K2V_LIMITS } from './limits';

/** K2V node id (16 hex digits) -> timestamp. */
export type CausalContext = ReadonlyMap<string, number>;

const U64_BYTES = 8;
const K2V_NODE_ID_HEX = 2 * U64_BYTES;

/** A node's K2V id: its node id's first 8 bytes, as 16 hex digits. */
export function k2vNodeId(nodeIdHex: string): string {
  if (!/^[0-9a-f]{16,}$/.test(nodeIdHex)) throw new Error(`k2v: node id ${nodeIdHex.slice(0, 20)} is not hex`);
  return nodeIdHex.slice(0, K2V_NODE_ID_HEX);
}

export function encodeCausalityToken(context: CausalContext): string {
  const entries = [...context].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const bytes = Buffer.alloc(U64_BYTES * (1 + 2 * entries.length));
  let checksum = 0n;
  entries.forEach(([node, time], index) => {
    const nodeValue = BigInt(`0x${node}`);
    const timeValue = BigInt(time);
    checksum ^= nodeValue ^ timeValue;
    bytes.writeBigUInt64BE(nodeValue, U64_BYTES * (1 + 2 * index));
    bytes.writeBigUInt64BE(timeValue, U64_BYTES * (2 + 2 * index));
  });
  bytes.writeBigUInt64BE(checksum, 0);
  return bytes.toString('base64url');
}

/** Throws K2vError InvalidCausalityToken on anything that is not a token this encoding made. */
export function decodeCausalityToken(token: string): CausalContext {
  const invalid = (why: string): K2vError => new K2vError('InvalidCausalityToken', `invalid causality token: ${why}`);
  if (token.length > K2V_LIMITS.causalityTokenCharsMax || !/^[A-Za-z0-9_\-+/]*={0,2}$/.test(token)) throw invalid('not base64');
  const bytes = Buffer.from(token.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url');
  if (bytes.length < U64_BYTES || (bytes.length - U64_BYTES) % (2 * U64_BYTES) !== 0) throw invalid('wrong length');
  const context = new Map<string, number>();
  let checksum = 0n;
  for (let offset = U64_BYTES; offset < bytes.length; offset += 2 * U64_BYTES) {
    const node = bytes.readBigUInt64BE(offset);
    const time = bytes.readBigUInt64BE(offset + U64_BYTES);
    if (time > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('timestamp out of range');
    checksum ^= node ^ time;
    context.set(node.toString(16).padStart(K2V_NODE_ID_HEX, '0'), Number(time));
  }
  if (checksum !== bytes.readBigUInt64BE(0)) throw invalid('checksum mismatch');
  return context;
}
