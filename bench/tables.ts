// bench/tables: the table engine on three node processes (RF 3, consistent mode).
// Prints quorum write and read latency (p50, p99) and throughput with 32 in flight, from a client
// connected to one node (writes twice: right after start-up, then warm); then, for 100,000
// entries of which 1% changed while one replica was down, the time anti-entropy takes to repair
// it and the bytes the other nodes sent it, next to the bytes of a full copy (and the bytes it
// sent them, and each node's anti-entropy work). Prints figures; decides nothing.
// Run: npm run bench:tables   (options: OPERATIONS=3000 ENTRIES=100000)
import { readFileSync } from 'node:fs';
import type { ActorTreeReport, InspectorMessage } from '../src/actors/cluster/inspector';
import type { TableMessage, TableWriteReply } from '../src/actors/table/table';
import type { SyncStatus } from '../src/actors/table/sync-worker';
import type { ActorInfo } from '../src/actors/runtime';
import type { NodeClient } from '../src/client/node-client';
import { encodeEntry } from '../src/protocols/table';
import { testItemsSchema } from '../src/protocols/table/schemas/test-items';
import { startTableCluster, statsOf, testItem } from '../test/harness/tables';
import type { Cluster } from '../test/harness/cluster';
import { waitFor } from '../test/harness/wait';

const OPERATIONS = Number(process.env.OPERATIONS ?? 3_000);
const ENTRIES = Number(process.env.ENTRIES ?? 100_000);
const IN_FLIGHT = 32;
const INSERT_BATCH = 500;
const TABLE = '/node/tables/test_items';
const ASK_TIMEOUT_MS = 60_000;

async function timed(count: number, inFlight: number, operation: (index: number) => Promise<unknown>): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const begin = performance.now();
      await operation(index);
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (fraction: number): number => latencies[Math.min(latencies.length - 1, Math.floor(fraction * latencies.length))]!;
  return { perSecond: count / seconds, p50: at(0.5), p99: at(0.99) };
}

function insert(client: NodeClient, entries: Buffer[]): Promise<TableWriteReply> {
  return client.ask<TableMessage, TableWriteReply>(TABLE, (replyTo) => ({ type: 'insert', entries, replyTo }), ASK_TIMEOUT_MS);
}

async function quorumFigures(cluster: Cluster): Promise<void> {
  const client = await cluster.client(0);
  try {
    const writes = await timed(OPERATIONS, IN_FLIGHT, (i) => insert(client, [encodeEntry(testItemsSchema, testItem(`bench-${i % 64}`, `key-${i}`, `value-${i}`, 1000 + i))]));
    const reads = await timed(OPERATIONS, IN_FLIGHT, (i) =>
      client.ask<TableMessage, Buffer | null>(TABLE, (replyTo) => ({ type: 'get', partitionKey: Buffer.from(`bench-${i % 64}`), sortKey: Buffer.from(`key-${i}`), replyTo }), ASK_TIMEOUT_MS),
    );
    // The first run starts right after the nodes do and pays for their JIT warm-up (V8's compiler
    // threads took about 40% of the nodes' CPU during it, measured with perf); a second run, of
    // new keys, shows the steady rate.
    const pids = [...cluster.nodes.map((node) => node.process!.child.pid!), process.pid];
    const cpuBefore = pids.map(cpuMsOf);
    const warmWrites = await timed(OPERATIONS, IN_FLIGHT, (i) => insert(client, [encodeEntry(testItemsSchema, testItem(`bench-${i % 64}`, `warm-${i}`, `value-${i}`, 1000 + i))]));
    const cpuPerWrite = pids.map((pid, index) => ((cpuMsOf(pid) - cpuBefore[index]!) * 1000) / OPERATIONS);
    const format = (figures: { perSecond: number; p50: number; p99: number }): string =>
      `${Math.round(figures.perSecond).toLocaleString('en-US').padStart(7)}/s   p50 ${figures.p50.toFixed(1)} ms   p99 ${figures.p99.toFixed(1)} ms`;
    console.log(`quorum writes, ${IN_FLIGHT} in flight   ${format(writes)}   target >= 3,000/s`);
    console.log(`quorum reads,  ${IN_FLIGHT} in flight   ${format(reads)}`);
    console.log(`quorum writes, ${IN_FLIGHT} in flight, second run (warm)   ${format(warmWrites)}`);
    // CPU time is what a shared, noisy machine changes least: 3,000 writes/s on 2 cores needs
    // well under 667 us per write, all processes together.
    const us = (value: number): string => `${Math.round(value)} us`;
    console.log(`CPU per warm write: nodes ${cpuPerWrite.slice(0, -1).map(us).join(', ')} (node 1 coordinates), client ${us(cpuPerWrite.at(-1)!)}; total ${us(cpuPerWrite.reduce((sum, value) => sum + value, 0))}`);
  } finally {
    await client.close();
  }
}

/** User plus system CPU time of a process so far, in milliseconds (Linux /proc, 100 ticks a second). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Bytes sent so far to `peerId` by one node, from its connection actors' counters. */
async function bytesSentTo(cluster: Cluster, index: number, peerId: string): Promise<number> {
  const client = await cluster.client(index);
  try {
    const report = await client.ask<InspectorMessage, ActorTreeReport>('/node/inspector', (replyTo) => ({ type: 'inspect', replyTo }), ASK_TIMEOUT_MS);
    const net = report.actors[0]!.children.find((child: ActorInfo) => child.name === 'net')!;
    return net.children.filter((connection) => connection.status?.peerId === peerId).reduce((sum, connection) => sum + Number(connection.status?.bytesSent ?? 0), 0);
  } finally {
    await client.close();
  }
}

async function syncFigures(cluster: Cluster): Promise<void> {
  const client = await cluster.client(0);
  let fullCopyBytes = 0;
  try {
    for (let start = 0; start < ENTRIES; start += INSERT_BATCH) {
      const entries = Array.from({ length: Math.min(INSERT_BATCH, ENTRIES - start) }, (_, j) => encodeEntry(testItemsSchema, testItem(`sync-${(start + j) % 1000}`, `key-${start + j}`, `value-${start + j}`, 1)));
      fullCopyBytes += entries.reduce((sum, entry) => sum + entry.length, 0);
      await insert(client, entries);
    }
    await waitFor(async () => (await statsOf(cluster, 2)).tables.test_items!.merkleTodo === 0, { what: 'node 3 to index every entry', timeoutMs: 300_000, intervalMs: 1000 });
    await cluster.kill(2);
    const changed = Math.round(ENTRIES / 100);
    for (let start = 0; start < changed; start += INSERT_BATCH) {
      const entries = Array.from({ length: Math.min(INSERT_BATCH, changed - start) }, (_, j) => encodeEntry(testItemsSchema, testItem(`sync-${(start + j) % 1000}`, `key-${start + j}`, `changed-${start + j}`, 2)));
      await insert(client, entries);
    }
  } finally {
    await client.close();
  }
  const before = await Promise.all([0, 1].map((index) => syncCounters(cluster, index)));
  await cluster.restart(2, { bootstrap: false });
  const restartedAt = performance.now();
  const target = (await statsOf(cluster, 0)).tables.test_items!.merkleDigest;
  await waitFor(async () => (await statsOf(cluster, 2)).tables.test_items!.merkleDigest === target, { what: 'node 3 to converge', timeoutMs: 600_000, intervalMs: 250 });
  const seconds = (performance.now() - restartedAt) / 1000;
  const sent = (await bytesSentTo(cluster, 0, cluster.nodes[2]!.nodeId)) + (await bytesSentTo(cluster, 1, cluster.nodes[2]!.nodeId));
  // The other direction too: the repaired node's questions carry its own Merkle nodes, so the
  // repair's whole cost is both figures, not the first alone.
  const sentBack = (await bytesSentTo(cluster, 2, cluster.nodes[0]!.nodeId)) + (await bytesSentTo(cluster, 2, cluster.nodes[1]!.nodeId));
  const after = await Promise.all([0, 1, 2].map((index) => syncCounters(cluster, index)));
  console.log(`sync of ${ENTRIES.toLocaleString('en-US')} entries, 1% changed: ${seconds.toFixed(1)} s after restart (includes start-up and the first round)`);
  console.log(`bytes sent to the repaired node: ${sent.toLocaleString('en-US')} (all traffic on its connections), full copy ${fullCopyBytes.toLocaleString('en-US')}: ${((100 * sent) / fullCopyBytes).toFixed(2)}%   target <= 5%`);
  console.log(`bytes the repaired node sent them: ${sentBack.toLocaleString('en-US')}: ${((100 * sentBack) / fullCopyBytes).toFixed(2)}%; both ways ${((100 * (sent + sentBack)) / fullCopyBytes).toFixed(2)}%`);
  console.log(`anti-entropy since the restart: ${syncLine('node 1', after[0]!, before[0])}`);
  console.log(`                                ${syncLine('node 2', after[1]!, before[1])}`);
  console.log(`                                ${syncLine('node 3', after[2]!)}`);
}

type SyncCounters = Pick<SyncStatus, 'pairsSynced' | 'pairsFailed' | 'rowsPushed' | 'rowsPulled' | 'nodesFetched'>;

async function syncCounters(cluster: Cluster, index: number): Promise<SyncCounters> {
  return (await statsOf(cluster, index)).tables.test_items!.sync as unknown as SyncCounters;
}

/** One node's anti-entropy work: its counters, minus `before` (taken before the restart). */
function syncLine(name: string, now: SyncCounters, before?: SyncCounters): string {
  const since = (key: keyof SyncCounters): number => Number(now[key] ?? 0) - Number(before?.[key] ?? 0);
  return `${name}: ${since('pairsSynced')} walks (${since('pairsFailed')} failed), ${since('rowsPushed')} rows pushed, ${since('rowsPulled')} pulled, ${since('nodesFetched')} Merkle nodes received`;
}

async function main(): Promise<void> {
  const cluster = await startTableCluster(3, { syncIntervalMs: 60_000 });
  try {
    console.log(`bench/tables  (three node processes on 127.0.0.1, RF 3, consistent, node ${process.version})`);
    await quorumFigures(cluster);
    await syncFigures(cluster);
  } finally {
    await cluster.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
