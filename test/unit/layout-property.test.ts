// Random clusters (seeded, so a failure replays): every invariant of the assignment, optimality of
// the partition size against an independent max-flow, and never worse than a naive greedy.
import { computeAssignment, type Assignment } from '../../src/protocols/layout/assignment';
import { FlowNetworkBuilder } from '../../src/protocols/layout/flow';
import { LayoutError, PARTITION_COUNT, type NodeRole, type PartitionTable, type ZoneRedundancy } from '../../src/protocols/layout';
import { seededRandom as prng } from '../harness/prng';


interface Cluster {
  rf: number;
  redundancy: ZoneRedundancy;
  roles: Map<string, NodeRole>;
}

function randomCluster(random: () => number, index: number): Cluster {
  const integer = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  const rf = integer(1, 3);
  const zoneCount = integer(1, 5);
  const roles = new Map<string, NodeRole>();
  const nodeCount = integer(1, 14);
  for (let node = 0; node < nodeCount; node++) {
    const gateway = random() < 0.1;
    // Capacities from 1 GB to 40 GB, with odd byte counts so floors matter.
    const capacity = gateway ? null : integer(1, 40) * 1_000_000_000 + integer(0, 999_999);
    roles.set(`c${index}-n${String(node).padStart(2, '0')}`, { zone: `zone-${integer(1, zoneCount)}`, capacity, tags: [] });
  }
  const redundancy: ZoneRedundancy = random() < 0.5 ? 'maximum' : integer(1, rf);
  return { rf, redundancy, roles };
}

function storage(cluster: Cluster): [string, NodeRole][] {
  return [...cluster.roles].filter(([, role]) => role.capacity !== null);
}

function effectiveRedundancy(cluster: Cluster): number {
  const zones = new Set(storage(cluster).map(([, role]) => role.zone)).size;
  return cluster.redundancy === 'maximum' ? Math.min(cluster.rf, zones) : cluster.redundancy;
}

/**
 * Independent check (Edmonds-Karp on an adjacency matrix): can every partition get rf copies on
 * distinct nodes in at least r zones when node v holds at most caps[v]? Same model as the report:
 * source -> up (256 r) / down (256 (rf - r)) -> zone -> node -> sink.
 */
function feasible(cluster: Cluster, caps: number[]): boolean {
  const nodes = storage(cluster);
  const zones = [...new Set(nodes.map(([, role]) => role.zone))];
  const r = effectiveRedundancy(cluster);
  const size = 4 + zones.length + nodes.length;
  const capacity = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  capacity[0]![2] = 256 * r;
  capacity[0]![3] = 256 * (cluster.rf - r);
  zones.forEach((_, zone) => {
    capacity[2]![4 + zone] = 256;
    capacity[3]![4 + zone] = 256 * (cluster.rf - r);
  });
  nodes.forEach(([, role], node) => {
    capacity[4 + zones.indexOf(role.zone)]![4 + zones.length + node] = 256;
    capacity[4 + zones.length + node]![1] = caps[node]!;
  });
  let flow = 0;
  for (;;) {
    const parent = new Array<number>(size).fill(-1);
    parent[0] = 0;
    const queue = [0];
    while (queue.length > 0 && parent[1] === -1) {
      const vertex = queue.shift()!;
      for (let next = 0; next < size; next++) {
        if (parent[next] === -1 && capacity[vertex]![next]! > 0) {
          parent[next] = vertex;
          queue.push(next);
        }
      }
    }
    if (parent[1] === -1) return flow === 256 * cluster.rf;
    let pushed = Infinity;
    for (let vertex = 1; vertex !== 0; vertex = parent[vertex]!) pushed = Math.min(pushed, capacity[parent[vertex]!]![vertex]!);
    for (let vertex = 1; vertex !== 0; vertex = parent[vertex]!) {
      capacity[parent[vertex]!]![vertex]! -= pushed;
      capacity[vertex]![parent[vertex]!]! += pushed;
    }
    flow += pushed;
  }
}

/** Greedy: each partition takes the least loaded nodes (by load / capacity), r distinct zones first. */
function naivePartitionSize(cluster: Cluster): number | null {
  const nodes = storage(cluster);
  const r = effectiveRedundancy(cluster);
  const load = new Array<number>(nodes.length).fill(0);
  for (let partition = 0; partition < PARTITION_COUNT; partition++) {
    const order = nodes.map((_, node) => node).sort((a, b) => (load[a]! + 1) / nodes[a]![1].capacity! - (load[b]! + 1) / nodes[b]![1].capacity! || a - b);
    const chosen: number[] = [];
    const zones = new Set<string>();
    for (const node of order) {
      if (zones.size >= r) break;
      if (!zones.has(nodes[node]![1].zone)) {
        chosen.push(node);
        zones.add(nodes[node]![1].zone);
      }
    }
    for (const node of order) if (chosen.length < cluster.rf && !chosen.includes(node)) chosen.push(node);
    if (chosen.length < cluster.rf || zones.size < r) return null;
    for (const node of chosen) load[node]!++;
  }
  let size = Infinity;
  nodes.forEach(([, role], node) => {
    if (load[node]! > 0) size = Math.min(size, Math.floor(role.capacity! / load[node]!));
  });
  return size;
}

/** Every broken invariant, as text (one assertion per cluster keeps 100+ clusters fast). */
function checkInvariants(cluster: Cluster, result: Assignment, previous: PartitionTable | null): string[] {
  const problems: string[] = [];
  const nodes = storage(cluster);
  const r = effectiveRedundancy(cluster);
  const zoneOf = new Map(nodes.map(([nodeId, role]) => [nodeId, role.zone]));
  const counts = new Map<string, number>();
  if (result.table.length !== PARTITION_COUNT) problems.push(`${result.table.length} partitions`);
  result.table.forEach((row, partition) => {
    if (row.length !== cluster.rf || new Set(row).size !== cluster.rf) problems.push(`partition ${partition}: ${row.join(',')} is not ${cluster.rf} distinct nodes`);
    for (const nodeId of row) {
      if (!zoneOf.has(nodeId)) problems.push(`partition ${partition} on ${nodeId}, not a storage node`);
      counts.set(nodeId, (counts.get(nodeId) ?? 0) + 1);
    }
    const zones = new Set(row.map((nodeId) => zoneOf.get(nodeId))).size;
    if (zones < r) problems.push(`partition ${partition} spans ${zones} zones < ${r}`);
  });
  if (result.zoneRedundancy !== r) problems.push(`zone redundancy ${result.zoneRedundancy} != ${r}`);
  for (const [nodeId, role] of nodes) {
    const count = counts.get(nodeId) ?? 0;
    if (result.partitionsPerNode.get(nodeId) !== count) problems.push(`${nodeId}: reported ${result.partitionsPerNode.get(nodeId)} != ${count}`);
    if (count * result.partitionSize > role.capacity!) problems.push(`${nodeId}: ${count} partitions of ${result.partitionSize} exceed ${role.capacity}`);
  }
  if (result.usableCapacity !== result.partitionSize * PARTITION_COUNT) problems.push('usable capacity is not partition size * 256');
  // Optimal: one byte more per partition and no valid assignment fits.
  const tighter = nodes.map(([, role]) => Math.min(PARTITION_COUNT, Math.floor(role.capacity! / (result.partitionSize + 1))));
  if (feasible(cluster, tighter)) problems.push(`partition size ${result.partitionSize + 1} is also feasible`);
  const naive = naivePartitionSize(cluster);
  if (naive !== null && result.partitionSize < naive) problems.push(`naive greedy does better: ${naive} > ${result.partitionSize}`);
  if (previous) {
    // Moves: at least what the counts force, and exactly what the tables differ by.
    let forced = 0;
    let differ = 0;
    for (const [nodeId] of nodes) {
      const before = previous.filter((row) => row.includes(nodeId)).length;
      forced += Math.max(0, (counts.get(nodeId) ?? 0) - before);
    }
    result.table.forEach((row, partition) => (differ += row.filter((nodeId) => !previous[partition]!.includes(nodeId)).length));
    if (result.movedPartitions !== differ) problems.push(`moved ${result.movedPartitions} but tables differ by ${differ}`);
    if (result.movedPartitions < forced) problems.push(`moved ${result.movedPartitions} < forced ${forced}`);
  }
  return problems;
}

describe('layout assignment on random clusters', () => {
  it('keeps every invariant, is optimal, and beats a naive greedy', () => {
    const random = prng(0x6a09e667);
    let checked = 0;
    let refused = 0;
    for (let index = 0; index < 120; index++) {
      const cluster = randomCluster(random, index);
      const nodes = storage(cluster);
      const zones = new Set(nodes.map(([, role]) => role.zone)).size;
      const run = () => computeAssignment({ replicationFactor: cluster.rf, parameters: { zoneRedundancy: cluster.redundancy }, roles: cluster.roles, previous: null });
      if (nodes.length < cluster.rf) {
        expect(run).toThrow(LayoutError);
        expect(() => run()).toThrow(/storage nodes/);
        refused++;
        continue;
      }
      if (typeof cluster.redundancy === 'number' && zones < cluster.redundancy) {
        expect(run).toThrow(/zones/);
        refused++;
        continue;
      }
      const result = run();
      expect(checkInvariants(cluster, result, null)).toEqual([]);
      // The same cluster after one change: a node added, or one removed when enough remain.
      const changed: Cluster = { ...cluster, roles: new Map(cluster.roles) };
      if (random() < 0.5 || nodes.length <= cluster.rf) {
        changed.roles.set(`c${index}-added`, { zone: `zone-${1 + Math.floor(random() * 5)}`, capacity: 5_000_000_000 + index, tags: [] });
      } else {
        changed.roles.delete(nodes[Math.floor(random() * nodes.length)]![0]);
      }
      if (typeof changed.redundancy === 'number' && new Set(storage(changed).map(([, role]) => role.zone)).size < changed.redundancy) continue;
      const next = computeAssignment({ replicationFactor: changed.rf, parameters: { zoneRedundancy: changed.redundancy }, roles: changed.roles, previous: result.table });
      expect(checkInvariants(changed, next, result.table)).toEqual([]);
      checked++;
    }
    expect(checked).toBeGreaterThan(60);
    expect(refused).toBeGreaterThan(5);
  });
});

/** Reference min-cost max-flow: successive shortest paths by Bellman-Ford, one path at a time. */
function referenceMinCostFlow(size: number, edges: [number, number, number, number][]): { flow: number; cost: number } {
  const to: number[] = [];
  const residual: number[] = [];
  const cost: number[] = [];
  for (const [from, head, capacity, price] of edges) {
    to.push(head, from);
    residual.push(capacity, 0);
    cost.push(price, -price);
  }
  const tail = (arc: number): number => to[arc ^ 1]!;
  let flow = 0;
  let total = 0;
  for (;;) {
    const distance = new Array<number>(size).fill(Infinity);
    const via = new Array<number>(size).fill(-1);
    distance[0] = 0;
    for (let round = 0; round < size; round++) {
      for (let arc = 0; arc < to.length; arc++) {
        if (residual[arc]! > 0 && distance[tail(arc)]! + cost[arc]! < distance[to[arc]!]!) {
          distance[to[arc]!] = distance[tail(arc)]! + cost[arc]!;
          via[to[arc]!] = arc;
        }
      }
    }
    if (distance[1] === Infinity) return { flow, cost: total };
    let pushed = Infinity;
    for (let vertex = 1; vertex !== 0; vertex = tail(via[vertex]!)) pushed = Math.min(pushed, residual[via[vertex]!]!);
    for (let vertex = 1; vertex !== 0; vertex = tail(via[vertex]!)) {
      residual[via[vertex]!]! -= pushed;
      residual[via[vertex]! ^ 1]! += pushed;
    }
    flow += pushed;
    total += pushed * distance[1]!;
  }
}

describe('flow network', () => {
  it('finds the maximum flow and its least cost on random graphs, like a plain reference', () => {
    const random = prng(0xbb67ae85);
    for (let graph = 0; graph < 200; graph++) {
      const size = 2 + Math.floor(random() * 9);
      const edges: [number, number, number, number][] = [];
      const edgeCount = Math.floor(random() * 30);
      for (let edge = 0; edge < edgeCount; edge++) {
        const from = Math.floor(random() * size);
        const head = Math.floor(random() * size);
        if (from !== head) edges.push([from, head, Math.floor(random() * 6), Math.floor(random() * 4)]);
      }
      const build = () => {
        const builder = new FlowNetworkBuilder(size);
        for (const [from, head, capacity, price] of edges) builder.addEdge(from, head, capacity, price);
        return builder.build();
      };
      const expected = referenceMinCostFlow(size, edges);
      expect(build().maxFlow(0, 1)).toBe(expected.flow);
      expect(build().minCostMaxFlow(0, 1)).toEqual(expected);
    }
  });
});
