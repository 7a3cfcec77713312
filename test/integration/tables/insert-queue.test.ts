// Hook cascades on real node processes: writing to `test_events` makes its `updated` hook queue
// an index row for `test_event_index` (in the replica's transaction), which each node's insert
// worker writes with a quorum write; the index is then readable through any node.
import { insertItems, readItem, startTableCluster, testItem } from '../../harness/tables';
import type { Cluster } from '../../harness/cluster';
import { waitFor } from '../../harness/wait';

jest.setTimeout(120_000);

describe('insert queue', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('carries out what updated hooks queue, on every replica, through a quorum write', async () => {
    cluster = await startTableCluster(3, { syncIntervalMs: 60_000 });
    const events = Array.from({ length: 10 }, (_, i) => testItem(`event-${i}`, 's', i % 2 === 0 ? 'even' : 'odd', 100 + i));
    await insertItems(cluster, 0, events, 'test_events');
    for (const [i, event] of events.entries()) {
      await waitFor(async () => (await readItem(cluster, (i % 2) + 1, event.value.value!, `${event.pk}/s`, 'test_event_index'))?.value.value === event.value.value, {
        what: `the index row of ${event.pk}`,
        timeoutMs: 30_000,
        intervalMs: 200,
      });
    }
  });
});
