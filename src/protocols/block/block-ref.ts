// The block_ref table (Garage's block_ref_table.rs in spirit): one row per (block, version) that
// uses the block. Its partition key is the block hash, so a block's references live on the same
// nodes as the block itself (both are placed by the hash's first byte), and its `updated` hook
// keeps this node's refcount of the block: +1 when a live reference appears, -1 when it is
// deleted. A block whose refcount stays at zero for a delay becomes deletable.
import { boolCrdt } from '../table/crdt';
import type { TableSchema } from '../table/schema';

/** The local counter the hook adjusts, keyed by block hash. */
export const BLOCK_REFCOUNT_COUNTER = 'block';

/**
 * A second local counter, used as a change feed: every change of a block's refcount adds to it, and
 * the resync workers take (and remove) its keys to check those blocks soon, as Garage's incref and
 * decref queue the block for resync: a block just referenced here and missing is fetched at once.
 */
export const BLOCK_REFCOUNT_CHANGED_COUNTER = 'block_changed';

export interface BlockRef {
  /** The block's content hash (32 bytes). */
  readonly block: Buffer;
  /** The object version that uses it. */
  readonly version: Buffer;
  /** Once true, forever true: a deleted version's references never come back. */
  readonly deleted: boolean;
}

const HASH_BYTES = 32;
const VERSION_ID_BYTES_MAX = 64;

export const blockRefSchema: TableSchema<BlockRef> = {
  name: 'block_ref',
  replication: 'sharded',
  partitionKey: (ref) => ref.block,
  sortKey: (ref) => ref.version,
  merge: (a, b) => ({ block: a.block, version: a.version, deleted: boolCrdt.merge(a.deleted, b.deleted) }),
  isTombstone: (ref) => ref.deleted,
  toWire: (ref) => ({ b: ref.block, v: ref.version, d: ref.deleted }),
  fromWire(raw) {
    const wire = raw as { b?: unknown; v?: unknown; d?: unknown } | null;
    if (!wire || !Buffer.isBuffer(wire.b) || wire.b.length !== HASH_BYTES) throw new Error(`block_ref: b must be a ${HASH_BYTES}-byte block hash`);
    if (!Buffer.isBuffer(wire.v) || wire.v.length === 0 || wire.v.length > VERSION_ID_BYTES_MAX) throw new Error(`block_ref: v must be a version id of 1 to ${VERSION_ID_BYTES_MAX} bytes`);
    if (typeof wire.d !== 'boolean') throw new Error('block_ref: d must be a boolean');
    return { block: wire.b, version: wire.v, deleted: wire.d };
  },
  updated(old, next, effects) {
    const wasLive = old !== null && !old.deleted;
    const isLive = !next.deleted;
    if (wasLive === isLive) return;
    effects.adjust(BLOCK_REFCOUNT_COUNTER, next.block, isLive ? 1 : -1);
    effects.adjust(BLOCK_REFCOUNT_CHANGED_COUNTER, next.block, 1);
  },
};
