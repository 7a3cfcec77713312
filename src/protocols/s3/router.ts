// Which S3 operation a request is: from its method, bucket and key (path style, or virtual-host
// style when `root_domain` is set) and its query sub-resources. Unknown sub-resources are refused
// with NotImplemented rather than served as something else (a PUT ?tagging must never become a
// PutObject that overwrites the object with its XML body).
import { S3Error } from './errors';

export type S3Operation =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'HeadBucket'
  | 'GetBucketLocation'
  | 'GetBucketVersioning'
  | 'GetBucketAcl'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListObjectVersions'
  | 'DeleteObjects'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads';

export interface S3Route {
  operation: S3Operation;
  bucket: string | null;
  key: string | null;
  /** Query parameters, decoded; a repeated name keeps its first value. */
  query: ReadonlyMap<string, string>;
}

export interface RouteInput {
  method: string;
  rawPath: string;
  rawQuery: string;
  host: string | undefined;
}

/** Query parameters that change which operation a request is (the rest are plain arguments). */
const BUCKET_GET_SUBRESOURCES: Readonly<Record<string, S3Operation>> = {
  location: 'GetBucketLocation',
  versioning: 'GetBucketVersioning',
  acl: 'GetBucketAcl',
  versions: 'ListObjectVersions',
  uploads: 'ListMultipartUploads',
};

/** Sub-resources S3 has that Grange does not serve (yet): answered NotImplemented. */
const UNSERVED_SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'encryption', 'intelligent-tiering', 'inventory', 'legal-hold',
  'lifecycle', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'partNumber', 'policy',
  'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention', 'select', 'tagging',
  'torrent', 'uploadId', 'uploads', 'versioning', 'website', 'location', 'versions', 'delete',
]);

export function routeS3Request(input: RouteInput, rootDomain: string | undefined): S3Route {
  const query = parseQuery(input.rawQuery);
  const { bucket, key } = bucketAndKey(input, rootDomain);
  const operation = operationOf(input.method.toUpperCase(), bucket, key, query);
  return { operation, bucket, key, query };
}

export function parseQuery(rawQuery: string): Map<string, string> {
  const query = new Map<string, string>();
  if (rawQuery === '') return query;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const name = decodeQueryComponent(equals < 0 ? part : part.slice(0, equals));
    const value = equals < 0 ? '' : decodeQueryComponent(part.slice(equals + 1));
    if (!query.has(name)) query.set(name, value);
  }
  return query;
}

function decodeQueryComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new S3Error('InvalidArgument', `the query string is not valid percent-encoding: ${text.slice(0, 64)}`);
  }
}

function decodePath(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error('InvalidArgument', `the request path is not valid percent-encoding: ${text.slice(0, 64)}`);
  }
}

function bucketAndKey(input: RouteInput, rootDomain: string | undefined): { bucket: string | null; key: string | null } {
  if (!input.rawPath.startsWith('/')) throw new S3Error('InvalidArgument', 'the request path must start with /');
  const hostBucket = rootDomain ? bucketFromHost(input.host, rootDomain) : null;
  const path = input.rawPath.slice(1);
  if (hostBucket !== null) return { bucket: hostBucket, key: path === '' ? null : decodePath(path) };
  if (path === '') return { bucket: null, key: null };
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decodePath(path), key: null };
  const key = path.slice(slash + 1);
  return { bucket: decodePath(path.slice(0, slash)), key: key === '' ? null : decodePath(key) };
}

/** `bucket.<root_domain>` names a bucket; the root domain itself (or another host) does not. */
export function bucketFromHost(host: string | undefined, rootDomain: string): string | null {
  if (!host) return null;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  const suffix = rootDomain.startsWith('.') ? rootDomain.toLowerCase() : `.${rootDomain.toLowerCase()}`;
  if (!name.endsWith(suffix) || name.length === suffix.length) return null;
  return name.slice(0, name.length - suffix.length);
}

function operationOf(method: string, bucket: string | null, key: string | null, query: ReadonlyMap<string, string>): S3Operation {
  if (bucket === null) {
    if (method === 'GET') return 'ListBuckets';
    throw new S3Error('MethodNotAllowed', `${method} is not allowed on the service root`);
  }
  return key === null ? bucketOperation(method, query) : objectOperation(method, query);
}

function bucketOperation(method: string, query: ReadonlyMap<string, string>): S3Operation {
  switch (method) {
    case 'GET': {
      for (const [name, operation] of Object.entries(BUCKET_GET_SUBRESOURCES)) if (query.has(name)) return operation;
      refuseUnserved(query);
      return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    }
    case 'HEAD': return 'HeadBucket';
    case 'PUT': refuseUnserved(query); return 'CreateBucket';
    case 'DELETE': refuseUnserved(query); return 'DeleteBucket';
    case 'POST':
      if (query.has('delete')) return 'DeleteObjects';
      refuseUnserved(query);
      throw new S3Error('MethodNotAllowed', 'POST on a bucket needs ?delete');
    default:
      throw new S3Error('MethodNotAllowed', `${method} is not allowed on a bucket`);
  }
}

/** Object operations; UploadPart covers UploadPartCopy and PutObject CopyObject (told apart by x-amz-copy-source). */
function objectOperation(method: string, query: ReadonlyMap<string, string>): S3Operation {
  const upload = query.has('uploadId');
  switch (method) {
    case 'GET':
      if (upload) return 'ListParts';
      refuseUnserved(query, ['partNumber']);
      return 'GetObject';
    case 'HEAD':
      refuseUnserved(query, ['partNumber']);
      return 'HeadObject';
    case 'PUT':
      if (upload) {
        if (!query.has('partNumber')) throw new S3Error('InvalidArgument', 'An upload to ?uploadId needs a partNumber.', { ArgumentName: 'partNumber' });
        return 'UploadPart';
      }
      refuseUnserved(query);
      return 'PutObject';
    case 'DELETE':
      if (upload) return 'AbortMultipartUpload';
      refuseUnserved(query);
      return 'DeleteObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (upload) return 'CompleteMultipartUpload';
      refuseUnserved(query);
      throw new S3Error('MethodNotAllowed', 'POST on an object needs ?uploads or ?uploadId');
    default:
      throw new S3Error('MethodNotAllowed', `${method} is not allowed on an object`);
  }
}

function refuseUnserved(query: ReadonlyMap<string, string>, allowed: readonly string[] = []): void {
  for (const name of query.keys()) {
    if (UNSERVED_SUBRESOURCES.has(name) && !allowed.includes(name)) throw new S3Error('NotImplemented', `the ?${name} sub-resource is not implemented by this server`);
  }
}
