// Merkle tries: the root depends only on the final content (not on the order of writes), changes
// when any entry changes, the diff walk finds exactly the differing rows while descending only
// into differing subtrees (and moves each differing row once), node bytes are canonical, a walk
// costs few bytes and round trips, and the todo queue folds writes in batches.
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
  TABLE_LIMITS,
  TableError,
  updateMerkle,
  type DescendStep,
  type Hasher,
  type MerkleNode,
  type MerkleNodeStore,
  type MerkleTodoQueue,
} from '../../src/protocols/table';
import { keyHashDigit, MERKLE_ARITY, MERKLE_NODE_FORMAT } from '../../src/protocols/table/merkle';
import {
  answerMerkleQueries,
  decodeMerkleAnswer,
  decodeMerkleQueries,
  encodeMerkleQuery,
  planAnswer,
  rowsPlan,
  type ExchangePlan,
  type MerkleAnswerWire,
  type MerkleQuery,
  type SendItem,
} from '../../src/protocols/table/merkle-diff';
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
  // Digits of the key hash, high nibble first, computed here without the code under test.
  const digitOf = (keyHash: Buffer, depth: number): number => (depth % 2 === 0 ? keyHash[depth >> 1]! >> 4 : keyHash[depth >> 1]! & 0x0f);
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
    const digits = [...new Set(under.map((row) => digitOf(row.keyHash, prefix.length)))].sort((a, b) => a - b);
    return digits.map((digit) => {
      const child = visit(Buffer.concat([prefix, Buffer.from([digit])]), under.filter((row) => digitOf(row.keyHash, prefix.length) === digit));
      return { digit, hash: merkleNodeHash(hasher, child) };
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

  it('branches 16 ways per level, on the digits of the key hash', () => {
    const content = randomContent(prng(0x5eed0c), 400);
    const root = merkleNode(build(content), PARTITION, MERKLE_ROOT_PREFIX);
    expect(MERKLE_ARITY).toBe(16);
    expect(root).toMatchObject({ kind: 'intermediate' });
    expect(root.kind === 'intermediate' && root.children.map((child) => child.digit)).toEqual([...Array(16).keys()]);
    const hash = Buffer.from('a7', 'hex');
    expect([keyHashDigit(hash, 0), keyHashDigit(hash, 1)]).toEqual([0xa, 0x7]);
  });

  it('leaves no node behind once every row is deleted', () => {
    const random = prng(0x5eed02);
    const content = randomContent(random, 200);
    const store = build(content);
    for (const key of shuffled(random, [...content.keys()])) expect(updateMerkle(store, hasher, Buffer.from(key, 'hex'), null)).toBe(true);
    expect(store.nodes.size).toBe(0);
    expect(merkleRoot(store, hasher, PARTITION).equals(EMPTY_NODE_HASH)).toBe(true);
  });

  it('splits and collapses chains of single-child nodes when key hashes share several digits', () => {
    // Birthday search for two rows whose key hashes share their first 5 digits.
    const SHARED_DIGITS = 5;
    const digitsOf = (rowKey: Buffer): Buffer => Buffer.from(Array.from({ length: SHARED_DIGITS }, (_, depth) => keyHashDigit(merkleKeyHash(rowKey), depth)));
    const seen = new Map<string, Buffer>();
    let pair: [Buffer, Buffer] | null = null;
    for (let index = 0; pair === null; index += 1) {
      const rowKey = rowKeyOf(PARTITION_KEY, Buffer.from(`k${index}`));
      const prefix = digitsOf(rowKey).toString('hex');
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
    const shared = digitsOf(first);
    expect(merkleNode(store, PARTITION, shared.subarray(0, SHARED_DIGITS - 1)).kind).toBe('intermediate');
    expect(merkleNode(store, PARTITION, shared).kind).toBe('intermediate');

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
    expect(store.reads).toBeLessThanOrEqual(8); // a 3000-row 16-ary trie is about 3 levels deep, plus a split
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

  it('refuses node keys whose prefix is not made of digits', () => {
    expect(() => merkleNodeKey(PARTITION, Buffer.from([3, 16]))).toThrow(RangeError);
    expect(() => merkleNodeKey(PARTITION, Buffer.alloc(65))).toThrow(RangeError);
    expect(merkleNodeKey(PARTITION, Buffer.alloc(64, 15))).toHaveLength(65);
  });
});

describe('Merkle node encoding', () => {
  it('round-trips every stored node to the same bytes', () => {
    const store = build(randomContent(prng(0x5eed07), 500));
    for (const bytes of store.nodes.values()) expect(encodeMerkleNode(decodeMerkleNode(bytes)).equals(bytes)).toBe(true);
  });

  it('has the exact bytes of known nodes', () => {
    expect(MERKLE_NODE_FORMAT).toBe(2);
    const leaf: MerkleNode = { kind: 'leaf', rowKey: Buffer.alloc(32, 1), entryHash: Buffer.alloc(8, 2) };
    expect(encodeMerkleNode(leaf).toString('hex')).toBe(`0202${'02'.repeat(8)}${'01'.repeat(32)}`);
    const node: MerkleNode = { kind: 'intermediate', children: [{ digit: 3, hash: Buffer.alloc(8, 4) }, { digit: 12, hash: Buffer.alloc(8, 5) }] };
    // Bitmap 0x1008: bits 3 and 12.
    expect(encodeMerkleNode(node).toString('hex')).toBe(`0201 1008 ${'04'.repeat(8)} ${'05'.repeat(8)}`.replace(/ /g, ''));
  });

  it('refuses malformed nodes from a peer, and nodes of the earlier 256-ary format', () => {
    const hash = 'aa'.repeat(8);
    const bad = [
      '', // nothing
      `0102${hash}${'00'.repeat(32)}`, // format 1 (256-ary): refused, not misread
      `010105${hash}`, // a format-1 intermediate node
      `0302${hash}${'00'.repeat(32)}`, // a later format
      `0202${hash}${'00'.repeat(31)}`, // row key shorter than a partition hash
      '0201', // intermediate without bitmap
      '02010000', // intermediate without children
      `02010003${hash}`, // bitmap of two children, one hash
      `02010001${hash}${hash}`, // bitmap of one child, two hashes
      `02010001aabb`, // a truncated child hash
      `0203${hash}`, // unknown kind
    ];
    for (const hex of bad) expect(() => decodeMerkleNode(Buffer.from(hex, 'hex'))).toThrow(TableError);
  });
});

/** A syncer's walk, one direction, on whole nodes: the row keys `local` pushes to `remote`, and the remote nodes it asked for. */
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
    sent.push(...plan.send.map((item) => item.rowKey.toString('hex')));
    stack.push(...plan.descend);
  }
  return { sent: sent.sort(), remoteAsks };
}

// ---- two-way walks with the query protocol ------------------------------------------------------

type Rows = Map<string, Buffer>; // row key hex -> entry bytes (their hash is the trie's entry hash)

/** One replica in a walk test: its rows and its trie. */
class Replica {
  readonly store = new MemoryNodeStore();
  constructor(readonly rows: Rows = new Map()) {
    for (const [key, entry] of rows) updateMerkle(this.store, hasher, Buffer.from(key, 'hex'), hasher.hash64(entry));
  }
  /** A commutative, idempotent merge: the larger entry wins. */
  merge(key: string, entry: Buffer): void {
    const current = this.rows.get(key);
    if (current !== undefined && Buffer.compare(current, entry) >= 0) return;
    this.rows.set(key, entry);
    updateMerkle(this.store, hasher, Buffer.from(key, 'hex'), hasher.hash64(entry));
  }
  entryOf(rowKey: Buffer): Buffer | null {
    return this.rows.get(rowKey.toString('hex')) ?? null;
  }
  keyOf(entry: Buffer): string {
    return entry.subarray(1, 1 + entry[0]!).toString('hex');
  }
}

/** Test entries: row key length (1 byte) | row key | value, so an entry names its row. */
function entryOf(key: string, value: string): Buffer {
  const rowKey = Buffer.from(key, 'hex');
  return Buffer.concat([Buffer.from([rowKey.length]), rowKey, Buffer.from(value)]);
}

function randomEntry(random: Random, key: string): Buffer {
  return entryOf(key, `value-${Math.floor(random() * 1e9)}`);
}

function randomRows(random: Random, size: number): Rows {
  const rows: Rows = new Map();
  while (rows.size < size) {
    const key = randomRowKey(random).toString('hex');
    rows.set(key, randomEntry(random, key));
  }
  return rows;
}

interface WalkResult {
  /** Row keys whose entries reached `local` (pulled or answered as rows) and changed it. */
  pulled: string[];
  /** Row keys pushed to `remote`. */
  pushed: string[];
  requests: number;
  /** Payload bytes of this side's questions (its nodes), of the peer's answers (nodes and entries), and of pushes. */
  questionBytes: number;
  answerBytes: number;
  /** The largest answer to one request. */
  answerBytesMax: number;
  pushBytes: number;
}

/**
 * The syncer's walk as the actor runs it, over direct calls instead of messages: a hash question
 * at the root, then a level of node questions per request, answers encoded, decoded and checked,
 * pulls merged before pushes, pushes skipped where the merged copy equals the peer's.
 */
function walk(local: Replica, remote: Replica): WalkResult {
  const result: WalkResult = { pulled: [], pushed: [], requests: 0, questionBytes: 0, answerBytes: 0, answerBytesMax: 0, pushBytes: 0 };
  const trie = { store: local.store, partition: PARTITION };
  const send: SendItem[] = [];
  const pull: Buffer[] = [];
  const merge: Buffer[] = [];
  const record = (plan: ExchangePlan): DescendStep[] => {
    send.push(...plan.send);
    pull.push(...plan.pull);
    merge.push(...plan.merge);
    return [...plan.descend];
  };
  const ask = (asked: { query: MerkleQuery; local: MerkleNode }[]): DescendStep[] => {
    result.requests += 1;
    const wire = asked.map((item) => encodeMerkleQuery(item.query));
    result.questionBytes += wire.reduce((sum, [prefix, , bytes]) => sum + prefix.length + 1 + bytes.length, 0);
    const queries = decodeMerkleQueries(wire);
    const answers = answerMerkleQueries(remote.store, hasher, PARTITION, queries, (key) => remote.entryOf(key));
    const bytes = answers.reduce((sum, answer) => sum + wireBytes(answer), 0);
    result.answerBytes += bytes;
    result.answerBytesMax = Math.max(result.answerBytesMax, bytes);
    return asked.flatMap((item, index) => record(planAnswer(trie, item.query.prefix, item.local, decodeMerkleAnswer(hasher, item.query, answers[index]))));
  };
  const localRoot = merkleNode(local.store, PARTITION, MERKLE_ROOT_PREFIX);
  const stack = ask([{ query: { kind: 'hash', prefix: MERKLE_ROOT_PREFIX, hash: merkleNodeHash(hasher, localRoot) }, local: localRoot }]);
  while (stack.length > 0) {
    const asked: { query: MerkleQuery; local: MerkleNode }[] = [];
    for (const step of stack.splice(0)) {
      const localNode = step.local ?? merkleNode(local.store, PARTITION, step.prefix);
      if (step.remote !== null) stack.push(...record(exchangePlan(step.prefix, localNode, step.remote)));
      else asked.push({ query: { kind: 'node', prefix: step.prefix, node: localNode }, local: localNode });
    }
    if (asked.length > 0) stack.push(...ask(asked));
  }
  const take = (entry: Buffer): void => {
    const key = local.keyOf(entry);
    const before = local.rows.get(key);
    local.merge(key, entry);
    if (!before?.equals(local.rows.get(key)!)) result.pulled.push(key);
  };
  merge.forEach(take);
  for (const key of pull) take(remote.entryOf(key)!);
  for (const item of send) {
    const entry = local.entryOf(item.rowKey)!;
    if (item.peerHashes.some((hash) => hash.equals(hasher.hash64(entry)))) continue;
    result.pushed.push(item.rowKey.toString('hex'));
    result.pushBytes += entry.length;
    remote.merge(item.rowKey.toString('hex'), entry);
  }
  result.pulled.sort();
  result.pushed.sort();
  return result;
}

/** Payload bytes of an answer (nodes, entries, digits), without msgpack's framing. */
function wireBytes(answer: MerkleAnswerWire): number {
  if (answer === null) return 1;
  if (Buffer.isBuffer(answer)) return answer.length;
  if (Array.isArray(answer)) return answer.reduce((sum, entry) => sum + entry.length, 0);
  return answer.below.reduce((sum: number, item) => sum + (typeof item === 'number' ? 1 : wireBytes(item)), 0);
}

/** Two replicas of one base content, each with some rows of its own, some missing, some changed. */
function divergedPair(random: Random, baseSize: number, changes: number): { left: Rows; right: Rows } {
  const base = randomRows(random, baseSize);
  const [left, right] = [new Map(base), new Map(base)];
  const keys = shuffled(random, [...base.keys()]);
  for (let index = 0; index < changes; index += 1) {
    const choice = random();
    const existing = keys[index];
    const side = random() < 0.5 ? left : right;
    if (choice < 0.3 || existing === undefined) {
      const key = randomRowKey(random).toString('hex');
      side.set(key, randomEntry(random, key));
    } else if (choice < 0.6) {
      side.delete(existing);
    } else {
      side.set(existing, randomEntry(random, existing));
    }
  }
  return { left, right };
}

function mergedRows(...sides: Rows[]): string[] {
  const merged = new Replica();
  for (const rows of sides) for (const [key, entry] of rows) merged.merge(key, entry);
  return [...merged.rows].map(([key, entry]) => `${key}=${entry.toString('hex')}`).sort();
}

function rowsOf(replica: Replica): string[] {
  return [...replica.rows].map(([key, entry]) => `${key}=${entry.toString('hex')}`).sort();
}

describe('Merkle exchange (push and pull in one walk)', () => {
  it('leaves both sides with the merged content, pulling exactly what this side lacks and pushing exactly what the peer then lacks', () => {
    const random = prng(0x5eed10);
    for (let run = 0; run < 40; run += 1) {
      const { left, right } = divergedPair(random, Math.floor(random() * 500), Math.floor(random() * 14));
      const expected = mergedRows(left, right);
      // With the larger entry winning a merge: this side takes the peer's rows it lacks or holds
      // smaller, and the peer takes the ones this side holds that it lacks or holds smaller.
      const newer = (mine: Rows, theirs: Rows): string[] => [...mine.keys()].filter((key) => !theirs.has(key) || Buffer.compare(mine.get(key)!, theirs.get(key)!) > 0).sort();
      const [shouldPull, shouldPush] = [newer(right, left), newer(left, right)];
      const [local, remote] = [new Replica(new Map(left)), new Replica(new Map(right))];
      const result = walk(local, remote);
      expect(rowsOf(local)).toEqual(expected);
      expect(rowsOf(remote)).toEqual(expected);
      expect(result.pulled).toEqual(shouldPull);
      expect(result.pushed).toEqual(shouldPush);
      // Converged: the next walk finds the roots equal in one request.
      expect(walk(local, remote)).toMatchObject({ pulled: [], pushed: [], requests: 1 });
    }
  });

  it('moves a row held differently once: pulled if the peer has the newer copy, pushed if this side has it', () => {
    const random = prng(0x5eed13);
    const rows = randomRows(random, 390);
    const [key] = [...rows.keys()];
    const older = entryOf(key!, 'value-0');
    const newer = entryOf(key!, 'value-9');
    const stale = new Replica(new Map(rows).set(key!, older));
    const fresh = new Replica(new Map(rows).set(key!, newer));
    expect(walk(stale, fresh)).toMatchObject({ pulled: [key], pushed: [] });
    const stale2 = new Replica(new Map(rows).set(key!, older));
    const fresh2 = new Replica(new Map(rows).set(key!, newer));
    expect(walk(fresh2, stale2)).toMatchObject({ pulled: [], pushed: [key] });
  });

  it('pulls everything into an empty trie in one request', () => {
    const rows = randomRows(prng(0x5eed11), 100);
    const [local, remote] = [new Replica(), new Replica(rows)];
    const result = walk(local, remote);
    expect(result.pushed).toEqual([]);
    expect(result.pulled).toEqual([...rows.keys()].sort());
    expect(result.requests).toBe(1);
    expect(rowsOf(local)).toEqual(rowsOf(remote));
  });

  it('keeps each answer within its byte budget, sending nodes past it (pulled by key), and still converges', () => {
    const random = prng(0x5eed18);
    const big = new Map([...randomRows(random, 12)].map(([key]) => [key, entryOf(key, 'x'.repeat(200 * 1024))]));
    const [local, remote] = [new Replica(), new Replica(big)];
    const result = walk(local, remote);
    expect(result.pulled).toEqual([...big.keys()].sort());
    expect(rowsOf(local)).toEqual(rowsOf(remote));
    expect(result.answerBytesMax).toBeLessThanOrEqual(TABLE_LIMITS.merkleAnswerRowBytesMax + 16 * 1024);
    expect(result.answerBytes).toBeLessThan(2 * TABLE_LIMITS.merkleAnswerRowBytesMax); // the rest came by key
  });

  it('pushes everything to an empty peer', () => {
    const rows = randomRows(prng(0x5eed0a), 100);
    const [full, empty] = [new Replica(new Map(rows)), new Replica()];
    expect(walk(full, empty)).toMatchObject({ pulled: [], pushed: [...rows.keys()].sort() });
    expect(rowsOf(empty)).toEqual(rowsOf(full));
  });

  it('costs well under a kilobyte each way and two or three requests for a few differing rows of a few hundred', () => {
    // The anti-entropy bench's case: a 390-row partition, 4 rows changed on the peer. The 256-ary
    // trie's root alone was about 1.8 KB here, and the walk took a request per node.
    const random = prng(0x5eed14);
    const costs: WalkResult[] = [];
    for (let run = 0; run < 20; run += 1) {
      const rows = randomRows(random, 390);
      const changed = new Map(rows);
      for (const key of shuffled(random, [...rows.keys()]).slice(0, 4)) changed.set(key, Buffer.concat([rows.get(key)!, Buffer.from('+')])); // a later value
      const result = walk(new Replica(new Map(rows)), new Replica(changed));
      expect(result.pulled).toHaveLength(4);
      costs.push(result);
    }
    const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(mean(costs.map((cost) => cost.answerBytes))).toBeLessThan(800);
    expect(mean(costs.map((cost) => cost.questionBytes))).toBeLessThan(600);
    expect(mean(costs.map((cost) => cost.requests))).toBeLessThan(3);
    expect(Math.max(...costs.map((cost) => cost.requests))).toBeLessThanOrEqual(4);
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

describe('Merkle questions and answers', () => {
  const answerOf = (replica: Replica, query: MerkleQuery): MerkleAnswerWire => answerMerkleQueries(replica.store, hasher, PARTITION, [query], (key) => replica.entryOf(key))[0]!;

  it('answers a hash question with "same" or its root, or its rows to an asker that has none', () => {
    const replica = new Replica(randomRows(prng(0x5eed15), 50));
    const root = merkleNode(replica.store, PARTITION, MERKLE_ROOT_PREFIX);
    expect(answerOf(replica, { kind: 'hash', prefix: MERKLE_ROOT_PREFIX, hash: merkleNodeHash(hasher, root) })).toBeNull();
    expect(answerOf(replica, { kind: 'hash', prefix: MERKLE_ROOT_PREFIX, hash: Buffer.alloc(8, 1) })).toEqual(encodeMerkleNode(root));
    expect(answerOf(replica, { kind: 'hash', prefix: MERKLE_ROOT_PREFIX, hash: EMPTY_NODE_HASH })).toHaveLength(50);
  });

  it('answers a node question with the differing children only, as nodes or as a few rows', () => {
    const random = prng(0x5eed17);
    const rows = randomRows(random, 390);
    const changed = new Map(rows);
    const [key] = shuffled(random, [...rows.keys()]);
    changed.set(key!, Buffer.concat([rows.get(key!)!, Buffer.from('+')]));
    const [mine, theirs] = [new Replica(rows), new Replica(changed)];
    const digit = keyHashDigit(merkleKeyHash(Buffer.from(key!, 'hex')), 0);
    const root = merkleNode(mine.store, PARTITION, MERKLE_ROOT_PREFIX);
    // At the root: one of 16 children differs, and it holds about 24 rows: its node comes back.
    const answer = answerOf(theirs, { kind: 'node', prefix: MERKLE_ROOT_PREFIX, node: root });
    expect(answer).toEqual({ below: [digit, encodeMerkleNode(merkleNode(theirs.store, PARTITION, Buffer.from([digit])))] });
    // One level down, the differing child holds a few rows: they come back in place of its node.
    const prefix = Buffer.from([digit]);
    const below = answerOf(theirs, { kind: 'node', prefix, node: merkleNode(mine.store, PARTITION, prefix) }) as { below: unknown[] };
    expect(below.below).toHaveLength(2);
    expect((below.below[1] as Buffer[]).some((entry) => entry.equals(changed.get(key!)!))).toBe(true);
    expect((below.below[1] as Buffer[]).length).toBeLessThanOrEqual(4);
  });

  it('checks a peer\'s answer against the question', () => {
    const hashQuery: MerkleQuery = { kind: 'hash', prefix: MERKLE_ROOT_PREFIX, hash: Buffer.alloc(8) };
    const nodeQuery: MerkleQuery = { kind: 'node', prefix: MERKLE_ROOT_PREFIX, node: EMPTY_MERKLE_NODE };
    expect(decodeMerkleAnswer(hasher, hashQuery, null)).toEqual({ kind: 'same' });
    expect(decodeMerkleAnswer(hasher, hashQuery, Buffer.alloc(0))).toEqual({ kind: 'here', view: EMPTY_MERKLE_NODE });
    const node = Buffer.from(`02010001${'aa'.repeat(8)}`, 'hex');
    expect(decodeMerkleAnswer(hasher, nodeQuery, { below: [3, node, 7, []] })).toMatchObject({ kind: 'below', children: [{ digit: 3 }, { digit: 7, view: { kind: 'rows', rows: [] } }] });
    const bad: [MerkleQuery, unknown][] = [
      [hashQuery, { below: [3, node] }], // children answer a node question only
      [nodeQuery, { below: [7, node, 3, node] }], // out of order
      [nodeQuery, { below: [16, node] }], // not a digit
      [nodeQuery, { below: [3] }], // a digit without a view
      [nodeQuery, { below: [] }],
      [nodeQuery, 'node'],
      [nodeQuery, [Buffer.alloc(1), 'row']],
      [nodeQuery, Buffer.from('0101', 'hex')], // a malformed node
    ];
    for (const [query, wire] of bad) expect(() => decodeMerkleAnswer(hasher, query, wire)).toThrow(TableError);
  });

  it('refuses more than a few rows in place of a node where this side holds rows (a peer off protocol)', () => {
    const replica = new Replica(randomRows(prng(0x5eed16), 50));
    const root = merkleNode(replica.store, PARTITION, MERKLE_ROOT_PREFIX);
    const rows = Array.from({ length: 5 }, (_, index) => Buffer.from(`row-${index}`));
    const answer = decodeMerkleAnswer(hasher, { kind: 'node', prefix: MERKLE_ROOT_PREFIX, node: root }, rows);
    expect(() => planAnswer({ store: replica.store, partition: PARTITION }, MERKLE_ROOT_PREFIX, root, answer)).toThrow(TableError);
    expect(rowsPlan([], { kind: 'rows', rows: rows.map((entry) => ({ entry, entryHash: hasher.hash64(entry) })) }).merge).toHaveLength(5);
  });

  it('refuses malformed questions from a peer', () => {
    const good = [Buffer.from([1, 2]), 0, Buffer.alloc(8)];
    expect(decodeMerkleQueries([good, [Buffer.from([1]), 1, Buffer.alloc(0)]])).toHaveLength(2);
    const bad: unknown[] = [
      [], // no question
      Array(65).fill(good), // too many
      [[Buffer.from([16]), 0, Buffer.alloc(8)]], // not a digit
      [[Buffer.alloc(65), 0, Buffer.alloc(8)]], // deeper than the key hash
      [[Buffer.from([1]), 0, Buffer.alloc(7)]], // not a hash
      [[Buffer.from([1]), 2, Buffer.alloc(8)]], // unknown kind
      [[Buffer.from([1]), 1, Buffer.from('0101', 'hex')]], // a malformed node
      [[Buffer.from([1]), 1]],
      [['01', 0, Buffer.alloc(8)]],
      'questions',
    ];
    for (const wire of bad) expect(() => decodeMerkleQueries(wire)).toThrow(TableError);
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
    expect(remoteAsks).toBeLessThanOrEqual(5); // root plus one node per level (a 3000-row 16-ary trie is about 3 deep)
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
    const expected = Array.from({ length: Math.ceil(701 / MERKLE_BATCH_MAX) }, (_, index) => Math.min(MERKLE_BATCH_MAX, 701 - index * MERKLE_BATCH_MAX));
    expect(batches.map((batch) => batch.taken)).toEqual(expected);
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
