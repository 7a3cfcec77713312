// Checks of operator input (roles, parameters, replication factor). Each failure is a LayoutError
// whose message says what to change.
import { LayoutError } from './errors';
import { LAYOUT_LIMITS, type LayoutParameters, type NodeRole } from './types';

export function validateReplicationFactor(replicationFactor: number): number {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > LAYOUT_LIMITS.replicationFactorMax) {
    throw new LayoutError(
      'invalid-parameters',
      `Replication factor ${replicationFactor} is not supported: use an integer from 1 to ${LAYOUT_LIMITS.replicationFactorMax} (replication_factor in the config).`,
    );
  }
  return replicationFactor;
}

export function validateParameters(parameters: LayoutParameters, replicationFactor: number): LayoutParameters {
  const { zoneRedundancy } = parameters;
  if (zoneRedundancy === 'maximum') return parameters;
  if (!Number.isInteger(zoneRedundancy) || zoneRedundancy < 1 || zoneRedundancy > replicationFactor) {
    throw new LayoutError(
      'invalid-parameters',
      `Zone redundancy ${String(zoneRedundancy)} is not possible with replication factor ${replicationFactor}: ` +
        `use 'maximum' or an integer from 1 to ${replicationFactor} (layout config -r).`,
    );
  }
  return parameters;
}

export function validateNodeId(nodeId: string): string {
  if (typeof nodeId !== 'string' || nodeId.length === 0 || nodeId.length > LAYOUT_LIMITS.nodeIdLengthMax) {
    throw new LayoutError('invalid-role', `Node id ${JSON.stringify(nodeId)} is not valid: give the node's full id (1 to ${LAYOUT_LIMITS.nodeIdLengthMax} characters).`);
  }
  return nodeId;
}

export function validateRole(nodeId: string, role: NodeRole): NodeRole {
  validateNodeId(nodeId);
  const name = nodeId.slice(0, 16);
  if (typeof role.zone !== 'string' || role.zone.length === 0 || role.zone.length > LAYOUT_LIMITS.zoneNameLengthMax) {
    throw new LayoutError('invalid-role', `Node ${name}: the zone must be a name of 1 to ${LAYOUT_LIMITS.zoneNameLengthMax} characters (layout assign -z ZONE).`);
  }
  if (role.capacity === 0) {
    throw new LayoutError(
      'zero-capacity',
      `Node ${name} has capacity 0: give it a positive capacity (layout assign -c 100G), or make it a gateway (layout assign -g), or remove it (layout remove).`,
    );
  }
  if (role.capacity !== null && (!Number.isSafeInteger(role.capacity) || role.capacity < 0)) {
    throw new LayoutError('invalid-role', `Node ${name}: capacity ${role.capacity} is not a whole number of bytes between 1 and ${Number.MAX_SAFE_INTEGER}.`);
  }
  if (!Array.isArray(role.tags) || role.tags.length > LAYOUT_LIMITS.tagsPerNodeMax) {
    throw new LayoutError('invalid-role', `Node ${name}: at most ${LAYOUT_LIMITS.tagsPerNodeMax} tags.`);
  }
  for (const tag of role.tags) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > LAYOUT_LIMITS.tagLengthMax) {
      throw new LayoutError('invalid-role', `Node ${name}: tag ${JSON.stringify(tag)} must be 1 to ${LAYOUT_LIMITS.tagLengthMax} characters.`);
    }
  }
  return role;
}
