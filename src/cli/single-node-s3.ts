// `grange server --single-node` makes S3 usable at once: on first start it creates an access key
// (allowed to create buckets) and a default bucket the key owns, and keeps their names in the data
// root so later starts print the same credentials.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ref } from '../actors/runtime';
import { NODE_PATHS } from '../actors/node';
import type { CatalogMessage, CatalogReplies, CatalogRequest } from '../actors/s3/catalog-actor';
import type { RunningNode } from '../server';

export const SINGLE_NODE_KEY_NAME = 'default';
export const SINGLE_NODE_BUCKET = 'default-bucket';
const CREDENTIALS_FILE = 's3-credentials.json';
/** The node's tables take a moment to accept writes after the layout is applied. */
const CATALOG_READY_TIMEOUT_MS = 30_000;
const CATALOG_RETRY_MS = 200;
const CATALOG_ASK_TIMEOUT_MS = 10_000;

export interface SingleNodeS3Access {
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

export async function ensureSingleNodeS3Access(node: RunningNode, rootDir: string): Promise<SingleNodeS3Access> {
  const file = join(rootDir, CREDENTIALS_FILE);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SingleNodeS3Access;
  const ask = <T extends CatalogRequest>(request: T): Promise<CatalogReplies[T['type']]> =>
    node.system.ask<CatalogMessage, CatalogReplies[T['type']]>({ path: NODE_PATHS.catalog } as Ref<CatalogMessage>, (replyTo) => ({ ...request, replyTo }) as CatalogMessage, CATALOG_ASK_TIMEOUT_MS);
  const key = await whenReady(() => ask({ type: 'createKey', name: SINGLE_NODE_KEY_NAME }));
  await ask({ type: 'setCreateBucket', key: key.accessKeyId, allow: true });
  await ask({ type: 'createBucket', name: SINGLE_NODE_BUCKET });
  await ask({ type: 'allow', bucket: SINGLE_NODE_BUCKET, key: key.accessKeyId, read: true, write: true, owner: true });
  const access = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, bucket: SINGLE_NODE_BUCKET };
  writeFileSync(file, JSON.stringify(access, null, 2) + '\n', { mode: 0o600 });
  return access;
}

/** Retries the first catalog write until the tables accept it (they need the layout first). */
async function whenReady<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + CATALOG_READY_TIMEOUT_MS;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, CATALOG_RETRY_MS));
    }
  }
}
