// The optimal partition assignment: which RF nodes store each of the 256 partitions.
//
// Objectives, in this order:
//   1. Validity: every partition on RF distinct storage nodes spanning at least `r` zones, where
//      r = min(RF, number of zones) for `maximum`, or the number the operator asked for.
//   2. The largest usable capacity. All partitions have the same size S (hashing spreads data), a
//      node of capacity C can hold floor(C / S) of them, and the cluster stores S * 256 bytes. The
//      largest S for which a valid assignment fits every node is the optimum.
//   3. Shares in proportion to capacity, as far as (1) and (2) allow: the node counts n_v are the
//      lexicographic max-min of C_v / n_v (the most loaded node as light as possible, then the
//      next, ...). Unlike Garage, which leaves a new node empty when it does not raise usable
//      capacity, Grange gives it its share; an operator who wants a node idle gives it less capacity.
//   4. The fewest partition copies moved from the previous version. Each node stays within one
//      partition of its balanced count: a rounding may shift by one when that saves a move, since
//      strict balance would move copies only to fix a rounding.
//   5. Ties broken by a fixed hash of (partition, node id): same inputs, same table, on every
//      node; the hash also spreads each node's partners over many nodes, so a resync uses many links.
//
// How:
//   - Partitions are interchangeable for (1)-(3), so node counts are computed on a small aggregated
//     flow network (Garage's optimal layout report has the per-partition version):
//       source -> up   (capacity 256 * r)         -> zone z (256)            -> node v (256) -> sink (cap_v)
//       source -> down (capacity 256 * (RF - r))  -> zone z (256 * (RF - r)) ^
//     Per partition, "up" carries r copies into r distinct zones (one each) and "down" the other RF - r
//     anywhere, so a flow of 256 * RF is exactly a valid assignment, averaged over partitions; by
//     symmetry and integrality a per-partition integer assignment with the same node counts exists
//     whenever the aggregated flow does (split the aggregated flow evenly and take an integer max-flow).
//   - Counts: start from cap_v = min(256, C_v) (S = 1) and raise S through the values where some
//     cap_v = min(256, floor(C_v / S)) drops; binary search for the largest S still feasible; at the
//     first infeasible step, lower the caps that drop one unit at a time, and freeze a node at the
//     last cap that stays feasible. Repeat with the unfrozen nodes until every node is frozen or at 0.
//     A frozen node cannot lose a partition, so the caps are tight (they sum to 256 * RF) and are the
//     counts; the first freeze happens at the optimal S. At most one round per node, each a binary
//     search of small max-flows.
//   - Placement: one min-cost max-flow on the full network source -> partition (up, down) ->
//     (partition, zone) -> node -> sink. Node -> sink arcs hold the node within one of n_v (costs
//     in placePartitions); (partition, zone) -> node costs 2 when the node did not hold that
//     partition before (primal-dual: Dijkstra with potentials, then Dinic on arcs of zero reduced
//     cost). Arcs are added in hash order, which fixes the ties. The partition size stays S: a node
//     only takes one more than n_v when floor(C_v / S) allows it.
import { LayoutError } from './errors';
import { FlowNetworkBuilder, type FlowNetwork } from './flow';
import { compareIds, LAYOUT_LIMITS, PARTITION_COUNT, type LayoutParameters, type NodeRole, type PartitionTable } from './types';
import { validateParameters, validateReplicationFactor, validateRole } from './validate';

export interface AssignmentInput {
  readonly replicationFactor: number;
  readonly parameters: LayoutParameters;
  /** Storage nodes and gateways; gateways get no partition. */
  readonly roles: ReadonlyMap<string, NodeRole>;
  /** The table of the version this one replaces, to move as little as possible; null for the first. */
  readonly previous: PartitionTable | null;
}

export interface Assignment {
  readonly replicationFactor: number;
  /** The number of distinct zones every partition spans at least (`maximum` resolved). */
  readonly zoneRedundancy: number;
  /** Bytes per partition: the largest size such that every node's partitions fit its capacity. */
  readonly partitionSize: number;
  /** Bytes of data the cluster can store: partitionSize * 256. */
  readonly usableCapacity: number;
  /** 256 rows of RF distinct node ids. */
  readonly table: PartitionTable;
  /** Every storage node, including those given 0 partitions; sorted by node id. */
  readonly partitionsPerNode: ReadonlyMap<string, number>;
  /** Partitions each storage node holds now but did not hold in the previous table. */
  readonly newPartitionsPerNode: ReadonlyMap<string, number>;
  /** Partition copies that must be transferred: the sum of newPartitionsPerNode. */
  readonly movedPartitions: number;
}

/** The storage nodes and zones of a layout, in canonical order (by id, by name). */
interface Cluster {
  readonly replicationFactor: number;
  readonly zoneRedundancy: number;
  readonly nodeIds: readonly string[];
  readonly capacities: readonly number[];
  readonly zoneNames: readonly string[];
  readonly zoneOf: Int32Array;
  /** previousHeld[p * nodeCount + v] = 1 when node v held partition p in the previous table. */
  readonly previousHeld: Uint8Array;
  readonly previousCounts: Int32Array;
}

/** Computes the assignment; throws LayoutError when the request cannot be satisfied. */
export function computeAssignment(input: AssignmentInput): Assignment {
  const cluster = describeCluster(input);
  const { counts, partitionSize } = balancedCounts(cluster);
  const table = placePartitions(cluster, counts, partitionSize);
  return summarize(cluster, table, partitionSize);
}

function describeCluster(input: AssignmentInput): Cluster {
  const replicationFactor = validateReplicationFactor(input.replicationFactor);
  const parameters = validateParameters(input.parameters, replicationFactor);
  if (input.roles.size > LAYOUT_LIMITS.nodesMax) {
    throw new LayoutError('too-many-nodes', `A layout holds at most ${LAYOUT_LIMITS.nodesMax} nodes; this one has ${input.roles.size}. Remove nodes.`);
  }
  const storage = [...input.roles]
    .map(([nodeId, role]) => [nodeId, validateRole(nodeId, role)] as const)
    .filter(([, role]) => role.capacity !== null)
    .sort(([a], [b]) => compareIds(a, b));
  if (storage.length < replicationFactor) {
    const missing = replicationFactor - storage.length;
    throw new LayoutError(
      'not-enough-storage-nodes',
      `Replication factor ${replicationFactor} needs at least ${replicationFactor} storage nodes, but the layout has ${storage.length}` +
        `${storage.length > 0 ? ` (${storage.map(([id]) => shortId(id)).join(', ')})` : ''}. ` +
        `Give ${missing} more node${missing > 1 ? 's' : ''} a zone and a capacity (layout assign -z ZONE -c CAPACITY NODE), or run the cluster with a smaller replication_factor.`,
    );
  }
  const zoneNames = [...new Set(storage.map(([, role]) => role.zone))].sort(compareIds);
  const zoneRedundancy = parameters.zoneRedundancy === 'maximum' ? Math.min(replicationFactor, zoneNames.length) : parameters.zoneRedundancy;
  if (zoneNames.length < zoneRedundancy) {
    const missing = zoneRedundancy - zoneNames.length;
    throw new LayoutError(
      'not-enough-zones',
      `Zone redundancy ${zoneRedundancy} needs storage nodes in at least ${zoneRedundancy} zones, but they are in ${zoneNames.length} (${zoneNames.join(', ')}). ` +
        `Put storage nodes in ${missing} more zone${missing > 1 ? 's' : ''}, or lower the zone redundancy (layout config -r ${zoneNames.length}, or -r maximum).`,
    );
  }
  const nodeIds = storage.map(([id]) => id);
  const nodeIndex = new Map(nodeIds.map((id, index) => [id, index]));
  const previousHeld = new Uint8Array(PARTITION_COUNT * nodeIds.length);
  const previousCounts = new Int32Array(nodeIds.length);
  input.previous?.forEach((row, partition) => {
    for (const id of row) {
      const index = nodeIndex.get(id);
      if (index === undefined || partition >= PARTITION_COUNT) continue;
      if (previousHeld[partition * nodeIds.length + index] === 0) previousCounts[index]!++;
      previousHeld[partition * nodeIds.length + index] = 1;
    }
  });
  return {
    replicationFactor,
    zoneRedundancy,
    nodeIds,
    capacities: storage.map(([, role]) => role.capacity!),
    zoneNames,
    zoneOf: Int32Array.from(storage, ([, role]) => zoneNames.indexOf(role.zone)),
    previousHeld,
    previousCounts,
  };
}

/** Partitions a node of this capacity can hold at partition size `size`. */
function capAt(capacity: number, size: number): number {
  return Math.min(PARTITION_COUNT, floorDivide(capacity, size));
}

/** Exact floor(a / b) for non-negative safe integers (a float quotient can round up to the next integer). */
export function floorDivide(a: number, b: number): number {
  let quotient = Math.floor(a / b);
  if (quotient * b > a) quotient--;
  else if ((quotient + 1) * b <= a) quotient++;
  return quotient;
}

/** The aggregated network: is there a valid assignment in which node v holds at most caps[v]? */
class CountsFeasibility {
  private readonly network: FlowNetwork;
  private readonly nodeArcs: number[] = [];
  private readonly total: number;

  constructor(private readonly cluster: Cluster) {
    const { replicationFactor: rf, zoneRedundancy: r, zoneNames, nodeIds, zoneOf } = cluster;
    const zoneVertex = (zone: number): number => 4 + zone;
    const nodeVertex = (node: number): number => 4 + zoneNames.length + node;
    const builder = new FlowNetworkBuilder(4 + zoneNames.length + nodeIds.length);
    builder.addEdge(0, 2, PARTITION_COUNT * r);
    builder.addEdge(0, 3, PARTITION_COUNT * (rf - r));
    for (let zone = 0; zone < zoneNames.length; zone++) {
      builder.addEdge(2, zoneVertex(zone), PARTITION_COUNT);
      builder.addEdge(3, zoneVertex(zone), PARTITION_COUNT * (rf - r));
    }
    for (let node = 0; node < nodeIds.length; node++) builder.addEdge(zoneVertex(zoneOf[node]!), nodeVertex(node), PARTITION_COUNT);
    for (let node = 0; node < nodeIds.length; node++) this.nodeArcs.push(builder.addEdge(nodeVertex(node), 1, 0));
    this.network = builder.build();
    this.total = PARTITION_COUNT * rf;
  }

  feasible(caps: Int32Array): boolean {
    for (let node = 0; node < this.cluster.nodeIds.length; node++) this.network.setCapacity(this.nodeArcs[node]!, caps[node]!);
    this.network.resetFlow();
    return this.network.maxFlow(0, 1) === this.total;
  }
}

/** Node counts (lexicographic max-min of capacity / count) and the partition size they give. */
function balancedCounts(cluster: Cluster): { counts: Int32Array; partitionSize: number } {
  const { capacities, nodeIds, previousCounts } = cluster;
  const nodeCount = nodeIds.length;
  const check = new CountsFeasibility(cluster);
  const caps = Int32Array.from(capacities, (capacity) => capAt(capacity, 1));
  if (!check.feasible(caps)) {
    throw new LayoutError(
      'capacity-too-small',
      `The storage nodes' capacities are too small to hold ${PARTITION_COUNT * cluster.replicationFactor} partition copies under zone redundancy ${cluster.zoneRedundancy}. ` +
        `Raise the capacities (a node needs at least one byte per partition it holds, up to ${PARTITION_COUNT}), or lower the zone redundancy (layout config -r).`,
    );
  }
  const frozen = new Uint8Array(nodeCount);
  const sizes = dropPoints(capacities);
  const trial = new Int32Array(nodeCount);
  const feasibleAt = (size: number): boolean => {
    for (let node = 0; node < nodeCount; node++) trial[node] = frozen[node] ? caps[node]! : capAt(capacities[node]!, size);
    return check.feasible(trial);
  };
  let cursor = 0; // sizes[cursor..] are above the current size; unfrozen caps are capAt(current size)
  while (caps.some((cap, node) => cap > 0 && !frozen[node])) {
    // Invariant: caps are feasible; sizes[cursor - 1] (or 1) is the current size.
    let feasibleIndex = cursor - 1;
    let infeasibleIndex = sizes.length;
    while (infeasibleIndex - feasibleIndex > 1) {
      const middle = (feasibleIndex + infeasibleIndex) >> 1;
      if (feasibleAt(sizes[middle]!)) feasibleIndex = middle;
      else infeasibleIndex = middle;
    }
    if (feasibleIndex >= cursor) {
      for (let node = 0; node < nodeCount; node++) if (!frozen[node]) caps[node] = capAt(capacities[node]!, sizes[feasibleIndex]!);
    }
    if (infeasibleIndex === sizes.length) break; // every unfrozen cap reached 0
    const next = sizes[infeasibleIndex]!;
    const dropping: number[] = [];
    for (let node = 0; node < nodeCount; node++) if (!frozen[node] && capAt(capacities[node]!, next) < caps[node]!) dropping.push(node);
    // Lower first the nodes with most partitions beyond what they held before: that moves least.
    dropping.sort((a, b) => caps[b]! - previousCounts[b]! - (caps[a]! - previousCounts[a]!) || compareIds(nodeIds[a]!, nodeIds[b]!));
    for (const node of dropping) {
      const target = capAt(capacities[node]!, next);
      while (caps[node]! > target) {
        caps[node]!--;
        if (check.feasible(caps)) continue;
        caps[node]!++;
        frozen[node] = 1;
        break;
      }
    }
    cursor = infeasibleIndex + 1;
  }
  const total = caps.reduce((sum, cap) => sum + cap, 0);
  if (total !== PARTITION_COUNT * cluster.replicationFactor) throw new Error(`layout counts sum to ${total}, not ${PARTITION_COUNT * cluster.replicationFactor}`);
  let partitionSize = Number.MAX_SAFE_INTEGER;
  caps.forEach((count, node) => {
    if (count > 0) partitionSize = Math.min(partitionSize, floorDivide(capacities[node]!, count));
  });
  return { counts: caps, partitionSize };
}

/** Sorted distinct sizes S > 1 at which some node's cap min(256, floor(C / S)) drops by one or more. */
function dropPoints(capacities: readonly number[]): number[] {
  const points: number[] = [];
  for (const capacity of capacities) {
    for (let count = Math.min(PARTITION_COUNT, capacity); count >= 1; count--) {
      const size = floorDivide(capacity, count) + 1; // the smallest S with floor(C / S) < count
      if (size > 1) points.push(size);
    }
  }
  points.sort((a, b) => a - b);
  return points.filter((size, index) => index === 0 || size !== points[index - 1]);
}

/** A copy placed on a node that did not hold it. */
const MOVE_COST = 2;

/**
 * The table: a min-cost max-flow from partitions to nodes. Node v's first counts[v] - 1 copies cost
 * nothing, its last one LAST, and one more (when it still fits the partition size) LAST + 1; a copy
 * the node did not hold costs MOVE_COST more. Every copy ends on some node, so LAST, larger than any
 * saving in moves, keeps every node within one of its count; trading one node's last copy for
 * another's extra costs 1, less than one move. So: the balanced counts, unless shifting a rounding
 * by one partition saves moves (strict balance would move copies only to fix a rounding).
 */
function placePartitions(cluster: Cluster, counts: Int32Array, partitionSize: number): string[][] {
  const { replicationFactor: rf, zoneRedundancy: r, nodeIds, zoneNames, zoneOf, previousHeld, capacities } = cluster;
  const nodeCount = nodeIds.length;
  const upper = Int32Array.from(counts, (count, node) => Math.min(count + 1, capAt(capacities[node]!, partitionSize)));
  const zonesUsed = zoneNames.map((_, zone) => zone).filter((zone) => upper.some((bound, node) => bound > 0 && zoneOf[node] === zone));
  const nodesOfZone = zonesUsed.map((zone) => nodeIds.map((_, node) => node).filter((node) => zoneOf[node] === zone && upper[node]! > 0));
  const nodeHashes = nodeIds.map(hashString);
  const zoneHashes = zonesUsed.map((zone) => hashString(zoneNames[zone]!));
  const upVertex = (partition: number): number => 2 + partition;
  const downVertex = (partition: number): number => 2 + PARTITION_COUNT + partition;
  const pairVertex = (partition: number, zoneSlot: number): number => 2 + 2 * PARTITION_COUNT + partition * zonesUsed.length + zoneSlot;
  const nodeVertex = (node: number): number => 2 + 2 * PARTITION_COUNT + PARTITION_COUNT * zonesUsed.length + node;
  const builder = new FlowNetworkBuilder(nodeVertex(nodeCount));
  const placementArcs: { arc: number; node: number }[][] = [];
  for (let partition = 0; partition < PARTITION_COUNT; partition++) {
    builder.addEdge(0, upVertex(partition), r);
    if (rf > r) builder.addEdge(0, downVertex(partition), rf - r);
    const zoneOrder = orderBySpread(zonesUsed.length, (slot) => spread(partition, zoneHashes[slot]!));
    for (const slot of zoneOrder) {
      builder.addEdge(upVertex(partition), pairVertex(partition, slot), 1);
      if (rf > r) builder.addEdge(downVertex(partition), pairVertex(partition, slot), rf - r);
    }
    const arcs: { arc: number; node: number }[] = [];
    for (const slot of zoneOrder) {
      const members = nodesOfZone[slot]!;
      for (const index of orderBySpread(members.length, (member) => spread(partition, nodeHashes[members[member]!]!))) {
        const node = members[index]!;
        const cost = previousHeld[partition * nodeCount + node] ? 0 : MOVE_COST;
        arcs.push({ arc: builder.addEdge(pairVertex(partition, slot), nodeVertex(node), 1, cost), node });
      }
    }
    placementArcs.push(arcs);
  }
  const last = MOVE_COST * PARTITION_COUNT * rf + 1;
  for (let node = 0; node < nodeCount; node++) {
    if (counts[node]! > 1) builder.addEdge(nodeVertex(node), 1, counts[node]! - 1);
    if (counts[node]! > 0) builder.addEdge(nodeVertex(node), 1, 1, last);
    if (upper[node]! > counts[node]!) builder.addEdge(nodeVertex(node), 1, 1, last + 1);
  }
  const network = builder.build();
  const { flow } = network.minCostMaxFlow(0, 1);
  if (flow !== PARTITION_COUNT * rf) throw new Error(`layout placement flow ${flow}, expected ${PARTITION_COUNT * rf}`);
  return placementArcs.map((arcs, partition) => {
    const holders = arcs.filter(({ arc }) => network.flowOn(arc) === 1).map(({ node }) => node);
    holders.sort((a, b) => spread(partition, nodeHashes[a]!) - spread(partition, nodeHashes[b]!) || a - b);
    return holders.map((node) => nodeIds[node]!);
  });
}

function summarize(cluster: Cluster, table: string[][], partitionSize: number): Assignment {
  const { nodeIds, previousHeld, zoneOf, replicationFactor, zoneRedundancy } = cluster;
  const nodeIndex = new Map(nodeIds.map((id, index) => [id, index]));
  const counts = new Int32Array(nodeIds.length);
  const fresh = new Int32Array(nodeIds.length);
  table.forEach((row, partition) => {
    const zones = new Set<number>();
    for (const id of row) {
      const node = nodeIndex.get(id)!;
      counts[node]!++;
      if (!previousHeld[partition * nodeIds.length + node]) fresh[node]!++;
      zones.add(zoneOf[node]!);
    }
    // Assertions: the flow construction guarantees both; a failure is a bug, not an operating error.
    if (new Set(row).size !== replicationFactor) throw new Error(`partition ${partition} has ${row.length} copies on ${new Set(row).size} nodes`);
    if (zones.size < zoneRedundancy) throw new Error(`partition ${partition} spans ${zones.size} zones < ${zoneRedundancy}`);
  });
  counts.forEach((count, node) => {
    if (count * partitionSize > cluster.capacities[node]!) throw new Error(`node ${nodeIds[node]} over capacity`);
  });
  return {
    replicationFactor,
    zoneRedundancy,
    partitionSize,
    usableCapacity: partitionSize * PARTITION_COUNT,
    table,
    partitionsPerNode: new Map(nodeIds.map((id, node) => [id, counts[node]!])),
    newPartitionsPerNode: new Map(nodeIds.map((id, node) => [id, fresh[node]!])),
    movedPartitions: fresh.reduce((sum, count) => sum + count, 0),
  };
}

/** Indices 0..length-1 ordered by a key (then by index): the fixed tie-break order. */
function orderBySpread(length: number, key: (index: number) => number): number[] {
  const keys = Array.from({ length }, (_, index) => key(index));
  return keys.map((_, index) => index).sort((a, b) => keys[a]! - keys[b]! || a - b);
}

/** FNV-1a over UTF-16 code units: a fixed 32-bit fingerprint of a node id or zone name. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A well-mixed 32-bit key for (partition, item): each partition ranks nodes in its own order. */
function spread(partition: number, itemHash: number): number {
  let hash = (itemHash ^ Math.imul(partition + 1, 0x9e3779b1)) >>> 0;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

export function shortId(nodeId: string): string {
  return nodeId.length > 16 ? nodeId.slice(0, 16) : nodeId;
}
