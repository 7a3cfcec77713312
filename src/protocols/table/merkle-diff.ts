// One step of anti-entropy: given this node's and a peer's Merkle node at the same prefix, what
// this node must push, what it must pull, and where to look further. Pure: the syncer actor
// fetches nodes (locally from its store, remotely by asking the peer) and moves entries; this file
// only decides.
//
// A walk is both ways by default: rows this node holds that the peer lacks or holds differently
// are pushed, rows the peer holds that this node lacks or holds differently are pulled (a row held
// differently goes both ways; each side merges and both converge). Pulling is what lets a node
// that joins a partition prove it has everything a read quorum of the old holders had. A walk can
// be push-only (hand-off): it then never descends where this node has nothing.
//
// Tries are canonical (merkle.ts), so where one side has a leaf and the other an intermediate node
// at the same prefix, the leaf stands for a node one level down, at its own key hash's next byte.
// The plan carries that known node down instead of asking for it, so a walk between two tries with
// k differing rows moves exactly those k rows, and descends at most MERKLE_DEPTH_MAX levels.
import { MERKLE_DEPTH_MAX } from './limits';
import { childPrefix, EMPTY_MERKLE_NODE, merkleKeyHash, merkleNodesEqual, type MerkleNode } from './merkle';

export interface DescendStep {
  /** The prefix one byte longer to compare next. */
  readonly prefix: Buffer;
  /** The local node at `prefix` when already known; null: read it from the local store. */
  readonly local: MerkleNode | null;
  /** The peer's node at `prefix` when already known; null: ask the peer for it. */
  readonly remote: MerkleNode | null;
}

export interface ExchangePlan {
  /** Row keys of local entries to push to the peer. */
  readonly send: readonly Buffer[];
  /** Row keys of the peer's entries to fetch and merge here. */
  readonly pull: readonly Buffer[];
  readonly descend: readonly DescendStep[];
}

export interface ExchangeOptions {
  /** False for a push-only walk: nothing is pulled and remote-only subtrees are not visited. */
  readonly pull: boolean;
}

const NOTHING: ExchangePlan = Object.freeze({ send: [], pull: [], descend: [] });
const BOTH_WAYS: ExchangeOptions = Object.freeze({ pull: true });

export function exchangePlan(prefix: Buffer, local: MerkleNode, remote: MerkleNode, options: ExchangeOptions = BOTH_WAYS): ExchangePlan {
  if (merkleNodesEqual(local, remote)) return NOTHING;
  if (local.kind === 'empty' && !options.pull) return NOTHING;
  // Neither side has more than one row under this prefix (or the key hash is used up): the rows
  // themselves differ.
  if ((local.kind !== 'intermediate' && remote.kind !== 'intermediate') || prefix.length >= MERKLE_DEPTH_MAX) {
    return {
      send: local.kind === 'leaf' ? [local.rowKey] : [],
      pull: options.pull && remote.kind === 'leaf' ? [remote.rowKey] : [],
      descend: [],
    };
  }
  const localChildren = childViews(prefix, local);
  const remoteChildren = childViews(prefix, remote);
  const bytes = [...new Set([...localChildren.keys(), ...remoteChildren.keys()])].sort((a, b) => a - b);
  const descend: DescendStep[] = [];
  for (const byte of bytes) {
    const mine = localChildren.get(byte);
    const theirs = remoteChildren.get(byte);
    if (mine === undefined && !options.pull) continue;
    if (mine?.hash && theirs?.hash && mine.hash.equals(theirs.hash)) continue;
    descend.push({ prefix: childPrefix(prefix, byte), local: mine ? mine.node : EMPTY_MERKLE_NODE, remote: theirs ? theirs.node : EMPTY_MERKLE_NODE });
  }
  return { send: [], pull: [], descend };
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

/** A node's children by next byte; a leaf is its own only child, at its key hash's next byte. */
function childViews(prefix: Buffer, node: MerkleNode): Map<number, ChildView> {
  const views = new Map<number, ChildView>();
  if (node.kind === 'intermediate') for (const child of node.children) views.set(child.byte, { hash: child.hash, node: null });
  if (node.kind === 'leaf') views.set(merkleKeyHash(node.rowKey)[prefix.length]!, { hash: null, node });
  return views;
}
