// One step of anti-entropy: given this node's and a peer's Merkle node at the same prefix, what
// this node must push, what it must pull, and where to look further; and how a peer answers the
// questions of such a walk. Pure: the syncer actor reads nodes, asks the peer and moves entries;
// this file only decides.
//
// A walk is both ways by default: rows this node holds that the peer lacks or holds differently
// are pushed, rows the peer holds that this node lacks or holds differently are pulled. A row held
// differently is pulled first and merged here; it is then pushed only if the merged copy still
// differs from the peer's (this node knew something the peer did not), so a repair moves each row
// once, not both ways. Pulling is what lets a node that joins a partition prove it has everything
// a read quorum of the old holders had. A walk can be push-only (hand-off): it then never descends
// where this node has nothing.
//
// Tries are canonical (merkle.ts), so where one side has a leaf and the other an intermediate node
// at the same prefix, the leaf stands for a node one level down, at its own key hash's next digit.
// The plan carries that known node down instead of asking for it, so a walk between two tries with
// k differing rows moves exactly those k rows, and descends at most MERKLE_DEPTH_MAX levels.
//
// What travels (the bytes of a repair are mostly these questions and answers):
// - The first question (the root) carries only the asker's hash: equal tries, the common case, cost
//   one small round trip. If they differ, the peer answers with its root.
// - Each later question carries the asker's own node at the prefix, and the peer answers with its
//   nodes one level further down, only for the children that differ. So every level's node crosses
//   the link once, in one direction or the other, and a round trip covers two levels.
// - Where the peer has few rows under a prefix, or the asker has none, it answers with the rows
//   themselves: they are what the asker would fetch next, for about the price of the leaves.
import { TableError } from './errors';
import { CONTENT_HASH_BYTES, type Hasher } from './hash';
import { MERKLE_DEPTH_MAX, TABLE_LIMITS } from './limits';
import {
  childPrefix,
  decodeMerkleNode,
  EMPTY_MERKLE_NODE,
  EMPTY_NODE_HASH,
  encodeMerkleNode,
  isMerklePrefix,
  keyHashDigit,
  MERKLE_ARITY,
  merkleKeyHash,
  merkleLeafNodesUnder,
  merkleNode,
  merkleNodeHash,
  merkleNodesEqual,
  type MerkleLeaf,
  type MerkleNode,
  type MerkleNodeStore,
} from './merkle';

export interface DescendStep {
  /** The prefix one digit longer to compare next. */
  readonly prefix: Buffer;
  /** The local node at `prefix` when already known; null: read it from the local store. */
  readonly local: MerkleNode | null;
  /** The peer's node at `prefix` when already known; null: ask the peer. */
  readonly remote: MerkleNode | null;
}

/** A local row to push unless, by then, it is one of the peer's copies (it hashes to one of these). */
export interface SendItem {
  readonly rowKey: Buffer;
  /** Entry hashes of the peer's rows under the prefix where the row was found; empty: none. */
  readonly peerHashes: readonly Buffer[];
}

export interface ExchangePlan {
  /** Local rows to push to the peer, once what this walk pulls is merged here. */
  readonly send: readonly SendItem[];
  /** Row keys of the peer's entries to fetch and merge here. */
  readonly pull: readonly Buffer[];
  /** The peer's entries already received (rows answered in place of a node), to merge here. */
  readonly merge: readonly Buffer[];
  readonly descend: readonly DescendStep[];
}

export interface ExchangeOptions {
  /** False for a push-only walk: nothing is pulled and remote-only subtrees are not visited. */
  readonly pull: boolean;
}

/** What a peer holds at a prefix: its node, or all its rows there (with their entry hashes). */
export type RemoteView = MerkleNode | RemoteRows;

export interface RemoteRows {
  readonly kind: 'rows';
  readonly rows: readonly { readonly entry: Buffer; readonly entryHash: Buffer }[];
}

const NOTHING: ExchangePlan = Object.freeze({ send: [], pull: [], merge: [], descend: [] });
const BOTH_WAYS: ExchangeOptions = Object.freeze({ pull: true });

/** One step between two nodes at the same prefix (for rows, see rowsPlan). */
export function exchangePlan(prefix: Buffer, local: MerkleNode, remote: MerkleNode, options: ExchangeOptions = BOTH_WAYS): ExchangePlan {
  if (merkleNodesEqual(local, remote)) return NOTHING;
  if (local.kind === 'empty' && !options.pull) return NOTHING;
  // Neither side has more than one row under this prefix (or the key hash is used up): the rows
  // themselves differ.
  if ((local.kind !== 'intermediate' && remote.kind !== 'intermediate') || prefix.length >= MERKLE_DEPTH_MAX) {
    const peerHashes = remote.kind === 'leaf' ? [remote.entryHash] : [];
    return {
      send: local.kind === 'leaf' ? [{ rowKey: local.rowKey, peerHashes }] : [],
      pull: options.pull && remote.kind === 'leaf' ? [remote.rowKey] : [],
      merge: [],
      descend: [],
    };
  }
  const localChildren = childViews(prefix, local);
  const remoteChildren = childViews(prefix, remote);
  const digits = [...new Set([...localChildren.keys(), ...remoteChildren.keys()])].sort((a, b) => a - b);
  const descend: DescendStep[] = [];
  for (const digit of digits) {
    const mine = localChildren.get(digit);
    const theirs = remoteChildren.get(digit);
    if (mine === undefined && !options.pull) continue;
    if (mine?.hash && theirs?.hash && mine.hash.equals(theirs.hash)) continue;
    descend.push({ prefix: childPrefix(prefix, digit), local: mine ? mine.node : EMPTY_MERKLE_NODE, remote: theirs ? theirs.node : EMPTY_MERKLE_NODE });
  }
  return { send: [], pull: [], merge: [], descend };
}

/**
 * The peer sent every row it holds under a prefix, where this node holds `localLeaves`: take the
 * rows this node lacks or holds differently, push the ones the peer lacks or holds differently.
 */
export function rowsPlan(localLeaves: readonly MerkleLeaf[], remote: RemoteRows, options: ExchangeOptions = BOTH_WAYS): ExchangePlan {
  const peerHashes = remote.rows.map((row) => row.entryHash);
  const held = (hashes: readonly Buffer[], hash: Buffer): boolean => hashes.some((other) => other.equals(hash));
  const localHashes = localLeaves.map((leaf) => leaf.entryHash);
  return {
    send: localLeaves.filter((leaf) => !held(peerHashes, leaf.entryHash)).map((leaf) => ({ rowKey: leaf.rowKey, peerHashes })),
    pull: [],
    merge: options.pull ? remote.rows.filter((row) => !held(localHashes, row.entryHash)).map((row) => row.entry) : [],
    descend: [],
  };
}

/** Push-only plan (hand-off, and the unit tests' one-way walks). */
export function diffPlan(prefix: Buffer, local: MerkleNode, remote: MerkleNode): ExchangePlan {
  return exchangePlan(prefix, local, remote, { pull: false });
}

interface ChildView {
  /** The child's hash when the parent lists it; null for a leaf carried down (not hashed here). */
  readonly hash: Buffer | null;
  /** The child node when known (a leaf carried down); null: read or fetch it. */
  readonly node: MerkleNode | null;
}

/** A node's children by next digit; a leaf is its own only child, at its key hash's next digit. */
function childViews(prefix: Buffer, node: MerkleNode): Map<number, ChildView> {
  const views = new Map<number, ChildView>();
  if (node.kind === 'intermediate') for (const child of node.children) views.set(child.digit, { hash: child.hash, node: null });
  if (node.kind === 'leaf') views.set(keyHashDigit(merkleKeyHash(node.rowKey), prefix.length), { hash: null, node });
  return views;
}

// ---- questions ---------------------------------------------------------------------------------

/** What a walk asks a peer about one prefix. */
export type MerkleQuery =
  /** "Is your node here this one?" The root, where the asker does not know yet whether they differ. */
  | { readonly kind: 'hash'; readonly prefix: Buffer; readonly hash: Buffer }
  /** "Here is my node (known to differ from yours): what differs below?" */
  | { readonly kind: 'node'; readonly prefix: Buffer; readonly node: MerkleNode };

/** On the wire: [prefix, 0, hash] or [prefix, 1, node bytes (none for the empty node)]. */
export type MerkleQueryWire = [Buffer, 0 | 1, Buffer];
const QUERY_HASH = 0;
const QUERY_NODE = 1;

export function encodeMerkleQuery(query: MerkleQuery): MerkleQueryWire {
  if (query.kind === 'hash') return [query.prefix, QUERY_HASH, query.hash];
  return [query.prefix, QUERY_NODE, query.node.kind === 'empty' ? Buffer.alloc(0) : encodeMerkleNode(query.node)];
}

/** The questions of a peer's request, checked: they steer what this node reads and sends. */
export function decodeMerkleQueries(wire: unknown): MerkleQuery[] {
  if (!Array.isArray(wire) || wire.length < 1 || wire.length > TABLE_LIMITS.merkleQueryNodesMax) {
    throw new TableError('malformed', `Merkle request: 1 to ${TABLE_LIMITS.merkleQueryNodesMax} questions`);
  }
  return wire.map((item: unknown): MerkleQuery => {
    if (!Array.isArray(item) || item.length !== 3) throw new TableError('malformed', 'Merkle question: not a triple');
    const [prefix, kind, bytes] = item as unknown[];
    if (!Buffer.isBuffer(prefix) || !isMerklePrefix(prefix)) throw new TableError('malformed', 'Merkle question: bad prefix');
    if (!Buffer.isBuffer(bytes)) throw new TableError('malformed', 'Merkle question: no bytes');
    if (kind === QUERY_HASH && bytes.length === CONTENT_HASH_BYTES) return { kind: 'hash', prefix, hash: bytes };
    if (kind === QUERY_NODE) return { kind: 'node', prefix, node: bytes.length === 0 ? EMPTY_MERKLE_NODE : decodeMerkleNode(bytes) };
    throw new TableError('malformed', 'Merkle question: bad kind or hash');
  });
}

// ---- answers -----------------------------------------------------------------------------------

/** A peer's answer to one question. */
export type MerkleAnswer =
  | { readonly kind: 'same' }
  /** The peer's node or rows at the question's prefix. */
  | { readonly kind: 'here'; readonly view: RemoteView }
  /** The peer's node or rows at each child of the prefix that differs (the others are equal). */
  | { readonly kind: 'below'; readonly children: readonly { readonly digit: number; readonly view: RemoteView }[] };

/**
 * On the wire: null ("same"), a view, or { below: [digit, view, digit, view, ...] }. A view is the
 * node's bytes (none for the empty node) or the list of entries: msgpack tells them apart.
 */
export type MerkleViewWire = Buffer | Buffer[];
export type MerkleAnswerWire = null | MerkleViewWire | { below: (number | MerkleViewWire)[] };

interface Answering {
  readonly store: MerkleNodeStore;
  readonly partition: number;
  readonly entryOf: (rowKey: Buffer) => Buffer | null;
  rowBytesLeft: number;
}

/**
 * The answers to a walker's questions from this node's trie. `entryOf` reads a row's stored entry
 * (null if the row is gone since the trie was updated).
 */
export function answerMerkleQueries(
  store: MerkleNodeStore,
  hasher: Hasher,
  partition: number,
  queries: readonly MerkleQuery[],
  entryOf: (rowKey: Buffer) => Buffer | null,
): MerkleAnswerWire[] {
  const answering: Answering = { store, partition, entryOf, rowBytesLeft: TABLE_LIMITS.merkleAnswerRowBytesMax };
  return queries.map((query) => {
    const mine = merkleNode(store, partition, query.prefix);
    if (query.kind === 'hash') {
      if (merkleNodeHash(hasher, mine).equals(query.hash)) return null;
      return viewWire(answering, query.prefix, mine, query.hash.equals(EMPTY_NODE_HASH));
    }
    if (merkleNodesEqual(mine, query.node)) return null;
    const rows = rowsWire(answering, query.prefix, mine, query.node.kind === 'empty');
    if (rows !== null) return rows;
    // The same comparison the asker would make, from this side: where it descends, the asker needs
    // this node's child (read here, or a leaf of this node carried down).
    const plan = exchangePlan(query.prefix, mine, query.node);
    if (plan.descend.length === 0) return viewWire(answering, query.prefix, mine, false);
    const below: (number | MerkleViewWire)[] = [];
    for (const step of plan.descend) {
      const child = step.local ?? merkleNode(store, partition, step.prefix);
      below.push(step.prefix[query.prefix.length]!, viewWire(answering, step.prefix, child, step.remote?.kind === 'empty'));
    }
    return { below };
  });
}

function viewWire(answering: Answering, prefix: Buffer, node: MerkleNode, askerHasNothing: boolean): MerkleViewWire {
  return rowsWire(answering, prefix, node, askerHasNothing) ?? (node.kind === 'empty' ? Buffer.alloc(0) : encodeMerkleNode(node));
}

/** This node's rows under `prefix` in place of its node there, if few enough; null otherwise. */
function rowsWire(answering: Answering, prefix: Buffer, node: MerkleNode, askerHasNothing: boolean): Buffer[] | null {
  // Once the answer's budget is spent, nodes only: no more leaves listed, nor entries read.
  if (node.kind === 'empty' || answering.rowBytesLeft <= 0) return null;
  const rowsMax = askerHasNothing ? TABLE_LIMITS.merkleAnswerRowsMax : TABLE_LIMITS.merkleRowsInPlaceMax;
  const bytesMax = askerHasNothing ? answering.rowBytesLeft : Math.min(answering.rowBytesLeft, TABLE_LIMITS.merkleRowsInPlaceBytesMax);
  const { leaves, complete } = node.kind === 'leaf' ? { leaves: [node], complete: true } : merkleLeafNodesUnder(answering.store, answering.partition, prefix, rowsMax);
  if (!complete || leaves.length > rowsMax) return null;
  const entries = leaves.map((leaf) => answering.entryOf(leaf.rowKey)).filter((entry): entry is Buffer => entry !== null);
  const bytes = entries.reduce((sum, entry) => sum + entry.length, 0);
  if (bytes > bytesMax) return null;
  answering.rowBytesLeft -= bytes;
  return entries;
}

/** A peer's answer to `query`, checked: where rows come, what the asker holds limits how many. */
export function decodeMerkleAnswer(hasher: Hasher, query: MerkleQuery, wire: unknown): MerkleAnswer {
  if (wire === null) return { kind: 'same' };
  if (Buffer.isBuffer(wire) || Array.isArray(wire)) return { kind: 'here', view: decodeView(hasher, wire) };
  const below = (wire as { below?: unknown } | undefined)?.below;
  if (query.kind !== 'node' || !Array.isArray(below) || below.length === 0 || below.length % 2 !== 0 || below.length > 2 * MERKLE_ARITY) {
    throw new TableError('malformed', 'Merkle answer: neither "same", a node, rows nor children');
  }
  const children: { digit: number; view: RemoteView }[] = [];
  for (let index = 0; index < below.length; index += 2) {
    const digit = below[index];
    if (!Number.isInteger(digit) || (digit as number) < 0 || (digit as number) >= MERKLE_ARITY || (children.length > 0 && (digit as number) <= children.at(-1)!.digit)) {
      throw new TableError('malformed', 'Merkle answer: children out of order');
    }
    children.push({ digit: digit as number, view: decodeView(hasher, below[index + 1]) });
  }
  return { kind: 'below', children };
}

function decodeView(hasher: Hasher, wire: unknown): RemoteView {
  if (Buffer.isBuffer(wire)) return wire.length === 0 ? EMPTY_MERKLE_NODE : decodeMerkleNode(wire);
  if (Array.isArray(wire) && wire.length <= TABLE_LIMITS.merkleAnswerRowsMax && wire.every((entry) => Buffer.isBuffer(entry))) {
    return { kind: 'rows', rows: wire.map((entry: Buffer) => ({ entry, entryHash: hasher.hash64(entry) })) };
  }
  throw new TableError('malformed', 'Merkle answer: a view is a node or a list of rows');
}

// ---- the asker's side of an answer -------------------------------------------------------------

/** This node's trie, as the asker reads it to plan from an answer. */
export interface LocalTrie {
  readonly store: MerkleNodeStore;
  readonly partition: number;
}

/**
 * What to move, and where to look next, given the answer to a question. `local` is this node's
 * node at the question's prefix as it was asked (for a node question, the node it sent).
 */
export function planAnswer(trie: LocalTrie, prefix: Buffer, local: MerkleNode, answer: MerkleAnswer): ExchangePlan {
  if (answer.kind === 'same') return NOTHING;
  if (answer.kind === 'here') return planView(trie, prefix, local, answer.view);
  const plans = answer.children.map((child) => planView(trie, childPrefix(prefix, child.digit), localChild(trie, prefix, local, child.digit), child.view));
  return {
    send: plans.flatMap((plan) => plan.send),
    pull: plans.flatMap((plan) => plan.pull),
    merge: plans.flatMap((plan) => plan.merge),
    descend: plans.flatMap((plan) => plan.descend),
  };
}

function planView(trie: LocalTrie, prefix: Buffer, local: MerkleNode, view: RemoteView): ExchangePlan {
  if (view.kind !== 'rows') return exchangePlan(prefix, local, view);
  // Every local row under the prefix is compared with the peer's few: as many as the partition
  // holds there, no more than a walk towards an empty peer pushes anyway.
  const localLeaves = local.kind === 'leaf' ? [local] : local.kind === 'empty' ? [] : merkleLeafNodesUnder(trie.store, trie.partition, prefix, Infinity).leaves;
  // A peer answers with more than a few rows only where the asker holds none.
  if (localLeaves.length > 0 && view.rows.length > TABLE_LIMITS.merkleRowsInPlaceMax) throw new TableError('malformed', 'Merkle answer: too many rows in place of a node');
  return rowsPlan(localLeaves, view);
}

/** This node's child at `digit` of its node `local` at `prefix`: a leaf stands for itself one level down. */
function localChild(trie: LocalTrie, prefix: Buffer, local: MerkleNode, digit: number): MerkleNode {
  if (local.kind === 'leaf') return keyHashDigit(merkleKeyHash(local.rowKey), prefix.length) === digit ? local : EMPTY_MERKLE_NODE;
  if (local.kind === 'intermediate' && local.children.some((child) => child.digit === digit)) return merkleNode(trie.store, trie.partition, childPrefix(prefix, digit));
  return EMPTY_MERKLE_NODE;
}
