// A node's identity: an Ed25519 key pair kept in metadata_dir, created on first start.
// The node id is the public key in hex, so peers can pin it and verify the handshake signature.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PRIVATE_KEY_FILE = 'node_key';
const PUBLIC_KEY_FILE = 'node_key.pub';
/** Owner-only: the private key proves this node's identity to the cluster. */
const SECRET_FILE_MODE = 0o600;
const SECRET_DIR_MODE = 0o700;

export interface NodeIdentity {
  /** 64 hex characters: the raw Ed25519 public key. */
  nodeId: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

export class NodeIdentityError extends Error {
  override readonly name = 'NodeIdentityError';
}

export function loadOrCreateNodeIdentity(metadataDir: string): NodeIdentity {
  mkdirSync(metadataDir, { recursive: true, mode: SECRET_DIR_MODE });
  const privatePath = join(metadataDir, PRIVATE_KEY_FILE);
  if (!existsSync(privatePath)) return createIdentity(metadataDir, privatePath);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(privatePath));
  } catch (error) {
    throw new NodeIdentityError(`cannot read node key ${privatePath}: ${(error as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new NodeIdentityError(`node key ${privatePath} is not an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  return { nodeId: rawPublicKeyHex(publicKey), publicKey, privateKey };
}

function createIdentity(metadataDir: string, privatePath: string): NodeIdentity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  // `wx` fails if another process created the key meanwhile, rather than overwriting it.
  writeFileSync(privatePath, pem, { mode: SECRET_FILE_MODE, flag: 'wx' });
  chmodSync(privatePath, SECRET_FILE_MODE);
  const nodeId = rawPublicKeyHex(publicKey);
  writeFileSync(join(metadataDir, PUBLIC_KEY_FILE), nodeId + '\n', { mode: 0o644 });
  return { nodeId, publicKey, privateKey };
}

export function rawPublicKeyHex(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  if (!jwk.x) throw new NodeIdentityError('public key has no raw form');
  return Buffer.from(jwk.x, 'base64url').toString('hex');
}

export function publicKeyFromNodeId(nodeId: string): KeyObject {
  if (!/^[0-9a-f]{64}$/.test(nodeId)) throw new NodeIdentityError(`malformed node id ${JSON.stringify(nodeId)}: 64 hex characters expected`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(nodeId, 'hex').toString('base64url') }, format: 'jwk' });
}
