// The version table (Garage's version_table.rs in spirit): one row per object version stored in
// blocks, listing its blocks in order. Its partition key is the version uuid, so a version's rows
// spread over the cluster independently of its bucket. `bucketId` and `key` point back at the
// object row (for repair and for the admin API).
//
// Merge: `deleted` is a flag that only goes from false to true; once deleted the block list is
// emptied (the blocks are no longer needed, and a tombstone should be small). Otherwise the block
// lists are a union by (part, offset): a version's blocks are written once by its PUT, so two
// copies of one (part, offset) agree unless a client raced two uploads of one part, and then the
// larger hash wins everywhere. The hook tombstones every block reference of a version that becomes
// deleted; live references are written by the PUT path itself, before the version row.
import { blockRefSchema } from '../block/block-ref';
import type { WireValue } from '../table/encoding';
import type { TableEffects, TableSchema } from '../table/schema';
import { wireBytes, wireInteger } from './wire';

export const VERSION_UUID_BYTES = 16;
export const VERSION_BUCKET_ID_BYTES = 32;
export const VERSION_BLOCK_HASH_BYTES = 32;
/** AWS: an object key is at most 1024 bytes of UTF-8 (the object table's limit). */
export const VERSION_KEY_BYTES_MAX = 1024;
/** AWS: part numbers are 1..10000; 0 is a single-part PUT. */
export const VERSION_PART_NUMBER_MAX = 10_000;
/** AWS: a part is at most 5 GiB, and so is every offset inside one. */
export const VERSION_PART_BYTES_MAX = 5 * 1024 ** 3;
/**
 * Blocks of one version. A 5 TiB object at the default 1 MiB block size has 5 Mi blocks, far past
 * one entry (TABLE_LIMITS.entryBytesMax of 16 MiB holds about 150,000 blocks at ~100 bytes each);
 * this bound is what one entry holds, and the PUT path must refuse objects that would exceed it.
 */
export const VERSION_BLOCKS_MAX = 150_000;

export interface VersionBlock {
  part: number;
  offset: number;
  hash: Buffer;
  size: number;
}

export interface S3Version {
  uuid: Buffer;
  deleted: boolean;
  bucketId: Buffer;
  key: string;
  /** Sorted by (part, offset); (part, offset) unique. */
  blocks: VersionBlock[];
}

function compareBlocks(a: VersionBlock, b: VersionBlock): number {
  return a.part - b.part || a.offset - b.offset;
}

/** Two blocks at one (part, offset): the larger hash, then the larger size (a total order). */
function pickBlock(a: VersionBlock, b: VersionBlock): VersionBlock {
  const byHash = Buffer.compare(a.hash, b.hash);
  if (byHash !== 0) return byHash > 0 ? a : b;
  return a.size >= b.size ? a : b;
}

export function mergeVersions(a: S3Version, b: S3Version): S3Version {
  const deleted = a.deleted || b.deleted;
  if (deleted) return { uuid: a.uuid, deleted, bucketId: a.bucketId, key: a.key, blocks: [] };
  const byPosition = new Map<string, VersionBlock>();
  for (const block of [...a.blocks, ...b.blocks]) {
    const position = `${block.part}:${block.offset}`;
    const seen = byPosition.get(position);
    byPosition.set(position, seen === undefined ? block : pickBlock(seen, block));
  }
  return { uuid: a.uuid, deleted, bucketId: a.bucketId, key: a.key, blocks: [...byPosition.values()].sort(compareBlocks) };
}

function onVersionUpdated(old: S3Version | null, next: S3Version, effects: TableEffects): void {
  if (old === null || old.deleted || !next.deleted) return;
  for (const block of old.blocks) {
    effects.queue('block_ref', blockRefSchema.toWire({ block: block.hash, version: next.uuid, deleted: true }));
  }
}

// ---- wire form: { u: uuid, d: deleted, b: bucketId, k: key, l: [[part, offset, hash, size]] } --

function versionToWire(version: S3Version): WireValue {
  return {
    u: version.uuid,
    d: version.deleted,
    b: version.bucketId,
    k: version.key,
    l: version.blocks.map((block) => [block.part, block.offset, block.hash, block.size]),
  };
}

const bytes = (raw: unknown, what: string, length: number): Buffer => wireBytes('version', raw, what, length);
const integer = (raw: unknown, what: string, min: number, max: number): number => wireInteger('version', raw, what, min, max);

function blockFromWire(raw: unknown): VersionBlock {
  if (!Array.isArray(raw) || raw.length !== 4) throw new Error('version: a block must be [part, offset, hash, size]');
  return {
    part: integer(raw[0], 'part number', 0, VERSION_PART_NUMBER_MAX),
    offset: integer(raw[1], 'block offset', 0, VERSION_PART_BYTES_MAX),
    hash: bytes(raw[2], 'block hash', VERSION_BLOCK_HASH_BYTES),
    size: integer(raw[3], 'block size', 0, VERSION_PART_BYTES_MAX),
  };
}

function versionFromWire(raw: unknown): S3Version {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('version: entry must be a map');
  const wire = raw as Record<string, unknown>;
  const uuid = bytes(wire.u, 'uuid', VERSION_UUID_BYTES);
  if (typeof wire.d !== 'boolean') throw new Error('version: d must be a boolean');
  const bucketId = bytes(wire.b, 'bucket id', VERSION_BUCKET_ID_BYTES);
  if (typeof wire.k !== 'string' || Buffer.byteLength(wire.k) > VERSION_KEY_BYTES_MAX) throw new Error(`version: key must be a string of at most ${VERSION_KEY_BYTES_MAX} bytes`);
  if (!Array.isArray(wire.l) || wire.l.length > VERSION_BLOCKS_MAX) throw new Error(`version: blocks must be a list of at most ${VERSION_BLOCKS_MAX}`);
  const blocks = wire.l.map(blockFromWire);
  for (let index = 1; index < blocks.length; index += 1) {
    if (compareBlocks(blocks[index - 1]!, blocks[index]!) >= 0) throw new Error('version: blocks must be sorted by (part, offset), each once');
  }
  if (wire.d && blocks.length > 0) throw new Error('version: a deleted version lists no blocks');
  return { uuid, deleted: wire.d, bucketId, key: wire.k, blocks };
}

export const versionSchema: TableSchema<S3Version> = {
  name: 'version',
  replication: 'sharded',
  partitionKey: (version) => version.uuid,
  sortKey: () => Buffer.alloc(0),
  merge: mergeVersions,
  isTombstone: (version) => version.deleted,
  toWire: versionToWire,
  fromWire: versionFromWire,
  updated: onVersionUpdated,
};
