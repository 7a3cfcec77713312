// Canonical encoding of the layout history: JSON with a fixed shape, every map as an array sorted
// by key, every object built with its keys in one order, integers only. Equal histories give equal
// bytes on every node, so a sha256 of the bytes compares layouts cheaply (gossip sends digests and
// pulls the full history only when they differ).
//
// Format 1. A version's table is stored as indices into the version's storage nodes sorted by id
// (about 3 KB at RF 3). A later format bumps `format` and decodes format 1 as well.
import { createHash } from 'node:crypto';
import { z } from 'zod';

import { LayoutError } from './errors';
import type { LayoutHistoryParts, LayoutStaging, LayoutVersion, RetiredVersion, StagedRole, UpdateTrackers } from './history';
import { compareIds, LAYOUT_LIMITS, PARTITION_COUNT, type LayoutParameters, type NodeRole, type Stamp } from './types';
import { validateParameters, validateRole } from './validate';

export const LAYOUT_FORMAT = 1;
/** A peer's encoded history larger than this is refused before parsing. */
export const ENCODED_HISTORY_BYTES_MAX = 16 * 1024 * 1024;

type CanonicalStamp = [number, string];
type CanonicalRole = [string, number | null, string[]];
type CanonicalParameters = { zoneRedundancy: 'maximum' | number };

export interface CanonicalVersion {
  version: number;
  replicationFactor: number;
  parameters: CanonicalParameters;
  zoneRedundancy: number;
  partitionSize: number;
  roles: [string, ...CanonicalRole][];
  table: number[][];
}

export interface CanonicalHistory {
  format: number;
  replicationFactor: number;
  versions: CanonicalVersion[];
  retired: [number, number, number, number, string][];
  trackers: { ack: [string, number][]; sync: [string, number][]; syncAck: [string, number][] };
  staging: {
    clearedAt: CanonicalStamp;
    roles: [string, CanonicalRole | null, CanonicalStamp][];
    parameters: [CanonicalParameters, CanonicalStamp] | null;
  };
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---- to canonical form ------------------------------------------------------------------------

function canonicalStamp(stamp: Stamp): CanonicalStamp {
  return [stamp.timestampMs, stamp.nodeId];
}

function canonicalRole(role: NodeRole): CanonicalRole {
  return [role.zone, role.capacity, [...role.tags]];
}

function canonicalParameters(parameters: LayoutParameters): CanonicalParameters {
  return { zoneRedundancy: parameters.zoneRedundancy };
}

function sortedEntries<V>(map: ReadonlyMap<string, V>): [string, V][] {
  return [...map].sort(([a], [b]) => compareIds(a, b));
}

export function canonicalVersion(version: LayoutVersion): CanonicalVersion {
  const roles = sortedEntries(version.roles);
  const storage = roles.filter(([, role]) => role.capacity !== null).map(([nodeId]) => nodeId);
  const index = new Map(storage.map((nodeId, position) => [nodeId, position]));
  return {
    version: version.version,
    replicationFactor: version.replicationFactor,
    parameters: canonicalParameters(version.parameters),
    zoneRedundancy: version.zoneRedundancy,
    partitionSize: version.partitionSize,
    roles: roles.map(([nodeId, role]) => [nodeId, ...canonicalRole(role)]),
    table: version.table.map((row) => row.map((nodeId) => index.get(nodeId)!)),
  };
}

const versionDigests = new WeakMap<LayoutVersion, string>();

/** sha256 of a version's canonical encoding, hex; cached per (immutable) version object. */
export function versionDigest(version: LayoutVersion): string {
  let digest = versionDigests.get(version);
  if (digest === undefined) {
    digest = sha256Hex(JSON.stringify(canonicalVersion(version)));
    versionDigests.set(version, digest);
  }
  return digest;
}

function canonicalTracker(map: ReadonlyMap<string, number>): [string, number][] {
  return sortedEntries(map);
}

export function canonicalStaging(staging: LayoutStaging): CanonicalHistory['staging'] {
  return {
    clearedAt: canonicalStamp(staging.clearedAt),
    roles: sortedEntries(staging.roles).map(([nodeId, entry]) => [nodeId, entry.role && canonicalRole(entry.role), canonicalStamp(entry.stamp)]),
    parameters: staging.parameters && [canonicalParameters(staging.parameters.parameters), canonicalStamp(staging.parameters.stamp)],
  };
}

export function canonicalHistory(history: LayoutHistoryParts): CanonicalHistory {
  return {
    format: LAYOUT_FORMAT,
    replicationFactor: history.replicationFactor,
    versions: history.versions.map(canonicalVersion),
    retired: history.retired.map((summary) => [summary.version, summary.storageNodes, summary.gatewayNodes, summary.partitionSize, summary.digest]),
    trackers: {
      ack: canonicalTracker(history.trackers.ack),
      sync: canonicalTracker(history.trackers.sync),
      syncAck: canonicalTracker(history.trackers.syncAck),
    },
    staging: canonicalStaging(history.staging),
  };
}

/** Total order on staged values (roles, null, parameters) by canonical text: the last tie-break. */
export function compareCanonical(a: unknown, b: unknown): number {
  return compareIds(canonicalText(a), canonicalText(b));
}

function canonicalText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object' && 'zone' in value) return JSON.stringify(canonicalRole(value as NodeRole));
  if (typeof value === 'object' && 'zoneRedundancy' in value) return JSON.stringify(canonicalParameters(value as LayoutParameters));
  return JSON.stringify(value);
}

// ---- from canonical form ----------------------------------------------------------------------

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const nodeId = z.string().min(1).max(LAYOUT_LIMITS.nodeIdLengthMax);
const stampSchema = z.tuple([count, z.string().max(LAYOUT_LIMITS.nodeIdLengthMax)]);
const roleSchema = z.tuple([z.string(), count.nullable(), z.array(z.string()).max(LAYOUT_LIMITS.tagsPerNodeMax)]);
const parametersSchema = z.object({ zoneRedundancy: z.union([z.literal('maximum'), z.number().int()]) }).strict();
const trackerSchema = z.array(z.tuple([nodeId, count]));

const versionSchema = z
  .object({
    version: count,
    replicationFactor: count,
    parameters: parametersSchema,
    zoneRedundancy: count,
    partitionSize: count,
    roles: z.array(z.tuple([nodeId, z.string(), count.nullable(), z.array(z.string()).max(LAYOUT_LIMITS.tagsPerNodeMax)])).max(LAYOUT_LIMITS.nodesMax),
    table: z.array(z.array(count).max(LAYOUT_LIMITS.replicationFactorMax)).length(PARTITION_COUNT),
  })
  .strict();

const historySchema = z
  .object({
    format: z.literal(LAYOUT_FORMAT),
    replicationFactor: count,
    versions: z.array(versionSchema).min(1).max(1000),
    retired: z.array(z.tuple([count, count, count, count, z.string()])).max(LAYOUT_LIMITS.retiredVersionsKeptMax),
    trackers: z.object({ ack: trackerSchema, sync: trackerSchema, syncAck: trackerSchema }).strict(),
    staging: z
      .object({
        clearedAt: stampSchema,
        roles: z.array(z.tuple([nodeId, roleSchema.nullable(), stampSchema])).max(LAYOUT_LIMITS.nodesMax),
        parameters: z.tuple([parametersSchema, stampSchema]).nullable(),
      })
      .strict(),
  })
  .strict();

function stampFrom([timestampMs, nodeId]: CanonicalStamp): Stamp {
  return { timestampMs, nodeId };
}

function roleFrom(nodeId: string, [zone, capacity, tags]: CanonicalRole): NodeRole {
  return validateRole(nodeId, { zone, capacity, tags });
}

function versionFrom(canonical: z.infer<typeof versionSchema>): LayoutVersion {
  const roles = new Map<string, NodeRole>();
  for (const [nodeId, zone, capacity, tags] of [...canonical.roles].sort(([a], [b]) => compareIds(a, b))) {
    if (roles.has(nodeId)) throw new Error(`version ${canonical.version}: node ${nodeId} twice`);
    roles.set(nodeId, roleFrom(nodeId, [zone, capacity, tags]));
  }
  const storage = [...roles].filter(([, role]) => role.capacity !== null).map(([nodeId]) => nodeId);
  const empty = canonical.table.every((row) => row.length === 0);
  const table = canonical.table.map((row, partition) => {
    if (!empty && row.length !== canonical.replicationFactor) throw new Error(`version ${canonical.version}: partition ${partition} has ${row.length} copies`);
    if (new Set(row).size !== row.length) throw new Error(`version ${canonical.version}: partition ${partition} names a node twice`);
    return row.map((index) => {
      const nodeId = storage[index];
      if (nodeId === undefined) throw new Error(`version ${canonical.version}: partition ${partition} names storage node ${index} of ${storage.length}`);
      return nodeId;
    });
  });
  return {
    version: canonical.version,
    replicationFactor: canonical.replicationFactor,
    parameters: validateParameters(canonical.parameters, Math.max(1, canonical.replicationFactor)),
    zoneRedundancy: canonical.zoneRedundancy,
    partitionSize: canonical.partitionSize,
    roles,
    table,
  };
}

function trackerFrom(entries: [string, number][]): ReadonlyMap<string, number> {
  const map = new Map<string, number>();
  for (const [nodeId, version] of entries) map.set(nodeId, Math.max(version, map.get(nodeId) ?? 0));
  return new Map([...map].sort(([a], [b]) => compareIds(a, b)));
}

/** Parses and checks an encoded history; throws LayoutError('malformed') with the first problem. */
export function historyFromCanonical(bytes: Uint8Array): LayoutHistoryParts {
  try {
    if (bytes.length > ENCODED_HISTORY_BYTES_MAX) throw new Error(`${bytes.length} bytes, more than ${ENCODED_HISTORY_BYTES_MAX}`);
    const parsed = historySchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`${issue.path.join('.') || 'value'}: ${issue.message}`);
    }
    const canonical = parsed.data;
    const roles = new Map<string, StagedRole>();
    for (const [nodeId, role, stamp] of canonical.staging.roles) roles.set(nodeId, { role: role && roleFrom(nodeId, role), stamp: stampFrom(stamp) });
    const trackers: UpdateTrackers = {
      ack: trackerFrom(canonical.trackers.ack),
      sync: trackerFrom(canonical.trackers.sync),
      syncAck: trackerFrom(canonical.trackers.syncAck),
    };
    const retired: RetiredVersion[] = canonical.retired.map(([version, storageNodes, gatewayNodes, partitionSize, digest]) => ({
      version,
      storageNodes,
      gatewayNodes,
      partitionSize,
      digest,
    }));
    const parameters = canonical.staging.parameters;
    return {
      replicationFactor: canonical.replicationFactor,
      versions: canonical.versions.map(versionFrom),
      retired,
      trackers,
      staging: {
        clearedAt: stampFrom(canonical.staging.clearedAt),
        roles,
        parameters: parameters && { parameters: validateParameters(parameters[0], Math.max(1, canonical.replicationFactor)), stamp: stampFrom(parameters[1]) },
      },
    };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new LayoutError('malformed', `The encoded layout history is not valid (${detail}); the peer may run another version.`);
  }
}
