// The first step of an anti-entropy round with one peer, for every partition at once: compare the
// roots of all the partitions both nodes store, and walk (merkle-diff.ts) only those that differ.
//
// Why: a round visits every (partition, peer) pair, and nearly every pair is equal. Asking each
// root on its own costs a message per pair (256 partitions, each table, each peer, each round):
// hundreds of kilobytes a round on an idle cluster, more than a whole repair of a 1% difference.
// Here a round costs one small message per table and peer when everything is equal: the asker
// sends a digest of its roots for a set of partitions, the peer compares with the digest of its
// own and answers "same", or its roots (8 bytes each) so the asker sees which partitions differ.
// Pure: the syncer sends, the table actor answers, this file encodes and decides.
import { TableError } from './errors';
import { CONTENT_HASH_BYTES, type Hasher } from './hash';
import { PARTITION_COUNT } from '../layout/types';

/** A partition set is a bitmap, one bit per partition of the layout. */
const PARTITION_SET_BYTES = PARTITION_COUNT / 8;

export interface RootsQuestion {
  /** The partitions compared, as a bitmap (bit p of byte p >> 3, high bit first). */
  partitions: Buffer;
  /** Digest of the asker's roots of those partitions, in partition order. */
  digest: Buffer;
}

export type RootsAnswer = { same: true } | { same: false; roots: Buffer };

export function encodePartitionSet(partitions: readonly number[]): Buffer {
  const set = Buffer.alloc(PARTITION_SET_BYTES);
  for (const partition of partitions) {
    if (!Number.isInteger(partition) || partition < 0 || partition >= PARTITION_COUNT) throw new TableError('malformed', `partition ${partition} out of range`);
    set[partition >> 3]! |= 0x80 >> (partition & 7);
  }
  return set;
}

/** The partitions of a set, ascending. */
export function decodePartitionSet(set: unknown): number[] {
  if (!Buffer.isBuffer(set) || set.length !== PARTITION_SET_BYTES) throw new TableError('malformed', `a partition set is ${PARTITION_SET_BYTES} bytes`);
  const partitions: number[] = [];
  for (let partition = 0; partition < PARTITION_COUNT; partition++) {
    if (set[partition >> 3]! & (0x80 >> (partition & 7))) partitions.push(partition);
  }
  return partitions;
}

/** Digest of roots listed in partition order: equal digests, equal roots (up to collisions). */
export function rootsDigest(hasher: Hasher, roots: readonly Buffer[]): Buffer {
  return hasher.hash64(Buffer.concat(roots));
}

export function rootsQuestion(hasher: Hasher, partitions: readonly number[], roots: readonly Buffer[]): RootsQuestion {
  return { partitions: encodePartitionSet(partitions), digest: rootsDigest(hasher, roots) };
}

/**
 * The peer's side: `rootOf` gives its root of a partition. The roots are sent only when the
 * digests differ, so an equal round costs the question and a one-field answer.
 */
export function answerRoots(hasher: Hasher, question: unknown, rootOf: (partition: number) => Buffer): RootsAnswer {
  const { partitions, digest } = checkQuestion(question);
  const roots = decodePartitionSet(partitions).map(rootOf);
  return rootsDigest(hasher, roots).equals(digest) ? { same: true } : { same: false, roots: Buffer.concat(roots) };
}

/** The asker's side: of the partitions asked about, those whose roots differ from the peer's. */
export function differingPartitions(partitions: readonly number[], localRoots: readonly Buffer[], answer: unknown): number[] {
  if (!isAnswer(answer)) throw new TableError('malformed', 'roots answer: { same } expected');
  if (answer.same) return [];
  if (answer.roots.length !== partitions.length * CONTENT_HASH_BYTES) throw new TableError('malformed', `roots answer: ${partitions.length} roots expected`);
  return partitions.filter((_, index) => !answer.roots.subarray(index * CONTENT_HASH_BYTES, (index + 1) * CONTENT_HASH_BYTES).equals(localRoots[index]!));
}

function checkQuestion(question: unknown): RootsQuestion {
  const candidate = question as Partial<RootsQuestion> | null;
  if (candidate === null || typeof candidate !== 'object' || !Buffer.isBuffer(candidate.digest) || candidate.digest.length !== CONTENT_HASH_BYTES) {
    throw new TableError('malformed', 'roots question: { partitions, digest } expected');
  }
  return { partitions: candidate.partitions as Buffer, digest: candidate.digest };
}

function isAnswer(answer: unknown): answer is RootsAnswer {
  const candidate = answer as { same?: unknown; roots?: unknown } | null;
  if (candidate === null || typeof candidate !== 'object') return false;
  return candidate.same === true || (candidate.same === false && Buffer.isBuffer(candidate.roots));
}
