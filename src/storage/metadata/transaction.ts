// The Transaction handed to a work: trees that refuse to be used once the work has returned, so a
// handle kept past its transaction fails loudly instead of writing outside any transaction.
import { MetadataStoreError } from './errors';
import type { Entry, RangeQuery, Transaction, Tree } from './types';

export interface TreeSource {
  tree(name: string): Tree;
}

/** Runs `work` with a fresh Transaction over `source`'s trees; the caller has opened the scope. */
export function runWork<T>(source: TreeSource, work: (tx: Transaction) => T): T {
  const transaction = new ScopedTransaction(source);
  try {
    return work(transaction);
  } finally {
    transaction.end();
  }
}

class ScopedTransaction implements Transaction {
  private open = true;
  private readonly trees = new Map<string, Tree>();

  constructor(private readonly source: TreeSource) {}

  tree(name: string): Tree {
    this.assertOpen();
    let tree = this.trees.get(name);
    if (tree === undefined) {
      tree = new ScopedTree(this, this.source.tree(name));
      this.trees.set(name, tree);
    }
    return tree;
  }

  assertOpen(): void {
    if (!this.open) throw new MetadataStoreError('transaction-ended', 'this transaction has ended; its trees cannot be used');
  }

  end(): void {
    this.open = false;
  }
}

class ScopedTree implements Tree {
  constructor(private readonly transaction: ScopedTransaction, private readonly inner: Tree) {}

  get name(): string {
    return this.inner.name;
  }

  get(key: Buffer): Buffer | null {
    this.transaction.assertOpen();
    return this.inner.get(key);
  }

  range(query: RangeQuery): Entry[] {
    this.transaction.assertOpen();
    return this.inner.range(query);
  }

  count(): number {
    this.transaction.assertOpen();
    return this.inner.count();
  }

  insert(key: Buffer, value: Buffer): void {
    this.transaction.assertOpen();
    this.inner.insert(key, value);
  }

  remove(key: Buffer): boolean {
    this.transaction.assertOpen();
    return this.inner.remove(key);
  }
}
