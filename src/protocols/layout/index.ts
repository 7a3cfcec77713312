// Public surface of the layout core: roles and parameters, the optimal assignment, the versioned
// history (a CRDT) with its trackers, and the canonical encoding. Actors and the CLI import from here.
import type { LayoutError } from './errors';
import type { LayoutHistory, LayoutPreview } from './history';

export { computeAssignment, type Assignment, type AssignmentInput } from './assignment';
export { ENCODED_HISTORY_BYTES_MAX, LAYOUT_FORMAT, versionDigest } from './encode';
export { LayoutError, type LayoutErrorReason } from './errors';
export {
  LayoutHistory,
  storageNodes,
  type EditContext,
  type LayoutDigest,
  type LayoutHistoryParts,
  type LayoutPreview,
  type LayoutStaging,
  type LayoutVersion,
  type NodeTrackers,
  type RetiredVersion,
  type StagedParameters,
  type StagedRole,
  type TrackerKind,
  type UpdateTrackers,
  type VersionStatus,
} from './history';
export {
  compareStamps,
  DEFAULT_LAYOUT_PARAMETERS,
  isGateway,
  LAYOUT_LIMITS,
  PARTITION_COUNT,
  partitionOf,
  type LayoutParameters,
  type NodeRole,
  type PartitionTable,
  type Stamp,
  type ZoneRedundancy,
} from './types';

/** For the CLI: what applying the staged changes would give, or why it cannot be applied. */
export function previewStagedChanges(history: LayoutHistory): LayoutPreview | LayoutError {
  return history.preview();
}
