// Vocabulary of the cluster layout: node roles, layout parameters, partitions and their bounds.
// Pure data; the algorithm is in assignment.ts and the versioned history in history.ts.

/** Every partition key hashes to 32 bytes; its first byte is its partition, so there are 256. */
export const PARTITION_COUNT = 256;

/** Bounds of what an operator may ask for (TigerBeetle style: every input is bounded). */
export const LAYOUT_LIMITS = {
  /** Garage clusters run with 1 to 3 copies; 7 leaves room and keeps the flow graphs small. */
  replicationFactorMax: 7,
  /** A node id is a hex public key (64 characters); the bound only stops garbage. */
  nodeIdLengthMax: 128,
  zoneNameLengthMax: 64,
  tagLengthMax: 64,
  tagsPerNodeMax: 16,
  /** Storage plus gateway nodes in one layout version. */
  nodesMax: 1000,
  /** Retired versions remembered for `layout history` (Garage keeps about as many). */
  retiredVersionsKeptMax: 10,
} as const;

/**
 * What one node does in the cluster. A storage node has a zone and a capacity in bytes; a gateway
 * (capacity null) serves requests and stores no partition.
 */
export interface NodeRole {
  readonly zone: string;
  /** Bytes this node offers, a positive safe integer; null for a gateway. */
  readonly capacity: number | null;
  readonly tags: readonly string[];
}

/** `maximum`: spread every partition over min(RF, number of zones) zones; N: over at least N zones. */
export type ZoneRedundancy = 'maximum' | number;

export interface LayoutParameters {
  readonly zoneRedundancy: ZoneRedundancy;
}

export const DEFAULT_LAYOUT_PARAMETERS: LayoutParameters = { zoneRedundancy: 'maximum' };

/** For each partition (index 0..255), the ids of the nodes that store it. */
export type PartitionTable = readonly (readonly string[])[];

/** The partition of a 32-byte hash: its first byte. */
export function partitionOf(hash: Uint8Array): number {
  if (hash.length < 1) throw new RangeError('partitionOf: the hash is empty');
  return hash[0]!;
}

export function isGateway(role: NodeRole): boolean {
  return role.capacity === null;
}

/**
 * A last-writer-wins stamp: the author's clock, then its node id to order equal clocks.
 * Invariant: an author never issues two stamps that compare equal (see LayoutHistory.nextStamp).
 */
export interface Stamp {
  readonly timestampMs: number;
  readonly nodeId: string;
}

export const ZERO_STAMP: Stamp = { timestampMs: 0, nodeId: '' };

export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.timestampMs !== b.timestampMs) return a.timestampMs < b.timestampMs ? -1 : 1;
  return compareIds(a.nodeId, b.nodeId);
}

/** Node ids and zone names order by UTF-16 code units: the same on every node, unlike localeCompare. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function rolesEqual(a: NodeRole | null, b: NodeRole | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.zone === b.zone &&
    a.capacity === b.capacity &&
    a.tags.length === b.tags.length &&
    a.tags.every((tag, index) => tag === b.tags[index])
  );
}

export function parametersEqual(a: LayoutParameters, b: LayoutParameters): boolean {
  return a.zoneRedundancy === b.zoneRedundancy;
}
