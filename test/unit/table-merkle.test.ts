// Merkle tries: the root depends only on the final content (not on the order of writes), changes
// when any entry changes, the diff walk finds exactly the differing rows while descending only
// into differing subtrees, node bytes are canonical, and the todo queue folds writes in batches.
import {
  decodeMerkleNode,
  diffPlan,
  exchangePlan,
  merkleLeavesUnder,
  EMPTY_MERKLE_NODE,
  EMPTY_NODE_HASH,
  encodeMerkleNode,
  initHashing,
  MERKLE_BATCH_MAX,
  MERKLE_ROOT_PREFIX,
  merkleKeyHash,
  merkleNode,
  merkleNodeHash,
  merkleNodeKey,
  merkleRoot,
  merkleTodoValue,
  rowKeyOf,
  runTodoBatch,
  TableError,
  updateMerkle,
  type DescendStep,
  type Hasher,
  type MerkleNode,
  type MerkleNodeStore,
  type MerkleTodoQueue,
} from '../../src/protocols/table';
import { seededRandom as prng } from '../harness/prng';


type Random = () => number;

class MemoryNodeStore implements MerkleNodeStore {
  readonly nodes = new Map<string, Buffer>();
  reads = 0;
  get(nodeKey: Buffer): Buffer | null {
    this.reads += 1;
    return this.nodes.get(nodeKey.toString('hex')) ?? null;
  }
  put(nodeKey: Buffer, node: Buffer): void {
    this.nodes.set(nodeKey.toString('hex'), Buffer.from(node));
  }
  delete(nodeKey: Buffer): void {
    this.nodes.delete(nodeKey.toString('hex'));
  }
  snapshot(): string[] {
    return [...this.nodes].map(([key, value]) => `${key}=${value.toString('hex')}`).sort();
  }
}

let hasher: Hasher;
beforeAll(async () => {
  hasher = await initHashing();
});

const PARTITION_KEY = Buffer.from('bucket-1');
const PARTITION = rowKeyOf(PARTITION_KEY, Buffer.alloc(0))[0]!;

function randomRowKey(random: Random): Buffer {
  return rowKeyOf(PARTITION_KEY, Buffer.from(`object-${Math.floor(random() * 1e9)}`));
}

function randomHash(random: Random): Buffer {
  return hasher.hash64(Buffer.from(String(random())));
}

function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

type Content = Map<string, Buffer>; // row key hex -> entry hash

function build(content: Content, order: Random | null = null): MemoryNodeStore {
  const store = new MemoryNodeStore();
  const items = [...content];
  for (const [key, hash] of order === null ? items : shuffled(order, items)) updateMerkle(store, hasher, Buffer.from(key, 'hex'), hash);
  return store;
}

/** The canonical trie computed from scratch, independently of updateMerkle: node key hex -> node bytes hex. */
function referenceTrie(content: Content): string[] {
  const out: string[] = [];
  const rows = [...content].map(([key, hash]) => ({ rowKey: Buffer.from(key, 'hex'), hash, keyHash: merkleKeyHash(Buffer.from(key, 'hex')) }));
  const visit = (prefix: Buffer, under: typeof rows): MerkleNode => {
    if (under.length === 0) return EMPTY_MERKLE_NODE;
    const node: MerkleNode =
      under.length === 1
        ? { kind: 'leaf', rowKey: under[0]!.rowKey, entryHash: under[0]!.hash }
        : { kind: 'intermediate', children: childrenOf(prefix, under) };
    out.push(`${merkleNodeKey(PARTITION, prefix).toString('hex')}=${encodeMerkleNode(node).toString('hex')}`);
    return node;
  };
  const childrenOf = (prefix: Buffer, under: typeof rows) => {
    const bytes = [...new Set(under.map((row) => row.keyHash[prefix.length]!))].sort((a, b) => a - b);
    return bytes.map((byte) => {
      const child = visit(Buffer.concat([prefix, Buffer.from([byte])]), under.filter((row) => row.keyHash[prefix.length] === byte));
      return { byte, hash: merkleNodeHash(hasher, child) };
    });
  };
  visit(MERKLE_ROOT_PREFIX, rows);
  return out.sort();
}

function randomContent(random: Random, size: number): Content {
  const content: Content = new Map();
  while (content.size < size) content.set(randomRowKey(random).toString('hex'), randomHash(random));
  return content;
}

describe('Merkle trie shape', () => {
  it('gives the same nodes and root for the same final content, whatever the order of inserts, updates and deletes', () => {
    const random = prng(0x5eed01);
    for (let run = 0; run < 20; run += 1) {
      const final = randomContent(random, 1 + Math.floor(random() * 300));
      const transient = randomContent(random, Math.floor(random() * 50));
      // A history: every final row, some written first with an older hash, plus rows that come and go.
      const writes: [string, Buffer | null][] = [];
      for (const key of final.keys()) {
        if (random() < 0.3) writes.push([key, randomHash(random)]);
        if (random() < 0.1) writes.push([key, null]);
      }
      for (const [key, hash] of transient) writes.push([key, hash]);
      const store = new MemoryNodeStore();
      // Shuffle the history, then apply each row's final state last (one row's order matters; rows' do not).
      const last: [string, Buffer | null][] = [...final, ...[...transient.keys()].map((key): [string, null] => [key, null])];
      for (const [key, hash] of shuffled(random, writes)) updateMerkle(store, hasher, Buffer.from(key, 'hex'), hash);
      for (const [key, hash] of shuffled(random, last)) updateMerkle(store, hasher, Buffer.from(key, 'hex'), hash);

      const direct = build(final, random);
      expect(store.snapshot()).toEqual(direct.snapshot());
      expect(store.snapshot()).toEqual(referenceTrie(final));
      expect(merkleRoot(store, hasher, PARTITION).equals(merkleRoot(direct, hasher, PARTITION))).toBe(true);
    }
  });

  it('leaves no node behind once every row is deleted', () => {
    const random = prng(0x5eed02);
    const content = randomContent(random, 200);
    const store = build(content);
    for (const key of shuffled(random, [...content.keys()])) expect(updateMerkle(store, hasher, Buffer.from(key, 'hex'), null)).toBe(true);
    expect(store.nodes.size).toBe(0);
    expect(merkleRoot(store, hasher, PARTITION).equals(EMPTY_NODE_HASH)).toBe(true);
  });

  it('splits and collapses chains of single-child nodes when key hashes share several bytes', () => {
    // Birthday search for two rows whose key hashes share their first 3 bytes.
    const seen = new Map<string, Buffer>();
    let pair: [Buffer, Buffer] | null = null;
    for (let index = 0; pair === null; index += 1) {
      const rowKey = rowKeyOf(PARTITION_KEY, Buffer.from(`k${index}`));
      const prefix = merkleKeyHash(rowKey).subarray(0, 3).toString('hex');
      const other = seen.get(prefix);
      if (other !== undefined) pair = [other, rowKey];
      seen.set(prefix, rowKey);
    }
    const [first, second] = pair;
    const random = prng(0x5eed03);
    const content = randomContent(random, 50);
    const withPair = new Map(content).set(first.toString('hex'), randomHash(random)).set(second.toString('hex'), randomHash(random));
    const store = build(withPair);
    expect(store.snapshot()).toEqual(referenceTrie(withPair));
    const shared = merkleKeyHash(first).subarray(0, 3);
    expect(merkleNode(store, PARTITION, shared.subarray(0, 2)).kind).toBe('intermediate');

    updateMerkle(store, hasher, second, null);
    withPair.delete(second.toString('hex'));
    expect(store.snapshot()).toEqual(referenceTrie(withPair));
    expect(store.snapshot()).toEqual(build(withPair).snapshot());
  });

  it('changes the root when any entry changes, and gets it back when the entry is restored', () => {
    const random = prng(0x5eed04);
    const content = randomContent(random, 300);
    const store = build(content);
    const root = merkleRoot(store, hasher, PARTITION);
    const seen = new Set([root.toString('hex')]);
    for (const [key, hash] of [...content].slice(0, 60)) {
      expect(updateMerkle(store, hasher, Buffer.from(key, 'hex'), randomHash(random))).toBe(true);
      const changed = merkleRoot(store, hasher, PARTITION).toString('hex');
      expect(seen.has(changed)).toBe(false);
      seen.add(changed);
      updateMerkle(store, hasher, Buffer.from(key, 'hex'), hash);
      expect(merkleRoot(store, hasher, PARTITION).equals(root)).toBe(true);
    }
  });

  it('costs a number of node reads bounded by the depth, not by the size', () => {
    const random = prng(0x5eed05);
    const store = build(randomContent(random, 3000));
    store.reads = 0;
    updateMerkle(store, hasher, randomRowKey(random), randomHash(random));
    expect(store.reads).toBeLessThanOrEqual(8);
  });

  it('reports an unchanged trie for a replayed write or the deletion of an absent row', () => {
    const random = prng(0x5eed06);
    const content = randomContent(random, 20);
    const store = build(content);
    const before = store.snapshot();
    const [key, hash] = [...content][0]!;
    expect(updateMerkle(store, hasher, Buffer.from(key, 'hex'), hash)).toBe(false);
    expect(updateMerkle(store, hasher, randomRowKey(random), null)).toBe(false);
    expect(store.snapshot()).toEqual(before);
  });

  it('keeps partitions apart: a row only touches the trie of its row key first byte', () => {
    const store = new MemoryNodeStore();
    const other = rowKeyOf(Buffer.from('bucket-other'), Buffer.from('x'));
    expect(other[0]).not.toBe(PARTITION);
    updateMerkle(store, hasher, other, hasher.hash64(Buffer.from('v')));
    expect(merkleRoot(store, hasher, PARTITION).equals(EMPTY_NODE_HASH)).toBe(true);
    expect(merkleNode(store, other[0]!, MERKLE_ROOT_PREFIX).kind).toBe('leaf');
  });
});

describe('Merkle node encoding', () => {
  it('round-trips every stored node to the same bytes', () => {
    const store = build(randomContent(prng(0x5eed07), 500));
    for (const bytes of store.nodes.values()) expect(encodeMerkleNode(decodeMerkleNode(bytes)).equals(bytes)).toBe(true);
  });

  it('has the exact bytes of known nodes', () => {
    const leaf: MerkleNode = { kind: 'leaf', rowKey: Buffer.alloc(32, 1), entryHash: Buffer.alloc(8, 2) };
    expect(encodeMerkleNode(leaf).toString('hex')).toBe(`0102${'02'.repeat(8)}${'01'.repeat(32)}`);
    const node: MerkleNode = { kind: 'intermediate', children: [{ byte: 3, hash: Buffer.alloc(8, 4) }, { byte: 200, hash: Buffer.alloc(8, 5) }] };
    expect(encodeMerkleNode(node).toString('hex')).toBe(`0101 03${'04'.repeat(8)} c8${'05'.repeat(8)}`.replace(/ /g, ''));
  });

  it('refuses malformed nodes from a peer', () => {
    const hash = 'aa'.repeat(8);
    const bad = [
      '', // nothing
      `0202${hash}${'00'.repeat(32)}`, // unknown format
      `0102${hash}${'00'.repeat(31)}`, // row key shorter than a partition hash
      '0101', // intermediate without children
      `010105${hash}04${hash}`, // children out of order
      `010105${hash}05${hash}`, // a child twice
      `010105${hash}06aa`, // a truncated child
      `0103${hash}`, // unknown kind
    ];
    for (const hex of bad) expect(() => decodeMerkleNode(Buffer.from(hex, 'hex'))).toThrow(TableError);
  });
});

/** A syncer's walk, one direction: the row keys `local` pushes to `remote`, and the remote nodes it asked for. */
function pushWalk(local: MemoryNodeStore, remote: MemoryNodeStore): { sent: string[]; remoteAsks: number } {
  const sent: string[] = [];
  let remoteAsks = 0;
  const stack: DescendStep[] = [{ prefix: MERKLE_ROOT_PREFIX, local: null, remote: null }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const localNode = step.local ?? merkleNode(local, PARTITION, step.prefix);
    let remoteNode = step.remote;
    if (remoteNode === null) {
      remoteAsks += 1;
      // Over the wire: the peer sends encoded nodes.
      const found = merkleNode(remote, PARTITION, step.prefix);
      remoteNode = found.kind === 'empty' ? found : decodeMerkleNode(encodeMerkleNode(found));
    }
    const plan = diffPlan(step.prefix, localNode, remoteNode);
    sent.push(...plan.send.map((key) => key.toString('hex')));
    stack.push(...plan.descend);
  }
  return { sent: sent.sort(), remoteAsks };
}

/** A syncer's two-way walk: rows pushed to and pulled from `remote`, and remote nodes asked for. */
function exchangeWalk(local: MemoryNodeStore, remote: MemoryNodeStore): { sent: string[]; pulled: string[]; remoteAsks: number } {
  const sent: string[] = [];
  const pulled: string[] = [];
  let remoteAsks = 0;
  const stack: DescendStep[] = [{ prefix: MERKLE_ROOT_PREFIX, local: null, remote: null }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const localNode = step.local ?? merkleNode(local, PARTITION, step.prefix);
    let remoteNode = step.remote;
    if (remoteNode === null) {
      remoteAsks += 1;
      const found = merkleNode(remote, PARTITION, step.prefix);
      remoteNode = found.kind === 'empty' ? found : decodeMerkleNode(encodeMerkleNode(found));
    }
    const plan = exchangePlan(step.prefix, localNode, remoteNode);
    sent.push(...plan.send.map((key) => key.toString('hex')));
    pulled.push(...plan.pull.map((key) => key.toString('hex')));
    stack.push(...plan.descend);
  }
  return { sent: sent.sort(), pulled: pulled.sort(), remoteAsks };
}

describe('Merkle exchange (push and pull in one walk)', () => {
  it('pushes exactly what the peer lacks or holds differently, and pulls exactly what this side does', () => {
    const random = prng(0x5eed10);
    for (let run = 0; run < 30; run += 1) {
      const base = randomContent(random, Math.floor(random() * 400));
      const [left, right] = [new Map(base), new Map(base)];
      for (let index = 0; index < Math.floor(random() * 12); index += 1) {
        const side = random() < 0.5 ? left : right;
        side.set(randomRowKey(random).toString('hex'), randomHash(random));
        const existing = [...base.keys()][index];
        if (existing !== undefined && random() < 0.5) side.set(existing, randomHash(random));
      }
      const differing = [...new Set([...left.keys(), ...right.keys()])].filter((key) => !left.get(key)?.equals(right.get(key) ?? Buffer.alloc(0)));
      const walk = exchangeWalk(build(left, random), build(right, random));
      expect(walk.sent).toEqual(differing.filter((key) => left.has(key)).sort());
      expect(walk.pulled).toEqual(differing.filter((key) => right.has(key)).sort());
    }
  });

  it('pulls everything into an empty trie', () => {
    const content = randomContent(prng(0x5eed11), 100);
    const walk = exchangeWalk(new MemoryNodeStore(), build(content));
    expect(walk.sent).toEqual([]);
    expect(walk.pulled).toEqual([...content.keys()].sort());
  });

  it('lists the row keys under a prefix, stopping at a limit', () => {
    const content = randomContent(prng(0x5eed12), 300);
    const store = build(content);
    const all = merkleLeavesUnder(store, PARTITION, MERKLE_ROOT_PREFIX, 1000);
    expect(all.complete).toBe(true);
    expect(all.rowKeys.map((key) => key.toString('hex')).sort()).toEqual([...content.keys()].sort());
    const some = merkleLeavesUnder(store, PARTITION, MERKLE_ROOT_PREFIX, 10);
    expect(some).toMatchObject({ complete: false });
    expect(some.rowKeys).toHaveLength(10);
  });
});

describe('Merkle diff', () => {
  it('finds exactly the k rows that differ between two tries, in each direction', () => {
    const random = prng(0x5eed08);
    for (let run = 0; run < 30; run += 1) {
      const base = randomContent(random, Math.floor(random() * 400));
      const [left, right] = [new Map(base), new Map(base)];
      const k = Math.floor(random() * 12);
      const expectedLeft = new Set<string>();
      const expectedRight = new Set<string>();
      const keys = shuffled(random, [...base.keys()]);
      for (let index = 0; index < k; index += 1) {
        const choice = random();
        const existing = keys[index];
        if (choice < 0.3 || existing === undefined) {
          const key = randomRowKey(random).toString('hex');
          (random() < 0.5 ? left : right).set(key, randomHash(random));
          (left.has(key) ? expectedLeft : expectedRight).add(key);
        } else if (choice < 0.6) {
          (random() < 0.5 ? left : right).delete(existing);
          (left.has(existing) ? expectedLeft : expectedRight).add(existing);
        } else {
          right.set(existing, randomHash(random));
          expectedLeft.add(existing);
          expectedRight.add(existing);
        }
      }
      const [leftStore, rightStore] = [build(left, random), build(right, random)];
      expect(pushWalk(leftStore, rightStore).sent).toEqual([...expectedLeft].sort());
      expect(pushWalk(rightStore, leftStore).sent).toEqual([...expectedRight].sort());
      expect(new Set([...expectedLeft, ...expectedRight]).size).toBe(k);
    }
  });

  it('asks the peer only for nodes on the paths to differing rows', () => {
    const random = prng(0x5eed09);
    const base = randomContent(random, 3000);
    const changedKey = [...base.keys()][1234]!;
    const [local, remote] = [build(base), build(base)];
    expect(pushWalk(local, remote)).toEqual({ sent: [], remoteAsks: 1 });
    updateMerkle(remote, hasher, Buffer.from(changedKey, 'hex'), randomHash(random));
    const { sent, remoteAsks } = pushWalk(local, remote);
    expect(sent).toEqual([changedKey]);
    expect(remoteAsks).toBeLessThanOrEqual(4); // root plus one node per level (a 3000-row trie is about 3 deep)
  });

  it('pushes everything to an empty peer and nothing from an empty trie', () => {
    const content = randomContent(prng(0x5eed0a), 100);
    const [full, empty] = [build(content), new MemoryNodeStore()];
    expect(pushWalk(full, empty).sent).toEqual([...content.keys()].sort());
    expect(pushWalk(empty, full).sent).toEqual([]);
  });
});

class MemoryTodoQueue implements MerkleTodoQueue {
  readonly items = new Map<string, Buffer>();
  largestRequest = 0;
  record(rowKey: Buffer, entryHash: Buffer | null): void {
    this.items.set(rowKey.toString('hex'), merkleTodoValue(entryHash));
  }
  first(limit: number): (readonly [Buffer, Buffer])[] {
    this.largestRequest = Math.max(this.largestRequest, limit);
    return [...this.items.keys()].sort().slice(0, limit).map((key) => [Buffer.from(key, 'hex'), this.items.get(key)!] as const);
  }
  delete(rowKey: Buffer): void {
    this.items.delete(rowKey.toString('hex'));
  }
}

describe('Merkle todo queue', () => {
  it('folds writes in bounded batches into the same trie as direct updates, keeping only the latest write per row', () => {
    const random = prng(0x5eed0b);
    const final = randomContent(random, 700);
    const queue = new MemoryTodoQueue();
    for (const [key] of final) if (random() < 0.5) queue.record(Buffer.from(key, 'hex'), randomHash(random));
    for (const [key, hash] of final) queue.record(Buffer.from(key, 'hex'), hash);
    const doomed = randomRowKey(random);
    queue.record(doomed, randomHash(random));
    queue.record(doomed, null);
    expect(queue.items.size).toBe(701);

    const store = new MemoryNodeStore();
    const batches = [];
    for (let result = runTodoBatch(queue, store, hasher); ; result = runTodoBatch(queue, store, hasher)) {
      batches.push(result);
      if (!result.more) break;
    }
    expect(queue.items.size).toBe(0);
    expect(queue.largestRequest).toBe(MERKLE_BATCH_MAX);
    expect(batches.map((batch) => batch.taken)).toEqual([256, 256, 189]);
    expect(batches.reduce((sum, batch) => sum + batch.changed, 0)).toBe(700); // the deleted row changed nothing
    expect(store.snapshot()).toEqual(build(final).snapshot());
  });

  it('refuses a todo value that is neither empty nor an entry hash', () => {
    const queue = new MemoryTodoQueue();
    queue.items.set(Buffer.alloc(40).toString('hex'), Buffer.alloc(3));
    expect(() => runTodoBatch(queue, new MemoryNodeStore(), hasher)).toThrow(TableError);
    expect(() => merkleTodoValue(Buffer.alloc(5))).toThrow(RangeError);
  });
});
