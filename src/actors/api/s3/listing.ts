// ListObjects (v1), ListObjectsV2 and ListObjectVersions. The walk itself (prefixes, delimiters,
// pagination in byte-wise key order) is the pure core in protocols/s3/listing.ts; this file reads
// the query, pages through the object table and writes the XML.
import { S3Error } from '../../../protocols/s3/errors';
import { isoDate, quotedEtag, urlEncodeKey } from '../../../protocols/s3/headers';
import { S3_LIST_KEYS_MAX } from '../../../protocols/s3/limits';
import { listObjects, type ListQuery, type ListResult, type ListedObject } from '../../../protocols/s3/listing';
import { objectSchema } from '../../../protocols/s3/object';
import type { S3Operation } from '../../../protocols/s3/router';
import { xmlDocument, type XmlNode } from '../../../protocols/s3/xml';
import { TABLE_CLIENT_RANGE_LIMIT_MAX } from '../../table/client';
import { bucketOf } from './buckets';
import type { S3Handler, S3Request } from './pipeline';

/** Continuation tokens are opaque to clients: a version byte, then the key to resume after. */
const CONTINUATION_TOKEN_FORMAT = 'g1:';

interface ListParameters {
  query: ListQuery;
  encodeUrl: boolean;
}

function listParameters(request: S3Request, startAfter: string | null): ListParameters {
  const query = request.route.query;
  const encoding = query.get('encoding-type');
  if (encoding !== undefined && encoding !== 'url') throw new S3Error('InvalidArgument', `Invalid Encoding Method specified in Request: ${encoding}`, { ArgumentName: 'encoding-type', ArgumentValue: encoding });
  const delimiter = query.get('delimiter');
  return {
    query: { prefix: query.get('prefix') ?? '', delimiter: delimiter === undefined || delimiter === '' ? null : delimiter, startAfter, maxKeys: maxKeysOf(query.get('max-keys')) },
    encodeUrl: encoding === 'url',
  };
}

function maxKeysOf(text: string | undefined): number {
  if (text === undefined) return S3_LIST_KEYS_MAX;
  if (!/^\d{1,10}$/.test(text)) throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: text });
  return Math.min(Number(text), S3_LIST_KEYS_MAX);
}

async function runListing(request: S3Request, parameters: ListParameters): Promise<ListResult> {
  const bucketId = await bucketOf(request, 'read');
  const { tables } = request.services;
  return listObjects(parameters.query, (startInclusive, limit) =>
    tables.range(objectSchema, bucketId, { start: startInclusive, limit: Math.min(limit, TABLE_CLIENT_RANGE_LIMIT_MAX) }),
  );
}

function encoder(encodeUrl: boolean): (text: string) => string {
  return encodeUrl ? urlEncodeKey : (text) => text;
}

function contentsOf(object: ListedObject, encode: (text: string) => string, owner: XmlNode | null): XmlNode {
  const { version } = object;
  const meta = version.state.kind === 'complete' && version.state.data.kind !== 'deleteMarker' ? version.state.data.meta : null;
  return [
    'Contents',
    [
      ['Key', encode(object.key)],
      ['LastModified', isoDate(version.timestamp)],
      ['ETag', quotedEtag(meta?.etag ?? '')],
      ['Size', meta?.size ?? 0],
      ['StorageClass', 'STANDARD'],
      owner,
    ],
  ];
}

function commonPrefixesOf(result: ListResult, encode: (text: string) => string): XmlNode[] {
  return result.commonPrefixes.map((prefix) => ['CommonPrefixes', [['Prefix', encode(prefix)]]]);
}

function ownerOf(request: S3Request): XmlNode {
  return ['Owner', [['ID', request.accessKeyId], ['DisplayName', request.accessKeyId]]];
}

const listObjectsV1: S3Handler = async (request) => {
  const marker = request.route.query.get('marker') ?? null;
  const parameters = listParameters(request, marker === '' ? null : marker);
  const result = await runListing(request, parameters);
  const encode = encoder(parameters.encodeUrl);
  const { query } = parameters;
  return {
    status: 200,
    body: xmlDocument([
      'ListBucketResult',
      [
        ['Name', request.route.bucket!],
        ['Prefix', encode(query.prefix)],
        ['Marker', encode(marker ?? '')],
        ['MaxKeys', query.maxKeys],
        query.delimiter === null ? null : ['Delimiter', encode(query.delimiter)],
        ['IsTruncated', result.isTruncated],
        result.isTruncated && result.nextMarker !== null ? ['NextMarker', encode(result.nextMarker)] : null,
        parameters.encodeUrl ? ['EncodingType', 'url'] : null,
        ...result.objects.map((object) => contentsOf(object, encode, ownerOf(request))),
        ...commonPrefixesOf(result, encode),
      ],
    ]),
  };
};

const listObjectsV2: S3Handler = async (request) => {
  const token = request.route.query.get('continuation-token');
  const startAfter = request.route.query.get('start-after');
  const resumeAfter = token !== undefined ? decodeContinuationToken(token) : startAfter === undefined || startAfter === '' ? null : startAfter;
  const parameters = listParameters(request, resumeAfter);
  const result = await runListing(request, parameters);
  const encode = encoder(parameters.encodeUrl);
  const { query } = parameters;
  const owner = request.route.query.get('fetch-owner') === 'true' ? ownerOf(request) : null;
  return {
    status: 200,
    body: xmlDocument([
      'ListBucketResult',
      [
        ['Name', request.route.bucket!],
        ['Prefix', encode(query.prefix)],
        startAfter === undefined ? null : ['StartAfter', encode(startAfter)],
        token === undefined ? null : ['ContinuationToken', token],
        ['KeyCount', result.objects.length + result.commonPrefixes.length],
        ['MaxKeys', query.maxKeys],
        query.delimiter === null ? null : ['Delimiter', encode(query.delimiter)],
        ['IsTruncated', result.isTruncated],
        result.isTruncated && result.nextMarker !== null ? ['NextContinuationToken', encodeContinuationToken(result.nextMarker)] : null,
        parameters.encodeUrl ? ['EncodingType', 'url'] : null,
        ...result.objects.map((object) => contentsOf(object, encode, owner)),
        ...commonPrefixesOf(result, encode),
      ],
    ]),
  };
};

/** Unversioned buckets: each current object is one version, "null", and the latest. */
const listObjectVersions: S3Handler = async (request) => {
  const keyMarker = request.route.query.get('key-marker');
  const parameters = listParameters(request, keyMarker === undefined || keyMarker === '' ? null : keyMarker);
  const result = await runListing(request, parameters);
  const encode = encoder(parameters.encodeUrl);
  const { query } = parameters;
  const versions: XmlNode[] = result.objects.map((object) => {
    const [, fields] = contentsOf(object, encode, ownerOf(request)) as [string, XmlNode[]];
    return ['Version', [fields[0]!, ['VersionId', 'null'], ['IsLatest', true], ...fields.slice(1)]];
  });
  return {
    status: 200,
    body: xmlDocument([
      'ListVersionsResult',
      [
        ['Name', request.route.bucket!],
        ['Prefix', encode(query.prefix)],
        ['KeyMarker', encode(keyMarker ?? '')],
        ['VersionIdMarker', request.route.query.get('version-id-marker') ?? ''],
        result.isTruncated && result.nextMarker !== null ? ['NextKeyMarker', encode(result.nextMarker)] : null,
        result.isTruncated ? ['NextVersionIdMarker', 'null'] : null,
        ['MaxKeys', query.maxKeys],
        query.delimiter === null ? null : ['Delimiter', encode(query.delimiter)],
        ['IsTruncated', result.isTruncated],
        parameters.encodeUrl ? ['EncodingType', 'url'] : null,
        ...versions,
        ...commonPrefixesOf(result, encode),
      ],
    ]),
  };
};

export function encodeContinuationToken(resumeAfter: string): string {
  return Buffer.from(CONTINUATION_TOKEN_FORMAT + resumeAfter, 'utf8').toString('base64url');
}

export function decodeContinuationToken(token: string): string {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(CONTINUATION_TOKEN_FORMAT) || encodeContinuationToken(text.slice(CONTINUATION_TOKEN_FORMAT.length)) !== token) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token', ArgumentValue: token });
  }
  return text.slice(CONTINUATION_TOKEN_FORMAT.length);
}

export const listingHandlers: Pick<Record<S3Operation, S3Handler>, 'ListObjects' | 'ListObjectsV2' | 'ListObjectVersions'> = {
  ListObjects: listObjectsV1,
  ListObjectsV2: listObjectsV2,
  ListObjectVersions: listObjectVersions,
};
