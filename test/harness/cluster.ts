// Real multi-node clusters for integration tests: N `grange server` processes on 127.0.0.1, each
// with its own generated config and temp folders; optional link proxies on every directed link
// (latency, jitter, partitions); kill -9 and restart; waiting for the mesh.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectToNode, type NodeClient } from '../../src/client/node-client';
import type { ClusterStatus, MembershipMessage } from '../../src/actors/cluster/membership';
import { startCli } from './cli';
import { freePort } from './ports';
import { startLinkProxy, type LinkProxy } from './proxy';
import { waitFor } from './wait';

const NODE_START_TIMEOUT_MS = 60_000;
const MESH_TIMEOUT_MS = 60_000;
// Generous: CI runs every node process and the test on the same 2 cores.
const CLIENT_TIMEOUT_MS = 15_000;
const NODE_STOP_TIMEOUT_MS = 20_000;

export interface ClusterOptions {
  size: number;
  /** Every node but the first bootstraps from the first (default), or nobody bootstraps. */
  bootstrap?: 'first' | 'none';
  /** Put a link proxy on every directed link, so tests can add latency or cut links. */
  proxied?: boolean;
  /** Extra TOML lines for every node's config. */
  extraConfig?: string;
  /** TOML for one node, written last (so it may open tables such as [s3_api]). */
  nodeConfig?: (index: number) => string;
  /** Environment of the node processes (GRANGE_LOG and the like). */
  env?: NodeJS.ProcessEnv;
}

export interface ClusterNode {
  index: number;
  folder: string;
  configPath: string;
  rpcPort: number;
  addr: string;
  nodeId: string;
  process: ReturnType<typeof startCli> | null;
  secret: string;
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  /** proxies.get(`${from}->${to}`): the proxy node `from` dials to reach node `to`. */
  readonly proxies = new Map<string, LinkProxy>();
  private readonly root: string;
  private readonly secret = randomBytes(32).toString('hex');

  constructor(private readonly options: ClusterOptions) {
    this.root = mkdtempSync(join(tmpdir(), 'grange-cluster-'));
  }

  async start(): Promise<void> {
    for (let index = 0; index < this.options.size; index++) {
      const rpcPort = await freePort();
      const folder = join(this.root, `node${index + 1}`);
      mkdirSync(folder, { recursive: true });
      this.nodes.push({ index, folder, configPath: join(folder, 'grange.toml'), rpcPort, addr: `127.0.0.1:${rpcPort}`, nodeId: '', process: null, secret: this.secret });
    }
    if (this.options.proxied) await this.startProxies();
    for (const node of this.nodes) {
      this.writeConfig(node, this.options.bootstrap !== 'none' && node.index > 0);
    }
    await Promise.all(this.nodes.map((node) => this.launch(node)));
  }

  private async startProxies(): Promise<void> {
    for (const from of this.nodes) {
      for (const to of this.nodes) {
        if (from === to) continue;
        this.proxies.set(`${from.index}->${to.index}`, await startLinkProxy({ targetHost: '127.0.0.1', targetPort: to.rpcPort }));
      }
    }
  }

  writeConfig(node: ClusterNode, withBootstrap: boolean): void {
    const first = this.nodes[0]!;
    const lines = [
      `metadata_dir = "${join(node.folder, 'meta')}"`,
      `data_dir = "${join(node.folder, 'data')}"`,
      `replication_factor = ${Math.min(3, this.options.size)}`,
      `rpc_secret = "${this.secret}"`,
      `rpc_bind_addr = "127.0.0.1:${node.rpcPort}"`,
      `rpc_public_addr = "127.0.0.1:${node.rpcPort}"`,
      withBootstrap ? `bootstrap_peers = ["${first.addr}"]` : '',
      this.options.extraConfig ?? '',
      this.options.nodeConfig?.(node.index) ?? '',
    ];
    writeFileSync(node.configPath, lines.join('\n') + '\n');
  }

  private dialOverridesFor(node: ClusterNode): string {
    if (!this.options.proxied) return '';
    return this.nodes
      .filter((other) => other !== node)
      .map((other) => `${other.addr}=127.0.0.1:${this.proxies.get(`${node.index}->${other.index}`)!.port}`)
      .join(',');
  }

  private async launch(node: ClusterNode): Promise<void> {
    const env = { ...process.env, ...this.options.env, GRANGE_TEST_DIAL_OVERRIDES: this.dialOverridesFor(node) };
    const started = startCli(['-c', node.configPath, 'server'], { env });
    node.process = started;
    const match = await waitFor(() => /node id:\s+([0-9a-f]{64})/.exec(started.output.stdout), {
      what: `node ${node.index + 1} to start (stderr: ${started.output.stderr.slice(-2000)})`,
      timeoutMs: NODE_START_TIMEOUT_MS,
    });
    node.nodeId = match[1]!;
  }

  /** A client connected to one node, over the real transport. Close it when done. */
  client(index: number, secret = this.secret): Promise<NodeClient> {
    return connectToNode({ addr: this.nodes[index]!.addr, secret: Buffer.from(secret, 'hex'), timeoutMs: CLIENT_TIMEOUT_MS });
  }

  async status(index: number): Promise<ClusterStatus> {
    const client = await this.client(index);
    try {
      return await client.ask<MembershipMessage, ClusterStatus>('/node/membership', (replyTo) => ({ type: 'getClusterStatus', replyTo }), CLIENT_TIMEOUT_MS);
    } finally {
      await client.close();
    }
  }

  /** Waits until every running node sees every node in `expectedUp` up (default: all running). */
  async waitForMesh(expectedUp: number[] = this.runningIndexes(), timeoutMs = MESH_TIMEOUT_MS): Promise<void> {
    const ids = expectedUp.map((index) => this.nodes[index]!.nodeId);
    for (const index of expectedUp) {
      await waitFor(
        async () => {
          const status = await this.status(index);
          return ids.every((id) => status.nodes.some((node) => node.id === id && node.isUp));
        },
        { what: `node ${index + 1} to see nodes ${expectedUp.map((i) => i + 1).join(',')} up`, timeoutMs, intervalMs: 200 },
      );
    }
  }

  runningIndexes(): number[] {
    return this.nodes.filter((node) => node.process !== null).map((node) => node.index);
  }

  async kill(index: number): Promise<void> {
    const node = this.nodes[index]!;
    if (!node.process) return;
    node.process.child.kill('SIGKILL');
    await node.process.exited;
    node.process = null;
  }

  /** Restarts a stopped node; without `bootstrap` its config no longer names any peer. */
  async restart(index: number, options: { bootstrap: boolean }): Promise<void> {
    const node = this.nodes[index]!;
    if (node.process) throw new Error(`node ${index + 1} is running`);
    this.writeConfig(node, options.bootstrap);
    const previousId = node.nodeId;
    await this.launch(node);
    if (node.nodeId !== previousId) throw new Error(`node ${index + 1} came back with another id`);
  }

  /** The link between two nodes, both directions (whichever of them dialed). */
  link(a: number, b: number): { proxies: LinkProxy[] } {
    const proxies = [this.proxies.get(`${a}->${b}`), this.proxies.get(`${b}->${a}`)].filter((proxy): proxy is LinkProxy => proxy !== undefined);
    if (proxies.length !== 2) throw new Error('the cluster was started without proxies');
    return { proxies };
  }

  setLinkLatency(a: number, b: number, delayMs: number, jitterMs = 0): void {
    for (const proxy of this.link(a, b).proxies) proxy.setLatency({ delayMs, jitterMs });
  }

  cutLink(a: number, b: number): void {
    for (const proxy of this.link(a, b).proxies) proxy.cut();
  }

  healLink(a: number, b: number): void {
    for (const proxy of this.link(a, b).proxies) proxy.heal();
  }

  async stop(): Promise<void> {
    // Debugging aid: GRANGE_TEST_LOG_DIR=/some/dir keeps every node's stderr there.
    const logDir = process.env.GRANGE_TEST_LOG_DIR;
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      for (const node of this.nodes) if (node.process) writeFileSync(join(logDir, `node${node.index + 1}.log`), node.process.output.stderr);
    }
    await Promise.all(
      this.nodes.map(async (node) => {
        if (!node.process) return;
        node.process.child.kill('SIGTERM');
        const timer = setTimeout(() => node.process?.child.kill('SIGKILL'), NODE_STOP_TIMEOUT_MS);
        await node.process.exited;
        clearTimeout(timer);
        node.process = null;
      }),
    );
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()));
    rmSync(this.root, { recursive: true, force: true });
  }
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const cluster = new Cluster(options);
  try {
    await cluster.start();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
