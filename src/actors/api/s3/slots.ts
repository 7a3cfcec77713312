// A counting semaphore: at most `size` holders at once, the others wait in arrival order. The S3
// gateway bounds the blocks it has travelling across all requests with it, so its memory does not
// grow with the number of concurrent uploads (each block in flight costs its bytes several times
// over: the block, its encoded frame, its encrypted frame per holder).
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`slots: size must be a positive integer, found ${size}`);
    this.free = size;
  }

  /** Runs `work` once a slot is free; the slot is released when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }

  get inUse(): number {
    return this.size - this.free;
  }
}
