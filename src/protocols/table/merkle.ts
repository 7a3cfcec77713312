// Merkle trie of one table, one trie per partition, over (row key -> entry hash). Replicas compare
// roots and descend only into differing subtrees (merkle-diff.ts), so anti-entropy costs in
// proportion to the differences, not to the table.
//
// Shape. A row's position is its key hash, sha256(row key): uniformly spread, so the trie is
// balanced even though row keys of one partition key share 32 bytes. The trie branches on one
// digit of the key hash per level, a digit being 4 bits (a nibble, so 16-ary and up to 64 levels).
// Why 16 rather than 256 (one byte per level): a walk pays for every child hash of each node on
// the path to a difference. A 256-ary root of a 390-row partition lists about 200 children
// (1.8 KB) to locate one differing row; a 16-ary path lists about 16 per level over two or three
// levels (about 300 B), and smaller fan-outs would buy little more while adding round trips.
// The node at a prefix P of key-hash digits is, as a pure function of the set of rows whose key
// hash starts with P:
//   - empty when there is none (never stored),
//   - a leaf (row key, entry hash) when there is exactly one,
//   - an intermediate node listing, for each next digit d with rows under P||d, the hash of the
//     node at P||d, when there are two or more.
// Invariant: every stored trie is this canonical form of its rows, so the root depends only on
// the final content, never on the order of writes (each update keeps the form: it splits a leaf
// when a second row arrives and collapses a one-leaf intermediate node when a row goes).
//
// Storage. Nodes live in a key-value store the caller injects (the actor backs it with a metadata
// tree, inside the transaction that applies the todo batch). Node key = partition byte || prefix,
// one byte (0..15) per digit: keys stay local, so simplicity beats packing two digits a byte.
// An update reads and writes only the nodes on one path: O(depth), never a rebuild.
import { TableError } from './errors';
import { CONTENT_HASH_BYTES, KEY_HASH_BYTES, sha256, type Hasher } from './hash';
import { MERKLE_DEPTH_MAX, TABLE_LIMITS } from './limits';
import { partitionOfRowKey } from './schema';

/** Node key -> node bytes. `get` must return bytes the caller may keep (decoded nodes view them). */
export interface MerkleNodeStore {
  get(nodeKey: Buffer): Buffer | null;
  put(nodeKey: Buffer, node: Buffer): void;
  delete(nodeKey: Buffer): void;
}

export interface MerkleChild {
  /** The digit of the key hash at this node's depth (0..MERKLE_ARITY - 1). */
  readonly digit: number;
  readonly hash: Buffer;
}

export type MerkleNode =
  | { readonly kind: 'empty' }
  | { readonly kind: 'leaf'; readonly rowKey: Buffer; readonly entryHash: Buffer }
  /** Children sorted by digit, at least one (a single child is itself intermediate). */
  | { readonly kind: 'intermediate'; readonly children: readonly MerkleChild[] };

export type MerkleLeaf = Extract<MerkleNode, { kind: 'leaf' }>;

export const EMPTY_MERKLE_NODE: MerkleNode = Object.freeze({ kind: 'empty' });
/** Hash of the empty node (an empty partition's root). Any other node hashes its encoding. */
export const EMPTY_NODE_HASH: Buffer = Buffer.alloc(CONTENT_HASH_BYTES);
export const MERKLE_ROOT_PREFIX: Buffer = Buffer.alloc(0);

/**
 * Format marker of a stored node: a later format is refused by older nodes, not misread.
 * 1: 256-ary (a byte of the key hash per level). 2: 16-ary, children as a bitmap.
 */
export const MERKLE_NODE_FORMAT = 2;
const KIND_INTERMEDIATE = 1;
const KIND_LEAF = 2;

/** Bits of the key hash per trie level, and so children per node. */
export const MERKLE_DIGIT_BITS = 4;
export const MERKLE_ARITY = 1 << MERKLE_DIGIT_BITS;
if (MERKLE_DEPTH_MAX * MERKLE_DIGIT_BITS !== KEY_HASH_BYTES * 8) throw new Error('Merkle depth must use up the key hash exactly');

/** Where a row sits in the trie. */
export function merkleKeyHash(rowKey: Uint8Array): Buffer {
  return sha256(rowKey);
}

/** The digit of a key hash at a depth: its high nibble first, then its low one, byte by byte. */
export function keyHashDigit(keyHash: Uint8Array, depth: number): number {
  const byte = keyHash[depth >> 1]!;
  return depth % 2 === 0 ? byte >> MERKLE_DIGIT_BITS : byte & (MERKLE_ARITY - 1);
}

/** Whether bytes are a prefix of key-hash digits: at most MERKLE_DEPTH_MAX digits, each < 16. */
export function isMerklePrefix(prefix: Uint8Array): boolean {
  return prefix.length <= MERKLE_DEPTH_MAX && prefix.every((digit) => digit < MERKLE_ARITY);
}

export function merkleNodeKey(partition: number, prefix: Uint8Array): Buffer {
  if (!Number.isInteger(partition) || partition < 0 || partition > 255) throw new RangeError(`partition ${partition} not in 0..255`);
  if (!isMerklePrefix(prefix)) throw new RangeError(`Merkle prefix of ${prefix.length} digits is not a prefix of at most ${MERKLE_DEPTH_MAX} digits below ${MERKLE_ARITY}`);
  return Buffer.concat([Buffer.from([partition]), prefix]);
}

export function childPrefix(prefix: Uint8Array, digit: number): Buffer {
  return Buffer.concat([prefix, Buffer.from([digit])]);
}

// ---- encoding ---------------------------------------------------------------------------------

/**
 * Canonical bytes of a non-empty node (the empty node is never stored nor sent as bytes). A plain
 * binary layout rather than msgpack: nodes are rewritten on every update and sent on every walk,
 * so their encoding must cost one copy and no per-child framing.
 *   leaf:         format (1) | 2 | entry hash (8) | row key (32 and more)
 *   intermediate: format (1) | 1 | bitmap (2, big-endian: bit d set if digit d has a child)
 *                 | child hash (8) per child, by increasing digit
 */
export function encodeMerkleNode(node: MerkleNode): Buffer {
  switch (node.kind) {
    case 'leaf':
      return Buffer.concat([Buffer.from([MERKLE_NODE_FORMAT, KIND_LEAF]), node.entryHash, node.rowKey]);
    case 'intermediate':
      return encodeIntermediate(node.children);
    case 'empty':
      throw new Error('encodeMerkleNode: the empty node has no encoding');
  }
}

const NODE_HEADER_BYTES = 2;
const BITMAP_BYTES = MERKLE_ARITY / 8;

function encodeIntermediate(children: readonly MerkleChild[]): Buffer {
  const bytes = Buffer.allocUnsafe(NODE_HEADER_BYTES + BITMAP_BYTES + children.length * CONTENT_HASH_BYTES);
  bytes[0] = MERKLE_NODE_FORMAT;
  bytes[1] = KIND_INTERMEDIATE;
  let bitmap = 0;
  children.forEach((child, index) => {
    bitmap |= 1 << child.digit;
    child.hash.copy(bytes, NODE_HEADER_BYTES + BITMAP_BYTES + index * CONTENT_HASH_BYTES);
  });
  bytes.writeUInt16BE(bitmap, NODE_HEADER_BYTES);
  return bytes;
}

/** A node from stored or peer bytes, checked (a peer's node steers what this node sends). */
export function decodeMerkleNode(bytes: Uint8Array): MerkleNode {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < NODE_HEADER_BYTES || buffer[0] !== MERKLE_NODE_FORMAT) throw new TableError('malformed', 'Merkle node: bad format');
  if (buffer[1] === KIND_LEAF) return decodeLeaf(buffer.subarray(NODE_HEADER_BYTES));
  if (buffer[1] === KIND_INTERMEDIATE) return decodeIntermediate(buffer.subarray(NODE_HEADER_BYTES));
  throw new TableError('malformed', 'Merkle node: unknown kind');
}

function decodeLeaf(body: Buffer): MerkleNode {
  const rowKeyBytes = body.length - CONTENT_HASH_BYTES;
  if (rowKeyBytes < KEY_HASH_BYTES || rowKeyBytes > KEY_HASH_BYTES + TABLE_LIMITS.sortKeyBytesMax) {
    throw new TableError('malformed', 'Merkle leaf: bad row key length');
  }
  return { kind: 'leaf', entryHash: Buffer.from(body.subarray(0, CONTENT_HASH_BYTES)), rowKey: Buffer.from(body.subarray(CONTENT_HASH_BYTES)) };
}

function decodeIntermediate(body: Buffer): MerkleNode {
  if (body.length < BITMAP_BYTES) throw new TableError('malformed', 'Merkle intermediate: no bitmap');
  const bitmap = body.readUInt16BE(0);
  const children: MerkleChild[] = [];
  for (let digit = 0; digit < MERKLE_ARITY; digit += 1) {
    if ((bitmap & (1 << digit)) === 0) continue;
    const offset = BITMAP_BYTES + children.length * CONTENT_HASH_BYTES;
    // Views, not copies: upper nodes are decoded on every update.
    children.push({ digit, hash: body.subarray(offset, offset + CONTENT_HASH_BYTES) });
  }
  if (children.length === 0 || body.length !== BITMAP_BYTES + children.length * CONTENT_HASH_BYTES) {
    throw new TableError('malformed', 'Merkle intermediate: bitmap and child hashes disagree');
  }
  return { kind: 'intermediate', children };
}

export function merkleNodeHash(hasher: Hasher, node: MerkleNode): Buffer {
  return node.kind === 'empty' ? EMPTY_NODE_HASH : hasher.hash64(encodeMerkleNode(node));
}

export function merkleNodesEqual(a: MerkleNode, b: MerkleNode): boolean {
  if (a.kind === 'empty' || b.kind === 'empty') return a.kind === b.kind;
  if (a.kind === 'leaf' || b.kind === 'leaf') {
    return a.kind === 'leaf' && b.kind === 'leaf' && a.rowKey.equals(b.rowKey) && a.entryHash.equals(b.entryHash);
  }
  const [left, right] = [a.children, b.children];
  return left.length === right.length && left.every((child, index) => child.digit === right[index]!.digit && child.hash.equals(right[index]!.hash));
}

// ---- reads ------------------------------------------------------------------------------------

/** The node at `prefix` of a partition's trie, for a syncer comparing level by level. */
export function merkleNode(store: MerkleNodeStore, partition: number, prefix: Uint8Array): MerkleNode {
  const bytes = store.get(merkleNodeKey(partition, prefix));
  return bytes === null ? EMPTY_MERKLE_NODE : decodeMerkleNode(bytes);
}

/** The root hash of a partition's trie: equal roots, equal content (up to hash collisions). */
export function merkleRoot(store: MerkleNodeStore, hasher: Hasher, partition: number): Buffer {
  const bytes = store.get(merkleNodeKey(partition, MERKLE_ROOT_PREFIX));
  return bytes === null ? EMPTY_NODE_HASH : hasher.hash64(bytes);
}

/**
 * The row keys under `prefix` of a partition's trie, at most `limit` of them, by walking its
 * nodes: a peer that holds nothing under a prefix pulls the whole subtree in one request.
 */
export function merkleLeavesUnder(store: MerkleNodeStore, partition: number, prefix: Uint8Array, limit: number): { rowKeys: Buffer[]; complete: boolean } {
  const { leaves, complete } = merkleLeafNodesUnder(store, partition, prefix, limit);
  return { rowKeys: leaves.map((leaf) => leaf.rowKey), complete };
}

/** The leaves (row key and entry hash) under `prefix`, at most `limit` of them, by increasing key hash. */
export function merkleLeafNodesUnder(store: MerkleNodeStore, partition: number, prefix: Uint8Array, limit: number): { leaves: MerkleLeaf[]; complete: boolean } {
  const leaves: MerkleLeaf[] = [];
  const pending: Buffer[] = [Buffer.from(prefix)];
  while (pending.length > 0) {
    const at = pending.pop()!;
    const node = merkleNode(store, partition, at);
    if (node.kind === 'leaf') {
      if (leaves.length >= limit) return { leaves, complete: false };
      leaves.push(node);
    }
    if (node.kind === 'intermediate') for (let index = node.children.length - 1; index >= 0; index--) pending.push(childPrefix(at, node.children[index]!.digit));
  }
  return { leaves, complete: true };
}

// ---- incremental update -----------------------------------------------------------------------

interface UpdateContext {
  readonly store: MerkleNodeStore;
  readonly hasher: Hasher;
  readonly partition: number;
  readonly rowKey: Buffer;
  readonly keyHash: Buffer;
  /** null: the row is gone. */
  readonly entryHash: Buffer | null;
}

interface WrittenNode {
  readonly node: MerkleNode;
  readonly hash: Buffer;
}

/**
 * Sets a row's entry hash (null: removes the row) in its partition's trie, rewriting the nodes
 * from its leaf up to the root. The partition is the row key's first byte. Idempotent: setting a
 * row to the hash it already has changes nothing. Returns whether the trie changed.
 */
export function updateMerkle(store: MerkleNodeStore, hasher: Hasher, rowKey: Uint8Array, entryHash: Buffer | null): boolean {
  if (entryHash !== null && entryHash.length !== CONTENT_HASH_BYTES) throw new RangeError(`entry hash must be ${CONTENT_HASH_BYTES} bytes`);
  const key = Buffer.from(rowKey);
  const context: UpdateContext = { store, hasher, partition: partitionOfRowKey(key), rowKey: key, keyHash: merkleKeyHash(key), entryHash };
  return updateAt(context, MERKLE_ROOT_PREFIX) !== null;
}

/** The new node at `prefix` after the update, written; null if that subtree did not change. */
function updateAt(context: UpdateContext, prefix: Buffer): WrittenNode | null {
  const current = merkleNode(context.store, context.partition, prefix);
  const next = nextNode(context, prefix, current);
  return next === null ? null : writeNode(context, prefix, next);
}

function nextNode(context: UpdateContext, prefix: Buffer, current: MerkleNode): MerkleNode | null {
  switch (current.kind) {
    case 'empty':
      return context.entryHash === null ? null : { kind: 'leaf', rowKey: context.rowKey, entryHash: context.entryHash };
    case 'leaf':
      return nextOfLeaf(context, prefix, current);
    case 'intermediate':
      return nextOfIntermediate(context, prefix, current.children);
  }
}

function nextOfLeaf(context: UpdateContext, prefix: Buffer, leaf: MerkleLeaf): MerkleNode | null {
  if (leaf.rowKey.equals(context.rowKey)) {
    if (context.entryHash === null) return EMPTY_MERKLE_NODE;
    return leaf.entryHash.equals(context.entryHash) ? null : { kind: 'leaf', rowKey: context.rowKey, entryHash: context.entryHash };
  }
  if (context.entryHash === null) return null; // removing a row this trie does not hold
  // A second row under this prefix: the leaf moves one level down, the new row goes beside it
  // (or further down, if their key hashes share the next digit too).
  const digit = keyHashDigit(merkleKeyHash(leaf.rowKey), prefix.length);
  const moved = writeNode(context, childPrefix(prefix, digit), leaf);
  const next = nextOfIntermediate(context, prefix, [{ digit, hash: moved.hash }]);
  if (next === null) throw new Error('Merkle split: inserting a new row changed nothing');
  return next;
}

function nextOfIntermediate(context: UpdateContext, prefix: Buffer, children: readonly MerkleChild[]): MerkleNode | null {
  if (prefix.length >= MERKLE_DEPTH_MAX) throw new TableError('malformed', 'Merkle trie deeper than its key hash');
  const digit = keyHashDigit(context.keyHash, prefix.length);
  const written = updateAt(context, childPrefix(prefix, digit));
  if (written === null) return null;
  const others = children.filter((child) => child.digit !== digit);
  const next = written.node.kind === 'empty' ? others : [...others, { digit, hash: written.hash }].sort((a, b) => a.digit - b.digit);
  return collapsed(context, prefix, next);
}

/** Keeps the canonical form: no children is empty; one leaf child moves up to replace this node. */
function collapsed(context: UpdateContext, prefix: Buffer, children: readonly MerkleChild[]): MerkleNode {
  if (children.length === 0) return EMPTY_MERKLE_NODE;
  if (children.length === 1) {
    const onlyPrefix = childPrefix(prefix, children[0]!.digit);
    const only = merkleNode(context.store, context.partition, onlyPrefix);
    if (only.kind === 'leaf') {
      context.store.delete(merkleNodeKey(context.partition, onlyPrefix));
      return only;
    }
  }
  return { kind: 'intermediate', children };
}

function writeNode(context: UpdateContext, prefix: Buffer, node: MerkleNode): WrittenNode {
  const nodeKey = merkleNodeKey(context.partition, prefix);
  if (node.kind === 'empty') {
    context.store.delete(nodeKey);
    return { node, hash: EMPTY_NODE_HASH };
  }
  const bytes = encodeMerkleNode(node);
  context.store.put(nodeKey, bytes);
  return { node, hash: context.hasher.hash64(bytes) };
}
