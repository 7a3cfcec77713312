// bench/k2v: the K2V API of three node processes on loopback (RF=3), through the project's K2V
// client: InsertItem and ReadItem operations per second with 16 concurrent clients (p50, p99),
// and how soon a PollItem wakes after a write through another node. Prints figures; decides
// nothing. Run: npm run bench:k2v   (options: OPERATIONS=3000 POLLS=20)
import { loadavg } from 'node:os';
import { K2vClient } from '../src/client/k2v-client';
import { S3_TEST_REGION, startS3Cluster } from '../test/harness/s3';
import { formatOps, measure, percentile } from './ops';

const OPERATIONS = Number(process.env.OPERATIONS ?? 3_000);
const POLLS = Number(process.env.POLLS ?? 20);
const CONCURRENCY = 16;
const BUCKET = 'bench';
const VALUE = Buffer.alloc(100, 'v');

async function main(): Promise<void> {
  const loadStart = loadavg()[0]!.toFixed(2);
  const s3 = await startS3Cluster(3, { k2v: true });
  try {
    await s3.cli(0, ['bucket', 'create', BUCKET]);
    await s3.cli(0, ['bucket', 'allow', '--read', '--write', BUCKET, '--key', s3.credentials.accessKeyId]);
    const clients = [0, 1, 2].map((index) => new K2vClient({ endpoint: s3.k2vEndpoints[index]!, region: S3_TEST_REGION, ...s3.credentials }));
    // Each of the 16 lanes talks to one node, the nodes in turn: every node coordinates a share.
    const insert = await measure(OPERATIONS, CONCURRENCY, (index) => clients[index % 3]!.insertItem(BUCKET, `pk-${index % 50}`, `sk-${index}`, VALUE));
    const read = await measure(OPERATIONS, CONCURRENCY, (index) => clients[(index + 1) % 3]!.readItem(BUCKET, `pk-${index % 50}`, `sk-${index}`));
    const wakeups: number[] = [];
    for (let round = 0; round < POLLS; round++) {
      await clients[0]!.insertItem(BUCKET, 'poll', 'key', Buffer.from(`round ${round}`));
      const seen = (await clients[0]!.readItem(BUCKET, 'poll', 'key'))!;
      const poll = clients[1]!.pollItem(BUCKET, 'poll', 'key', seen.token, 60);
      // Let the poll reach its first wait before writing (a write before it would answer at once).
      await new Promise((resolve) => setTimeout(resolve, 100));
      const writtenAt = performance.now();
      const write = clients[2]!.insertItem(BUCKET, 'poll', 'key', Buffer.from(`round ${round} again`), seen.token);
      await poll;
      wakeups.push(performance.now() - writtenAt);
      await write;
    }
    wakeups.sort((a, b) => a - b);
    console.log(`bench/k2v  (three node processes on 127.0.0.1, RF 3; node ${process.version}; load ${loadStart} at start, ${loadavg()[0]!.toFixed(2)} at end)`);
    console.log(`InsertItem, ${CONCURRENCY} clients (${OPERATIONS})   ${formatOps(insert)}`);
    console.log(`ReadItem,   ${CONCURRENCY} clients (${OPERATIONS})   ${formatOps(read)}`);
    console.log(`PollItem wake-up after a write through another node begins (${POLLS} polls): p50 ${percentile(wakeups, 0.5).toFixed(0)} ms, max ${wakeups.at(-1)!.toFixed(0)} ms (the poll re-reads every 250 ms)`);
  } finally {
    await s3.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
