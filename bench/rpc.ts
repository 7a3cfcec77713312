// bench/rpc: node-to-node messaging between two real node processes on loopback.
// Prints small asks per second (1 and 64 in flight), MB/s of 1 MiB payloads (encrypted, framed,
// background class), and in the same run the MB/s of the same bytes over a plain TCP socket
// between two processes, with the ratio. Prints figures; decides nothing.
// Run: npm run bench:rpc   (options: SMALL_ASKS=5000 PIPELINED_ASKS=50000 BULK_MIB=300)
import { spawn } from 'node:child_process';
import type { DiagnosticsMessage, LoadReport, LoadRequest } from '../src/actors/cluster/diagnostics';
import { startCluster, type Cluster } from '../test/harness/cluster';
import { freePort } from '../test/harness/ports';

const SMALL_ASKS = Number(process.env.SMALL_ASKS ?? 5_000);
const PIPELINED_ASKS = Number(process.env.PIPELINED_ASKS ?? 50_000);
const BULK_MIB = Number(process.env.BULK_MIB ?? 300);
const BULK_IN_FLIGHT = Number(process.env.BULK_IN_FLIGHT ?? 16);
const MIB = 1024 * 1024;

async function load(cluster: Cluster, request: Omit<LoadRequest, 'peerId'>): Promise<LoadReport> {
  const client = await cluster.client(0);
  try {
    const reply = await client.ask<DiagnosticsMessage, LoadReport | { error: string }>(
      '/node/diagnostics',
      (replyTo) => ({ type: 'runLoad', request: { ...request, peerId: cluster.nodes[1]!.nodeId }, replyTo }),
      600_000,
    );
    if ('error' in reply) throw new Error(reply.error);
    if (reply.failed > 0) throw new Error(`${reply.failed} operations failed: ${reply.firstError}`);
    return reply;
  } finally {
    await client.close();
  }
}

/** The same bytes between two fresh node processes over a plain TCP socket: sender -> sink. */
async function plainTcpMegabytesPerSecond(totalBytes: number): Promise<number> {
  const port = await freePort();
  const sinkSource = `
    const net = require('node:net');
    let received = 0;
    const server = net.createServer((socket) => socket.on('data', (chunk) => {
      received += chunk.length;
      if (received >= ${totalBytes}) { socket.end('k'); server.close(); }
    }));
    server.listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'));`;
  const senderSource = `
    const net = require('node:net');
    const payload = Buffer.alloc(${MIB}, 0x5a);
    let sent = 0;
    const socket = net.connect(${port}, '127.0.0.1', () => {
      const started = process.hrtime.bigint();
      socket.on('data', () => { process.stdout.write(String(Number(process.hrtime.bigint() - started) / 1e6) + '\\n'); socket.destroy(); });
      const pump = () => { while (sent < ${totalBytes}) { sent += payload.length; if (!socket.write(payload)) return socket.once('drain', pump); } };
      pump();
    });`;
  // Each exit is awaited from a promise made at spawn: the sink often exits before the sender,
  // and a listener added after an 'exit' waits forever (this bench once hung so, no timer left).
  const sink = spawn(process.execPath, ['-e', sinkSource], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sinkExited = new Promise((resolve) => sink.on('exit', resolve));
  await new Promise<void>((resolve) => sink.stdout.once('data', () => resolve()));
  const sender = spawn(process.execPath, ['-e', senderSource], { stdio: ['ignore', 'pipe', 'inherit'] });
  const senderExited = new Promise((resolve) => sender.on('exit', resolve));
  let output = '';
  sender.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await Promise.all([senderExited, sinkExited]);
  const elapsedMs = Number(output.trim());
  return totalBytes / 1e6 / (elapsedMs / 1000);
}

async function main(): Promise<void> {
  const cluster = await startCluster({ size: 2 });
  try {
    await cluster.waitForMesh();
    await load(cluster, { mode: 'echo', count: 500, inFlight: 8, payloadBytes: 16, askTimeoutMs: 10_000 }); // warm-up
    const single = await load(cluster, { mode: 'echo', count: SMALL_ASKS, inFlight: 1, payloadBytes: 16, askTimeoutMs: 10_000 });
    const pipelined = await load(cluster, { mode: 'echo', count: PIPELINED_ASKS, inFlight: 64, payloadBytes: 16, askTimeoutMs: 30_000 });
    const bulk = await load(cluster, { mode: 'bulk', count: BULK_MIB, inFlight: BULK_IN_FLIGHT, payloadBytes: MIB, askTimeoutMs: 60_000 });
    const bulkMegabytesPerSecond = (bulk.completed * MIB) / 1e6 / (bulk.elapsedMs / 1000);
    const plainMegabytesPerSecond = await plainTcpMegabytesPerSecond(BULK_MIB * MIB);
    const perSecond = (report: LoadReport): number => Math.round(report.completed / (report.elapsedMs / 1000));
    console.log(`bench/rpc  (two node processes on 127.0.0.1, node ${process.version})`);
    console.log(`small asks/s, 1 in flight     ${perSecond(single).toLocaleString('en-US').padStart(10)}   (p50 ${single.latencyMs!.p50} ms, p99 ${single.latencyMs!.p99} ms)`);
    console.log(`small asks/s, 64 in flight    ${perSecond(pipelined).toLocaleString('en-US').padStart(10)}   (p50 ${pipelined.latencyMs!.p50} ms, p99 ${pipelined.latencyMs!.p99} ms)   target >= 10,000`);
    console.log(`bulk 1 MiB payloads, MB/s     ${bulkMegabytesPerSecond.toFixed(1).padStart(10)}   (encrypted, ${BULK_MIB} MiB, ${BULK_IN_FLIGHT} in flight)`);
    console.log(`plain TCP socket, MB/s        ${plainMegabytesPerSecond.toFixed(1).padStart(10)}   (same bytes, two processes)`);
    console.log(`bulk ratio grange / plain         ${(bulkMegabytesPerSecond / plainMegabytesPerSecond).toFixed(2)}   target >= 0.50`);
  } finally {
    await cluster.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
