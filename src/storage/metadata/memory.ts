// The in-memory metadata store, for unit tests: each tree is a sorted array searched by binary
// search (O(log n) lookups, O(log n + k) scans; inserts move the tail, fine up to ~1e5 entries).
// Transactions keep an undo log; a savepoint is a mark in it.
import { MetadataStoreError } from './errors';
import { GroupCommit } from './group-commit';
import { checkKey, checkTreeName, checkValue, rangeBounds } from './keys';
import { TREES_MAX } from './limits';
import { TransactionScopes } from './scopes';
import { runWork } from './transaction';
import type { Entry, MetadataStore, MetadataStoreStats, RangeQuery, Transaction, Tree } from './types';

export function openMemoryStore(): MemoryMetadataStore {
  return new MemoryMetadataStore();
}

/** Keys in ascending Buffer.compare order, values beside them. Invariant: keys strictly ascending. */
class SortedEntries {
  readonly keys: Buffer[] = [];
  readonly values: Buffer[] = [];

  /** Index of the first key >= `key` (keys.length when none). */
  lowerBound(key: Buffer): number {
    let low = 0;
    let high = this.keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (Buffer.compare(this.keys[middle]!, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  get(key: Buffer): Buffer | undefined {
    const index = this.lowerBound(key);
    return index < this.keys.length && this.keys[index]!.equals(key) ? this.values[index] : undefined;
  }

  /** Returns the value replaced, if any. */
  set(key: Buffer, value: Buffer): Buffer | undefined {
    const index = this.lowerBound(key);
    if (index < this.keys.length && this.keys[index]!.equals(key)) {
      const previous = this.values[index];
      this.values[index] = value;
      return previous;
    }
    this.keys.splice(index, 0, key);
    this.values.splice(index, 0, value);
    return undefined;
  }

  /** Returns the value removed, if any. */
  delete(key: Buffer): Buffer | undefined {
    const index = this.lowerBound(key);
    if (index === this.keys.length || !this.keys[index]!.equals(key)) return undefined;
    const previous = this.values[index];
    this.keys.splice(index, 1);
    this.values.splice(index, 1);
    return previous;
  }
}

/** What to restore on rollback: `previous` undefined means the key was absent. */
interface UndoRecord {
  entries: SortedEntries;
  key: Buffer;
  previous: Buffer | undefined;
}

export class MemoryMetadataStore implements MetadataStore {
  private readonly trees = new Map<string, MemoryTree>();
  private readonly undoLog: UndoRecord[] = [];
  /** Invariant: marks.length = open scopes; marks[d] = undoLog length when scope d began. */
  private readonly marks: number[] = [];
  private readonly scopes = new TransactionScopes({
    begin: () => this.marks.push(this.undoLog.length),
    commit: () => {
      this.marks.pop();
      if (this.marks.length === 0) this.undoLog.length = 0;
    },
    rollback: () => this.rollbackToMark(this.marks.pop()!),
    inTransaction: () => this.marks.length > 0,
    lost: () => {
      this.marks.length = 0;
      this.undoLog.length = 0;
    },
  });
  private readonly groupCommit = new GroupCommit(this.scopes);
  private closed = false;

  tree(name: string): Tree {
    this.assertOpen();
    let tree = this.trees.get(name);
    if (tree === undefined) {
      checkTreeName(name);
      if (this.trees.size >= TREES_MAX) throw new MetadataStoreError('limit-exceeded', `more than ${TREES_MAX} trees`);
      tree = new MemoryTree(this, name);
      this.trees.set(name, tree);
    }
    return tree;
  }

  transaction<T>(work: (tx: Transaction) => T): T {
    this.assertOpen();
    return this.scopes.run(() => runWork(this, work));
  }

  transactAsync<T>(work: (tx: Transaction) => T): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    return this.groupCommit.enqueue(() => runWork(this, work));
  }

  stats(): MetadataStoreStats {
    return {
      commits: this.scopes.commits,
      rollbacks: this.scopes.rollbacks,
      groupCommits: this.groupCommit.batches,
      groupCommitWorks: this.groupCommit.works,
      groupCommitPending: this.groupCommit.pendingCount,
    };
  }

  close(): void {
    if (this.closed) return;
    if (this.scopes.depth > 0) throw new MetadataStoreError('busy', 'cannot close the store from inside a transaction');
    this.groupCommit.drain();
    this.closed = true;
    this.trees.clear();
  }

  /** Every tree operation starts here. */
  beginOperation(): void {
    this.assertOpen();
    this.scopes.assertUsable();
  }

  /** Applies a write (null value: remove) and makes it undoable; returns the previous value. `key` is the store's own copy. */
  write(entries: SortedEntries, key: Buffer, value: Buffer | null): Buffer | undefined {
    const previous = value === null ? entries.delete(key) : entries.set(key, value);
    const changed = value !== null || previous !== undefined;
    if (this.marks.length > 0 && changed) this.undoLog.push({ entries, key, previous });
    else this.scopes.noteAutocommitWrite();
    return previous;
  }

  private rollbackToMark(mark: number): void {
    while (this.undoLog.length > mark) {
      const { entries, key, previous } = this.undoLog.pop()!;
      if (previous === undefined) entries.delete(key);
      else entries.set(key, previous);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

class MemoryTree implements Tree {
  private readonly entries = new SortedEntries();

  constructor(private readonly store: MemoryMetadataStore, readonly name: string) {}

  get(key: Buffer): Buffer | null {
    this.store.beginOperation();
    checkKey(key);
    const value = this.entries.get(key);
    return value === undefined ? null : Buffer.from(value);
  }

  range(query: RangeQuery): Entry[] {
    this.store.beginOperation();
    const bounds = rangeBounds(query);
    if (bounds === null) return [];
    const { keys, values } = this.entries;
    const first = bounds.lower === null ? 0 : this.entries.lowerBound(bounds.lower);
    const afterLast = bounds.upper === null ? keys.length : this.entries.lowerBound(bounds.upper);
    const count = Math.max(0, Math.min(afterLast - first, bounds.limit));
    const result: Entry[] = new Array(count);
    for (let offset = 0; offset < count; offset++) {
      const index = bounds.reverse ? afterLast - 1 - offset : first + offset;
      // Copies: the caller may mutate what it gets, as it may with SQLite's fresh buffers.
      result[offset] = { key: Buffer.from(keys[index]!), value: Buffer.from(values[index]!) };
    }
    return result;
  }

  count(): number {
    this.store.beginOperation();
    return this.entries.keys.length;
  }

  insert(key: Buffer, value: Buffer): void {
    this.store.beginOperation();
    checkKey(key);
    checkValue(value);
    // Copies: the caller may reuse its buffers after the call.
    this.store.write(this.entries, Buffer.from(key), Buffer.from(value));
  }

  remove(key: Buffer): boolean {
    this.store.beginOperation();
    checkKey(key);
    // A copy: the undo log keeps the key, and the caller may reuse its buffer.
    return this.store.write(this.entries, Buffer.from(key), null) !== undefined;
  }
}

function closedError(): MetadataStoreError {
  return new MetadataStoreError('closed', 'the metadata store is closed');
}
