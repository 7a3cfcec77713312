// One queue per block hash: work on the same block runs one at a time, work on different blocks
// runs freely. This is what makes two concurrent puts of one block write it once, and keeps a
// corrupt file from being moved aside just after a put replaced it with a good one.

export class HashLocks {
  /** The end of each busy hash's queue. Invariant: a key is present only while work for it is queued. */
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier work for `key` has settled; its result (or error) is the caller's. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Hashes with work queued (for tests and status). */
  get busy(): number {
    return this.tails.size;
  }
}
