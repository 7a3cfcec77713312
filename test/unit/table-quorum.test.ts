// Quorum arithmetic: read-after-write overlap in consistent mode, the documented weaker modes,
// writes acknowledged only with a quorum in every live layout version, and read target order.
import {
  fullCopyQuorums,
  isReadQuorumReached,
  isReadQuorumUnreachable,
  isWriteQuorumReached,
  isWriteQuorumUnreachable,
  quorums,
  readTargets,
  REPLICATION_FACTOR_MAX,
  TableError,
  writeTargets,
  type NodeProximity,
} from '../../src/protocols/table';

describe('quorums', () => {
  it('matches Garage for the usual replication factors', () => {
    expect(quorums(1, 'consistent')).toEqual({ read: 1, write: 1 });
    expect(quorums(2, 'consistent')).toEqual({ read: 1, write: 2 });
    expect(quorums(3, 'consistent')).toEqual({ read: 2, write: 2 });
    expect(quorums(5, 'consistent')).toEqual({ read: 3, write: 3 });
    expect(quorums(3, 'degraded')).toEqual({ read: 1, write: 2 });
    expect(quorums(3, 'dangerous')).toEqual({ read: 1, write: 1 });
  });

  it('makes every read quorum meet every write quorum in consistent mode, and keeps W within RF', () => {
    for (let rf = 1; rf <= REPLICATION_FACTOR_MAX; rf += 1) {
      const { read, write } = quorums(rf, 'consistent');
      expect(read + write).toBe(rf + 1);
      expect(write).toBeLessThanOrEqual(rf);
      expect(quorums(rf, 'degraded')).toEqual({ read: 1, write });
    }
  });

  it('refuses replication factors and modes out of range', () => {
    for (const rf of [0, -1, 1.5, REPLICATION_FACTOR_MAX + 1, Number.NaN]) expect(() => quorums(rf, 'consistent')).toThrow(TableError);
    expect(() => quorums(3, 'eventual' as never)).toThrow(TableError);
  });

  it('lets full-copy writes tolerate as many failures as sharded ones, and reads stay local', () => {
    expect(fullCopyQuorums(5, 3, 'consistent')).toEqual({ read: 1, write: 4 });
    expect(fullCopyQuorums(5, 3, 'dangerous')).toEqual({ read: 1, write: 3 });
    expect(fullCopyQuorums(1, 3, 'consistent')).toEqual({ read: 1, write: 1 });
    expect(() => fullCopyQuorums(0, 3, 'consistent')).toThrow(TableError);
  });
});

describe('write quorum over live layout versions', () => {
  const oldSet = ['a', 'b', 'c'];
  const newSet = ['b', 'c', 'd'];

  it('needs W acks in every write set, counting a node once per set it belongs to', () => {
    expect(isWriteQuorumReached([oldSet, newSet], new Set(['a', 'b']), 2)).toBe(false); // new set has only b
    expect(isWriteQuorumReached([oldSet, newSet], new Set(['b', 'c']), 2)).toBe(true);
    expect(isWriteQuorumReached([oldSet, newSet], new Set(['a', 'b', 'd']), 2)).toBe(true);
    expect(isWriteQuorumReached([oldSet], new Set(['a', 'a-unknown', 'z']), 2)).toBe(false);
    expect(isWriteQuorumReached([['a', 'a', 'b']], new Set(['a']), 2)).toBe(false); // a duplicate is one node
    expect(isWriteQuorumReached([], new Set(['a']), 1)).toBe(false);
  });

  it('says when some set can no longer reach W, so the coordinator can answer early', () => {
    expect(isWriteQuorumUnreachable([oldSet, newSet], new Set(['d']), 2)).toBe(false);
    expect(isWriteQuorumUnreachable([oldSet, newSet], new Set(['c', 'd']), 2)).toBe(true);
    expect(isWriteQuorumUnreachable([oldSet, newSet], new Set(['a', 'd']), 2)).toBe(false);
  });

  it('sends to the union of the sets, each node once', () => {
    expect(writeTargets([oldSet, newSet])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses a quorum below one', () => {
    expect(() => isWriteQuorumReached([oldSet], new Set(), 0)).toThrow(TableError);
  });
});

describe('reads', () => {
  it('counts replies of the read set only', () => {
    expect(isReadQuorumReached(['a', 'b', 'c'], new Set(['a', 'x']), 2)).toBe(false);
    expect(isReadQuorumReached(['a', 'b', 'c'], new Set(['a', 'c']), 2)).toBe(true);
    expect(isReadQuorumUnreachable(['a', 'b', 'c'], new Set(['a']), 2)).toBe(false);
    expect(isReadQuorumUnreachable(['a', 'b', 'c'], new Set(['a', 'b']), 2)).toBe(true);
  });

  it('asks the closest R nodes first: self, same zone, lowest RTT, unknown RTT last', () => {
    const proximity: Record<string, NodeProximity> = {
      far: { isSelf: false, sameZone: false, rttMs: 80 },
      near: { isSelf: false, sameZone: false, rttMs: 5 },
      unknown: { isSelf: false, sameZone: false, rttMs: null },
      zone: { isSelf: false, sameZone: true, rttMs: 40 },
      me: { isSelf: true, sameZone: true, rttMs: 0 },
    };
    const targets = readTargets(['far', 'unknown', 'near', 'zone', 'me'], 2, (node) => proximity[node]!);
    expect(targets).toEqual({ first: ['me', 'zone'], spare: ['near', 'far', 'unknown'] });
    const tie = readTargets(['n2', 'n1'], 1, () => ({ isSelf: false, sameZone: false, rttMs: 10 }));
    expect(tie).toEqual({ first: ['n1'], spare: ['n2'] });
  });
});
