// The versioned layout history: staging as a CRDT, apply/revert, live versions and trackers, the
// read/write API of tables and blocks, merge laws, and the canonical encoding.
import { LayoutError, LayoutHistory, PARTITION_COUNT, partitionOf, previewStagedChanges, type NodeRole } from '../../src/protocols/layout';

const GB = 1_000_000_000;
const RF = 3;

function storageRole(zone: string, capacityGb = 10, tags: string[] = []): NodeRole {
  return { zone, capacity: capacityGb * GB, tags };
}

const gateway: NodeRole = { zone: 'dc-a', capacity: null, tags: ['gw'] };

/** A clock per test: every edit is one millisecond after the previous. */
function clock(nodeId: string, start = 1_000) {
  let now = start;
  return () => ({ nodeId, nowMs: now++ });
}

function stageAll(history: LayoutHistory, roles: [string, NodeRole | null][], edit: () => { nodeId: string; nowMs: number }): LayoutHistory {
  return roles.reduce((current, [nodeId, role]) => current.stageRole(nodeId, role, edit()), history);
}

const NINE: [string, NodeRole][] = ['a', 'b', 'c'].flatMap((zone) => [1, 2, 3].map((index): [string, NodeRole] => [`${zone}${index}`, storageRole(`dc-${zone}`)]));

function firstLayout(): LayoutHistory {
  const edit = clock('a1');
  return stageAll(LayoutHistory.initial(RF), NINE, edit).apply(1, edit()).history;
}

function errorOf(run: () => unknown): LayoutError {
  try {
    run();
  } catch (error) {
    if (error instanceof LayoutError) return error;
    throw error;
  }
  throw new Error('expected a LayoutError');
}

describe('layout history: versions', () => {
  it('starts empty at version 0: no write set, nothing to read', () => {
    const history = LayoutHistory.initial(RF);
    expect(history.current.version).toBe(0);
    expect(history.writeSets(0)).toEqual([]);
    expect(history.readVersion()).toBe(0);
    expect(history.readNodes(7)).toEqual([]);
  });

  it('applies staged changes only as version current + 1, then clears the staging area', () => {
    const edit = clock('a1');
    const staged = stageAll(LayoutHistory.initial(RF), NINE, edit);
    expect(staged.stagedRoleChanges().size).toBe(9);
    const wrong = errorOf(() => staged.apply(2, edit()));
    expect(wrong.reason).toBe('wrong-version');
    expect(wrong.message).toContain('current layout is version 0, so the next one is 1');
    const { history, preview } = staged.apply(1, edit());
    expect(history.current.version).toBe(1);
    expect(preview.version).toBe(1);
    expect(history.current.table).toEqual(preview.table);
    expect(history.hasStagedChanges()).toBe(false);
    // The empty version 0 retires at once: it stores nothing.
    expect(history.versions.map((version) => version.version)).toEqual([1]);
    expect(history.writeSets(5)).toEqual([history.current.table[5]]);
    expect(history.readVersion()).toBe(1);
    expect(errorOf(() => history.apply(2, edit())).reason).toBe('nothing-staged');
  });

  it('previews the staged changes, or says why they cannot be applied', () => {
    const edit = clock('a1');
    const twoNodes = stageAll(LayoutHistory.initial(RF), NINE.slice(0, 2), edit);
    const refused = previewStagedChanges(twoNodes);
    expect(refused).toBeInstanceOf(LayoutError);
    expect((refused as LayoutError).reason).toBe('not-enough-storage-nodes');
    const growing = firstLayout().stageRole('d1', storageRole('dc-d', 30), edit());
    const preview = previewStagedChanges(growing);
    if (preview instanceof LayoutError) throw preview;
    expect(preview.version).toBe(2);
    expect(preview.partitionsPerNode.get('d1')).toBeGreaterThan(0);
    expect(preview.movedPartitions).toBe(preview.newPartitionsPerNode.get('d1'));
    expect(preview.usableCapacity).toBe(preview.partitionSize * PARTITION_COUNT);
  });

  it('reverts staged changes, and refuses to remove a node that has no role', () => {
    const edit = clock('a1');
    const history = firstLayout().stageRole('d1', storageRole('dc-d'), edit()).stageParameters({ zoneRedundancy: 2 }, edit());
    expect(history.hasStagedChanges()).toBe(true);
    const reverted = history.revert(edit());
    expect(reverted.hasStagedChanges()).toBe(false);
    expect(reverted.current).toBe(history.current);
    expect(errorOf(() => reverted.stageRole('nobody', null, edit())).reason).toBe('unknown-node');
    expect(errorOf(() => reverted.stageRole('d1', storageRole('dc-d', 0), edit())).reason).toBe('zero-capacity');
    expect(errorOf(() => reverted.stageParameters({ zoneRedundancy: 4 }, edit())).reason).toBe('invalid-parameters');
  });

  it('keeps gateways out of every partition but counts them as nodes', () => {
    const edit = clock('a1');
    const history = firstLayout().stageRole('gw', gateway, edit()).apply(2, edit()).history;
    expect(history.current.roles.get('gw')).toEqual(gateway);
    for (let partition = 0; partition < PARTITION_COUNT; partition++) expect(history.storageNodesOf(partition)).not.toContain('gw');
    expect(history.liveNodes()).toContain('gw');
  });
});

describe('layout history: placement lookups', () => {
  it('finds a key by the first byte of its hash, and the partitions of a node', () => {
    const hash = new Uint8Array(32).fill(1);
    hash[0] = 0xa7;
    expect(partitionOf(hash)).toBe(0xa7);
    const history = firstLayout();
    const partitions = history.partitionsOf('b2', 1);
    expect(partitions.length).toBe(history.current.table.filter((row) => row.includes('b2')).length);
    for (const partition of partitions) expect(history.writeSets(partition)[0]).toContain('b2');
    expect(history.partitionsOf('b2', 7)).toEqual([]);
    expect(() => history.writeSets(PARTITION_COUNT)).toThrow(RangeError);
  });
});

describe('layout history: a change in progress', () => {
  const edit = clock('a1', 5_000);
  const v1 = firstLayout();
  const v2 = v1.stageRole('d1', storageRole('dc-a'), edit()).stageRole('c3', null, edit()).apply(2, edit()).history;

  it('writes to every live version and reads from the old one until the new one is synced', () => {
    expect(v2.versions.map((version) => version.version)).toEqual([1, 2]);
    for (let partition = 0; partition < PARTITION_COUNT; partition++) {
      expect(v2.writeSets(partition)).toEqual([v1.current.table[partition], v2.current.table[partition]]);
    }
    const changed = v2.current.table.findIndex((row, partition) => row.join() !== v1.current.table[partition]!.join());
    expect(changed).toBeGreaterThanOrEqual(0);
    expect(v2.storageNodesOf(changed).length).toBeGreaterThan(RF);
    expect(v2.readVersion()).toBe(1);
    expect(v2.readNodes(changed)).toEqual(v1.current.table[changed]);
  });

  it('moves reads to the new version once its storage nodes have synced it, and retires the old one after every sync-ack', () => {
    const everyone = v2.liveNodes();
    expect(everyone).toContain('c3'); // removed in v2, still live through v1
    let history = everyone.reduce((current, nodeId) => current.acknowledge(nodeId, 2), v2);
    expect(history.allAcknowledged()).toBe(2);
    const newStorage = [...v2.current.roles.keys()];
    for (const nodeId of newStorage.slice(0, -1)) history = history.markSynced(nodeId, 2);
    expect(history.readVersion()).toBe(1); // one storage node of v2 has not finished
    history = history.markSynced(newStorage[newStorage.length - 1]!, 2);
    expect(history.readVersion()).toBe(2);
    expect(history.readNodes(0)).toEqual(v2.current.table[0]);
    expect(history.allSynced()).toBe(1); // c3 (only in v1) has not said it synced v2
    for (const nodeId of everyone.filter((nodeId) => nodeId !== 'c3')) history = history.markSyncAcknowledged(nodeId, 2);
    expect(history.versions.map((version) => version.version)).toEqual([1, 2]); // c3 still may read v1
    history = history.markSyncAcknowledged('c3', 2);
    expect(history.versions.map((version) => version.version)).toEqual([2]);
    expect(history.writeSets(3)).toEqual([v2.current.table[3]]);
    expect(history.versionStatuses().map(({ version, status }) => [version, status])).toEqual([
      [2, 'current'],
      [1, 'historical'],
      [0, 'historical'],
    ]);
  });

  it('trackers only go up', () => {
    const history = v2.markSynced('a1', 2);
    expect(history.markSynced('a1', 1).tracker('sync', 'a1')).toBe(2);
    expect(history.markSynced('a1', 1)).toBe(history);
  });
});

describe('layout history: merge (CRDT)', () => {
  it('keeps concurrent edits of two nodes, and the later edit of one node', () => {
    const base = firstLayout();
    const onA = base.stageRole('d1', storageRole('dc-d'), { nodeId: 'a1', nowMs: 10_000 });
    const onB = base.stageRole('d2', storageRole('dc-d'), { nodeId: 'b1', nowMs: 10_000 }).stageRole('d1', storageRole('dc-e'), { nodeId: 'b1', nowMs: 10_001 });
    const merged = onA.merge(onB);
    expect(merged.digest()).toBe(onB.merge(onA).digest());
    expect([...merged.stagedRoleChanges().keys()]).toEqual(['d1', 'd2']);
    expect(merged.stagedRoleChanges().get('d1')?.zone).toBe('dc-e');
  });

  it('drops edits stamped before an apply and keeps those after', () => {
    const base = firstLayout();
    const early = base.stageRole('d1', storageRole('dc-d'), { nodeId: 'b1', nowMs: 20_000 });
    const applied = base.stageRole('d2', storageRole('dc-d'), { nodeId: 'a1', nowMs: 20_001 }).apply(2, { nodeId: 'a1', nowMs: 20_002 }).history;
    const late = base.stageRole('d3', storageRole('dc-d'), { nodeId: 'b1', nowMs: 30_000 });
    const merged = applied.merge(early).merge(late);
    expect(merged.current.version).toBe(2);
    expect(merged.current.roles.has('d2')).toBe(true);
    expect([...merged.stagedRoleChanges().keys()]).toEqual(['d3']);
  });

  it('resolves two different versions with one number the same way on every node', () => {
    const base = firstLayout();
    const onA = base.stageRole('d1', storageRole('dc-d'), { nodeId: 'a1', nowMs: 40_000 }).apply(2, { nodeId: 'a1', nowMs: 40_001 }).history;
    const onB = base.stageRole('d2', storageRole('dc-d'), { nodeId: 'b1', nowMs: 40_000 }).apply(2, { nodeId: 'b1', nowMs: 40_001 }).history;
    expect(onA.current.table).not.toEqual(onB.current.table);
    expect(onA.merge(onB).digest()).toBe(onB.merge(onA).digest());
    expect(onA.merge(onB).current.version).toBe(2);
  });

  it('is commutative, associative and idempotent over random replicas', () => {
    let seed = 12345;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const nodes = NINE.map(([nodeId]) => nodeId);
    let replicas = [firstLayout(), firstLayout(), firstLayout()];
    let now = 100_000;
    for (let step = 0; step < 100; step++) {
      const index = Math.floor(random() * replicas.length);
      const replica = replicas[index]!;
      const context = { nodeId: nodes[index]!, nowMs: now + Math.floor(random() * 50) };
      now += 10;
      const action = random();
      let next = replica;
      if (action < 0.25) next = replica.stageRole(`x${Math.floor(random() * 4)}`, storageRole(pick(['dc-a', 'dc-b', 'dc-c', 'dc-d'])), context);
      else if (action < 0.3) next = replica.stageParameters({ zoneRedundancy: pick(['maximum', 2] as const) }, context);
      else if (action < 0.45 && replica.hasStagedChanges() && !(replica.preview() instanceof LayoutError)) next = replica.apply(replica.current.version + 1, context).history;
      else if (action < 0.5) next = replica.revert(context);
      else if (action < 0.7) {
        const tracker = pick(['acknowledge', 'markSynced', 'markSyncAcknowledged'] as const);
        next = replica[tracker](pick(replica.liveNodes()), replica.current.version - Math.floor(random() * 2));
      } else if (action < 0.78) {
        // Every live node finishes the transition to the current version.
        for (const nodeId of replica.liveNodes()) {
          next = next.acknowledge(nodeId, replica.current.version).markSynced(nodeId, replica.current.version).markSyncAcknowledged(nodeId, replica.current.version);
        }
      } else next = replica.merge(pick(replicas));
      replicas = replicas.map((current, position) => (position === index ? next : current));
      const [a, b, c] = replicas as [LayoutHistory, LayoutHistory, LayoutHistory];
      expect(a.merge(b).digest()).toBe(b.merge(a).digest());
      expect(a.merge(b).merge(c).digest()).toBe(a.merge(b.merge(c)).digest());
      expect(a.merge(a).digest()).toBe(a.digest());
      expect(a.merge(b).merge(b).digest()).toBe(a.merge(b).digest());
    }
    // Gossip until everyone agrees: one round of all-to-all merges converges.
    const everything = replicas.reduce((merged, replica) => merged.merge(replica));
    for (const replica of replicas) expect(replica.merge(everything).digest()).toBe(everything.digest());
    expect(everything.current.version).toBeGreaterThan(3);
    expect(everything.retired.length).toBeGreaterThan(1);
  });

  it('refuses to merge histories of different replication factors', () => {
    expect(errorOf(() => LayoutHistory.initial(3).merge(LayoutHistory.initial(2))).reason).toBe('replication-factor-mismatch');
  });
});

describe('layout history: encoding', () => {
  it('round-trips, byte for byte', () => {
    const edit = clock('a1');
    const history = firstLayout()
      .stageRole('d1', storageRole('dc-d', 4, ['rack-1', 'ssd']), edit())
      .stageRole('gw', gateway, edit())
      .apply(2, edit())
      .history.stageParameters({ zoneRedundancy: 2 }, edit())
      .stageRole('a2', null, edit())
      .acknowledge('a1', 2)
      .markSynced('b1', 2);
    const decoded = LayoutHistory.decode(history.encode());
    expect(decoded.encode().equals(history.encode())).toBe(true);
    expect(decoded.digest()).toBe(history.digest());
    expect(decoded.current.roles.get('d1')).toEqual(storageRole('dc-d', 4, ['rack-1', 'ssd']));
    expect(decoded.writeSets(9)).toEqual(history.writeSets(9));
    expect(decoded.stagedRoleChanges()).toEqual(history.stagedRoleChanges());
    expect(decoded.summaryDigest()).toEqual(history.summaryDigest());
  });

  it('is deterministic: the same history built in another order encodes to the same bytes', () => {
    const one = stageAll(LayoutHistory.initial(RF), NINE, clock('a1'));
    const other = stageAll(LayoutHistory.initial(RF), NINE, clock('a1'));
    expect(other.encode().equals(one.encode())).toBe(true);
    const merged = one.merge(LayoutHistory.initial(RF)).merge(other);
    expect(merged.digest()).toBe(one.digest());
    expect(one.apply(1, { nodeId: 'a1', nowMs: 9_999 }).history.digest()).toBe(other.apply(1, { nodeId: 'a1', nowMs: 9_999 }).history.digest());
  });

  it('separates what changes often in the summary digest', () => {
    const history = firstLayout();
    const acked = history.acknowledge('a1', 2);
    expect(acked.summaryDigest().versionsHash).toBe(history.summaryDigest().versionsHash);
    expect(acked.summaryDigest().trackersHash).not.toBe(history.summaryDigest().trackersHash);
  });

  it('refuses malformed bytes with a LayoutError', () => {
    const history = firstLayout();
    const text = history.encode().toString('utf8');
    const bad = [
      Buffer.from('not json'),
      Buffer.from(text.replace('"format":1', '"format":9')),
      Buffer.from(text.replace('"table":[[', '"table":[[99,')),
      Buffer.from(text.replace('"capacity"', '"capacity"').replace(/"dc-a",10000000000/, '"dc-a",0')),
    ];
    for (const bytes of bad) expect(errorOf(() => LayoutHistory.decode(bytes)).reason).toBe('malformed');
  });
});
