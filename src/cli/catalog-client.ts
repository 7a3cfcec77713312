// How the key and bucket commands reach the catalog actor of the node named by the config file,
// and the small renderings they share. A refusal from the catalog (unknown key, bad bucket name,
// bucket not empty...) becomes a usage error: one line saying what to fix, exit code 2.
import { NODE_PATHS } from '../actors/node';
import type { CatalogMessage, CatalogReplies, CatalogRequest, CatalogRequestType } from '../actors/s3/catalog-actor';
import type { BucketPermissions } from '../protocols/s3/key';
import { loadCliConfig } from './config-path';
import { CliUsageError } from './errors';
import { withNodeClient } from './node-connection';

/** A catalog request makes a few quorum writes of full-copy tables: more than a plain ask. */
export const CATALOG_ASK_TIMEOUT_MS = 30_000;

/** Errors the catalog raises for bad input, carried back by name. */
const REFUSAL_NAMES = new Set(['CatalogError', 'S3Error']);

export async function askCatalog<T extends CatalogRequestType>(configPath: string | undefined, request: Extract<CatalogRequest, { type: T }>): Promise<CatalogReplies[T]> {
  const { config } = loadCliConfig(configPath, process.env);
  try {
    return await withNodeClient(config, (client) =>
      client.ask<CatalogMessage, CatalogReplies[T]>(NODE_PATHS.catalog, (replyTo) => ({ ...request, replyTo }) as CatalogMessage, CATALOG_ASK_TIMEOUT_MS),
    );
  } catch (error) {
    if (error instanceof Error && REFUSAL_NAMES.has(error.name)) throw new CliUsageError(error.message);
    throw error;
  }
}

/** Permissions as Garage's CLI shows them: R, W, O or '-' for each. */
export function permissionFlags(permissions: BucketPermissions): string {
  return `${permissions.read ? 'R' : '-'}${permissions.write ? 'W' : '-'}${permissions.owner ? 'O' : '-'}`;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
