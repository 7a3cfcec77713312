// Peak resident memory of processes while some work runs, read from /proc (Linux).
import { readFileSync } from 'node:fs';

const RSS_SAMPLE_MS = 100;

/** Peak VmRSS (MiB) of each process while `work` runs, sampled every RSS_SAMPLE_MS. */
export async function peakRss<T>(pids: number[], work: () => Promise<T>): Promise<{ result: T; peaksMiB: number[] }> {
  const peaks = pids.map(() => 0);
  const sample = (): void => {
    pids.forEach((pid, index) => {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) peaks[index] = Math.max(peaks[index]!, Number(match[1]) / 1024);
    });
  };
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  try {
    const result = await work();
    sample();
    return { result, peaksMiB: peaks };
  } finally {
    clearInterval(timer);
  }
}
