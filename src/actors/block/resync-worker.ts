// The block resync worker (/node/blocks/resync, run by workerRunner): works through a persistent
// queue of block hashes (metadata tree `blk_resync`, ordered by due time) and for each one makes
// this node's copy match what it should be: fetch a referenced block this node should hold but
// lacks, offload a block it no longer should hold, delete one unreferenced for the GC delay.
// The decision is pure (protocols/block/resync.ts); this file only does the I/O.
// Invariant: only this worker's step touches the queue and the scan state, one step at a time;
// the manager only sets request flags (requestScan, requestListing) between steps.
import type { Worker, WorkerStepResult } from '../runtime';
import { decodeCounter, type LocalCounter, type Placement } from '../../protocols/table';
import { BLOCK_REFCOUNT_COUNTER } from '../../protocols/block/block-ref';
import {
  decodeResyncKey,
  decodeResyncValue,
  gcScanIntervalMs,
  RESYNC_HASH_BYTES,
  RESYNC_LIMITS,
  resyncAction,
  resyncDueBound,
  resyncKey,
  resyncRetryDueMs,
  resyncValue,
} from '../../protocols/block/resync';
import type { MetadataStore } from '../../storage/metadata';
import type { BlockStore } from '../../storage/blocks';
import { localCounterTreeName } from '../table/storage';

export const RESYNC_QUEUE_TREE = 'blk_resync';

export interface ResyncWorkerComponents {
  selfId: string;
  metadata: MetadataStore;
  blocks: BlockStore;
  placement: () => Placement;
  gcDelayMs: number;
  nowMs: () => number;
  /** Another holder's copy (its manager's `fetch`), unverified; null if it has none. */
  fetchFrom: (nodeId: string, hash: Buffer) => Promise<Buffer | null>;
  /** Has a holder store the block (its manager's `store`, idempotent). */
  storeOn: (nodeId: string, hash: Buffer, data: Buffer) => Promise<void>;
  /** Verifies bytes against a hash. */
  hashOf: (data: Buffer) => Buffer;
}

export interface ResyncWorker extends Worker {
  /** Enqueue blocks from the local refcounts: all of them, or only those at zero (GC). */
  requestScan(includeReferenced: boolean): void;
  /** Enqueue every block stored here (after a layout change). */
  requestListing(): void;
}

interface Counts {
  fetched: number;
  offloaded: number;
  deleted: number;
  failed: number;
  enqueued: number;
}

export function resyncWorker(components: ResyncWorkerComponents): ResyncWorker {
  const { metadata, nowMs } = components;
  const queue = metadata.tree(RESYNC_QUEUE_TREE);
  const counters = metadata.tree(localCounterTreeName(BLOCK_REFCOUNT_COUNTER));
  // The startup scan: blocks referenced here that went missing while the node was down.
  let scan: { includeReferenced: boolean; after: Buffer | null } | null = { includeReferenced: true, after: null };
  let listing: AsyncIterator<Buffer> | null = null;
  let listingRequested = false;
  let lastGcScanMs = nowMs();
  const counts: Counts = { fetched: 0, offloaded: 0, deleted: 0, failed: 0, enqueued: 0 };

  const enqueue = (hash: Buffer, dueMs: number, attempts = 0): void => {
    queue.insert(resyncKey(dueMs, hash), resyncValue(attempts));
    counts.enqueued++;
  };

  /** One batch of the counter scan; false once it reached the end. */
  const scanStep = (): boolean => {
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
    return true;
  };

  /** One batch of the local block list; the list is read lazily, a batch per step. */
  const listingStep = async (): Promise<void> => {
    if (listingRequested) {
      listingRequested = false;
      listing = components.blocks.list()[Symbol.asyncIterator]();
    }
    const now = nowMs();
    for (let i = 0; i < RESYNC_LIMITS.batchMax; i++) {
      const next = await listing!.next();
      if (next.done) {
        listing = null;
        return;
      }
      enqueue(next.value, now);
    }
  };

  const counterOf = (hash: Buffer): LocalCounter | null => {
    const bytes = counters.get(hash);
    return bytes === null ? null : decodeCounter(bytes);
  };

  const fetchHere = async (hash: Buffer): Promise<void> => {
    const others = components.placement().holders(hash[0]!).filter((nodeId) => nodeId !== components.selfId);
    const failures: string[] = [];
    for (const nodeId of others) {
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

  const deleteUnreferenced = async (hash: Buffer): Promise<void> => {
    await components.blocks.delete(hash);
    // Forget the counter only if no reference came back meanwhile (then the next scan refetches).
    metadata.transaction((tx) => {
      const tree = tx.tree(counters.name);
      const bytes = tree.get(hash);
      if (bytes !== null && decodeCounter(bytes).count === 0) tree.remove(hash);
    });
    counts.deleted++;
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

  const queueStep = async (): Promise<boolean> => {
    const due = queue.range({ end: resyncDueBound(nowMs()), limit: RESYNC_LIMITS.batchMax });
    for (const entry of due) {
      const { hash } = decodeResyncKey(entry.key);
      queue.remove(entry.key);
      try {
        await check(hash);
      } catch {
        counts.failed++;
        const retryMs = resyncRetryDueMs(decodeResyncValue(entry.value).attempts + 1, nowMs());
        if (retryMs !== null) enqueue(hash, retryMs, decodeResyncValue(entry.value).attempts + 1);
      }
    }
    return due.length > 0;
  };

  return {
    requestScan(includeReferenced) {
      scan = { includeReferenced: includeReferenced || (scan?.includeReferenced ?? false), after: null };
    },
    requestListing() {
      listingRequested = true;
    },
    async step(): Promise<WorkerStepResult> {
      if (scan === null && nowMs() - lastGcScanMs >= gcScanIntervalMs(components.gcDelayMs)) {
        lastGcScanMs = nowMs();
        scan = { includeReferenced: false, after: null };
      }
      if (scan !== null) return scanStep() ? 'busy' : 'idle';
      if (listingRequested || listing !== null) {
        await listingStep();
        return 'busy';
      }
      return (await queueStep()) ? 'busy' : 'idle';
    },
    status: () => ({ ...counts, queued: queue.count(), scanning: scan !== null, listing: listing !== null || listingRequested }),
  };
}
