// The versioned layout history, a state-based CRDT that every node holds and gossips.
//
//   versions   the live layout versions, contiguous and ascending; the last is current. A version is
//              immutable once applied; two different versions with one number (two operators applying
//              at once, which the CLI warns against) resolve to the one with the larger digest.
//   retired    short summaries of the last retired versions, for `layout history`.
//   trackers   per node, merged by max (Garage 1.x): `ack` = the newest version the node writes to
//              (it no longer writes with older sets only); `sync` = the newest version whose
//              partitions the node has finished copying from older versions; `syncAck` = the newest
//              version the node has seen readable, so it reads nothing older any more.
//   staging    the changes proposed for the next version: a last-writer-wins entry per node role and
//              one for the parameters, stamped (clock, author); `clearedAt` voids every entry stamped
//              at or before it (apply and revert clear the staging area). Concurrent edits of
//              different nodes both survive a merge; of the same node, the later stamp wins.
//
// While a change is in progress, writes go to the nodes of every live version (a quorum in each),
// and reads go to the newest version whose storage nodes have all synced it. Version v retires once
// every node with a role in v or in the next version has sync-acknowledged that next version: no one
// reads v any more, and its data lives on in the newer versions. Only that rule and `merge` remove
// versions, so merge is commutative, associative and idempotent (the pruning is monotone in the
// state: more versions or higher trackers can only retire more).
//
// Pure: clocks come in through EditContext; nothing here does I/O.
import { computeAssignment, type Assignment } from './assignment';
import { canonicalHistory, compareCanonical, historyFromCanonical, sha256Hex, versionDigest, type CanonicalHistory } from './encode';
import { LayoutError } from './errors';
import {
  compareIds,
  compareStamps,
  DEFAULT_LAYOUT_PARAMETERS,
  LAYOUT_LIMITS,
  parametersEqual,
  PARTITION_COUNT,
  rolesEqual,
  ZERO_STAMP,
  type LayoutParameters,
  type NodeRole,
  type PartitionTable,
  type Stamp,
} from './types';
import { validateNodeId, validateParameters, validateReplicationFactor, validateRole } from './validate';

export interface LayoutVersion {
  readonly version: number;
  readonly replicationFactor: number;
  /** As the operator set them (`maximum` stays `maximum`). */
  readonly parameters: LayoutParameters;
  /** The zone count every partition spans at least in this version; 0 when it has no storage node. */
  readonly zoneRedundancy: number;
  /** Sorted by node id. Gateways have capacity null. */
  readonly roles: ReadonlyMap<string, NodeRole>;
  /** Bytes per partition; 0 when the version has no storage node. */
  readonly partitionSize: number;
  /** 256 rows of replicationFactor node ids; every row empty when the version has no storage node. */
  readonly table: PartitionTable;
}

export interface StagedRole {
  /** null: remove the node from the layout. */
  readonly role: NodeRole | null;
  readonly stamp: Stamp;
}

export interface StagedParameters {
  readonly parameters: LayoutParameters;
  readonly stamp: Stamp;
}

export interface LayoutStaging {
  readonly clearedAt: Stamp;
  /** Sorted by node id; every stamp is after clearedAt. */
  readonly roles: ReadonlyMap<string, StagedRole>;
  readonly parameters: StagedParameters | null;
}

export interface UpdateTrackers {
  readonly ack: ReadonlyMap<string, number>;
  readonly sync: ReadonlyMap<string, number>;
  readonly syncAck: ReadonlyMap<string, number>;
}

export type TrackerKind = keyof UpdateTrackers;

export interface RetiredVersion {
  readonly version: number;
  readonly storageNodes: number;
  readonly gatewayNodes: number;
  readonly partitionSize: number;
  readonly digest: string;
}

/** Who edits, and when: the local node's id and its injected clock. */
export interface EditContext {
  readonly nodeId: string;
  readonly nowMs: number;
}

/** What `layout show` prints before an apply: the version the staged changes would produce. */
export interface LayoutPreview extends Assignment {
  readonly version: number;
  readonly parameters: LayoutParameters;
  readonly roles: ReadonlyMap<string, NodeRole>;
}

export interface VersionStatus {
  readonly version: number;
  /** current: the newest; draining: older but live (still written, maybe read); historical: retired. */
  readonly status: 'current' | 'draining' | 'historical';
  readonly storageNodes: number;
  readonly gatewayNodes: number;
  readonly partitionSize: number;
}

export interface NodeTrackers {
  readonly ack: number;
  readonly sync: number;
  readonly syncAck: number;
}

/** A cheap summary to gossip: two nodes with equal digests hold equal histories. */
export interface LayoutDigest {
  readonly currentVersion: number;
  readonly oldestLiveVersion: number;
  /** Hash of versions and retired summaries; trackers and staging change more often, so apart. */
  readonly versionsHash: string;
  readonly trackersHash: string;
  readonly stagingHash: string;
}

export interface LayoutHistoryParts {
  readonly replicationFactor: number;
  readonly versions: readonly LayoutVersion[];
  readonly retired: readonly RetiredVersion[];
  readonly trackers: UpdateTrackers;
  readonly staging: LayoutStaging;
}

const EMPTY_TRACKERS: UpdateTrackers = { ack: new Map(), sync: new Map(), syncAck: new Map() };

export class LayoutHistory {
  // Caches: a history is immutable, and tables ask for the read version on every request.
  private encoded: Buffer | null = null;
  private readVersionCache: number | null = null;

  private constructor(
    readonly replicationFactor: number,
    /** Live versions, ascending and contiguous; never empty. */
    readonly versions: readonly LayoutVersion[],
    readonly retired: readonly RetiredVersion[],
    readonly trackers: UpdateTrackers,
    readonly staging: LayoutStaging,
  ) {}

  /** A new cluster: version 0, no roles, nothing staged. */
  static initial(replicationFactor: number): LayoutHistory {
    validateReplicationFactor(replicationFactor);
    const empty = emptyVersion(0, replicationFactor, DEFAULT_LAYOUT_PARAMETERS, new Map());
    return new LayoutHistory(replicationFactor, [empty], [], EMPTY_TRACKERS, { clearedAt: ZERO_STAMP, roles: new Map(), parameters: null });
  }

  /**
   * The one way to build a history from parts: retires old versions while the rule allows (see the
   * header) and trims the retired summaries. Invariant after it: live versions are contiguous,
   * ascending and never empty.
   */
  private static normalize(
    replicationFactor: number,
    versions: readonly LayoutVersion[],
    retired: readonly RetiredVersion[],
    trackers: UpdateTrackers,
    staging: LayoutStaging,
  ): LayoutHistory {
    const live = [...versions];
    const newlyRetired: RetiredVersion[] = [];
    while (live.length > 1 && retirable(live[0]!, live[1]!, trackers)) newlyRetired.push(summarizeRetired(live.shift()!));
    return new LayoutHistory(replicationFactor, live, mergeRetired([...retired, ...newlyRetired]), trackers, staging);
  }

  /** Rebuilds a history from its parts (decoded from a peer), restoring every invariant. */
  static fromParts(parts: LayoutHistoryParts): LayoutHistory {
    validateReplicationFactor(parts.replicationFactor);
    for (const version of parts.versions) {
      if (version.replicationFactor !== parts.replicationFactor) throw rfMismatch(parts.replicationFactor, version.replicationFactor);
    }
    const versions = pickVersions(parts.versions);
    if (versions.length === 0) throw new LayoutError('malformed', 'A layout history must hold at least one version.');
    const floor = versions[0]!.version;
    const contiguous = versions.filter((version, index) => version.version === floor + index);
    if (contiguous.length !== versions.length) throw new LayoutError('malformed', 'The live layout versions are not contiguous.');
    const retired = parts.retired.filter((summary) => summary.version < floor);
    return LayoutHistory.normalize(parts.replicationFactor, versions, retired, parts.trackers, mergeStaging(parts.staging, parts.staging));
  }

  /** Decodes bytes made by encode(); throws LayoutError('malformed') on anything else. */
  static decode(bytes: Uint8Array): LayoutHistory {
    return LayoutHistory.fromParts(historyFromCanonical(bytes));
  }

  get current(): LayoutVersion {
    return this.versions[this.versions.length - 1]!;
  }

  get oldestLive(): LayoutVersion {
    return this.versions[0]!;
  }

  version(number: number): LayoutVersion | undefined {
    return this.versions[number - this.oldestLive.version];
  }

  // ---- staging --------------------------------------------------------------------------------

  /** A stamp after every stamp this history holds, so the local edit wins over all it has seen. */
  nextStamp(context: EditContext): Stamp {
    let latest = this.staging.clearedAt.timestampMs;
    for (const entry of this.staging.roles.values()) latest = Math.max(latest, entry.stamp.timestampMs);
    if (this.staging.parameters) latest = Math.max(latest, this.staging.parameters.stamp.timestampMs);
    return { timestampMs: Math.max(Math.floor(context.nowMs), latest + 1), nodeId: validateNodeId(context.nodeId) };
  }

  /** Stages a role for a node (null: remove it from the layout). */
  stageRole(nodeId: string, role: NodeRole | null, context: EditContext): LayoutHistory {
    validateNodeId(nodeId);
    if (role === null) {
      if (!this.nextRoles().has(nodeId) && !this.current.roles.has(nodeId)) {
        throw new LayoutError('unknown-node', `Node ${nodeId.slice(0, 16)} has no role to remove: check its id (layout show lists the nodes).`);
      }
    } else {
      const tags = [...role.tags];
      role = validateRole(nodeId, { zone: role.zone, capacity: role.capacity, tags });
    }
    const roles = new Map(this.staging.roles);
    roles.set(nodeId, { role, stamp: this.nextStamp(context) });
    return this.withStaging({ ...this.staging, roles: sortedMap(roles) });
  }

  stageParameters(parameters: LayoutParameters, context: EditContext): LayoutHistory {
    const checked = validateParameters({ zoneRedundancy: parameters.zoneRedundancy }, this.replicationFactor);
    return this.withStaging({ ...this.staging, parameters: { parameters: checked, stamp: this.nextStamp(context) } });
  }

  /** The staged role changes that differ from the current version, sorted by node id. */
  stagedRoleChanges(): ReadonlyMap<string, NodeRole | null> {
    const changes = new Map<string, NodeRole | null>();
    for (const [nodeId, { role }] of this.staging.roles) {
      if (!rolesEqual(role, this.current.roles.get(nodeId) ?? null)) changes.set(nodeId, role);
    }
    return changes;
  }

  /** The staged parameters when they differ from the current ones, else null. */
  stagedParameters(): LayoutParameters | null {
    const staged = this.staging.parameters?.parameters ?? null;
    return staged && !parametersEqual(staged, this.current.parameters) ? staged : null;
  }

  hasStagedChanges(): boolean {
    return this.stagedRoleChanges().size > 0 || this.stagedParameters() !== null;
  }

  /** The roles of the next version: the current ones with the staged changes applied. */
  nextRoles(): ReadonlyMap<string, NodeRole> {
    const roles = new Map(this.current.roles);
    for (const [nodeId, { role }] of this.staging.roles) {
      if (role === null) roles.delete(nodeId);
      else roles.set(nodeId, role);
    }
    return sortedMap(roles);
  }

  nextParameters(): LayoutParameters {
    return this.staging.parameters?.parameters ?? this.current.parameters;
  }

  /** The version the staged changes would produce, or why they cannot. Does not change anything. */
  preview(): LayoutPreview | LayoutError {
    try {
      return this.computeNext();
    } catch (error) {
      if (error instanceof LayoutError) return error;
      throw error;
    }
  }

  /** Applies the staged changes as version `version`, which must be current + 1. */
  apply(version: number, context: EditContext): { history: LayoutHistory; preview: LayoutPreview } {
    this.checkNextVersion(version, 'apply');
    if (!this.hasStagedChanges()) {
      throw new LayoutError('nothing-staged', 'No layout change is staged: stage one first (layout assign, layout remove or layout config), then apply.');
    }
    const preview = this.computeNext();
    const next: LayoutVersion = {
      version,
      replicationFactor: this.replicationFactor,
      parameters: preview.parameters,
      zoneRedundancy: preview.zoneRedundancy,
      roles: preview.roles,
      partitionSize: preview.partitionSize,
      table: preview.table,
    };
    const cleared: LayoutStaging = { clearedAt: this.nextStamp(context), roles: new Map(), parameters: null };
    const history = LayoutHistory.normalize(this.replicationFactor, [...this.versions, next], this.retired, this.trackers, cleared);
    return { history, preview };
  }

  /** Drops every staged change (on every node, once merged). */
  revert(context: EditContext): LayoutHistory {
    return this.withStaging({ clearedAt: this.nextStamp(context), roles: new Map(), parameters: null });
  }

  // ---- trackers and the API of tables and blocks ----------------------------------------------

  /** Node `nodeId` now writes to every version up to `version`. */
  acknowledge(nodeId: string, version: number): LayoutHistory {
    return this.withTracker('ack', nodeId, version);
  }

  /** Node `nodeId` has finished copying, from older versions, the partitions it holds in `version`. */
  markSynced(nodeId: string, version: number): LayoutHistory {
    return this.withTracker('sync', nodeId, version);
  }

  /** Node `nodeId` has seen `version` readable and reads nothing older any more. */
  markSyncAcknowledged(nodeId: string, version: number): LayoutHistory {
    return this.withTracker('syncAck', nodeId, version);
  }

  /** A node's tracker, at least the oldest live version (every node is done with what retired). */
  tracker(kind: TrackerKind, nodeId: string): number {
    return Math.max(this.trackers[kind].get(nodeId) ?? 0, this.oldestLive.version);
  }

  /** Every node (storage or gateway) with a role in a live version, sorted. */
  liveNodes(): string[] {
    const nodes = new Set<string>();
    for (const version of this.versions) for (const nodeId of version.roles.keys()) nodes.add(nodeId);
    return [...nodes].sort(compareIds);
  }

  nodeTrackers(): ReadonlyMap<string, NodeTrackers> {
    return new Map(this.liveNodes().map((nodeId) => [nodeId, { ack: this.tracker('ack', nodeId), sync: this.tracker('sync', nodeId), syncAck: this.tracker('syncAck', nodeId) }]));
  }

  /** The newest version every live node writes to: syncing `version` may start once this reaches it. */
  allAcknowledged(): number {
    return this.minTracker('ack', this.liveNodes());
  }

  /** The newest version every storage node of the live versions has synced. */
  allSynced(): number {
    const storage = new Set<string>();
    for (const version of this.versions) for (const nodeId of storageNodes(version)) storage.add(nodeId);
    return this.minTracker('sync', [...storage]);
  }

  /** One node set per live version, oldest first (empty versions skipped): a write needs a quorum in each. */
  writeSets(partition: number): (readonly string[])[] {
    checkPartition(partition);
    return this.versions.filter(hasStorage).map((version) => version.table[partition]!);
  }

  /** Every node that should hold the partition now: the union of the write sets. */
  storageNodesOf(partition: number): string[] {
    return [...new Set(this.writeSets(partition).flat())].sort(compareIds);
  }

  /** The version reads use: the newest live version whose storage nodes have all synced it. */
  readVersion(): number {
    this.readVersionCache ??= this.findReadVersion();
    return this.readVersionCache;
  }

  private findReadVersion(): number {
    for (let index = this.versions.length - 1; index > 0; index--) {
      const version = this.versions[index]!;
      if (hasStorage(version) && storageNodes(version).every((nodeId) => this.tracker('sync', nodeId) >= version.version)) return version.version;
    }
    return this.oldestLive.version;
  }

  readNodes(partition: number): readonly string[] {
    checkPartition(partition);
    return this.version(this.readVersion())!.table[partition]!;
  }

  /** The partitions a node holds in a live version (what it must sync for that version). */
  partitionsOf(nodeId: string, version: number): number[] {
    const layout = this.version(version);
    if (!layout) return [];
    const partitions: number[] = [];
    layout.table.forEach((row, partition) => row.includes(nodeId) && partitions.push(partition));
    return partitions;
  }

  /** Live and retired versions, newest first, for `layout history`. */
  versionStatuses(): VersionStatus[] {
    const live = this.versions.map((version): VersionStatus => {
      const storage = storageNodes(version).length;
      return {
        version: version.version,
        status: version === this.current ? 'current' : 'draining',
        storageNodes: storage,
        gatewayNodes: version.roles.size - storage,
        partitionSize: version.partitionSize,
      };
    });
    const retired = this.retired.map(
      ({ version, storageNodes, gatewayNodes, partitionSize }): VersionStatus => ({ version, status: 'historical', storageNodes, gatewayNodes, partitionSize }),
    );
    return [...live, ...retired].sort((a, b) => b.version - a.version);
  }

  // ---- CRDT -------------------------------------------------------------------------------------

  /** Commutative, associative, idempotent. Throws LayoutError when the replication factors differ. */
  merge(other: LayoutHistory): LayoutHistory {
    if (other === this) return this;
    if (other.replicationFactor !== this.replicationFactor) throw rfMismatch(this.replicationFactor, other.replicationFactor);
    const floor = Math.max(this.oldestLive.version, other.oldestLive.version);
    const all = pickVersions([...this.versions, ...other.versions]);
    const live = all.filter((version) => version.version >= floor);
    const dropped = all.filter((version) => version.version < floor).map(summarizeRetired);
    const retired = mergeRetired([...this.retired, ...other.retired, ...dropped]);
    const trackers: UpdateTrackers = {
      ack: mergeMax(this.trackers.ack, other.trackers.ack),
      sync: mergeMax(this.trackers.sync, other.trackers.sync),
      syncAck: mergeMax(this.trackers.syncAck, other.trackers.syncAck),
    };
    return LayoutHistory.normalize(this.replicationFactor, live, retired, trackers, mergeStaging(this.staging, other.staging));
  }

  // ---- encoding ---------------------------------------------------------------------------------

  /** Canonical bytes: equal histories encode to equal bytes, on every node. Shared: do not mutate. */
  encode(): Buffer {
    this.encoded ??= Buffer.from(JSON.stringify(this.canonical()), 'utf8');
    return this.encoded;
  }

  /** sha256 of the canonical encoding, hex. */
  digest(): string {
    return sha256Hex(this.encode());
  }

  summaryDigest(): LayoutDigest {
    const canonical = this.canonical();
    return {
      currentVersion: this.current.version,
      oldestLiveVersion: this.oldestLive.version,
      versionsHash: sha256Hex(JSON.stringify([canonical.replicationFactor, canonical.versions, canonical.retired])),
      trackersHash: sha256Hex(JSON.stringify(canonical.trackers)),
      stagingHash: sha256Hex(JSON.stringify(canonical.staging)),
    };
  }

  private canonical(): CanonicalHistory {
    return canonicalHistory(this);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private computeNext(): LayoutPreview {
    const roles = this.nextRoles();
    const parameters = this.nextParameters();
    const previous = hasStorage(this.current) ? this.current.table : null;
    const assignment = computeAssignment({ replicationFactor: this.replicationFactor, parameters, roles, previous });
    return { ...assignment, version: this.current.version + 1, parameters, roles };
  }

  private checkNextVersion(version: number, action: string): void {
    const expected = this.current.version + 1;
    if (version !== expected) {
      throw new LayoutError(
        'wrong-version',
        `Cannot ${action} version ${version}: the current layout is version ${this.current.version}, so the next one is ${expected}. ` +
          `Run layout show to see the current version, then ${action} with --version ${expected}.`,
      );
    }
  }

  private withStaging(staging: LayoutStaging): LayoutHistory {
    return new LayoutHistory(this.replicationFactor, this.versions, this.retired, this.trackers, staging);
  }

  private withTracker(kind: TrackerKind, nodeId: string, version: number): LayoutHistory {
    validateNodeId(nodeId);
    if (!Number.isSafeInteger(version) || version < 0) throw new RangeError(`tracker version ${version} must be an integer >= 0`);
    if (this.tracker(kind, nodeId) >= version) return this;
    const map = new Map(this.trackers[kind]);
    map.set(nodeId, version);
    const trackers = { ...this.trackers, [kind]: sortedMap(map) };
    return LayoutHistory.normalize(this.replicationFactor, this.versions, this.retired, trackers, this.staging);
  }

  private minTracker(kind: TrackerKind, nodeIds: readonly string[]): number {
    if (nodeIds.length === 0) return this.current.version;
    return Math.min(...nodeIds.map((nodeId) => this.tracker(kind, nodeId)));
  }
}

// ---- pure helpers ---------------------------------------------------------------------------------

function emptyVersion(version: number, replicationFactor: number, parameters: LayoutParameters, roles: ReadonlyMap<string, NodeRole>): LayoutVersion {
  return { version, replicationFactor, parameters, zoneRedundancy: 0, roles, partitionSize: 0, table: Array.from({ length: PARTITION_COUNT }, () => []) };
}

const storageNodeCache = new WeakMap<LayoutVersion, readonly string[]>();

/** The storage nodes of a version (roles with a capacity), sorted by id. */
export function storageNodes(version: LayoutVersion): readonly string[] {
  let nodes = storageNodeCache.get(version);
  if (nodes === undefined) {
    nodes = [...version.roles].filter(([, role]) => role.capacity !== null).map(([nodeId]) => nodeId).sort(compareIds);
    storageNodeCache.set(version, nodes);
  }
  return nodes;
}

function hasStorage(version: LayoutVersion): boolean {
  return version.table[0]!.length > 0;
}

function checkPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= PARTITION_COUNT) {
    throw new RangeError(`partition ${partition} outside 0..${PARTITION_COUNT - 1}`);
  }
}

function rfMismatch(ours: number, theirs: number): LayoutError {
  return new LayoutError(
    'replication-factor-mismatch',
    `This layout uses replication factor ${ours} and the other ${theirs}: every node of a cluster needs the same replication_factor in its config.`,
  );
}

/** Version `old` may retire once its successor is readable to everyone who may read or write it. */
function retirable(old: LayoutVersion, next: LayoutVersion, trackers: UpdateTrackers): boolean {
  if (!hasStorage(old)) return true; // it stores nothing: there is nothing to drain
  const nodes = new Set([...old.roles.keys(), ...next.roles.keys()]);
  for (const nodeId of nodes) if ((trackers.syncAck.get(nodeId) ?? 0) < next.version) return false;
  return true;
}

function summarizeRetired(version: LayoutVersion): RetiredVersion {
  const storage = storageNodes(version).length;
  return {
    version: version.version,
    storageNodes: storage,
    gatewayNodes: version.roles.size - storage,
    partitionSize: version.partitionSize,
    digest: versionDigest(version),
  };
}

/** Union by version number (the larger digest wins a conflict), the newest few kept, ascending. */
function mergeRetired(summaries: readonly RetiredVersion[]): RetiredVersion[] {
  const byVersion = new Map<number, RetiredVersion>();
  for (const summary of summaries) {
    const known = byVersion.get(summary.version);
    if (!known || summary.digest > known.digest) byVersion.set(summary.version, summary);
  }
  return [...byVersion.values()].sort((a, b) => a.version - b.version).slice(-LAYOUT_LIMITS.retiredVersionsKeptMax);
}

/** Union by version number, ascending; of two different versions with one number, the larger digest. */
function pickVersions(versions: readonly LayoutVersion[]): LayoutVersion[] {
  const byNumber = new Map<number, LayoutVersion>();
  for (const version of versions) {
    const known = byNumber.get(version.version);
    if (!known || (known !== version && versionDigest(version) > versionDigest(known))) byNumber.set(version.version, version);
  }
  return [...byNumber.values()].sort((a, b) => a.version - b.version);
}

function mergeMax(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): ReadonlyMap<string, number> {
  const merged = new Map(a);
  for (const [key, value] of b) merged.set(key, Math.max(value, merged.get(key) ?? 0));
  return sortedMap(merged);
}

/** LWW per entry; the larger clearedAt voids every entry stamped at or before it. */
function mergeStaging(a: LayoutStaging, b: LayoutStaging): LayoutStaging {
  const clearedAt = compareStamps(a.clearedAt, b.clearedAt) >= 0 ? a.clearedAt : b.clearedAt;
  const roles = new Map<string, StagedRole>();
  for (const [nodeId, entry] of [...a.roles, ...b.roles]) {
    if (compareStamps(entry.stamp, clearedAt) <= 0) continue;
    const known = roles.get(nodeId);
    if (!known || laterEntry(entry.stamp, entry.role, known.stamp, known.role)) roles.set(nodeId, entry);
  }
  let parameters: StagedParameters | null = null;
  for (const entry of [a.parameters, b.parameters]) {
    if (!entry || compareStamps(entry.stamp, clearedAt) <= 0) continue;
    if (!parameters || laterEntry(entry.stamp, entry.parameters, parameters.stamp, parameters.parameters)) parameters = entry;
  }
  return { clearedAt, roles: sortedMap(roles), parameters };
}

/** Is (stamp, value) later than (otherStamp, otherValue)? Equal stamps (a broken clock) fall back to the values' encodings. */
function laterEntry(stamp: Stamp, value: unknown, otherStamp: Stamp, otherValue: unknown): boolean {
  const order = compareStamps(stamp, otherStamp);
  return order !== 0 ? order > 0 : compareCanonical(value, otherValue) > 0;
}

function sortedMap<V>(map: ReadonlyMap<string, V>): Map<string, V> {
  return new Map([...map].sort(([a], [b]) => compareIds(a, b)));
}
