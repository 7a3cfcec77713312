// bench/layout: time to compute an optimal layout for 10 to 250 nodes in 3 to 5 zones, and the
// partition copies moved when one node is added (next to its ideal, capacity-proportional share)
// or removed (next to what it held). Prints figures; decides nothing.
// Run: npx tsc -p tsconfig.build.json && node dist/bench/layout.js   (options: ROUNDS=3 RF=3)
import { computeAssignment, type Assignment } from '../src/protocols/layout/assignment';
import { PARTITION_COUNT, type NodeRole, type PartitionTable } from '../src/protocols/layout';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const RF = Number(process.env.RF ?? 3);
const GB = 1_000_000_000;
const CLUSTERS: { nodes: number; zones: number }[] = [
  { nodes: 10, zones: 3 },
  { nodes: 50, zones: 4 },
  { nodes: 100, zones: 5 },
  { nodes: 100, zones: 3 },
  { nodes: 250, zones: 5 },
];

/** A fixed PRNG (mulberry32), so every run measures the same clusters. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function cluster(nodes: number, zones: number): Map<string, NodeRole> {
  const random = prng(nodes * 31 + zones);
  const roles = new Map<string, NodeRole>();
  for (let node = 0; node < nodes; node++) {
    // 1 to 16 TB, odd byte counts; zones get nodes round-robin so their totals are close.
    const capacity = Math.floor((1 + random() * 15) * 1000 * GB) + node;
    roles.set(`node-${String(node).padStart(3, '0')}`, { zone: `zone-${node % zones}`, capacity, tags: [] });
  }
  return roles;
}

function timed(roles: Map<string, NodeRole>, previous: PartitionTable | null): { result: Assignment; ms: number } {
  const times: number[] = [];
  let result: Assignment | null = null;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    result = computeAssignment({ replicationFactor: RF, parameters: { zoneRedundancy: 'maximum' }, roles, previous });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { result: result!, ms: times[Math.floor(times.length / 2)]! };
}

function totalCapacity(roles: Map<string, NodeRole>): number {
  return [...roles.values()].reduce((sum, role) => sum + (role.capacity ?? 0), 0);
}

function main(): void {
  console.log(`layout bench: RF ${RF}, zone redundancy maximum, ${PARTITION_COUNT} partitions, median of ${ROUNDS} runs`);
  console.log(
    ['nodes', 'zones', 'first ms', 'usable/ideal', 'add ms', 'add moved', 'new node', 'ideal share', 'remove moved', 'it held'].map((title) => title.padStart(14)).join(''),
  );
  for (const { nodes, zones } of CLUSTERS) {
    const roles = cluster(nodes, zones);
    const first = timed(roles, null);
    const ideal = totalCapacity(roles) / RF;

    const grown = new Map(roles);
    const newCapacity = 8000 * GB;
    grown.set('node-new', { zone: 'zone-1', capacity: newCapacity, tags: [] });
    const added = timed(grown, first.result.table);
    const share = (RF * PARTITION_COUNT * newCapacity) / totalCapacity(grown);

    const shrunk = new Map(roles);
    const removedId = 'node-002';
    shrunk.delete(removedId);
    const removed = timed(shrunk, first.result.table);

    console.log(
      [
        nodes,
        zones,
        first.ms.toFixed(0),
        (first.result.usableCapacity / ideal).toFixed(4),
        added.ms.toFixed(0),
        added.result.movedPartitions,
        added.result.partitionsPerNode.get('node-new'),
        share.toFixed(1),
        removed.result.movedPartitions,
        first.result.partitionsPerNode.get(removedId),
      ]
        .map((value) => String(value).padStart(14))
        .join(''),
    );
  }
}

main();
