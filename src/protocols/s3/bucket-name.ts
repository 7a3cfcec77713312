// Bucket names and the permissions a key holds: the rules every path (S3 CreateBucket, the CLI's
// bucket create and alias) applies the same way.
//
// Names follow AWS's rules for general-purpose buckets (Amazon S3 user guide, "General purpose
// bucket naming rules"), so a name that works here works against AWS and in virtual-hosted-style
// URLs. Garage checks a subset (length, characters, ends, IP form, xn--, -s3alias); the reserved
// AWS prefixes and suffixes it lets through are refused here too.
import { S3Error } from './errors';
import { NO_PERMISSIONS, type AccessKey, type BucketPermissions } from './key';

export const BUCKET_NAME_LENGTH_MIN = 3;
export const BUCKET_NAME_LENGTH_MAX = 63;

/** Reserved by AWS for its own features (punycode, access points, directory and table buckets). */
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'] as const;
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'] as const;

/** The first rule a name breaks, or null when it is a valid bucket name. */
export function bucketNameProblem(name: string): string | null {
  if (name.length < BUCKET_NAME_LENGTH_MIN || name.length > BUCKET_NAME_LENGTH_MAX) {
    return `it must be ${BUCKET_NAME_LENGTH_MIN} to ${BUCKET_NAME_LENGTH_MAX} characters long (it has ${name.length})`;
  }
  const bad = /[^a-z0-9.-]/.exec(name);
  if (bad) return `it may contain only lowercase letters, digits, '.' and '-' (not ${JSON.stringify(bad[0])})`;
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'it must begin and end with a lowercase letter or a digit';
  if (name.includes('..')) return "it must not contain two adjacent '.'";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'it must not be formatted as an IP address';
  const prefix = RESERVED_PREFIXES.find((reserved) => name.startsWith(reserved));
  if (prefix) return `the prefix ${JSON.stringify(prefix)} is reserved`;
  const suffix = RESERVED_SUFFIXES.find((reserved) => name.endsWith(reserved));
  if (suffix) return `the suffix ${JSON.stringify(suffix)} is reserved`;
  return null;
}

/** Throws S3Error InvalidBucketName saying which rule `name` breaks. */
export function validateBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem !== null) throw new S3Error('InvalidBucketName', `The specified bucket name ${JSON.stringify(name)} is not valid: ${problem}.`, { BucketName: name });
}

/** What a key may do on a bucket, from the key's own row (none for a deleted key). */
export function permissionsOf(key: AccessKey, bucketId: Buffer): BucketPermissions {
  if (key.state.kind === 'deleted') return NO_PERMISSIONS;
  return key.state.value.authorizedBuckets.get(bucketId.toString('hex'))?.value ?? NO_PERMISSIONS;
}
