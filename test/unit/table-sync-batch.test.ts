// The round's first step (roots of all shared partitions compared at once) and the batching of
// walks' requests to one peer: pure cores and the batcher, with in-memory replies.
import {
  answerRoots,
  CONTENT_HASH_BYTES,
  decodePartitionSet,
  differingPartitions,
  encodePartitionSet,
  initHashing,
  rootsQuestion,
  type Hasher,
} from '../../src/protocols/table';
import { answerBatch, approximateBytes, BATCH_ITEMS_MAX, checkBatchItems, peerReplicas, type BatchItem, type BatchReplyItem } from '../../src/actors/table/replica-batch';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await initHashing();
});

const rootOf = (seed: number): Buffer => Buffer.alloc(CONTENT_HASH_BYTES, seed);

describe('roots comparison', () => {
  it('round-trips a partition set', () => {
    const partitions = [0, 1, 7, 8, 100, 254, 255];
    expect(decodePartitionSet(encodePartitionSet(partitions))).toEqual(partitions);
    expect(encodePartitionSet(partitions)).toHaveLength(32);
    expect(() => encodePartitionSet([256])).toThrow(/out of range/);
    expect(() => decodePartitionSet(Buffer.alloc(31))).toThrow(/32 bytes/);
  });

  it('answers "same" when every root is equal, without the roots', () => {
    const partitions = [3, 9, 200];
    const roots = partitions.map(rootOf);
    const answer = answerRoots(hasher, rootsQuestion(hasher, partitions, roots), rootOf);
    expect(answer).toEqual({ same: true });
    expect(differingPartitions(partitions, roots, answer)).toEqual([]);
  });

  it('finds exactly the partitions whose roots differ', () => {
    const partitions = [3, 9, 200, 201];
    const mine = partitions.map(rootOf);
    const peerRoot = (partition: number): Buffer => (partition === 9 || partition === 201 ? rootOf(partition + 1) : rootOf(partition));
    const answer = answerRoots(hasher, rootsQuestion(hasher, partitions, mine), peerRoot);
    expect(answer.same).toBe(false);
    expect(differingPartitions(partitions, mine, answer)).toEqual([9, 201]);
  });

  it('refuses malformed questions and answers', () => {
    expect(() => answerRoots(hasher, { partitions: Buffer.alloc(32), digest: Buffer.alloc(3) }, rootOf)).toThrow(/roots question/);
    expect(() => answerRoots(hasher, null, rootOf)).toThrow(/roots question/);
    expect(() => differingPartitions([1, 2], [rootOf(1), rootOf(2)], { same: false, roots: Buffer.alloc(8) })).toThrow(/2 roots expected/);
    expect(() => differingPartitions([1], [rootOf(1)], { same: 'yes' })).toThrow(/roots answer/);
  });
});

describe('replica batches', () => {
  it('sends the requests of one turn in one batch and routes each reply', async () => {
    const sent: BatchItem[][] = [];
    const replicas = peerReplicas(
      async (items) => {
        sent.push(items);
        return items.map(([partition]): BatchReplyItem => (partition === 13 ? [1, 'TableError', 'broken'] : [0, `reply ${partition}`]));
      },
      async () => {
        throw new Error('not asked alone');
      },
    );
    const outcomes = await Promise.allSettled([5, 13, 7].map((partition) => replicas.ask<string>(partition, { type: 'getRows', rowKeys: [] })));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.map(([partition]) => partition)).toEqual([5, 13, 7]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 'reply 5' });
    expect(outcomes[1].status).toBe('rejected');
    expect(((outcomes[1] as PromiseRejectedResult).reason as Error).message).toBe('broken');
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 'reply 7' });
  });

  it('splits a turn of more than BATCH_ITEMS_MAX requests, and asks a refused one alone', async () => {
    const sizes: number[] = [];
    const alone: number[] = [];
    const replicas = peerReplicas(
      async (items) => {
        sizes.push(items.length);
        return items.map(([partition]): BatchReplyItem => (partition === 0 ? [1, 'BatchReplyTooLargeError', 'too large'] : [0, partition]));
      },
      async (partition) => {
        alone.push(partition);
        return 'alone';
      },
    );
    const replies = await Promise.all(Array.from({ length: BATCH_ITEMS_MAX + 1 }, (_, partition) => replicas.ask(partition, { type: 'merkleNode', queries: [] })));
    expect(sizes).toEqual([BATCH_ITEMS_MAX, 1]);
    expect(alone).toEqual([0]);
    expect(replies[0]).toBe('alone');
    expect(replies[BATCH_ITEMS_MAX]).toBe(BATCH_ITEMS_MAX);
  });

  it('fails every request of a batch whose message failed', async () => {
    const replicas = peerReplicas(
      async () => {
        throw new Error('node is not connected');
      },
      async () => 'unused',
    );
    await expect(Promise.all([replicas.ask(1, { type: 'getRows', rowKeys: [] }), replicas.ask(2, { type: 'getRows', rowKeys: [] })])).rejects.toThrow(/not connected/);
  });

  it('checks what a peer asks for', () => {
    expect(() => checkBatchItems([])).toThrow(/1 to/);
    expect(() => checkBatchItems([[300, { type: 'getRows', rowKeys: [] }]])).toThrow(/bad partition/);
    expect(() => checkBatchItems([[1, { type: 'deleteIfEqual', items: [] }]])).toThrow(/not batched/);
    expect(checkBatchItems([[1, { type: 'update', entries: [] }]])).toHaveLength(1);
  });

  it('answers each item, failures included, and refuses replies past the byte budget', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024);
    const replies = await answerBatch(
      [
        [1, { type: 'getRows', rowKeys: [] }],
        [2, { type: 'getRows', rowKeys: [] }],
        [3, { type: 'getRows', rowKeys: [] }],
        [4, { type: 'getRows', rowKeys: [] }],
      ],
      async (partition) => {
        if (partition === 2) throw new Error('no replica');
        return partition === 1 ? [] : [big];
      },
    );
    expect(replies[0]).toEqual([0, []]);
    expect(replies[1]).toEqual([1, 'Error', 'no replica']);
    expect(replies[2]![0]).toBe(0);
    expect(replies[3]).toEqual([1, 'BatchReplyTooLargeError', 'reply too large for a batch']);
    expect(approximateBytes([big])).toBeGreaterThan(big.length);
  });
});
