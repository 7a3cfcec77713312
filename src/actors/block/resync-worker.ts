// The block resync workers (/node/blocks/resync-<i>, each run by a workerRunner): they share one
// persistent queue of block hashes (metadata tree `blk_resync`, ordered by due time) and for each
// one make this node's copy match what it should be: fetch a referenced block this node should
// hold but lacks, offload a block it no longer should hold, delete one unreferenced for the GC
// delay once the other holders were asked whether they need it. Failed checks are kept in an error
// list (tree `blk_resync_errors`) with their backoff. After each item a worker rests tranquility ×
// the time the item took, so resync never saturates the disk or the links.
// The decisions are pure (protocols/block/resync.ts); this file only does the I/O.
// Invariant: a worker takes a queue entry by removing it in the same synchronous turn in which it
// read it, and marks the hash busy until its check ends; so two workers never check one block at
// once, and at most one worker runs a scan or listing batch at a time (scanBusy).
import type { Worker, WorkerStepResult } from '../runtime';
import { decodeCounter, encodeCounter, isDeletable, type LocalCounter, type Placement } from '../../protocols/table';
import { BLOCK_REFCOUNT_CHANGED_COUNTER, BLOCK_REFCOUNT_COUNTER } from '../../protocols/block/block-ref';
import {
  decodeResyncError,
  decodeResyncKey,
  decodeResyncValue,
  encodeResyncError,
  gcScanIntervalMs,
  holdersNeedingBlock,
  RESYNC_ERRORS_TREE,
  RESYNC_HASH_BYTES,
  RESYNC_LIMITS,
  resyncAction,
  resyncDueBound,
  resyncErrorAfterFailure,
  resyncKey,
  resyncValue,
  type HolderNeed,
  type ResyncErrorRecord,
} from '../../protocols/block/resync';
import { restAfterMs } from '../../protocols/block/worker-settings';
import type { MetadataStore } from '../../storage/metadata';
import type { BlockStore } from '../../storage/blocks';
import { localCounterTreeName } from '../table/storage';

export const RESYNC_QUEUE_TREE = 'blk_resync';
/** A hash met in the queue while another worker checks it comes back this much later. */
const BUSY_RETRY_DELAY_MS = 1_000;

export interface ResyncComponents {
  selfId: string;
  metadata: MetadataStore;
  blocks: BlockStore;
  placement: () => Placement;
  gcDelayMs: number;
  nowMs: () => number;
  /** The current resync tranquility (a run-time setting). */
  tranquility: () => number;
  sleep: (delayMs: number) => Promise<void>;
  /** Another holder's copy (its manager's `fetch`), unverified; null if it has none. */
  fetchFrom: (nodeId: string, hash: Buffer) => Promise<Buffer | null>;
  /** Has a holder store the block (its manager's `store`, idempotent). */
  storeOn: (nodeId: string, hash: Buffer, data: Buffer) => Promise<void>;
  /** What another holder has of a block: its refcount and whether its file is there. */
  askNeed: (nodeId: string, hash: Buffer) => Promise<HolderNeed>;
  /** Whether the block_ref table (a quorum read, wherever its rows live) holds a live reference. */
  isReferenced: (hash: Buffer) => Promise<boolean>;
  /** Verifies bytes against a hash. */
  hashOf: (data: Buffer) => Buffer;
}

export interface ResyncErrorInfo extends ResyncErrorRecord {
  hash: string;
}

/** The shared part of the resync workers: the queue, the error list, scans and counts. */
export interface Resync {
  /** A worker over the shared queue; `name` shows in its status. */
  worker(name: string): Worker;
  /** Enqueue blocks from the local refcounts: all of them, or only those at zero (GC). */
  requestScan(includeReferenced: boolean): void;
  /** Enqueue every block stored here (after a layout change, or for `repair blocks`). */
  requestListing(): void;
  /** Check this block as soon as a worker is free (a corrupt copy was found, for one). */
  enqueueNow(hash: Buffer): void;
  /** Moves blocks of the error list (all, or those given) to the head of the queue; how many. */
  retryNow(hashes: Buffer[] | 'all'): number;
  errors(limit: number): ResyncErrorInfo[];
  errorOf(hash: Buffer): ResyncErrorRecord | null;
  status(): Record<string, unknown>;
}

interface Counts {
  checked: number;
  fetched: number;
  offloaded: number;
  deleted: number;
  handedOver: number;
  kept: number;
  failed: number;
  enqueued: number;
}

export function resync(components: ResyncComponents): Resync {
  const { metadata, nowMs } = components;
  const queue = metadata.tree(RESYNC_QUEUE_TREE);
  const errorTree = metadata.tree(RESYNC_ERRORS_TREE);
  const counters = metadata.tree(localCounterTreeName(BLOCK_REFCOUNT_COUNTER));
  const changed = metadata.tree(localCounterTreeName(BLOCK_REFCOUNT_CHANGED_COUNTER));
  // The startup scan: blocks referenced here that went missing while the node was down.
  let scan: { includeReferenced: boolean; after: Buffer | null } | null = { includeReferenced: true, after: null };
  let listing: AsyncIterator<Buffer> | null = null;
  let listingRequested = false;
  let scanBusy = false;
  let lastGcScanMs = nowMs();
  const busy = new Set<string>();
  /** Ends the rest of every resting worker: new work was asked for (an operator, a corrupt copy). */
  const restEnders = new Set<() => void>();
  const counts: Counts = { checked: 0, fetched: 0, offloaded: 0, deleted: 0, handedOver: 0, kept: 0, failed: 0, enqueued: 0 };

  const enqueue = (hash: Buffer, dueMs: number, attempts = 0): void => {
    queue.insert(resyncKey(dueMs, hash), resyncValue(attempts));
    counts.enqueued++;
  };

  /** One batch of the counter scan. */
  const scanStep = (): void => {
    const current = scan!;
    const start = current.after === null ? undefined : Buffer.concat([current.after, Buffer.alloc(1)]);
    const entries = counters.range({ ...(start ? { start } : {}), limit: RESYNC_LIMITS.batchMax });
    const now = nowMs();
    for (const entry of entries) {
      if (entry.key.length !== RESYNC_HASH_BYTES) continue;
      const counter = decodeCounter(entry.value);
      if (counter.count > 0 && current.includeReferenced) enqueue(entry.key, now);
      // A zero counter's due time is fixed by the counter, so rescans overwrite the same key.
      if (counter.count === 0) enqueue(entry.key, (counter.zeroSinceMs ?? now) + components.gcDelayMs);
    }
    current.after = entries.length > 0 ? entries[entries.length - 1]!.key : current.after;
    if (entries.length < RESYNC_LIMITS.batchMax) scan = null;
  };

  /** One batch of the local block list; the list is read lazily, a batch per step. */
  const listingStep = async (): Promise<void> => {
    if (listingRequested) {
      listingRequested = false;
      listing = components.blocks.list()[Symbol.asyncIterator]();
    }
    const now = nowMs();
    for (let i = 0; i < RESYNC_LIMITS.batchMax && listing !== null; i++) {
      const next = await listing.next();
      if (next.done) listing = null;
      else enqueue(next.value, now);
    }
  };

  const counterOf = (hash: Buffer): LocalCounter | null => {
    const bytes = counters.get(hash);
    return bytes === null ? null : decodeCounter(bytes);
  };

  const othersHolding = (hash: Buffer): string[] => components.placement().holders(hash[0]!).filter((nodeId) => nodeId !== components.selfId);

  const fetchHere = async (hash: Buffer): Promise<void> => {
    const failures: string[] = [];
    for (const nodeId of othersHolding(hash)) {
      try {
        const data = await components.fetchFrom(nodeId, hash);
        if (data !== null && components.hashOf(data).equals(hash)) {
          await components.blocks.put(hash, data);
          counts.fetched++;
          return;
        }
        failures.push(`${nodeId.slice(0, 8)}: ${data === null ? 'absent' : 'wrong bytes'}`);
      } catch (error) {
        failures.push(`${nodeId.slice(0, 8)}: ${(error as Error).message}`);
      }
    }
    throw new Error(`no holder sent block ${hash.toString('hex').slice(0, 16)} (${failures.join('; ') || 'no other holder'})`);
  };

  const offload = async (hash: Buffer): Promise<void> => {
    const data = await components.blocks.get(hash);
    if (data === null) return;
    const holders = components.placement().holders(hash[0]!);
    if (holders.length === 0) throw new Error('no holder to offload to: no layout stores blocks');
    // Every holder must confirm before the local copy goes: this may be the last good copy.
    await Promise.all(holders.map((nodeId) => components.storeOn(nodeId, hash, data)));
    await components.blocks.delete(hash);
    counts.offloaded++;
  };

  /**
   * Garage's delete_if_unneeded, with two more guards. Never during a layout change. Every other
   * holder is asked first (an unreachable one makes this check fail and retry later), and a holder
   * that counts a reference but lacks the block is given it. Then the block_ref table is read: the
   * local refcount counts only the rows this node stores, the table's quorum read sees them all,
   * and a live reference there keeps the block for another delay. Last, a local reference that
   * came back meanwhile keeps it too.
   */
  const deleteUnreferenced = async (hash: Buffer): Promise<void> => {
    // While a layout change is under way, references are moving between nodes too, and a read may
    // miss them: an unreferenced block waits for the change to end.
    if (components.placement().writeSets(hash[0]!).length > 1) {
      counts.kept++;
      return void enqueue(hash, nowMs() + gcScanIntervalMs(components.gcDelayMs));
    }
    const answers = await Promise.all(othersHolding(hash).map((nodeId) => components.askNeed(nodeId, hash)));
    const needing = holdersNeedingBlock(answers);
    if (needing.length > 0) {
      const data = await components.blocks.get(hash);
      if (data === null) return;
      await Promise.all(needing.map((nodeId) => components.storeOn(nodeId, hash, data)));
      counts.handedOver += needing.length;
    }
    if (await components.isReferenced(hash)) {
      counts.kept++;
      restartDelay(hash);
      return;
    }
    const counter = counterOf(hash);
    if (counter === null || !isDeletable(counter, nowMs(), components.gcDelayMs)) {
      counts.kept++;
      if (counter !== null && counter.count === 0) enqueue(hash, (counter.zeroSinceMs ?? nowMs()) + components.gcDelayMs);
      return;
    }
    await components.blocks.delete(hash);
    // Forget the counter only if no reference came back meanwhile (then the next scan refetches).
    metadata.transaction((tx) => {
      const tree = tx.tree(counters.name);
      const bytes = tree.get(hash);
      if (bytes !== null && decodeCounter(bytes).count === 0) tree.remove(hash);
    });
    counts.deleted++;
  };

  /** A block referenced elsewhere though not here: its zero counter starts a new delay. */
  const restartDelay = (hash: Buffer): void => {
    metadata.transaction((tx) => {
      const tree = tx.tree(counters.name);
      const bytes = tree.get(hash);
      if (bytes !== null && decodeCounter(bytes).count === 0) tree.insert(hash, encodeCounter({ count: 0, zeroSinceMs: nowMs() }));
    });
    enqueue(hash, nowMs() + components.gcDelayMs);
  };

  const check = async (hash: Buffer): Promise<void> => {
    const facts = {
      shouldHold: components.placement().holders(hash[0]!).includes(components.selfId),
      counter: counterOf(hash),
      present: await components.blocks.has(hash),
      nowMs: nowMs(),
      gcDelayMs: components.gcDelayMs,
    };
    const action = resyncAction(facts);
    switch (action.kind) {
      case 'none': return;
      case 'fetch': return fetchHere(hash);
      case 'offload': return offload(hash);
      case 'delete': return deleteUnreferenced(hash);
      case 'recheck': return void enqueue(hash, action.dueMs);
    }
  };

  const errorOf = (hash: Buffer): ResyncErrorRecord | null => {
    const bytes = errorTree.get(hash);
    if (bytes === null) return null;
    try {
      return decodeResyncError(bytes);
    } catch {
      return null; // an unreadable record is replaced by the next failure
    }
  };

  const recordFailure = (hash: Buffer, error: unknown): void => {
    counts.failed++;
    const record = resyncErrorAfterFailure(errorOf(hash), (error as Error)?.message ?? String(error), nowMs());
    errorTree.insert(hash, encodeResyncError(record));
    if (record.nextTryMs !== null) enqueue(hash, record.nextTryMs, record.errorCount);
  };

  /** Takes one due entry that no other worker is checking (synchronously: see the invariant). */
  const takeDue = (): Buffer | null => {
    const due = queue.range({ end: resyncDueBound(nowMs()), limit: RESYNC_LIMITS.batchMax });
    for (const entry of due) {
      const { hash } = decodeResyncKey(entry.key);
      decodeResyncValue(entry.value); // asserts the format
      queue.remove(entry.key);
      if (!busy.has(hash.toString('hex'))) return hash;
      enqueue(hash, nowMs() + BUSY_RETRY_DELAY_MS);
    }
    return null;
  };

  const checkOne = async (hash: Buffer): Promise<void> => {
    const hashHex = hash.toString('hex');
    busy.add(hashHex);
    const startedMs = nowMs();
    let succeeded = false;
    try {
      await check(hash);
      errorTree.remove(hash);
      succeeded = true;
    } catch (error) {
      recordFailure(hash, error);
    } finally {
      busy.delete(hashHex);
      counts.checked++;
    }
    // A failed check is paced by its block's backoff instead: resting tranquility × the time it
    // took (often an RPC timeout) would stall every other block for minutes.
    if (succeeded) await rest(restAfterMs(components.tranquility(), nowMs() - startedMs));
  };

  /** The tranquility rest, cut short when new work is asked for. */
  const rest = async (restMs: number): Promise<void> => {
    if (restMs <= 0) return;
    let end = (): void => {};
    const ended = new Promise<void>((resolve) => (end = resolve));
    restEnders.add(end);
    try {
      await Promise.race([components.sleep(restMs), ended]);
    } finally {
      restEnders.delete(end);
    }
  };

  const endRests = (): void => {
    for (const end of restEnders) end();
  };

  /** Blocks whose refcount changed since the last look (the hook's change feed): check them now. */
  const takeChanged = (): boolean => {
    const entries = changed.range({ limit: RESYNC_LIMITS.batchMax });
    const now = nowMs();
    for (const entry of entries) {
      changed.remove(entry.key);
      if (entry.key.length === RESYNC_HASH_BYTES) enqueue(entry.key, now);
    }
    return entries.length > 0;
  };

  const scanOrListingStep = async (): Promise<boolean> => {
    if (takeChanged()) return true;
    if (scanBusy) return false;
    if (scan === null && nowMs() - lastGcScanMs >= gcScanIntervalMs(components.gcDelayMs)) {
      lastGcScanMs = nowMs();
      scan = { includeReferenced: false, after: null };
    }
    if (scan === null && !listingRequested && listing === null) return false;
    scanBusy = true;
    try {
      if (scan !== null) scanStep();
      else await listingStep();
    } finally {
      scanBusy = false;
    }
    return true;
  };

  return {
    worker(name) {
      let items = 0;
      return {
        async step(): Promise<WorkerStepResult> {
          if (await scanOrListingStep()) return 'busy';
          const hash = takeDue();
          if (hash === null) return 'idle';
          items++;
          await checkOne(hash);
          return 'busy';
        },
        status: () => ({ name, items, ...counts, busy: busy.size }),
      };
    },
    requestScan(includeReferenced) {
      scan = { includeReferenced: includeReferenced || (scan?.includeReferenced ?? false), after: null };
      endRests();
    },
    requestListing() {
      listingRequested = true;
      endRests();
    },
    enqueueNow(hash) {
      enqueue(hash, nowMs());
      endRests();
    },
    retryNow(hashes) {
      const now = nowMs();
      const chosen = hashes === 'all' ? errorTree.range({}).map((entry) => entry.key) : hashes;
      for (const hash of chosen) {
        const record = errorOf(hash);
        if (record !== null) errorTree.insert(hash, encodeResyncError({ ...record, nextTryMs: now }));
        enqueue(hash, now, record?.errorCount ?? 0);
      }
      endRests();
      return chosen.length;
    },
    errors(limit) {
      return errorTree.range({ limit }).flatMap((entry) => {
        const record = errorOf(entry.key);
        return record === null ? [] : [{ hash: entry.key.toString('hex'), ...record }];
      });
    },
    errorOf,
    status: () => ({ ...counts, queued: queue.count(), errors: errorTree.count(), busy: busy.size, scanning: scan !== null, listing: listing !== null || listingRequested }),
  };
}
