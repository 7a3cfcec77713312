// Layout propagation with real node processes: staging and applying through the CLI, every node
// converging to the same version, concurrent staging merging, and a restarted node keeping it.
import type { LayoutMessage, LayoutReply } from '../../src/actors/cluster/layout';
import { LayoutHistory, versionDigest } from '../../src/protocols/layout';
import { runCli } from '../harness/cli';
import { startCluster, type Cluster } from '../harness/cluster';
import { waitFor } from '../harness/wait';

jest.setTimeout(180_000);

async function layoutOf(cluster: Cluster, index: number): Promise<LayoutHistory> {
  const client = await cluster.client(index);
  try {
    const reply = await client.ask<LayoutMessage, LayoutReply>('/node/layout', (replyTo) => ({ type: 'getLayout', replyTo }), 5000);
    if (!reply.ok) throw new Error(reply.error);
    return LayoutHistory.decode(reply.history);
  } finally {
    await client.close();
  }
}

function cli(cluster: Cluster, index: number, args: string[]): string {
  const result = runCli(['-c', cluster.nodes[index]!.configPath, ...args]);
  if (result.status !== 0) throw new Error(`grange ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

describe('cluster layout', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('assign and apply on one node; all 5 nodes converge; concurrent staging merges; a restarted node keeps its layout', async () => {
    cluster = await startCluster({ size: 5, env: { GRANGE_LOG: process.env.GRANGE_TEST_NODE_LOG ?? 'info' } });
    await cluster.waitForMesh();
    const ids = cluster.nodes.map((node) => node.nodeId);
    const zones = ['jupiter', 'atuin', 'neptune'];
    // One node per zone first, by id prefix, as an operator would type it.
    for (let index = 0; index < 3; index++) cli(cluster, 0, ['layout', 'assign', '-z', zones[index]!, '-c', '1T', ids[index]!.slice(0, 10)]);
    expect(cli(cluster, 0, ['layout', 'show'])).toContain('NEW LAYOUT PREVIEW (version 1)');
    cli(cluster, 0, ['layout', 'apply', '--version', '1']);

    for (let index = 0; index < 5; index++) {
      await waitFor(async () => (await layoutOf(cluster, index)).current.version === 1, { what: `node ${index + 1} to reach version 1` });
    }
    for (let index = 0; index < 5; index++) {
      const shown = JSON.parse(cli(cluster, index, ['layout', 'show', '--json'])) as { version: number; roles: { id: string; zone: string }[]; partitions: string[][] };
      expect(shown.version).toBe(1);
      expect(shown.partitions).toHaveLength(256);
      const zoneOf = new Map(shown.roles.map((role) => [role.id, role.zone]));
      for (const partition of shown.partitions) {
        expect(partition).toHaveLength(3);
        expect(new Set(partition.map((id) => zoneOf.get(id))).size).toBe(3);
      }
    }

    // Concurrent staging on two different nodes: both edits survive everywhere.
    cli(cluster, 1, ['layout', 'assign', '-z', 'jupiter', '-c', '500G', ids[3]!]);
    cli(cluster, 2, ['layout', 'assign', '-z', 'atuin', '-c', '500G', ids[4]!]);
    for (let index = 0; index < 5; index++) {
      await waitFor(
        async () => {
          const staged = (await layoutOf(cluster, index)).stagedRoleChanges();
          return staged.has(ids[3]!) && staged.has(ids[4]!);
        },
        { what: `node ${index + 1} to see both staged roles` },
      );
    }
    cli(cluster, 3, ['layout', 'apply', '--version', '2']);
    await waitFor(async () => (await layoutOf(cluster, 4)).current.version === 2, { what: 'node 5 to reach version 2' });
    const version2 = await layoutOf(cluster, 4);
    expect(version2.current.roles.size).toBe(5);

    // Applying a stale version number is refused with a message that says what to do.
    const stale = runCli(['-c', cluster.nodes[0]!.configPath, 'layout', 'apply', '--version', '2']);
    expect(stale.status).toBe(2);
    expect(stale.stderr).toMatch(/version/);

    // kill -9 and restart: the node comes back with version 2, from its own disk.
    await cluster.kill(2);
    await cluster.restart(2, { bootstrap: false });
    // Polled: the restarted process answers once it is up, which on 2 shared cores takes a moment.
    const restarted = await waitFor(() => layoutOf(cluster, 2), { what: 'the restarted node to answer' });
    expect(restarted.current.version).toBe(2);
    expect(versionDigest(restarted.version(2)!)).toBe(versionDigest(version2.version(2)!));
  });
});
