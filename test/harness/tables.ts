// Helpers for table tests: a cluster with the test table and a layout applied, and quorum
// operations on the test table through one node, over the real transport.
import type { LayoutMessage, LayoutReply } from '../../src/actors/cluster/layout';
import type { TableMessage, TableWriteReply } from '../../src/actors/table/table';
import { LayoutHistory } from '../../src/protocols/layout';
import { crdt, decodeEntry, encodeEntry, partitionOfKey } from '../../src/protocols/table';
import { replicaPath } from '../../src/actors/table/replica-set';
import type { ReplicaMessage, ReplicaUpdateReply } from '../../src/actors/table/replica';
import type { Ref } from '../../src/actors/runtime';
import { testItemsSchema, type TestItem } from '../../src/protocols/table/schemas/test-items';
import { runCliAsync } from './cli';
import { startCluster, type Cluster } from './cluster';
import { waitFor } from './wait';

const TEST_TABLE_PATH = '/node/tables/test_items';
const ASK_TIMEOUT_MS = 30_000;

export async function layoutOf(cluster: Cluster, index: number): Promise<LayoutHistory> {
  const client = await cluster.client(index);
  try {
    const reply = await client.ask<LayoutMessage, LayoutReply>('/node/layout', (replyTo) => ({ type: 'getLayout', replyTo }), ASK_TIMEOUT_MS);
    if (!reply.ok) throw new Error(reply.error);
    return LayoutHistory.decode(reply.history);
  } finally {
    await client.close();
  }
}

async function askLayout(cluster: Cluster, index: number, makeMessage: (replyTo: Ref<LayoutReply>) => LayoutMessage): Promise<void> {
  const client = await cluster.client(index);
  try {
    const reply = await client.ask<LayoutMessage, LayoutReply>('/node/layout', makeMessage, ASK_TIMEOUT_MS);
    if (!reply.ok) throw new Error(reply.error);
  } finally {
    await client.close();
  }
}

/** Waits until every node sees every tracker of every node at the current version (no change under way). */
export async function waitForLayoutSettled(cluster: Cluster, indexes: number[] = cluster.nodes.map((node) => node.index)): Promise<void> {
  for (const index of indexes) {
    await waitFor(
      async () => {
        const layout = await layoutOf(cluster, index);
        const version = layout.current.version;
        return [...layout.nodeTrackers().values()].every((trackers) => trackers.ack === version && trackers.sync === version && trackers.syncAck === version);
      },
      { what: `node ${index + 1} to see every tracker at the current version`, intervalMs: 200 },
    );
  }
  // The last tracker change started sync rounds: wait for them to end.
  for (const index of indexes) {
    await waitFor(async () => (await statsOf(cluster, index)).tables.test_items!.sync.pendingTasks === 0, { what: `node ${index + 1} to finish its sync round`, intervalMs: 200 });
  }
}

/** Stages a storage role (its own zone) for each node given, or its removal (role null). */
export async function stageRoles(cluster: Cluster, changes: { index: number; remove?: boolean }[]): Promise<void> {
  for (const { index, remove } of changes) {
    const nodeId = cluster.nodes[index]!.nodeId;
    const role = remove ? null : { zone: `zone${index}`, capacity: 1e12, tags: [] };
    await askLayout(cluster, 0, (replyTo) => ({ type: 'stageRole', nodeId, role, replyTo }));
  }
}

/** Applies the staged changes as `version` (through node 1). */
export async function applyLayout(cluster: Cluster, version: number): Promise<void> {
  await askLayout(cluster, 0, (replyTo) => ({ type: 'apply', version, replyTo }));
}

export interface TableClusterOptions {
  proxied?: boolean;
  /** table_sync_interval (default: the node's, 10 minutes). */
  syncIntervalMs?: number;
  /** table_tombstone_gc_delay (default: the node's, 24 hours). */
  gcDelayMs?: number;
  /** Extra TOML lines (top-level keys first, then any tables). */
  extraConfig?: string;
  /** TOML for one node, written after everything else (e.g. its [s3_api] table). */
  nodeConfig?: (index: number) => string;
  /** Serve the test tables (default true). */
  testTables?: boolean;
  layoutNodes?: number;
  /** Extra environment of the node processes (test hooks such as GRANGE_TEST_BLOCK_GC_DELAY_MS). */
  env?: NodeJS.ProcessEnv;
}

/**
 * N nodes serving the test table, each in its own zone, layout version 1 applied everywhere. With
 * `layoutNodes`, only the first that many get a role (the others join a later version).
 */
export async function startTableCluster(size: number, options: TableClusterOptions = {}): Promise<Cluster> {
  const env: NodeJS.ProcessEnv = { ...(options.testTables === false ? {} : { GRANGE_TEST_TABLES: '1' }), ...options.env };
  const extraConfig = [
    options.syncIntervalMs ? `table_sync_interval = "${options.syncIntervalMs}ms"` : '',
    options.gcDelayMs ? `table_tombstone_gc_delay = "${options.gcDelayMs}ms"` : '',
    options.extraConfig ?? '',
  ]
    .filter((line) => line !== '')
    .join('\n');
  const cluster = await startCluster({
    size,
    env,
    ...(options.proxied ? { proxied: true } : {}),
    ...(extraConfig ? { extraConfig } : {}),
    ...(options.nodeConfig ? { nodeConfig: options.nodeConfig } : {}),
  });
  try {
    await cluster.waitForMesh();
    await stageRoles(cluster, cluster.nodes.slice(0, options.layoutNodes ?? size).map((node) => ({ index: node.index })));
    await applyLayout(cluster, 1);
    for (const node of cluster.nodes) {
      await waitFor(async () => (await layoutOf(cluster, node.index)).current.version === 1, { what: `node ${node.index + 1} to reach layout version 1` });
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

export function testItem(pk: string, sk: string, value: string | null, timestampMs: number): TestItem {
  return { pk, sk, value: crdt.lwwNew(value, timestampMs) };
}

/** The test tables (src/protocols/table/schemas/test-items.ts). */
export type TestTable = 'test_items' | 'test_full_items' | 'test_events' | 'test_event_index';

export async function insertItems(cluster: Cluster, index: number, items: TestItem[], table: TestTable = 'test_items'): Promise<void> {
  const client = await cluster.client(index);
  try {
    const entries = items.map((item) => encodeEntry(testItemsSchema, item));
    await client.ask<TableMessage, TableWriteReply>(`/node/tables/${table}`, (replyTo) => ({ type: 'insert', entries, replyTo }), ASK_TIMEOUT_MS);
  } finally {
    await client.close();
  }
}

/**
 * Writes items straight into the replicas of the given nodes, bypassing the coordinator: what a
 * quorum write leaves behind when the other replicas were slow or down.
 */
export async function writeToReplicas(cluster: Cluster, indexes: number[], items: TestItem[]): Promise<void> {
  for (const index of indexes) {
    const client = await cluster.client(index);
    try {
      for (const item of items) {
        const path = replicaPath(TEST_TABLE_PATH, partitionOfKey(Buffer.from(item.pk)));
        const entries = [encodeEntry(testItemsSchema, item)];
        await client.ask<ReplicaMessage, ReplicaUpdateReply>(path, (replyTo) => ({ type: 'update', entries, replyTo }), ASK_TIMEOUT_MS);
      }
    } finally {
      await client.close();
    }
  }
}

export async function readItem(cluster: Cluster, index: number, pk: string, sk: string, table: TestTable = 'test_items'): Promise<TestItem | null> {
  const client = await cluster.client(index);
  try {
    const bytes = await client.ask<TableMessage, Buffer | null>(
      `/node/tables/${table}`,
      (replyTo) => ({ type: 'get', partitionKey: Buffer.from(pk), sortKey: Buffer.from(sk), replyTo }),
      ASK_TIMEOUT_MS,
    );
    return bytes === null ? null : decodeEntry(testItemsSchema, bytes);
  } finally {
    await client.close();
  }
}

export interface TableStatsJson {
  tables: Record<string, { items: number; merkleDigest: string; merkleTodo: number; sync: { rowsPushed: number; rowsPulled: number; rowsHandedOff: number; pendingTasks: number } }>;
}

/** `grange stats --json` of one node, through the real CLI. */
export async function statsOf(cluster: Cluster, index: number): Promise<TableStatsJson> {
  const result = await runCliAsync(['-c', cluster.nodes[index]!.configPath, 'stats', '--json']);
  if (result.status !== 0) throw new Error(`grange stats exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as TableStatsJson;
}

export async function rangeItems(cluster: Cluster, index: number, pk: string, options: { start?: string; end?: string; limit?: number; reverse?: boolean } = {}): Promise<TestItem[]> {
  const client = await cluster.client(index);
  try {
    const rows = await client.ask<TableMessage, Buffer[]>(
      TEST_TABLE_PATH,
      (replyTo) => ({
        type: 'range',
        partitionKey: Buffer.from(pk),
        start: options.start === undefined ? null : Buffer.from(options.start),
        end: options.end === undefined ? null : Buffer.from(options.end),
        limit: options.limit ?? 1000,
        reverse: options.reverse ?? false,
        replyTo,
      }),
      ASK_TIMEOUT_MS,
    );
    return rows.map((bytes) => decodeEntry(testItemsSchema, bytes));
  } finally {
    await client.close();
  }
}
