// The optimal assignment, without history: zones, capacity, proportion, movement, errors, determinism.
import { computeAssignment, type Assignment } from '../../src/protocols/layout/assignment';
import { LayoutError, PARTITION_COUNT, type LayoutParameters, type NodeRole, type PartitionTable, type ZoneRedundancy } from '../../src/protocols/layout';

const GB = 1_000_000_000;

type Spec = [nodeId: string, zone: string, capacityGb: number | null];

function roles(specs: Spec[]): Map<string, NodeRole> {
  return new Map(specs.map(([nodeId, zone, capacityGb]) => [nodeId, { zone, capacity: capacityGb === null ? null : Math.round(capacityGb * GB), tags: [] }]));
}

function assign(specs: Spec[], options: { rf?: number; redundancy?: ZoneRedundancy; previous?: PartitionTable | null } = {}): Assignment {
  const parameters: LayoutParameters = { zoneRedundancy: options.redundancy ?? 'maximum' };
  return computeAssignment({ replicationFactor: options.rf ?? 3, parameters, roles: roles(specs), previous: options.previous ?? null });
}

function zonesOf(table: PartitionTable, specs: Spec[], partition: number): Set<string> {
  const zoneOf = new Map(specs.map(([nodeId, zone]) => [nodeId, zone]));
  return new Set(table[partition]!.map((nodeId) => zoneOf.get(nodeId)!));
}

/** Replicas that `next` places on a node which did not hold them in `previous`. */
function moved(previous: PartitionTable, next: PartitionTable): number {
  return next.reduce((sum, row, partition) => sum + row.filter((nodeId) => !previous[partition]!.includes(nodeId)).length, 0);
}

function expectLayoutError(run: () => unknown, reason: string, ...fragments: string[]): void {
  let caught: unknown = null;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LayoutError);
  expect((caught as LayoutError).reason).toBe(reason);
  for (const fragment of fragments) expect((caught as LayoutError).message).toContain(fragment);
}

const NINE: Spec[] = [
  ['a1', 'dc-a', 10],
  ['a2', 'dc-a', 10],
  ['a3', 'dc-a', 10],
  ['b1', 'dc-b', 10],
  ['b2', 'dc-b', 10],
  ['b3', 'dc-b', 10],
  ['c1', 'dc-c', 10],
  ['c2', 'dc-c', 10],
  ['c3', 'dc-c', 10],
];

describe('layout assignment', () => {
  it('puts every partition on 3 distinct nodes in 3 zones with RF 3 and 3 zones', () => {
    const result = assign(NINE);
    expect(result.table).toHaveLength(PARTITION_COUNT);
    for (let partition = 0; partition < PARTITION_COUNT; partition++) {
      expect(new Set(result.table[partition]).size).toBe(3);
      expect(zonesOf(result.table, NINE, partition).size).toBe(3);
    }
    expect(result.zoneRedundancy).toBe(3);
    // Each zone holds one copy of everything: 256 over 3 equal nodes.
    for (const count of result.partitionsPerNode.values()) expect([85, 86]).toContain(count);
    expect(result.partitionSize).toBe(Math.floor((10 * GB) / 86));
    expect(result.usableCapacity).toBe(result.partitionSize * PARTITION_COUNT);
  });

  it('respects capacities and gives shares proportional to capacity, up to one partition', () => {
    // Four zones, none above a third of the total: every node can get exactly its share.
    const specs: Spec[] = [
      ['n1', 'z1', 3],
      ['n2', 'z1', 5],
      ['n3', 'z2', 4],
      ['n4', 'z2', 4],
      ['n5', 'z3', 2],
      ['n6', 'z3', 6],
      ['n7', 'z4', 7],
      ['n8', 'z4', 2],
    ];
    const total = specs.reduce((sum, [, , capacity]) => sum + capacity!, 0);
    const result = assign(specs);
    for (const [nodeId, , capacityGb] of specs) {
      const count = result.partitionsPerNode.get(nodeId)!;
      expect(count * result.partitionSize).toBeLessThanOrEqual(capacityGb! * GB);
      expect(Math.abs(count - (3 * PARTITION_COUNT * capacityGb!) / total)).toBeLessThanOrEqual(1);
    }
    // The usable capacity is within one partition per node of the whole cluster's capacity / RF.
    expect(result.usableCapacity).toBeGreaterThan(((total * GB) / 3) * 0.97);
  });

  it('gives the best usable capacity to a heterogeneous cluster under maximum zone redundancy', () => {
    const specs: Spec[] = [
      ['jupiter-1', 'jupiter', 20],
      ['atuin-1', 'atuin', 20],
      ['atuin-2', 'atuin', 10],
      ['atuin-3', 'atuin', 10],
      ['neptune-1', 'neptune', 5],
      ['neptune-2', 'neptune', 5],
      ['neptune-3', 'neptune', 5],
    ];
    const result = assign(specs);
    // Neptune must hold a copy of every partition on 15 GB: 86 + 85 + 85, so S = floor(5 GB / 86).
    // With one byte more, each neptune node holds 85 at most: 255 < 256, so this S is the best.
    expect(result.partitionSize).toBe(Math.floor((5 * GB) / 86));
    expect(Math.floor((5 * GB) / (result.partitionSize + 1))).toBe(85);
    expect(result.usableCapacity).toBe(Math.floor((5 * GB) / 86) * 256);
    const counts = Object.fromEntries(result.partitionsPerNode);
    expect(counts['jupiter-1']).toBe(256);
    expect([counts['atuin-1'], counts['atuin-2'], counts['atuin-3']]).toEqual([128, 64, 64]);
    expect([counts['neptune-1'], counts['neptune-2'], counts['neptune-3']].sort()).toEqual([85, 85, 86]);
    for (let partition = 0; partition < PARTITION_COUNT; partition++) expect(zonesOf(result.table, specs, partition).size).toBe(3);

    // Asking for 2 zones frees neptune from holding everything: more usable capacity.
    const relaxed = assign(specs, { redundancy: 2 });
    expect(relaxed.usableCapacity).toBeGreaterThan(result.usableCapacity * 1.6);
    for (let partition = 0; partition < PARTITION_COUNT; partition++) expect(zonesOf(relaxed.table, specs, partition).size).toBeGreaterThanOrEqual(2);
    // 75 GB over 768 copies is the bound; rounding costs less than 1%.
    expect(relaxed.usableCapacity).toBeGreaterThan(((75 * GB) / 3) * 0.99);
  });

  it('moves about the new node share when one node is added, not a reshuffle', () => {
    const before = assign(NINE);
    const specs: Spec[] = [...NINE, ['a4', 'dc-a', 10]];
    const after = assign(specs, { previous: before.table });
    const share = after.partitionsPerNode.get('a4')!;
    // Zone a now splits its 256 copies over four equal nodes: 64 each, or one fewer on the new
    // node when that saves a move (balance to within one partition, then fewest moves).
    expect([63, 64]).toContain(share);
    expect(after.movedPartitions).toBe(moved(before.table, after.table));
    expect(after.movedPartitions).toBe(share);
    expect(after.newPartitionsPerNode.get('a4')).toBe(share);
    // Every copy that moves lands on the new node; the other nodes only lose partitions.
    for (const [nodeId, fresh] of after.newPartitionsPerNode) if (nodeId !== 'a4') expect(fresh).toBe(0);
  });

  it('moves about the new node share in a larger uneven cluster', () => {
    const specs: Spec[] = [];
    for (let index = 0; index < 30; index++) specs.push([`node-${String(index).padStart(2, '0')}`, `zone-${index % 5}`, 2 + ((index * 7) % 11)]);
    const before = assign(specs);
    const after = assign([...specs, ['node-new', 'zone-2', 8]], { previous: before.table });
    const share = after.partitionsPerNode.get('node-new')!;
    const total = specs.reduce((sum, [, , capacity]) => sum + capacity!, 0) + 8;
    expect(Math.abs(share - (768 * 8) / total)).toBeLessThanOrEqual(1);
    expect(after.movedPartitions).toBeGreaterThanOrEqual(share);
    expect(after.movedPartitions).toBeLessThanOrEqual(share + 10); // a few rounding shifts elsewhere, at most
  });

  it('moves only what a removed node held', () => {
    const before = assign(NINE);
    const held = before.partitionsPerNode.get('b2')!;
    const after = assign(
      NINE.filter(([nodeId]) => nodeId !== 'b2'),
      { previous: before.table },
    );
    expect(after.movedPartitions).toBe(held);
    // Every partition b2 did not hold keeps all its nodes.
    before.table.forEach((row, partition) => {
      if (!row.includes('b2')) expect([...after.table[partition]!].sort()).toEqual([...row].sort());
    });
  });

  it('gives gateways nothing', () => {
    const specs: Spec[] = [...NINE, ['gw1', 'dc-a', null], ['gw2', 'dc-d', null]];
    const result = assign(specs);
    expect(result.table.flat()).not.toContain('gw1');
    expect(result.table.flat()).not.toContain('gw2');
    expect(result.partitionsPerNode.has('gw1')).toBe(false);
    // A gateway's zone does not count as a zone for redundancy.
    expect(result.zoneRedundancy).toBe(3);
    expect(result.table).toEqual(assign(NINE).table);
  });

  it('changes nothing when nothing changed', () => {
    const before = assign(NINE);
    const again = assign(NINE, { previous: before.table });
    expect(again.movedPartitions).toBe(0);
    expect(again.table).toEqual(before.table);
  });

  it('spreads each node over many partners, so a resync uses many links', () => {
    const result = assign(NINE);
    for (const [nodeId] of NINE) {
      const partners = new Set(result.table.filter((row) => row.includes(nodeId)).flat());
      partners.delete(nodeId);
      expect(partners.size).toBe(6); // every node of the two other zones
    }
  });

  it('fails with what to change when the layout is impossible', () => {
    expectLayoutError(() => assign([['a', 'z1', 1], ['b', 'z2', 1]]), 'not-enough-storage-nodes', 'needs at least 3 storage nodes', 'has 2', 'Give 1 more node');
    expectLayoutError(
      () => assign([['a', 'z1', 1], ['b', 'z1', 1], ['c', 'z2', 1]], { redundancy: 3 }),
      'not-enough-zones',
      'at least 3 zones',
      'in 2 (z1, z2)',
      'lower the zone redundancy',
    );
    expectLayoutError(() => assign([['a', 'z1', 1], ['b', 'z2', 0], ['c', 'z3', 1]]), 'zero-capacity', 'capacity 0', 'gateway');
    expectLayoutError(() => assign(NINE, { redundancy: 4 }), 'invalid-parameters', "'maximum' or an integer from 1 to 3");
    expectLayoutError(() => assign([['g1', 'z1', null], ['g2', 'z2', null], ['g3', 'z3', null]]), 'not-enough-storage-nodes', 'has 0');
    expectLayoutError(
      () => computeAssignment({ replicationFactor: 3, parameters: { zoneRedundancy: 'maximum' }, previous: null, roles: new Map([['a', { zone: 'z', capacity: 10, tags: [] }], ['b', { zone: 'y', capacity: 10, tags: [] }], ['c', { zone: 'x', capacity: 10, tags: [] }]]) }),
      'capacity-too-small',
    );
    // Maximum with 2 zones and RF 3 is fine: it means 2 zones.
    const twoZones = assign([['a', 'z1', 1], ['b', 'z1', 1], ['c', 'z2', 1], ['d', 'z2', 1]]);
    expect(twoZones.zoneRedundancy).toBe(2);
  });

  it('is deterministic: same inputs, same table, whatever the order of the roles', () => {
    const reversed = [...NINE].reverse();
    const first = assign(NINE);
    const second = assign(reversed);
    expect(second.table).toEqual(first.table);
    expect(second.partitionSize).toBe(first.partitionSize);
    const next = [...NINE, ['d1', 'dc-d', 7] as Spec];
    expect(assign(next, { previous: first.table }).table).toEqual(assign([...next].reverse(), { previous: second.table }).table);
  });
});
