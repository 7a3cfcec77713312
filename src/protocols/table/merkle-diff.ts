// One step of anti-entropy: given this node's and a peer's Merkle node at the same prefix, what
// this node must push and where to look further. Pure: the syncer actor fetches nodes (locally
// from its store, remotely by asking the peer) and sends entries; this file only decides.
//
// The plan is one direction, local to remote: rows this node holds that the peer lacks or holds
// differently. The peer runs the same walk towards this node, so both directions are covered, and
// a row held differently is sent both ways (each side merges; both converge).
//
// Tries are canonical (merkle.ts), so where one side has a leaf and the other an intermediate node
// at the same prefix, the leaf stands for a node one level down, at its own key hash's next byte.
// The plan carries that known node down instead of asking for it, so a walk between two tries with
// k differing rows sends exactly those k rows, and descends at most MERKLE_DEPTH_MAX levels.
import { MERKLE_DEPTH_MAX } from './limits';
import {
  childPrefix,
  EMPTY_MERKLE_NODE,
  merkleKeyHash,
  merkleNodesEqual,
  type MerkleChild,
  type MerkleLeaf,
  type MerkleNode,
} from './merkle';

export interface DescendStep {
  /** The prefix one byte longer to compare next. */
  readonly prefix: Buffer;
  /** The local node at `prefix` when already known; null: read it from the local store. */
  readonly local: MerkleNode | null;
  /** The peer's node at `prefix` when already known; null: ask the peer for it. */
  readonly remote: MerkleNode | null;
}

export interface DiffPlan {
  /** Row keys of local entries to push to the peer. */
  readonly send: readonly Buffer[];
  readonly descend: readonly DescendStep[];
}

const NOTHING: DiffPlan = Object.freeze({ send: [], descend: [] });

export function diffPlan(prefix: Buffer, local: MerkleNode, remote: MerkleNode): DiffPlan {
  if (local.kind === 'empty' || merkleNodesEqual(local, remote)) return NOTHING;
  if (local.kind === 'leaf') return planForLeaf(prefix, local, remote);
  const differing = local.children.filter((child) => !remoteHasSameChild(remote, child));
  return { send: [], descend: differing.map((child) => descendChild(prefix, child, remote)) };
}

function remoteHasSameChild(remote: MerkleNode, child: MerkleChild): boolean {
  return remote.kind === 'intermediate' && remote.children.some((candidate) => candidate.byte === child.byte && candidate.hash.equals(child.hash));
}

function planForLeaf(prefix: Buffer, local: MerkleLeaf, remote: MerkleNode): DiffPlan {
  // A peer's intermediate node may hold this very row deeper down: follow it rather than resend.
  if (remote.kind === 'intermediate' && prefix.length < MERKLE_DEPTH_MAX) {
    const byte = merkleKeyHash(local.rowKey)[prefix.length]!;
    const remoteHasChild = remote.children.some((child) => child.byte === byte);
    return { send: [], descend: [{ prefix: childPrefix(prefix, byte), local, remote: remoteHasChild ? null : EMPTY_MERKLE_NODE }] };
  }
  return { send: [local.rowKey], descend: [] };
}

function descendChild(prefix: Buffer, child: MerkleChild, remote: MerkleNode): DescendStep {
  const next = childPrefix(prefix, child.byte);
  if (remote.kind === 'intermediate') {
    const remoteChild = remote.children.find((candidate) => candidate.byte === child.byte);
    return { prefix: next, local: null, remote: remoteChild === undefined ? EMPTY_MERKLE_NODE : null };
  }
  if (remote.kind === 'leaf' && prefix.length < MERKLE_DEPTH_MAX && merkleKeyHash(remote.rowKey)[prefix.length] === child.byte) {
    return { prefix: next, local: null, remote };
  }
  return { prefix: next, local: null, remote: EMPTY_MERKLE_NODE };
}
