// Object operations: PutObject (inline under 3 KiB, else cut into blocks), GetObject and
// HeadObject (ranges, part numbers, conditions, response-* overrides), DeleteObject and
// DeleteObjects. Data leaves through the cascade: a newer version or a delete marker supersedes
// the old version in the object entry, whose hook deletes the version row, whose hook deletes its
// block references, which lowers the blocks' refcounts.
import { blockRefSchema } from '../../../protocols/block/block-ref';
import { blockHash } from '../../../storage/blocks';
import { evaluateConditions } from '../../../protocols/s3/conditions';
import { S3Error } from '../../../protocols/s3/errors';
import { headersToStore, httpDate, quotedEtag, responseHeaders } from '../../../protocols/s3/headers';
import { S3_DELETE_CONCURRENCY, S3_DELETE_OBJECTS_MAX, S3_GET_BLOCKS_AHEAD, S3_PUT_BLOCKS_IN_FLIGHT, S3_XML_BODY_BYTES_MAX } from '../../../protocols/s3/limits';
import { currentVersion, INLINE_BYTES_MAX, nextTimestamp, OBJECT_KEY_BYTES_MAX, objectSchema, type ObjectMeta, type ObjectVersion, type S3Object } from '../../../protocols/s3/object';
import { contentRange, parseRange } from '../../../protocols/s3/range';
import type { S3Operation } from '../../../protocols/s3/router';
import { versionSchema, type VersionBlock } from '../../../protocols/s3/version';
import { childNamed, childrenNamed, parseXml, xmlDocument, type XmlNode } from '../../../protocols/s3/xml';
import { checkContentLength, cutBlocks, readSmallBody, type PayloadSummary } from './body';
import { bucketOf } from './buckets';
import type { S3Handler, S3Request } from './pipeline';
import type { S3Services } from './services';

const NO_SORT_KEY = Buffer.alloc(0);
const UUID_BYTES = 16;

export function objectKeyBytes(key: string): Buffer {
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length > OBJECT_KEY_BYTES_MAX) throw new S3Error('KeyTooLongError', `Your key is ${bytes.length} bytes; the limit is ${OBJECT_KEY_BYTES_MAX}.`);
  return bytes;
}

// ---- PutObject ---------------------------------------------------------------------------------

const putObject: S3Handler = async (request) => {
  if (request.http.headers['x-amz-copy-source'] !== undefined) throw new S3Error('NotImplemented', 'CopyObject is not implemented yet.');
  const bucketId = await bucketOf(request, 'write');
  const key = request.route.key!;
  const keyBytes = objectKeyBytes(key);
  checkContentLength(request.http);
  const headers = headersToStore(request.http.headers);
  const { tables, nowMs, randomBytes } = request.services;
  // Read concurrently with the upload: the new version must sort after every one we know of.
  const existing = tables.get(objectSchema, bucketId, keyBytes);
  existing.catch(() => undefined);
  const uuid = randomBytes(UUID_BYTES);
  const upload = new BlockUpload(request.services, bucketId, key, uuid, headers, existing);
  const first = await upload.run(request.payload.chunks());
  const summary = request.payload.summary();
  const meta: ObjectMeta = { size: summary.bytes, etag: summary.md5Hex, headers, checksum: summary.checksum };
  const timestamp = upload.timestamp ?? nextTimestamp(await existing, nowMs());
  const version: ObjectVersion =
    first.kind === 'inline'
      ? { uuid, timestamp, state: { kind: 'complete', data: { kind: 'inline', meta, bytes: first.bytes } } }
      : { uuid, timestamp, state: { kind: 'complete', data: { kind: 'blocks', meta, firstBlock: first.hash } } };
  if (first.kind === 'blocks') await upload.commitBlocks();
  await tables.insert(objectSchema, [{ bucketId, key, versions: [version] }]);
  return { status: 200, headers: putResponseHeaders(summary) };
};

function putResponseHeaders(summary: PayloadSummary): [string, string][] {
  const headers: [string, string][] = [['etag', quotedEtag(summary.md5Hex)]];
  if (summary.checksum) headers.push([`x-amz-checksum-${summary.checksum.algorithm.toLowerCase()}`, summary.checksum.base64]);
  return headers;
}

type FirstPart = { kind: 'inline'; bytes: Buffer } | { kind: 'blocks'; hash: Buffer };

/**
 * Streams a body into blocks. The first full block decides: a body that ends before
 * INLINE_BYTES_MAX stays inline; otherwise an `uploading` version is written first, so that a
 * failed upload is marked aborted and its blocks are freed like any superseded version's.
 */
class BlockUpload {
  timestamp: number | null = null;
  private readonly blocks: VersionBlock[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown = null;

  constructor(
    private readonly services: S3Services,
    private readonly bucketId: Buffer,
    private readonly key: string,
    private readonly uuid: Buffer,
    private readonly headers: [string, string][],
    private readonly existing: Promise<S3Object | null>,
  ) {}

  async run(chunks: AsyncIterable<Buffer>): Promise<FirstPart> {
    let offset = 0;
    let firstHash: Buffer | null = null;
    try {
      for await (const block of cutBlocks(chunks, this.services.blockSize)) {
        if (firstHash === null && offset === 0 && block.length < INLINE_BYTES_MAX && block.length < this.services.blockSize) {
          // The body ended inside its first block and is small: it is stored inline.
          return { kind: 'inline', bytes: block };
        }
        if (this.timestamp === null) await this.beginUpload();
        const hash = blockHash(block);
        firstHash ??= hash;
        this.blocks.push({ part: 1, offset, hash, size: block.length });
        offset += block.length;
        await this.send(hash, block);
      }
    } catch (error) {
      await this.abort();
      throw error;
    }
    if (firstHash === null) return { kind: 'inline', bytes: Buffer.alloc(0) };
    return { kind: 'blocks', hash: firstHash };
  }

  private async beginUpload(): Promise<void> {
    this.timestamp = nextTimestamp(await this.existing, this.services.nowMs());
    const uploading: ObjectVersion = { uuid: this.uuid, timestamp: this.timestamp, state: { kind: 'uploading', multipart: false, headers: this.headers } };
    await this.services.tables.insert(objectSchema, [{ bucketId: this.bucketId, key: this.key, versions: [uploading] }]);
  }

  /** Keeps S3_PUT_BLOCKS_IN_FLIGHT blocks travelling; the first failure fails the upload. */
  private async send(hash: Buffer, data: Buffer): Promise<void> {
    if (this.failure !== null) throw this.failure;
    const sending: Promise<void> = this.services.blocks.put(hash, data).then(
      () => void this.inFlight.delete(sending),
      (error: unknown) => {
        this.inFlight.delete(sending);
        this.failure ??= error;
      },
    );
    this.inFlight.add(sending);
    while (this.inFlight.size >= S3_PUT_BLOCKS_IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure !== null) throw this.failure;
  }

  /** After the body checked out: wait for the blocks, then write the version and its references. */
  async commitBlocks(): Promise<void> {
    try {
      await Promise.all(this.inFlight);
      if (this.failure !== null) throw this.failure;
      const { tables } = this.services;
      const refs = this.blocks.map((block) => ({ block: block.hash, version: this.uuid, deleted: false }));
      await Promise.all([
        tables.insert(versionSchema, [{ uuid: this.uuid, deleted: false, bucketId: this.bucketId, key: this.key, blocks: this.blocks }]),
        tables.insert(blockRefSchema, refs),
      ]);
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  /** Marks the uploading version aborted (best effort): its hook frees what was written. */
  async abort(): Promise<void> {
    if (this.timestamp === null) return;
    await Promise.allSettled(this.inFlight);
    const aborted: ObjectVersion = { uuid: this.uuid, timestamp: this.timestamp, state: { kind: 'aborted' } };
    const refs = this.blocks.map((block) => ({ block: block.hash, version: this.uuid, deleted: true }));
    await Promise.allSettled([
      this.services.tables.insert(objectSchema, [{ bucketId: this.bucketId, key: this.key, versions: [aborted] }]),
      this.services.tables.insert(versionSchema, [{ uuid: this.uuid, deleted: true, bucketId: this.bucketId, key: this.key, blocks: [] }]),
      this.services.tables.insert(blockRefSchema, refs),
    ]);
  }
}

// ---- GetObject / HeadObject --------------------------------------------------------------------

async function visibleVersion(request: S3Request, bucketId: Buffer): Promise<{ version: ObjectVersion; meta: ObjectMeta }> {
  const key = request.route.key!;
  const object = await request.services.tables.get(objectSchema, bucketId, objectKeyBytes(key));
  const version = object === null ? null : currentVersion(object);
  if (version === null || version.state.kind !== 'complete' || version.state.data.kind === 'deleteMarker') {
    throw new S3Error('NoSuchKey', undefined, { Key: key });
  }
  return { version, meta: version.state.data.meta };
}

const getObject: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'read');
  const { version, meta } = await visibleVersion(request, bucketId);
  const headers = objectHeaders(request, version, meta);
  checkConditions(request, version, meta, headers);
  const range = requestedRange(request, meta.size);
  // The stored checksum covers the whole object: a client that checks it must not get it with a part.
  if (range === null) headers.push(...checksumHeaders(request, meta));
  if (range === null) headers.push(['content-length', String(meta.size)]);
  else headers.push(['content-length', String(range.end - range.start + 1)], ['content-range', contentRange(range, meta.size)]);
  const status = range === null ? 200 : 206;
  if (request.http.method === 'HEAD') return { status, headers };
  const start = range?.start ?? 0;
  const end = range ? range.end + 1 : meta.size;
  const data = version.state.kind === 'complete' ? version.state.data : null;
  if (data?.kind === 'inline') return { status, headers, body: data.bytes.subarray(start, end) };
  const blocks = await versionBlocks(request, version.uuid);
  return { status, headers, body: streamBlocks(request.services, blocks, start, end) };
};

function objectHeaders(request: S3Request, version: ObjectVersion, meta: ObjectMeta): [string, string][] {
  const headers = responseHeaders(meta.headers, request.route.query);
  headers.push(['etag', quotedEtag(meta.etag)], ['last-modified', httpDate(version.timestamp)], ['accept-ranges', 'bytes']);
  return headers;
}

function checksumHeaders(request: S3Request, meta: ObjectMeta): [string, string][] {
  if (!meta.checksum || String(request.http.headers['x-amz-checksum-mode'] ?? '').toUpperCase() !== 'ENABLED') return [];
  return [[`x-amz-checksum-${meta.checksum.algorithm.toLowerCase()}`, meta.checksum.base64]];
}

function checkConditions(request: S3Request, version: ObjectVersion, meta: ObjectMeta, headers: [string, string][]): void {
  const h = request.http.headers;
  const verdict = evaluateConditions(
    { ifMatch: h['if-match'], ifNoneMatch: h['if-none-match'], ifModifiedSince: h['if-modified-since'], ifUnmodifiedSince: h['if-unmodified-since'] },
    { etag: meta.etag, lastModifiedMs: version.timestamp },
    request.http.method === 'HEAD' ? 'HEAD' : 'GET',
  );
  if (verdict === 'notModified') throw new S3Error('NotModified', undefined, {}, headers.filter(([name]) => name === 'etag' || name === 'last-modified'));
  if (verdict === 'preconditionFailed') throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match or If-Unmodified-Since' });
}

/** Range header or partNumber (a single-part object has exactly part 1: all of it). */
function requestedRange(request: S3Request, size: number): { start: number; end: number } | null {
  const partNumber = request.route.query.get('partNumber');
  if (partNumber !== undefined) {
    if (request.http.headers.range !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter.');
    if (!/^\d{1,5}$/.test(partNumber) || Number(partNumber) < 1 || Number(partNumber) > 10_000) throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.', { ArgumentName: 'partNumber', ArgumentValue: partNumber });
    if (Number(partNumber) !== 1) throw new S3Error('InvalidPartNumber');
    return null;
  }
  return parseRange(request.http.headers.range, size);
}

async function versionBlocks(request: S3Request, uuid: Buffer): Promise<VersionBlock[]> {
  const version = await request.services.tables.get(versionSchema, uuid, NO_SORT_KEY);
  if (version === null || version.deleted) throw new S3Error('NoSuchKey', 'The object was deleted while it was being read.', { Key: request.route.key! });
  return version.blocks;
}

/** Sends bytes [start, end) from the blocks that cover them, fetching a few blocks ahead. */
async function* streamBlocks(services: S3Services, blocks: readonly VersionBlock[], start: number, end: number): AsyncGenerator<Buffer> {
  const needed = blocks.filter((block) => block.offset < end && block.offset + block.size > start);
  const fetches: Promise<Buffer>[] = [];
  const fetchAt = (index: number): void => {
    if (index < needed.length && fetches[index] === undefined) {
      fetches[index] = services.blocks.get(needed[index]!.hash);
      fetches[index]!.catch(() => undefined);
    }
  };
  for (let index = 0; index < needed.length; index++) {
    for (let ahead = 0; ahead <= S3_GET_BLOCKS_AHEAD; ahead++) fetchAt(index + ahead);
    const block = needed[index]!;
    const data = await fetches[index]!;
    if (data.length !== block.size) throw new Error(`block ${block.hash.toString('hex')} has ${data.length} bytes, the version says ${block.size}`);
    delete fetches[index];
    yield data.subarray(Math.max(0, start - block.offset), Math.min(block.size, end - block.offset));
  }
}

// ---- DeleteObject / DeleteObjects --------------------------------------------------------------

/** Writes a delete marker after every version we know of; nothing to do for a missing key. */
async function deleteKey(services: S3Services, bucketId: Buffer, key: string): Promise<void> {
  const keyBytes = objectKeyBytes(key);
  const object = await services.tables.get(objectSchema, bucketId, keyBytes);
  if (object === null || object.versions.every((version) => version.state.kind === 'complete' && version.state.data.kind === 'deleteMarker')) return;
  const marker: ObjectVersion = { uuid: services.randomBytes(UUID_BYTES), timestamp: nextTimestamp(object, services.nowMs()), state: { kind: 'complete', data: { kind: 'deleteMarker' } } };
  await services.tables.insert(objectSchema, [{ bucketId, key, versions: [marker] }]);
}

const deleteObject: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  await deleteKey(request.services, bucketId, request.route.key!);
  return { status: 204 };
};

const deleteObjects: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  const body = await readSmallBody(request.payload, S3_XML_BODY_BYTES_MAX);
  const { quiet, keys } = parseDeleteRequest(body.toString('utf8'));
  const results: (XmlNode | null)[] = new Array(keys.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < keys.length; index = next++) results[index] = await deleteOne(request.services, bucketId, keys[index]!, quiet);
  };
  await Promise.all(Array.from({ length: Math.min(S3_DELETE_CONCURRENCY, keys.length) }, worker));
  return { status: 200, body: xmlDocument(['DeleteResult', results]) };
};

async function deleteOne(services: S3Services, bucketId: Buffer, key: string, quiet: boolean): Promise<XmlNode | null> {
  try {
    await deleteKey(services, bucketId, key);
    return quiet ? null : ['Deleted', [['Key', key]]];
  } catch (error) {
    const s3 = error instanceof S3Error ? error : new S3Error('InternalError');
    if (!(error instanceof S3Error)) services.log.warn('DeleteObjects: a key failed', { error: error instanceof Error ? error.message : String(error) });
    return ['Error', [['Key', key], ['Code', s3.code], ['Message', s3.message]]];
  }
}

function parseDeleteRequest(xml: string): { quiet: boolean; keys: string[] } {
  const root = parseXml(xml);
  if (root.name !== 'Delete') throw new S3Error('MalformedXML', 'The body must be a Delete element.');
  const objects = childrenNamed(root, 'Object');
  if (objects.length === 0) throw new S3Error('MalformedXML', 'The Delete element lists no Object.');
  if (objects.length > S3_DELETE_OBJECTS_MAX) throw new S3Error('MalformedXML', `At most ${S3_DELETE_OBJECTS_MAX} objects can be deleted per request.`);
  const keys = objects.map((object) => {
    const key = childNamed(object, 'Key');
    if (key === null) throw new S3Error('MalformedXML', 'Every Object needs a Key.');
    return key.text;
  });
  const quiet = childNamed(root, 'Quiet')?.text.trim().toLowerCase() === 'true';
  return { quiet, keys };
}

export const objectHandlers: Pick<Record<S3Operation, S3Handler>, 'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject' | 'DeleteObjects'> = {
  PutObject: putObject,
  GetObject: getObject,
  HeadObject: getObject,
  DeleteObject: deleteObject,
  DeleteObjects: deleteObjects,
};
