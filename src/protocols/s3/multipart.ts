// The multipart_upload table (Garage's mpu_table.rs in spirit): one row per multipart upload,
// keyed by its upload id (which is also the uuid of the object version it completes into). It
// lists the parts uploaded so far; each part's blocks live in a version row of their own (the
// part's `version`), so a part uploaded again frees the blocks of the copy it replaces.
//
// Merge: `deleted` only goes from false to true, and a deleted row lists no parts. Otherwise parts
// merge per part number, last writer wins by (timestamp, version uuid). The `updated` hook
// cascades: a part replaced by a newer upload of the same number, or every part of a row that
// becomes deleted (completed, aborted or superseded), has its version row deleted, which deletes
// its block references. CompleteMultipartUpload writes the final version and its references
// before it deletes the upload row, so blocks the object keeps never reach a refcount of zero.
import type { WireValue } from '../table/encoding';
import type { TableEffects, TableSchema } from '../table/schema';
import { wireBytes, wireInteger } from './wire';
import { VERSION_BUCKET_ID_BYTES, VERSION_KEY_BYTES_MAX, VERSION_PART_BYTES_MAX, VERSION_PART_NUMBER_MAX, VERSION_UUID_BYTES, versionSchema } from './version';

export const MULTIPART_TABLE = 'multipart_upload';
/** AWS: part numbers are 1..10000. */
export const PART_NUMBER_MIN = 1;
export const PART_NUMBER_MAX = VERSION_PART_NUMBER_MAX;
/** AWS: every part but the last is at least 5 MiB. */
export const PART_BYTES_MIN = 5 * 1024 * 1024;
const ETAG_LENGTH_MAX = 64;

export interface UploadPart {
  partNumber: number;
  /** When this copy of the part was uploaded (ms); the later upload of a number wins. */
  timestamp: number;
  /** Uuid of the version row holding this part's blocks. */
  version: Buffer;
  /** MD5 of the part, hex, unquoted. */
  etag: string;
  size: number;
}

export interface MultipartUpload {
  uploadId: Buffer;
  deleted: boolean;
  bucketId: Buffer;
  key: string;
  /** Sorted by part number, one per number. */
  parts: UploadPart[];
}

function laterPart(a: UploadPart, b: UploadPart): UploadPart {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp ? a : b;
  const byVersion = Buffer.compare(a.version, b.version);
  if (byVersion !== 0) return byVersion > 0 ? a : b;
  return a.etag >= b.etag ? a : b;
}

export function mergeUploads(a: MultipartUpload, b: MultipartUpload): MultipartUpload {
  const base = { uploadId: a.uploadId, bucketId: a.bucketId, key: a.key };
  if (a.deleted || b.deleted) return { ...base, deleted: true, parts: [] };
  const byNumber = new Map<number, UploadPart>();
  for (const part of [...a.parts, ...b.parts]) {
    const seen = byNumber.get(part.partNumber);
    byNumber.set(part.partNumber, seen === undefined ? part : laterPart(seen, part));
  }
  return { ...base, deleted: false, parts: [...byNumber.values()].sort((x, y) => x.partNumber - y.partNumber) };
}

/** Part versions `old` held that `next` no longer holds: their blocks are freed. */
function onUploadUpdated(old: MultipartUpload | null, next: MultipartUpload, effects: TableEffects): void {
  if (old === null) return;
  const kept = new Set(next.parts.map((part) => part.version.toString('hex')));
  for (const part of old.parts) {
    if (kept.has(part.version.toString('hex'))) continue;
    effects.queue(versionSchema.name, versionSchema.toWire({ uuid: part.version, deleted: true, bucketId: next.bucketId, key: next.key, blocks: [] }));
  }
}

// ---- wire form: { u: uploadId, d: deleted, b: bucketId, k: key, p: [[n, t, v, etag, size]] } ---

function toWire(upload: MultipartUpload): WireValue {
  return {
    u: upload.uploadId,
    d: upload.deleted,
    b: upload.bucketId,
    k: upload.key,
    p: upload.parts.map((part) => [part.partNumber, part.timestamp, part.version, part.etag, part.size]),
  };
}

const bytes = (raw: unknown, what: string, length: number): Buffer => wireBytes('multipart_upload', raw, what, length);
const integer = (raw: unknown, what: string, min: number, max: number): number => wireInteger('multipart_upload', raw, what, min, max);

function partFromWire(raw: unknown): UploadPart {
  if (!Array.isArray(raw) || raw.length !== 5) throw new Error('multipart_upload: a part must be [number, timestamp, version, etag, size]');
  const etag = raw[3];
  if (typeof etag !== 'string' || etag.length > ETAG_LENGTH_MAX) throw new Error(`multipart_upload: a part etag is a string of at most ${ETAG_LENGTH_MAX} characters`);
  return {
    partNumber: integer(raw[0], 'part number', PART_NUMBER_MIN, PART_NUMBER_MAX),
    timestamp: integer(raw[1], 'part timestamp', 0, Number.MAX_SAFE_INTEGER),
    version: bytes(raw[2], 'part version', VERSION_UUID_BYTES),
    etag,
    size: integer(raw[4], 'part size', 0, VERSION_PART_BYTES_MAX),
  };
}

function fromWire(raw: unknown): MultipartUpload {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('multipart_upload: entry must be a map');
  const wire = raw as Record<string, unknown>;
  if (typeof wire.d !== 'boolean') throw new Error('multipart_upload: d must be a boolean');
  if (typeof wire.k !== 'string' || Buffer.byteLength(wire.k) > VERSION_KEY_BYTES_MAX) throw new Error(`multipart_upload: key must be a string of at most ${VERSION_KEY_BYTES_MAX} bytes`);
  if (!Array.isArray(wire.p) || wire.p.length > PART_NUMBER_MAX) throw new Error(`multipart_upload: parts must be a list of at most ${PART_NUMBER_MAX}`);
  const parts = wire.p.map(partFromWire);
  for (let index = 1; index < parts.length; index += 1) {
    if (parts[index - 1]!.partNumber >= parts[index]!.partNumber) throw new Error('multipart_upload: parts must be sorted by number, each once');
  }
  if (wire.d && parts.length > 0) throw new Error('multipart_upload: a deleted upload lists no parts');
  return { uploadId: bytes(wire.u, 'upload id', VERSION_UUID_BYTES), deleted: wire.d, bucketId: bytes(wire.b, 'bucket id', VERSION_BUCKET_ID_BYTES), key: wire.k, parts };
}

export const multipartUploadSchema: TableSchema<MultipartUpload> = {
  name: MULTIPART_TABLE,
  replication: 'sharded',
  partitionKey: (upload) => upload.uploadId,
  sortKey: () => Buffer.alloc(0),
  merge: mergeUploads,
  isTombstone: (upload) => upload.deleted,
  toWire,
  fromWire,
  updated: onUploadUpdated,
};

/** The ETag of a completed upload: MD5 over the parts' binary MD5s, then '-' and the part count. */
export function multipartEtag(partEtags: readonly string[], md5: (data: Buffer) => string): string {
  return `${md5(Buffer.concat(partEtags.map((etag) => Buffer.from(etag, 'hex'))))}-${partEtags.length}`;
}
