// CopyObject and the source side of UploadPartCopy: the source named by x-amz-copy-source (read
// permission on its bucket), its x-amz-copy-source-if-* conditions, and the copy itself. A whole
// copy references the source's blocks under a new version (no bytes move); only a part copied
// from a byte range is read and written again.
import { evaluateConditions } from '../../../protocols/s3/conditions';
import { S3Error } from '../../../protocols/s3/errors';
import { headersToStore, isoDate, quotedEtag } from '../../../protocols/s3/headers';
import { nextTimestamp, objectSchema, type ObjectMeta, type ObjectVersion, type ObjectVersionData } from '../../../protocols/s3/object';
import { xmlDocument } from '../../../protocols/s3/xml';
import { bucketOf } from './buckets';
import { objectKeyBytes, versionBlocks, visibleVersion } from './objects';
import type { S3Request, S3Response } from './pipeline';
import { commitVersion } from './upload';

const UUID_BYTES = 16;

export interface CopySource {
  bucketId: Buffer;
  key: string;
  version: ObjectVersion;
  meta: ObjectMeta;
  data: Exclude<ObjectVersionData, { kind: 'deleteMarker' }>;
}

/** The object x-amz-copy-source names, readable by this key and passing the copy conditions. */
export async function copySourceOf(request: S3Request): Promise<CopySource> {
  const { bucket, key } = parseCopySource(String(request.http.headers['x-amz-copy-source']));
  const bucketId = await bucketOf(request, 'read', bucket);
  objectKeyBytes(key);
  const { version, meta } = await visibleVersion(request, bucketId, key);
  checkCopyConditions(request, version, meta);
  const data = version.state.kind === 'complete' ? version.state.data : null;
  if (data === null || data.kind === 'deleteMarker') throw new S3Error('NoSuchKey', undefined, { Key: key });
  return { bucketId, key, version, meta, data };
}

/** `bucket/key` or `/bucket/key`, percent-encoded, optionally `?versionId=null`. */
export function parseCopySource(header: string): { bucket: string; key: string } {
  const [path, query] = header.split('?', 2) as [string, string | undefined];
  if (query !== undefined && query !== 'versionId=null') throw new S3Error('InvalidArgument', 'Only the "null" version of an object can be copied: versioning is not enabled.', { ArgumentName: 'x-amz-copy-source' });
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.startsWith('/') ? path.slice(1) : path);
  } catch {
    throw new S3Error('InvalidArgument', 'x-amz-copy-source is not valid percent-encoding.', { ArgumentName: 'x-amz-copy-source' });
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) throw new S3Error('InvalidArgument', 'x-amz-copy-source must be bucket/key.', { ArgumentName: 'x-amz-copy-source', ArgumentValue: header });
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

function checkCopyConditions(request: S3Request, version: ObjectVersion, meta: ObjectMeta): void {
  const h = request.http.headers;
  const verdict = evaluateConditions(
    {
      ifMatch: h['x-amz-copy-source-if-match'] as string | undefined,
      ifNoneMatch: h['x-amz-copy-source-if-none-match'] as string | undefined,
      ifModifiedSince: h['x-amz-copy-source-if-modified-since'] as string | undefined,
      ifUnmodifiedSince: h['x-amz-copy-source-if-unmodified-since'] as string | undefined,
    },
    { etag: meta.etag, lastModifiedMs: version.timestamp },
    'GET',
  );
  // A copy has no 304: every failed condition is a failed precondition (as AWS answers).
  if (verdict !== 'ok') throw new S3Error('PreconditionFailed', 'At least one of the x-amz-copy-source-if-* conditions did not hold.', { Condition: 'x-amz-copy-source-if-*' });
}

function metadataDirective(request: S3Request): 'COPY' | 'REPLACE' {
  const directive = String(request.http.headers['x-amz-metadata-directive'] ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', `Unknown metadata directive ${directive}: use COPY or REPLACE.`, { ArgumentName: 'x-amz-metadata-directive' });
  return directive;
}

export async function copyObject(request: S3Request): Promise<S3Response> {
  const bucketId = await bucketOf(request, 'write');
  const key = request.route.key!;
  const keyBytes = objectKeyBytes(key);
  const source = await copySourceOf(request);
  const directive = metadataDirective(request);
  if (directive === 'COPY' && source.bucketId.equals(bucketId) && source.key === key) {
    throw new S3Error('InvalidRequest', "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
  }
  const { tables, nowMs, randomBytes } = request.services;
  const meta: ObjectMeta = { ...source.meta, headers: directive === 'REPLACE' ? headersToStore(request.http.headers) : source.meta.headers };
  const uuid = randomBytes(UUID_BYTES);
  let data: ObjectVersionData;
  if (source.data.kind === 'inline') {
    data = { kind: 'inline', meta, bytes: source.data.bytes };
  } else {
    const blocks = await versionBlocks(request, source.version.uuid);
    await commitVersion(request.services, { uuid, bucketId, key }, blocks);
    data = { kind: 'blocks', meta, firstBlock: source.data.firstBlock };
  }
  const timestamp = nextTimestamp(await tables.get(objectSchema, bucketId, keyBytes), nowMs());
  await tables.insert(objectSchema, [{ bucketId, key, versions: [{ uuid, timestamp, state: { kind: 'complete', data } }] }]);
  const body = xmlDocument(['CopyObjectResult', [['LastModified', isoDate(timestamp)], ['ETag', quotedEtag(meta.etag)]]]);
  return { status: 200, body };
}
