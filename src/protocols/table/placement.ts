// Where a table's rows live, given the layout: the one question replication, reads, sync, GC and
// hand-off ask, answered once per replication policy.
//   sharded  a partition lives on the RF nodes each live layout version gives it;
//   full     every partition lives on every storage node (bucket, key and alias tables): reads are
//            local, and a write needs all the acks but the failures a sharded write tolerates.
// While a layout change is in progress several versions are live: a write needs its quorum in the
// write set of each, and reads use the newest version whose storage nodes have all synced.
import type { LayoutHistory } from '../layout';
import { PARTITION_COUNT, storageNodes } from '../layout';
import { quorums, type ConsistencyMode } from './quorum';
import type { Replication } from './schema';

/** The nodes of one live layout version that hold a partition, and the acks a write needs there. */
export interface WriteSet {
  readonly nodes: readonly string[];
  readonly quorum: number;
}

export interface Placement {
  /** One per live version that stores anything, oldest first. */
  writeSets(partition: number): readonly WriteSet[];
  /** The nodes a read asks, and how many must answer. */
  readSet(partition: number): { readonly nodes: readonly string[]; readonly quorum: number };
  /** Every node that holds the partition in some live version, sorted. */
  holders(partition: number): string[];
  /** The partitions `nodeId` holds in the current version. */
  heldNow(nodeId: string): number[];
}

export interface PlacementPolicy {
  replication: Replication;
  replicationFactor: number;
  consistencyMode: ConsistencyMode;
  /** The node asking: a full-copy read is served by itself when it holds a copy. */
  selfId: string;
}

export function placementOf(layout: LayoutHistory, policy: PlacementPolicy): Placement {
  return policy.replication === 'full' ? fullCopyPlacement(layout, policy) : shardedPlacement(layout, policy);
}

function shardedPlacement(layout: LayoutHistory, policy: PlacementPolicy): Placement {
  const { read, write } = quorums(policy.replicationFactor, policy.consistencyMode);
  return {
    writeSets: (partition) => layout.writeSets(partition).map((nodes) => ({ nodes, quorum: write })),
    readSet: (partition) => ({ nodes: layout.readNodes(partition), quorum: read }),
    holders: (partition) => layout.storageNodesOf(partition),
    heldNow: (nodeId) => layout.partitionsOf(nodeId, layout.current.version),
  };
}

function fullCopyPlacement(layout: LayoutHistory, policy: PlacementPolicy): Placement {
  const sharded = quorums(policy.replicationFactor, policy.consistencyMode);
  const tolerated = policy.replicationFactor - sharded.write;
  const sets = layout.versions.map((version) => storageNodes(version)).filter((nodes) => nodes.length > 0);
  const writeSets = sets.map((nodes) => ({ nodes, quorum: Math.max(1, nodes.length - tolerated) }));
  const holders = [...new Set(sets.flat())].sort();
  const readNodes = storageNodes(layout.version(layout.readVersion()) ?? layout.current);
  const local = readNodes.includes(policy.selfId);
  const all = Array.from({ length: PARTITION_COUNT }, (_, partition) => partition);
  return {
    writeSets: () => writeSets,
    readSet: () => ({ nodes: local ? [policy.selfId] : readNodes, quorum: 1 }),
    holders: () => holders,
    heldNow: (nodeId) => (storageNodes(layout.current).includes(nodeId) ? all : []),
  };
}

/** Every write set has its quorum of acks. */
export function isWriteDone(sets: readonly WriteSet[], acked: ReadonlySet<string>): boolean {
  return sets.length > 0 && sets.every((set) => set.nodes.filter((nodeId) => acked.has(nodeId)).length >= set.quorum);
}

/** Some write set can no longer reach its quorum. */
export function isWriteLost(sets: readonly WriteSet[], failed: ReadonlySet<string>): boolean {
  return sets.some((set) => set.nodes.filter((nodeId) => !failed.has(nodeId)).length < set.quorum);
}

/**
 * How many nodes of a write set a node must have synced with (itself included) to be sure to hold
 * every write acknowledged there: enough to meet any `quorum` of them.
 */
export function syncQuorum(set: WriteSet): number {
  return Math.max(1, set.nodes.length - set.quorum + 1);
}
