// The parent of a table's partition replicas on this node. It exists so that the table actor,
// which handles every quorum operation, has only a few children: nact copies an actor's child
// map on every turn of its mailbox, and with 256 replicas under the coordinator that copy cost
// more than the operation itself (measured with bench/tables, before turns handled batches).
import { assertNever, defineActor, type Ref, type WorkerRunnerMessage } from '../runtime';
import type { MetadataStore } from '../../storage/metadata';
import type { Hasher, TableSchema } from '../../protocols/table';
import { replicaActor, replicaName } from './replica';
import type { SchemaLookup } from './storage';

export const REPLICA_SET_NAME = 'replicas';

export type ReplicaSetMessage = { type: 'ensure'; partitions: number[] };

export interface ReplicaSetComponents {
  schema: TableSchema<unknown>;
  store: MetadataStore;
  hasher: Hasher;
  merkleWorker: Ref<WorkerRunnerMessage>;
  schemaOf: SchemaLookup;
  insertWorkerOf: (table: string) => Ref<WorkerRunnerMessage>;
}

export const replicaSetActor = defineActor<ReplicaSetMessage, Set<number>, ReplicaSetComponents>({
  kind: 'table-replica-set',
  init: () => new Set(),
  handle(message, context) {
    switch (message.type) {
      case 'ensure': {
        const { schema, store, hasher, merkleWorker, schemaOf, insertWorkerOf } = context.components;
        for (const partition of message.partitions) {
          if (context.state.has(partition)) continue;
          context.spawn(replicaActor, replicaName(partition), { schema, partition, store, hasher, merkleWorker, schemaOf, insertWorkerOf });
          context.state.add(partition);
        }
        return;
      }
      default:
        return assertNever(message.type);
    }
  },
  status: (context) => ({ replicas: context.state.size }),
});

/** Where the replica of `partition` of the table at `tablePath` lives, on any node. */
export function replicaPath(tablePath: string, partition: number): string {
  return `${tablePath}/${REPLICA_SET_NAME}/${replicaName(partition)}`;
}
