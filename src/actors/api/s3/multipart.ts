// Multipart uploads: create, upload a part (or copy one from another object), complete, abort,
// list parts, list uploads. An upload is an `uploading` version in the object row (its uuid is
// the upload id) plus a multipart_upload row listing the parts; each part's blocks sit in a
// version row of their own. Completing writes the final version (every part's blocks, in order,
// with fresh references) before deleting the upload row, whose hook frees the part versions.
import { createHash } from 'node:crypto';
import { S3Error } from '../../../protocols/s3/errors';
import { headersToStore, isoDate, quotedEtag } from '../../../protocols/s3/headers';
import { S3_LIST_KEYS_MAX, S3_XML_BODY_BYTES_MAX } from '../../../protocols/s3/limits';
import { bytesSuccessor, commonPrefixOf } from '../../../protocols/s3/listing';
import { multipartEtag, multipartUploadSchema, PART_BYTES_MIN, PART_NUMBER_MAX, type MultipartUpload, type UploadPart } from '../../../protocols/s3/multipart';
import { nextTimestamp, objectSchema, type ObjectVersion, type S3Object } from '../../../protocols/s3/object';
import { parseRange } from '../../../protocols/s3/range';
import type { S3Operation } from '../../../protocols/s3/router';
import type { VersionBlock } from '../../../protocols/s3/version';
import { childNamed, childrenNamed, parseXml, xmlDocument, type XmlNode } from '../../../protocols/s3/xml';
import { TABLE_CLIENT_RANGE_LIMIT_MAX } from '../../table/client';
import { checkContentLength, readSmallBody } from './body';
import { bucketOf } from './buckets';
import { copySourceOf, type CopySource } from './copy';
import { objectKeyBytes, placeBlocks, streamBlocks, versionBlocks } from './objects';
import type { S3Handler, S3Request } from './pipeline';
import type { S3Services } from './services';
import { BlockWriter, commitVersion, discardVersion } from './upload';

const UPLOAD_ID_BYTES = 16;
const NO_SORT_KEY = Buffer.alloc(0);
/** Pages of the object table one ListMultipartUploads may read before answering truncated. */
const LIST_UPLOADS_FETCHES_MAX = 64;

/** S3 orders keys by their UTF-8 bytes, not by JavaScript's UTF-16 string order. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** The upload a request names (?uploadId=), live and for this bucket and key; else NoSuchUpload. */
async function uploadOf(request: S3Request, bucketId: Buffer): Promise<MultipartUpload> {
  const text = request.route.query.get('uploadId') ?? '';
  if (!/^[0-9a-f]{32}$/.test(text)) throw new S3Error('NoSuchUpload', undefined, { UploadId: text });
  const upload = await request.services.tables.get(multipartUploadSchema, Buffer.from(text, 'hex'), NO_SORT_KEY);
  if (upload === null || upload.deleted || !upload.bucketId.equals(bucketId) || upload.key !== request.route.key) throw new S3Error('NoSuchUpload', undefined, { UploadId: text });
  return upload;
}

/** The upload's `uploading` version in the object row (gone once superseded or aborted). */
async function uploadingVersion(services: S3Services, upload: MultipartUpload): Promise<ObjectVersion & { state: { kind: 'uploading' } }> {
  const object = await services.tables.get(objectSchema, upload.bucketId, objectKeyBytes(upload.key));
  const version = object?.versions.find((candidate) => candidate.uuid.equals(upload.uploadId));
  if (!version || version.state.kind !== 'uploading') throw new S3Error('NoSuchUpload', undefined, { UploadId: upload.uploadId.toString('hex') });
  return version as ObjectVersion & { state: { kind: 'uploading' } };
}

const createMultipartUpload: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  const key = request.route.key!;
  const keyBytes = objectKeyBytes(key);
  const headers = headersToStore(request.http.headers);
  const { tables, nowMs, randomBytes } = request.services;
  const uploadId = randomBytes(UPLOAD_ID_BYTES);
  const timestamp = nextTimestamp(await tables.get(objectSchema, bucketId, keyBytes), nowMs());
  await tables.insert(objectSchema, [{ bucketId, key, versions: [{ uuid: uploadId, timestamp, state: { kind: 'uploading', multipart: true, headers } }] }]);
  await tables.insert(multipartUploadSchema, [{ uploadId, deleted: false, bucketId, key, parts: [] }]);
  const body = xmlDocument(['InitiateMultipartUploadResult', [['Bucket', request.route.bucket!], ['Key', key], ['UploadId', uploadId.toString('hex')]]]);
  return { status: 200, body };
};

function partNumberOf(request: S3Request): number {
  const text = request.route.query.get('partNumber') ?? '';
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > PART_NUMBER_MAX) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${PART_NUMBER_MAX}, inclusive.`, { ArgumentName: 'partNumber', ArgumentValue: text });
  }
  return Number(text);
}

const uploadPart: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  const partNumber = partNumberOf(request);
  const upload = await uploadOf(request, bucketId);
  const copying = request.http.headers['x-amz-copy-source'] !== undefined;
  const source = copying ? await copySourceOf(request) : null;
  if (!copying) checkContentLength(request.http);
  const { services } = request;
  const target = { uuid: services.randomBytes(UPLOAD_ID_BYTES), bucketId, key: upload.key };
  const writer = new BlockWriter(services);
  const md5 = createHash('md5');
  let size = 0;
  const counted = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      md5.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  };
  const body = source ? await copiedBytes(request, source) : request.payload.chunks();
  try {
    await writer.write(counted(body), { part: partNumber, inlineBelow: null, onFirstBlock: async () => {} });
    const summary = source ? null : request.payload.summary();
    const etag = md5.digest('hex');
    await commitVersion(services, target, writer.blocks);
    const part: UploadPart = { partNumber, timestamp: services.nowMs(), version: target.uuid, etag, size };
    await services.tables.insert(multipartUploadSchema, [{ ...upload, parts: [part] }]);
    await checkStillOpen(services, upload, target, writer.blocks);
    if (source) return { status: 200, body: xmlDocument(['CopyPartResult', [['LastModified', isoDate(part.timestamp)], ['ETag', quotedEtag(etag)]]]) };
    const headers: [string, string][] = [['etag', quotedEtag(etag)]];
    if (summary?.checksum) headers.push([`x-amz-checksum-${summary.checksum.algorithm.toLowerCase()}`, summary.checksum.base64]);
    return { status: 200, headers };
  } catch (error) {
    await writer.settle();
    await discardVersion(services, target, writer.blocks);
    throw error;
  }
};

/** A part that landed in an upload aborted meanwhile would hold its blocks forever: free it. */
async function checkStillOpen(services: S3Services, upload: MultipartUpload, target: { uuid: Buffer; bucketId: Buffer; key: string }, blocks: VersionBlock[]): Promise<void> {
  const now = await services.tables.get(multipartUploadSchema, upload.uploadId, NO_SORT_KEY);
  if (now !== null && !now.deleted) return;
  await discardVersion(services, target, blocks);
  throw new S3Error('NoSuchUpload', 'The upload was completed or aborted while this part was being uploaded.', { UploadId: upload.uploadId.toString('hex') });
}

/** The bytes of an UploadPartCopy: the whole source, or x-amz-copy-source-range of it. */
async function copiedBytes(request: S3Request, source: CopySource): Promise<AsyncIterable<Buffer>> {
  const size = source.meta.size;
  const header = request.http.headers['x-amz-copy-source-range'] as string | undefined;
  let start = 0;
  let end = size;
  if (header !== undefined) {
    const match = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
    if (!match || Number(match[1]) > Number(match[2]) || Number(match[2]) >= size) {
      throw new S3Error('InvalidArgument', `Range specified is not valid for source object of size: ${size}`, { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header });
    }
    const range = parseRange(header, size)!;
    start = range.start;
    end = range.end + 1;
  }
  if (source.data.kind === 'inline') {
    const bytes = source.data.bytes.subarray(start, end);
    return (async function* () {
      yield bytes;
    })();
  }
  const placed = placeBlocks(await versionBlocks(request, source.version.uuid));
  return streamBlocks(request.services, placed, start, end);
}

interface RequestedPart {
  partNumber: number;
  etag: string;
}

function parseCompleteRequest(xml: string): RequestedPart[] {
  const root = parseXml(xml);
  if (root.name !== 'CompleteMultipartUpload') throw new S3Error('MalformedXML', 'The body must be a CompleteMultipartUpload element.');
  const parts = childrenNamed(root, 'Part').map((part) => {
    const number = childNamed(part, 'PartNumber')?.text.trim() ?? '';
    const etag = childNamed(part, 'ETag')?.text.trim() ?? '';
    if (!/^\d{1,5}$/.test(number) || etag === '') throw new S3Error('MalformedXML', 'Every Part needs a PartNumber and an ETag.');
    return { partNumber: Number(number), etag: etag.replace(/^"|"$/g, '') };
  });
  if (parts.length === 0) throw new S3Error('MalformedXML', 'The CompleteMultipartUpload lists no part.');
  return parts;
}

/** The stored parts the request names, checked as AWS does: order, existence and ETag, sizes. */
function chosenParts(upload: MultipartUpload, requested: RequestedPart[]): UploadPart[] {
  for (let index = 1; index < requested.length; index++) {
    if (requested[index]!.partNumber <= requested[index - 1]!.partNumber) throw new S3Error('InvalidPartOrder');
  }
  const stored = new Map(upload.parts.map((part) => [part.partNumber, part]));
  const chosen = requested.map((wanted) => {
    const part = stored.get(wanted.partNumber);
    if (!part || part.etag !== wanted.etag) throw new S3Error('InvalidPart', `Part ${wanted.partNumber} was not uploaded, or its ETag is not ${wanted.etag}.`, { PartNumber: String(wanted.partNumber), ETag: wanted.etag });
    return part;
  });
  chosen.slice(0, -1).forEach((part) => {
    if (part.size < PART_BYTES_MIN) throw new S3Error('EntityTooSmall', `Part ${part.partNumber} has ${part.size} bytes; every part but the last needs at least ${PART_BYTES_MIN}.`, { PartNumber: String(part.partNumber), ProposedSize: String(part.size), MinSizeAllowed: String(PART_BYTES_MIN) });
  });
  return chosen;
}

const completeMultipartUpload: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  const upload = await uploadOf(request, bucketId);
  const requested = parseCompleteRequest((await readSmallBody(request.payload, S3_XML_BODY_BYTES_MAX)).toString('utf8'));
  const parts = chosenParts(upload, requested);
  const { services } = request;
  const uploading = await uploadingVersion(services, upload);
  const blocks: VersionBlock[] = [];
  for (const part of parts) blocks.push(...(await versionBlocks(request, part.version)));
  const target = { uuid: upload.uploadId, bucketId, key: upload.key };
  const size = parts.reduce((total, part) => total + part.size, 0);
  const etag = multipartEtag(parts.map((part) => part.etag), md5Hex);
  await commitVersion(services, target, blocks);
  const meta = { size, etag, headers: uploading.state.headers, checksum: null };
  const data = blocks.length === 0 ? ({ kind: 'inline', meta, bytes: Buffer.alloc(0) } as const) : ({ kind: 'blocks', meta, firstBlock: blocks[0]!.hash } as const);
  await services.tables.insert(objectSchema, [{ bucketId, key: upload.key, versions: [{ uuid: upload.uploadId, timestamp: uploading.timestamp, state: { kind: 'complete', data } }] }]);
  await services.tables.insert(multipartUploadSchema, [{ ...upload, deleted: true, parts: [] }]);
  const body = xmlDocument(['CompleteMultipartUploadResult', [['Location', `/${request.route.bucket!}/${upload.key}`], ['Bucket', request.route.bucket!], ['Key', upload.key], ['ETag', quotedEtag(etag)]]]);
  return { status: 200, body };
};

const abortMultipartUpload: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'write');
  const upload = await uploadOf(request, bucketId);
  const { tables } = request.services;
  const uploading = await uploadingVersion(request.services, upload).catch(() => null);
  if (uploading) await tables.insert(objectSchema, [{ bucketId, key: upload.key, versions: [{ uuid: upload.uploadId, timestamp: uploading.timestamp, state: { kind: 'aborted' } }] }]);
  await tables.insert(multipartUploadSchema, [{ ...upload, deleted: true, parts: [] }]);
  return { status: 204 };
};

function boundedInteger(request: S3Request, name: string, fallback: number, max: number): number {
  const text = request.route.query.get(name);
  if (text === undefined) return fallback;
  if (!/^\d{1,10}$/.test(text)) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer.`, { ArgumentName: name, ArgumentValue: text });
  return Math.min(Number(text), max);
}

function owner(request: S3Request, name: 'Owner' | 'Initiator'): XmlNode {
  return [name, [['ID', request.accessKeyId], ['DisplayName', request.accessKeyId]]];
}

const listParts: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'read');
  const upload = await uploadOf(request, bucketId);
  const maxParts = boundedInteger(request, 'max-parts', S3_LIST_KEYS_MAX, S3_LIST_KEYS_MAX);
  const marker = boundedInteger(request, 'part-number-marker', 0, PART_NUMBER_MAX);
  const after = upload.parts.filter((part) => part.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  const body = xmlDocument([
    'ListPartsResult',
    [
      ['Bucket', request.route.bucket!],
      ['Key', upload.key],
      ['UploadId', upload.uploadId.toString('hex')],
      ['PartNumberMarker', marker],
      page.length > 0 ? ['NextPartNumberMarker', page[page.length - 1]!.partNumber] : null,
      ['MaxParts', maxParts],
      ['IsTruncated', truncated],
      ...page.map((part): XmlNode => ['Part', [['PartNumber', part.partNumber], ['LastModified', isoDate(part.timestamp)], ['ETag', quotedEtag(part.etag)], ['Size', part.size]]]),
      owner(request, 'Initiator'),
      owner(request, 'Owner'),
      ['StorageClass', 'STANDARD'],
    ],
  ]);
  return { status: 200, body };
};

interface ListedUpload {
  key: string;
  uploadId: string;
  initiatedMs: number;
}

/** Uploads in progress, by key then upload id, after the markers; common prefixes roll up keys. */
const listMultipartUploads: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'read');
  const query = request.route.query;
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') || null;
  const keyMarker = query.get('key-marker') ?? '';
  const uploadIdMarker = query.get('upload-id-marker') ?? '';
  const maxUploads = boundedInteger(request, 'max-uploads', S3_LIST_KEYS_MAX, S3_LIST_KEYS_MAX);
  const uploads: ListedUpload[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let cursor: Buffer | null = Buffer.from(byteOrder(keyMarker, prefix) > 0 ? keyMarker : prefix, 'utf8');
  const full = (): boolean => uploads.length + prefixes.length >= maxUploads;
  for (let fetches = 0; cursor !== null && !truncated; fetches++) {
    if (fetches >= LIST_UPLOADS_FETCHES_MAX) {
      truncated = true;
      break;
    }
    const rows: S3Object[] = await request.services.tables.range(objectSchema, bucketId, { start: cursor, limit: TABLE_CLIENT_RANGE_LIMIT_MAX });
    const startedAt: Buffer = cursor;
    cursor = rows.length < TABLE_CLIENT_RANGE_LIMIT_MAX ? null : Buffer.concat([Buffer.from(rows[rows.length - 1]!.key, 'utf8'), Buffer.alloc(1)]);
    for (const row of rows) {
      if (Buffer.compare(Buffer.from(row.key, 'utf8'), startedAt) < 0) continue;
      if (!row.key.startsWith(prefix)) {
        cursor = null; // past every key under the prefix
        break;
      }
      const open = row.versions.filter((version) => version.state.kind === 'uploading' && version.state.multipart);
      const ids = open.map((version) => ({ key: row.key, uploadId: version.uuid.toString('hex'), initiatedMs: version.timestamp })).filter((upload) => byteOrder(upload.key, keyMarker) > 0 || (upload.key === keyMarker && uploadIdMarker !== '' && upload.uploadId > uploadIdMarker));
      if (ids.length === 0) continue;
      const common = delimiter === null ? null : commonPrefixOf({ prefix, delimiter }, row.key);
      if (common !== null) {
        if (prefixes[prefixes.length - 1] === common || byteOrder(common, keyMarker) <= 0) continue;
        if (full()) { truncated = true; break; }
        prefixes.push(common);
        const skip = bytesSuccessor(Buffer.from(common, 'utf8'));
        cursor = skip;
        break;
      }
      for (const upload of ids.sort((a, b) => (a.uploadId < b.uploadId ? -1 : 1))) {
        if (full()) { truncated = true; break; }
        uploads.push(upload);
      }
      if (truncated) break;
    }
  }
  const last = uploads[uploads.length - 1];
  const lastPrefix = prefixes[prefixes.length - 1];
  const nextKey = lastPrefix !== undefined && (last === undefined || byteOrder(lastPrefix, last.key) > 0) ? lastPrefix : last?.key;
  const body = xmlDocument([
    'ListMultipartUploadsResult',
    [
      ['Bucket', request.route.bucket!],
      ['KeyMarker', keyMarker],
      ['UploadIdMarker', uploadIdMarker],
      truncated && nextKey !== undefined ? ['NextKeyMarker', nextKey] : null,
      truncated && last !== undefined && nextKey === last.key ? ['NextUploadIdMarker', last.uploadId] : null,
      ['Prefix', prefix],
      delimiter === null ? null : ['Delimiter', delimiter],
      ['MaxUploads', maxUploads],
      ['IsTruncated', truncated],
      ...uploads.map((upload): XmlNode => ['Upload', [['Key', upload.key], ['UploadId', upload.uploadId], owner(request, 'Initiator'), owner(request, 'Owner'), ['StorageClass', 'STANDARD'], ['Initiated', isoDate(upload.initiatedMs)]]]),
      ...prefixes.map((common): XmlNode => ['CommonPrefixes', [['Prefix', common]]]),
    ],
  ]);
  return { status: 200, body };
};

export const multipartHandlers: Pick<Record<S3Operation, S3Handler>, 'CreateMultipartUpload' | 'UploadPart' | 'CompleteMultipartUpload' | 'AbortMultipartUpload' | 'ListParts' | 'ListMultipartUploads'> = {
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  ListMultipartUploads: listMultipartUploads,
};
