// Helpers for block tests: put and get blocks through one node's block manager, over the real
// transport, as the S3 API on that node will.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Ref } from '../../src/actors/runtime';
import type { BlockInspectReply, BlockManagerMessage, BlockPutReply } from '../../src/actors/block/manager';
import type { TableMessage, TableWriteReply } from '../../src/actors/table/table';
import { blockRefSchema, type BlockRef } from '../../src/protocols/block/block-ref';
import { encodeEntry } from '../../src/protocols/table';
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

/** What one node alone holds of a block: its file, and its local refcount. */
export async function inspectBlock(cluster: Cluster, index: number, hash: Buffer): Promise<BlockInspectReply> {
  const client = await cluster.client(index);
  try {
    return await client.ask<BlockManagerMessage, BlockInspectReply>(BLOCKS_PATH, (replyTo) => ({ type: 'inspectBlock', hash, replyTo }), ASK_TIMEOUT_MS);
  } finally {
    await client.close();
  }
}

/** What one node knows of several blocks, over one connection (not one per block). */
export async function inspectBlocks(cluster: Cluster, index: number, hashes: readonly Buffer[]): Promise<BlockInspectReply[]> {
  const client = await cluster.client(index);
  try {
    return await Promise.all(hashes.map((hash) => client.ask<BlockManagerMessage, BlockInspectReply>(BLOCKS_PATH, (replyTo) => ({ type: 'inspectBlock', hash, replyTo }), ASK_TIMEOUT_MS)));
  } finally {
    await client.close();
  }
}

/** Has one node's resync worker check every block it holds a reference to. */
export async function repairBlocks(cluster: Cluster, index: number): Promise<void> {
  const client = await cluster.client(index);
  try {
    await client.ask<BlockManagerMessage, { started: true }>(BLOCKS_PATH, (replyTo) => ({ type: 'repairBlocks', replyTo }), ASK_TIMEOUT_MS);
  } finally {
    await client.close();
  }
}

/** Writes block_ref rows (live or deleted) through one node's block_ref table, at quorum. */
export async function writeBlockRefs(cluster: Cluster, index: number, refs: BlockRef[]): Promise<void> {
  const client = await cluster.client(index);
  try {
    const entries = refs.map((ref) => encodeEntry(blockRefSchema, ref));
    await client.ask<TableMessage, TableWriteReply>('/node/tables/block_ref', (replyTo) => ({ type: 'insert', entries, replyTo }), ASK_TIMEOUT_MS);
  } finally {
    await client.close();
  }
}

/** The paths of a block's files in a node's data folder (outside `corrupted/`), temporary files included. */
export function blockFilesOf(cluster: Cluster, index: number, hash: Buffer): string[] {
  const hex = hash.toString('hex');
  const folder = join(cluster.nodes[index]!.folder, 'data', hex.slice(0, 2), hex.slice(2, 4));
  return existsSync(folder) ? readdirSync(folder).filter((name) => name.startsWith(hex)).map((name) => join(folder, name)) : [];
}

/** Asks one node's block manager (the messages `grange block|worker|repair` send). */
export async function askBlocks<R>(cluster: Cluster, index: number, makeMessage: (replyTo: Ref<R>) => BlockManagerMessage): Promise<R> {
  const client = await cluster.client(index);
  try {
    return await client.ask<BlockManagerMessage, R>(BLOCKS_PATH, makeMessage, ASK_TIMEOUT_MS);
  } finally {
    await client.close();
  }
}
