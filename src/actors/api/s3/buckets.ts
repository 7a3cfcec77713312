// Bucket operations: list, create, delete, head, location, versioning (never enabled) and the ACL
// view of a key's permissions.
import { S3Error } from '../../../protocols/s3/errors';
import { isoDate } from '../../../protocols/s3/headers';
import { S3_XML_BODY_BYTES_MAX } from '../../../protocols/s3/limits';
import type { S3Operation } from '../../../protocols/s3/router';
import { childNamed, parseXml, xmlDocument, type XmlNode } from '../../../protocols/s3/xml';
import { readSmallBody } from './body';
import type { S3Handler, S3Request } from './pipeline';
import type { BucketPermissions } from './services';

/** The bucket a request names, checked against the permission the operation needs. */
export async function bucketOf(request: S3Request, needs: keyof BucketPermissions, name = request.route.bucket!): Promise<Buffer> {
  const { catalog } = request;
  const bucketId = await catalog.resolveBucket(request.accessKeyId, name);
  if (bucketId === null) throw new S3Error('NoSuchBucket', undefined, { BucketName: name });
  const permissions = await catalog.permissionsOf(request.accessKeyId, bucketId);
  if (!permissions[needs]) throw new S3Error('AccessDenied', `Access Denied: key ${request.accessKeyId} has no ${needs} permission on bucket ${name}.`);
  return bucketId;
}

function owner(request: S3Request): XmlNode {
  return ['Owner', [['ID', request.accessKeyId], ['DisplayName', request.accessKeyId]]];
}

const listBuckets: S3Handler = async (request) => {
  const buckets = await request.catalog.bucketsVisibleTo(request.accessKeyId);
  const sorted = [...buckets].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const entries: XmlNode[] = sorted.map((bucket) => ['Bucket', [['Name', bucket.name], ['CreationDate', isoDate(bucket.createdAtMs)]]]);
  return { status: 200, body: xmlDocument(['ListAllMyBucketsResult', [owner(request), ['Buckets', entries]]]) };
};

const createBucket: S3Handler = async (request) => {
  const body = await readSmallBody(request.payload, S3_XML_BODY_BYTES_MAX);
  if (body.length > 0) checkLocationConstraint(body.toString('utf8'), request.services.region);
  await request.catalog.createBucket(request.accessKeyId, request.route.bucket!);
  return { status: 200, headers: [['location', `/${request.route.bucket!}`]] };
};

/** A CreateBucketConfiguration may name a region: it must be this cluster's (or be empty). */
function checkLocationConstraint(xml: string, region: string): void {
  const root = parseXml(xml);
  if (root.name !== 'CreateBucketConfiguration') throw new S3Error('MalformedXML', 'The body must be a CreateBucketConfiguration.');
  const constraint = childNamed(root, 'LocationConstraint')?.text.trim() ?? '';
  if (constraint !== '' && constraint !== region) {
    throw new S3Error('InvalidLocationConstraint', `The location constraint ${constraint} does not match this server's region ${region}.`);
  }
}

const deleteBucket: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'owner');
  await request.catalog.deleteBucket(request.accessKeyId, bucketId);
  return { status: 204 };
};

const headBucket: S3Handler = async (request) => {
  await bucketOf(request, 'read');
  return { status: 200, headers: [['x-amz-bucket-region', request.services.region]] };
};

const getBucketLocation: S3Handler = async (request) => {
  await bucketOf(request, 'read');
  return { status: 200, body: xmlDocument(['LocationConstraint', request.services.region]) };
};

const getBucketVersioning: S3Handler = async (request) => {
  await bucketOf(request, 'read');
  return { status: 200, body: xmlDocument(['VersioningConfiguration', []]) };
};

/** The ACL S3 clients read, derived from the asking key's permissions on the bucket. */
const getBucketAcl: S3Handler = async (request) => {
  const bucketId = await bucketOf(request, 'read');
  const permissions = await request.catalog.permissionsOf(request.accessKeyId, bucketId);
  const granted = permissions.owner ? ['FULL_CONTROL'] : [...(permissions.read ? ['READ'] : []), ...(permissions.write ? ['WRITE'] : [])];
  const grantee: XmlNode = ['Grantee', [['ID', request.accessKeyId], ['DisplayName', request.accessKeyId]]];
  const grants: XmlNode[] = granted.map((permission) => ['Grant', [grantee, ['Permission', permission]]]);
  return { status: 200, body: xmlDocument(['AccessControlPolicy', [owner(request), ['AccessControlList', grants]]]) };
};

export const bucketHandlers: Pick<Record<S3Operation, S3Handler>, 'ListBuckets' | 'CreateBucket' | 'DeleteBucket' | 'HeadBucket' | 'GetBucketLocation' | 'GetBucketVersioning' | 'GetBucketAcl'> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  DeleteBucket: deleteBucket,
  HeadBucket: headBucket,
  GetBucketLocation: getBucketLocation,
  GetBucketVersioning: getBucketVersioning,
  GetBucketAcl: getBucketAcl,
};
