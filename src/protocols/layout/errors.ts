// The one error of the layout core. Callers (CLI, admin API, layout actor) branch on `reason`;
// the message is for the operator and says what to change. These are operating errors (a request
// that cannot be satisfied, a malformed peer message), never bugs: bugs throw plain Errors.

export type LayoutErrorReason =
  | 'invalid-role' // a zone, capacity or tag out of bounds
  | 'invalid-parameters' // zone redundancy not 'maximum' nor an integer in 1..RF
  | 'unknown-node' // removing a node that has no role
  | 'zero-capacity' // a storage node with capacity 0
  | 'not-enough-storage-nodes' // fewer storage nodes than the replication factor
  | 'not-enough-zones' // fewer zones than the zone redundancy asked
  | 'capacity-too-small' // capacities so small that not every partition copy fits
  | 'too-many-nodes'
  | 'wrong-version' // apply/revert with a version other than current + 1
  | 'nothing-staged' // apply with no staged change
  | 'replication-factor-mismatch' // two histories (or a history and a config) disagree on RF
  | 'malformed'; // an encoded layout that does not decode

export class LayoutError extends Error {
  override readonly name = 'LayoutError';

  constructor(
    readonly reason: LayoutErrorReason,
    detail: string,
  ) {
    super(detail);
  }
}
