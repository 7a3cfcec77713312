// The catalog actor (/node/catalog): the CLI's way to the key and bucket catalog of a node. Each
// request starts the catalog's work and returns at once; the outcome comes back as a `done`
// message and is answered then (a reply, or an error whose message the CLI prints). The catalog
// runs its mutating operations one at a time (catalog.ts), so the mailbox never waits on them.
import { assertNever, defineActor, restartWithBackoff, type Outcome, type Ref } from '../runtime';
import type { TableSchema } from '../../protocols/table';
import { tableClient } from '../table/client';
import type { TableMessage } from '../table/table';
import { bucketEmptyCheck, NO_OBJECT_TABLE } from './bucket-empty';
import { bucketCountsReader } from './bucket-counts';
import { createCatalog, type BucketInfo, type BucketSummary, type Catalog, type CreatedKey, type KeyInfo, type KeySummary } from './catalog';

/** What the CLI asks. Absent options are null (messages cross the RPC as msgpack). */
export type CatalogRequest =
  | { type: 'createKey'; name: string | null }
  | { type: 'importKey'; accessKeyId: string; secretAccessKey: string; name: string | null }
  | { type: 'listKeys' }
  | { type: 'keyInfo'; key: string; showSecret: boolean }
  | { type: 'deleteKey'; key: string }
  | { type: 'renameKey'; key: string; newName: string }
  | { type: 'setCreateBucket'; key: string; allow: boolean }
  | { type: 'createBucket'; name: string }
  | { type: 'listBuckets' }
  | { type: 'bucketInfo'; bucket: string }
  | { type: 'deleteBucket'; bucket: string }
  | { type: 'alias'; bucket: string; name: string; localKey: string | null }
  | { type: 'unalias'; name: string; localKey: string | null }
  | { type: 'allow'; bucket: string; key: string; read: boolean; write: boolean; owner: boolean }
  | { type: 'deny'; bucket: string; key: string; read: boolean; write: boolean; owner: boolean };

/** The reply to each request type. */
export interface CatalogReplies {
  createKey: CreatedKey;
  importKey: CreatedKey;
  listKeys: KeySummary[];
  keyInfo: KeyInfo;
  deleteKey: KeySummary;
  renameKey: KeySummary;
  setCreateBucket: KeyInfo;
  createBucket: BucketInfo;
  listBuckets: BucketSummary[];
  bucketInfo: BucketInfo;
  deleteBucket: BucketSummary;
  alias: BucketInfo;
  unalias: BucketInfo;
  allow: BucketInfo;
  deny: BucketInfo;
}

export type CatalogRequestType = CatalogRequest['type'];

export type CatalogMessage =
  | (CatalogRequest & { replyTo: Ref<unknown> })
  // Internal: the outcome of a request's work.
  | { type: 'done'; replyTo: Ref<unknown>; outcome: Outcome<unknown> };

export const CATALOG_REQUEST_TYPES: readonly CatalogRequestType[] = [
  'createKey', 'importKey', 'listKeys', 'keyInfo', 'deleteKey', 'renameKey', 'setCreateBucket',
  'createBucket', 'listBuckets', 'bucketInfo', 'deleteBucket', 'alias', 'unalias', 'allow', 'deny',
];

export interface CatalogActorComponents {
  nowMs: () => number;
  randomBytes: (size: number) => Buffer;
  /** Bound on each table read or write the catalog makes. */
  tableTimeoutMs: number;
  /** The object table's schema once it exists (bucket deletion checks emptiness with it); null until then. */
  objectSchema: TableSchema<unknown> | null;
  /** Whether an object row holds a live object (default: it is not a tombstone); see bucket-empty.ts. */
  holdsObject?: (entry: unknown) => boolean;
}

interface CatalogState {
  catalog: Catalog;
}

export const catalogActor = defineActor<CatalogMessage, CatalogState, CatalogActorComponents>({
  kind: 'catalog',
  remote: { accepts: CATALOG_REQUEST_TYPES },
  supervision: restartWithBackoff(),
  init(context) {
    const { components } = context;
    const tables = tableClient((path, makeMessage, timeoutMs) => context.ask({ path } as Ref<TableMessage>, makeMessage, timeoutMs), components.tableTimeoutMs);
    const objectSchema = components.objectSchema;
    const isBucketEmpty =
      objectSchema === null ? NO_OBJECT_TABLE : bucketEmptyCheck(tables, { objectSchema, ...(components.holdsObject ? { holdsObject: components.holdsObject } : {}) });
    // Counts exist once the object table does (its hook keeps them).
    const countsOf = objectSchema === null ? undefined : bucketCountsReader((path, makeMessage, timeoutMs) => context.ask({ path } as Ref<TableMessage>, makeMessage, timeoutMs), components.tableTimeoutMs);
    return { catalog: createCatalog({ tables, nowMs: components.nowMs, randomBytes: components.randomBytes, isBucketEmpty, ...(countsOf ? { countsOf } : {}) }) };
  },
  handle(message, context) {
    if (message.type === 'done') return onDone(message, context);
    const work = Promise.resolve().then(() => runRequest(context.state.catalog, message));
    return context.pipeToSelf(work, (outcome) => ({ type: 'done', replyTo: message.replyTo, outcome }));
  },
});

function onDone(message: Extract<CatalogMessage, { type: 'done' }>, context: { tell<T>(ref: Ref<T>, message: T): void; replyError(ref: Ref<never>, error: Error): void }): void {
  if (message.outcome.ok) context.tell(message.replyTo, message.outcome.value);
  else context.replyError(message.replyTo, message.outcome.error);
}

function runRequest(catalog: Catalog, request: CatalogRequest): Promise<CatalogReplies[CatalogRequestType]> {
  switch (request.type) {
    case 'createKey': return catalog.createKey(request.name ?? undefined);
    case 'importKey': return catalog.importKey(request.accessKeyId, request.secretAccessKey, request.name ?? undefined);
    case 'listKeys': return catalog.listKeys();
    case 'keyInfo': return catalog.keyInfo(request.key, { showSecret: request.showSecret });
    case 'deleteKey': return catalog.deleteKey(request.key);
    case 'renameKey': return catalog.renameKey(request.key, request.newName);
    case 'setCreateBucket': return catalog.allowCreateBucket(request.key, request.allow);
    case 'createBucket': return catalog.createBucket(request.name);
    case 'listBuckets': return catalog.listBuckets();
    case 'bucketInfo': return catalog.bucketInfo(request.bucket);
    case 'deleteBucket': return catalog.deleteBucket(request.bucket);
    case 'alias': return catalog.alias(request.bucket, request.name, request.localKey === null ? {} : { localKey: request.localKey });
    case 'unalias': return catalog.unalias(request.name, request.localKey === null ? {} : { localKey: request.localKey });
    case 'allow': return catalog.allow(request.bucket, request.key, { read: request.read, write: request.write, owner: request.owner });
    case 'deny': return catalog.deny(request.bucket, request.key, { read: request.read, write: request.write, owner: request.owner });
    default: return assertNever(request);
  }
}
