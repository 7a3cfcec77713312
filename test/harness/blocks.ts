// Helpers for block tests: put and get blocks through one node's block manager, over the real
// transport, as the S3 API on that node will.
import { randomBytes } from 'node:crypto';
import type { BlockManagerMessage, BlockPutReply } from '../../src/actors/block/manager';
import { blockHash } from '../../src/storage/blocks';
import type { Cluster } from './cluster';

const BLOCKS_PATH = '/node/blocks';
const ASK_TIMEOUT_MS = 60_000;

export function randomBlock(bytes: number): { hash: Buffer; data: Buffer } {
  const data = randomBytes(bytes);
  return { hash: blockHash(data), data };
}

export async function putBlock(cluster: Cluster, index: number, block: { hash: Buffer; data: Buffer }): Promise<void> {
  const client = await cluster.client(index);
  try {
    await client.ask<BlockManagerMessage, BlockPutReply>(BLOCKS_PATH, (replyTo) => ({ type: 'put', hash: block.hash, data: block.data, replyTo }), ASK_TIMEOUT_MS);
  } finally {
    await client.close();
  }
}

export async function getBlock(cluster: Cluster, index: number, hash: Buffer): Promise<Buffer> {
  const client = await cluster.client(index);
  try {
    return await client.ask<BlockManagerMessage, Buffer>(BLOCKS_PATH, (replyTo) => ({ type: 'get', hash, replyTo }), ASK_TIMEOUT_MS);
  } finally {
    await client.close();
  }
}
