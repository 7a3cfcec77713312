// Object operations: PutObject (inline under 3 KiB, else cut into blocks), GetObject and
// HeadObject (ranges, part numbers, conditions, response-* overrides), DeleteObject and
// DeleteObjects. Data leaves through the cascade: a newer version or a delete marker supersedes
// the old version in the object entry, whose hook deletes the version row, whose hook deletes its
// block references, which lowers the blocks' refcounts.
import { evaluateConditions } from '../../../protocols/s3/conditions';
import { S3Error } from '../../../protocols/s3/errors';
import { headersToStore, httpDate, quotedEtag, responseHeaders } from '../../../protocols/s3/headers';
import { S3_DELETE_CONCURRENCY, S3_DELETE_OBJECTS_MAX, S3_GET_BLOCKS_AHEAD, S3_XML_BODY_BYTES_MAX } from '../../../protocols/s3/limits';
import { currentVersion, INLINE_BYTES_MAX, nextTimestamp, OBJECT_KEY_BYTES_MAX, objectSchema, type ObjectMeta, type ObjectVersion, type ObjectVersionData } from '../../../protocols/s3/object';
import { contentRange, parseRange, type ByteRange } from '../../../protocols/s3/range';
import type { S3Operation } from '../../../protocols/s3/router';
import { versionSchema, type VersionBlock } from '../../../protocols/s3/version';
import { childNamed, childrenNamed, parseXml, xmlDocument, type XmlNode } from '../../../protocols/s3/xml';
import { checkContentLength, readSmallBody, type PayloadSummary } from './body';
import { BlockWriter, commitVersion, discardVersion, type VersionTarget } from './upload';
import { copyObject } from './copy';
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
  if (request.http.headers['x-amz-copy-source'] !== undefined) return copyObject(request);
  const bucketId = await bucketOf(request, 'write');
  const key = request.route.key!;
  const keyBytes = objectKeyBytes(key);
  checkContentLength(request.http);
  const headers = headersToStore(request.http.headers);
  const { tables, nowMs, randomBytes } = request.services;
  // Read concurrently with the upload: the new version must sort after every one we know of.
  const existing = tables.get(objectSchema, bucketId, keyBytes);
  existing.catch(() => undefined);
  const target = { uuid: randomBytes(UUID_BYTES), bucketId, key };
  const writer = new BlockWriter(request.services);
  let timestamp: number | null = null;
  // As the first block goes out, an `uploading` version is written (alongside the transfers), so
  // that a failed upload is marked aborted and its blocks are freed like any superseded version's.
  const beginUpload = async (): Promise<void> => {
    timestamp = nextTimestamp(await existing, nowMs());
    const uploading: ObjectVersion = { uuid: target.uuid, timestamp, state: { kind: 'uploading', multipart: false, headers } };
    await tables.insert(objectSchema, [{ bucketId, key, versions: [uploading] }]);
  };
  try {
    const written = await writer.write(request.payload.chunks(), { part: 1, inlineBelow: INLINE_BYTES_MAX, onFirstBlock: beginUpload });
    const summary = request.payload.summary();
    const meta: ObjectMeta = { size: summary.bytes, etag: summary.md5Hex, headers, checksum: summary.checksum };
    const data: ObjectVersionData = written.inline !== null ? { kind: 'inline', meta, bytes: written.inline } : { kind: 'blocks', meta, firstBlock: written.blocks[0]!.hash };
    if (written.inline === null) await commitVersion(request.services, target, written.blocks);
    const version: ObjectVersion = { uuid: target.uuid, timestamp: timestamp ?? nextTimestamp(await existing, nowMs()), state: { kind: 'complete', data } };
    await tables.insert(objectSchema, [{ bucketId, key, versions: [version] }]);
    return { status: 200, headers: putResponseHeaders(summary) };
  } catch (error) {
    await writer.settle(); // the uploading write included: then `timestamp` says whether it began
    if (timestamp !== null) await abortVersion(request.services, target, timestamp, writer);
    throw error;
  }
};

/** Marks an upload's version aborted (best effort): the object hook frees what it wrote. */
async function abortVersion(services: S3Services, target: VersionTarget, timestamp: number, writer: BlockWriter): Promise<void> {
  await writer.settle();
  const aborted: ObjectVersion = { uuid: target.uuid, timestamp, state: { kind: 'aborted' } };
  await Promise.allSettled([services.tables.insert(objectSchema, [{ bucketId: target.bucketId, key: target.key, versions: [aborted] }]), discardVersion(services, target, writer.blocks)]);
}

function putResponseHeaders(summary: PayloadSummary): [string, string][] {
  const headers: [string, string][] = [['etag', quotedEtag(summary.md5Hex)]];
  if (summary.checksum) headers.push([`x-amz-checksum-${summary.checksum.algorithm.toLowerCase()}`, summary.checksum.base64]);
  return headers;
}

// ---- GetObject / HeadObject --------------------------------------------------------------------

export async function visibleVersion(request: S3Request, bucketId: Buffer, key = request.route.key!): Promise<{ version: ObjectVersion; meta: ObjectMeta }> {
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
  const data = version.state.kind === 'complete' ? version.state.data : null;
  const partNumber = partNumberOf(request);
  const isHead = request.http.method === 'HEAD';
  // Block positions are needed for the body, and for a part's range even on HEAD.
  const placed = data?.kind === 'blocks' && (!isHead || partNumber !== null) ? placeBlocks(await versionBlocks(request, version.uuid)) : null;
  let range: ByteRange | null;
  if (partNumber !== null) {
    const part = partRange(placed, partNumber);
    range = part.range;
    if (part.partsCount > 1 || meta.etag.includes('-')) headers.push(['x-amz-mp-parts-count', String(part.partsCount)]);
  } else {
    range = parseRange(request.http.headers.range, meta.size);
  }
  // The stored checksum covers the whole object: a client that checks it must not get it with a part.
  if (range === null) headers.push(...checksumHeaders(request, meta), ['content-length', String(meta.size)]);
  else headers.push(['content-length', String(range.end - range.start + 1)], ['content-range', contentRange(range, meta.size)]);
  const status = range === null ? 200 : 206;
  if (isHead) return { status, headers };
  const start = range?.start ?? 0;
  const end = range ? range.end + 1 : meta.size;
  if (data?.kind === 'inline') return { status, headers, body: data.bytes.subarray(start, end) };
  return { status, headers, body: streamBlocks(request.services, placed ?? [], start, end) };
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

function partNumberOf(request: S3Request): number | null {
  const text = request.route.query.get('partNumber');
  if (text === undefined) return null;
  if (request.http.headers.range !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter.');
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 10_000) throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.', { ArgumentName: 'partNumber', ArgumentValue: text });
  return Number(text);
}

/** A block with its position in the object (blocks are sorted by part, then offset in the part). */
interface PlacedBlock {
  block: VersionBlock;
  start: number;
}

export function placeBlocks(blocks: readonly VersionBlock[]): PlacedBlock[] {
  let start = 0;
  return blocks.map((block) => {
    const placed = { block, start };
    start += block.size;
    return placed;
  });
}

/** The bytes of one part (a single-part object has exactly part 1: all of it, served as 200). */
function partRange(placed: readonly PlacedBlock[] | null, partNumber: number): { range: ByteRange | null; partsCount: number } {
  const parts = new Set((placed ?? []).map(({ block }) => block.part));
  if (parts.size <= 1) {
    if (partNumber !== 1) throw new S3Error('InvalidPartNumber');
    return { range: null, partsCount: 1 };
  }
  const inPart = placed!.filter(({ block }) => block.part === partNumber);
  if (inPart.length === 0) throw new S3Error('InvalidPartNumber');
  const last = inPart[inPart.length - 1]!;
  return { range: { start: inPart[0]!.start, end: last.start + last.block.size - 1 }, partsCount: parts.size };
}

export async function versionBlocks(request: S3Request, uuid: Buffer): Promise<VersionBlock[]> {
  const version = await request.services.tables.get(versionSchema, uuid, NO_SORT_KEY);
  if (version === null || version.deleted) throw new S3Error('NoSuchKey', 'The object was deleted while it was being read.', { Key: request.route.key! });
  return version.blocks;
}

/** Sends bytes [start, end) from the blocks that cover them, fetching a few blocks ahead. */
export async function* streamBlocks(services: S3Services, placed: readonly PlacedBlock[], start: number, end: number): AsyncGenerator<Buffer> {
  const needed = placed.filter(({ block, start: at }) => at < end && at + block.size > start);
  const fetches: Promise<Buffer>[] = [];
  const fetchAt = (index: number): void => {
    if (index < needed.length && fetches[index] === undefined) {
      fetches[index] = services.blocks.get(needed[index]!.block.hash);
      fetches[index]!.catch(() => undefined);
    }
  };
  for (let index = 0; index < needed.length; index++) {
    for (let ahead = 0; ahead <= S3_GET_BLOCKS_AHEAD; ahead++) fetchAt(index + ahead);
    const { block, start: at } = needed[index]!;
    const data = await fetches[index]!;
    if (data.length !== block.size) throw new Error(`block ${block.hash.toString('hex')} has ${data.length} bytes, the version says ${block.size}`);
    delete fetches[index];
    yield data.subarray(Math.max(0, start - at), Math.min(block.size, end - at));
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
