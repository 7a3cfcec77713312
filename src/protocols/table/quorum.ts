// Quorum arithmetic. A write is acknowledged once W replicas hold it; a read merges R replies.
// With R + W > RF every read quorum meets every write quorum, hence read-after-write. While a
// layout change is in progress several layout versions are live: a write must reach W nodes of
// every live version's set, so whichever version reads are later served from, it meets the write.
import { LAYOUT_LIMITS } from '../layout/types';
import { TableError } from './errors';

/** Same values as the config's `consistency_mode`. */
export type ConsistencyMode = 'consistent' | 'degraded' | 'dangerous';

/** The layout's bound: a table never sees a larger replication factor. */
export const REPLICATION_FACTOR_MAX = LAYOUT_LIMITS.replicationFactorMax;

export interface Quorums {
  readonly read: number;
  readonly write: number;
}

/**
 * - consistent: R = ceil(RF/2), W = RF + 1 - R (so R + W = RF + 1);
 * - degraded: R = 1, W as consistent: reads stay available with most replicas down, but may miss
 *   the latest write;
 * - dangerous: R = W = 1: no read-after-write at all.
 */
export function quorums(replicationFactor: number, mode: ConsistencyMode): Quorums {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > REPLICATION_FACTOR_MAX) {
    throw new TableError('invalid-quorum', `replication factor ${replicationFactor} not in 1..${REPLICATION_FACTOR_MAX}`);
  }
  const consistentRead = Math.ceil(replicationFactor / 2);
  const consistentWrite = replicationFactor + 1 - consistentRead;
  switch (mode) {
    case 'consistent':
      return { read: consistentRead, write: consistentWrite };
    case 'degraded':
      return { read: 1, write: consistentWrite };
    case 'dangerous':
      return { read: 1, write: 1 };
    default:
      throw new TableError('invalid-quorum', `unknown consistency mode ${String(mode)}`);
  }
}

/**
 * Full-copy tables (bucket, key, alias) live on every storage node. Reads are local (R = 1: every
 * request reads them, and they change rarely); a write goes to every node and needs all but the
 * failures a sharded write would tolerate, RF - W, so full-copy writes are as available as sharded
 * ones. Anti-entropy with every node covers the rest.
 */
export function fullCopyQuorums(nodeCount: number, replicationFactor: number, mode: ConsistencyMode): Quorums {
  if (!Number.isInteger(nodeCount) || nodeCount < 1) throw new TableError('invalid-quorum', `node count ${nodeCount} must be at least 1`);
  const sharded = quorums(replicationFactor, mode);
  const tolerated = replicationFactor - sharded.write;
  return { read: 1, write: Math.max(1, nodeCount - tolerated) };
}

function checkQuorum(quorum: number): void {
  if (!Number.isInteger(quorum) || quorum < 1) throw new TableError('invalid-quorum', `quorum ${quorum} must be a positive integer`);
}

function countIn(set: readonly string[], nodes: ReadonlySet<string>): number {
  let count = 0;
  for (const node of new Set(set)) if (nodes.has(node)) count += 1;
  return count;
}

/** A write succeeds only when every live version's write set has at least `write` acks. */
export function isWriteQuorumReached(writeSets: readonly (readonly string[])[], acked: ReadonlySet<string>, write: number): boolean {
  checkQuorum(write);
  return writeSets.length > 0 && writeSets.every((set) => countIn(set, acked) >= write);
}

/** Some write set can no longer reach `write` acks: answer the client with an error now. */
export function isWriteQuorumUnreachable(writeSets: readonly (readonly string[])[], failed: ReadonlySet<string>, write: number): boolean {
  checkQuorum(write);
  return writeSets.some((set) => new Set(set).size - countIn(set, failed) < write);
}

/** Every node a write is sent to: the union of the write sets, each node once, in first-seen order. */
export function writeTargets(writeSets: readonly (readonly string[])[]): string[] {
  return [...new Set(writeSets.flat())];
}

export function isReadQuorumReached(readSet: readonly string[], replied: ReadonlySet<string>, read: number): boolean {
  checkQuorum(read);
  return countIn(readSet, replied) >= read;
}

export function isReadQuorumUnreachable(readSet: readonly string[], failed: ReadonlySet<string>, read: number): boolean {
  checkQuorum(read);
  return new Set(readSet).size - countIn(readSet, failed) < read;
}

/** What the coordinator knows of a node, to ask the cheapest replicas first. */
export interface NodeProximity {
  readonly isSelf: boolean;
  readonly sameZone: boolean;
  /** Last measured round trip; null when unknown (asked after every measured node). */
  readonly rttMs: number | null;
}

/**
 * Read targets: ask `read` nodes first, the closest (self, then same zone, then lowest RTT, then
 * node id, so the order is deterministic), and keep the rest as spares to ask when one fails or is
 * slow. Asking only R nodes leaves the other replicas' bandwidth for other requests.
 */
export function readTargets(readSet: readonly string[], read: number, proximity: (nodeId: string) => NodeProximity): { first: string[]; spare: string[] } {
  checkQuorum(read);
  const ordered = [...new Set(readSet)]
    .map((nodeId) => ({ nodeId, rank: proximity(nodeId) }))
    .sort((a, b) => compareProximity(a.rank, b.rank) || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))
    .map((item) => item.nodeId);
  return { first: ordered.slice(0, read), spare: ordered.slice(read) };
}

function compareProximity(a: NodeProximity, b: NodeProximity): number {
  if (a.isSelf !== b.isSelf) return a.isSelf ? -1 : 1;
  if (a.sameZone !== b.sameZone) return a.sameZone ? -1 : 1;
  if (a.rttMs === null || b.rttMs === null) return a.rttMs === b.rttMs ? 0 : a.rttMs === null ? 1 : -1;
  return a.rttMs - b.rttMs;
}
