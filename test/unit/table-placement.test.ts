// Where rows live: sharded and full-copy placement over a layout, during and outside a change,
// and the quorum checks the coordinator and the syncer build on it.
import { LayoutHistory, PARTITION_COUNT, type NodeRole } from '../../src/protocols/layout';
import { isWriteDone, isWriteLost, placementOf, syncQuorum, type PlacementPolicy } from '../../src/protocols/table';

const GB = 1_000_000_000;
const storage = (zone: string): NodeRole => ({ zone, capacity: 10 * GB, tags: [] });
const gateway: NodeRole = { zone: 'z1', capacity: null, tags: [] };

function edits(): () => { nodeId: string; nowMs: number } {
  let now = 1_000;
  return () => ({ nodeId: 'a', nowMs: now++ });
}

/** Nodes a, b, c, d in four zones and gateway g: version 1. */
function layoutV1(): LayoutHistory {
  const edit = edits();
  let history = LayoutHistory.initial(3);
  for (const [nodeId, role] of [['a', storage('z1')], ['b', storage('z2')], ['c', storage('z3')], ['d', storage('z4')], ['g', gateway]] as const) history = history.stageRole(nodeId, role, edit());
  return history.apply(1, edit()).history;
}

const policy = (replication: 'sharded' | 'full', selfId = 'a'): PlacementPolicy => ({ replication, replicationFactor: 3, consistencyMode: 'consistent', selfId });

describe('sharded placement', () => {
  it('follows the layout: RF nodes per partition, W = 2 and R = 2 in consistent mode', () => {
    const layout = layoutV1();
    const placement = placementOf(layout, policy('sharded'));
    for (const partition of [0, 17, 255]) {
      expect(placement.writeSets(partition)).toEqual([{ nodes: layout.current.table[partition], quorum: 2 }]);
      expect(placement.readSet(partition)).toEqual({ nodes: layout.current.table[partition], quorum: 2 });
      expect(placement.holders(partition)).toEqual([...layout.current.table[partition]!].sort());
    }
    expect(placement.heldNow('a')).toEqual(layout.partitionsOf('a', 1));
    expect(placement.heldNow('g')).toEqual([]);
  });

  it('writes to both versions while a change is in progress', () => {
    const edit = edits();
    const v1 = layoutV1();
    const v2 = v1.stageRole('d', null, edit()).apply(2, edit()).history;
    const placement = placementOf(v2, policy('sharded'));
    const moved = v2.current.table.findIndex((row, partition) => row.join() !== v1.current.table[partition]!.join());
    expect(moved).toBeGreaterThanOrEqual(0);
    expect(placement.writeSets(moved).map((set) => set.nodes)).toEqual([v1.current.table[moved], v2.current.table[moved]]);
    expect(placement.holders(moved)).toContain('d');
  });
});

describe('full-copy placement', () => {
  it('puts every partition on every storage node, reads locally, and tolerates RF - W failures on write', () => {
    const placement = placementOf(layoutV1(), policy('full', 'b'));
    expect(placement.writeSets(9)).toEqual([{ nodes: ['a', 'b', 'c', 'd'], quorum: 3 }]);
    expect(placement.readSet(9)).toEqual({ nodes: ['b'], quorum: 1 });
    expect(placement.holders(200)).toEqual(['a', 'b', 'c', 'd']);
    expect(placement.heldNow('b')).toHaveLength(PARTITION_COUNT);
    expect(placement.heldNow('g')).toEqual([]);
  });

  it('reads from the storage nodes when the coordinator is a gateway', () => {
    expect(placementOf(layoutV1(), policy('full', 'g')).readSet(3)).toEqual({ nodes: ['a', 'b', 'c', 'd'], quorum: 1 });
  });
});

describe('quorum checks over write sets', () => {
  const sets = [
    { nodes: ['a', 'b', 'c'], quorum: 2 },
    { nodes: ['b', 'c', 'd'], quorum: 2 },
  ];
  it('needs the quorum in every set', () => {
    expect(isWriteDone(sets, new Set(['a', 'b']))).toBe(false);
    expect(isWriteDone(sets, new Set(['a', 'b', 'd']))).toBe(true);
    expect(isWriteDone([], new Set(['a']))).toBe(false);
  });
  it('gives up once one set cannot reach its quorum', () => {
    expect(isWriteLost(sets, new Set(['a']))).toBe(false);
    expect(isWriteLost(sets, new Set(['c', 'd']))).toBe(true);
  });
  it('syncs with enough nodes to meet every write quorum', () => {
    expect(syncQuorum({ nodes: ['a', 'b', 'c'], quorum: 2 })).toBe(2);
    expect(syncQuorum({ nodes: ['a', 'b', 'c'], quorum: 1 })).toBe(3);
    expect(syncQuorum({ nodes: ['a', 'b', 'c', 'd'], quorum: 3 })).toBe(2);
  });
});
