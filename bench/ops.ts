// Shared by the benchmarks: run operations with a fixed number in flight, and report operations
// per second with latency percentiles.

export interface OpsFigures {
  perSecond: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
}

export function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

/** Runs `count` operations with `concurrency` at once; ops/s and latency percentiles (ms). */
export async function measure(count: number, concurrency: number, operation: (index: number) => Promise<unknown>): Promise<OpsFigures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let index = next++; index < count; index = next++) {
        const begin = performance.now();
        await operation(index);
        latencies.push(performance.now() - begin);
      }
    }),
  );
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return { perSecond: count / (elapsed / 1000), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

export function formatOps(figures: OpsFigures): string {
  return `${figures.perSecond.toFixed(0).padStart(6)}/s   p50 ${figures.p50.toFixed(1)} ms   p99 ${figures.p99.toFixed(1)} ms`;
}
