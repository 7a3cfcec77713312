// Integration tests wait for conditions, never for fixed sleeps: CI shares 2 cores between every
// node process and the test, so any fixed delay is either too short or wasted.

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what?: string;
}

const WAIT_TIMEOUT_DEFAULT_MS = 20_000;
const WAIT_INTERVAL_DEFAULT_MS = 20;

/** Polls `probe` until it returns a value other than undefined, null or false; throws after the deadline. */
export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, options: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? WAIT_TIMEOUT_DEFAULT_MS);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      throw new Error(`timed out waiting for ${options.what ?? 'condition'}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? WAIT_INTERVAL_DEFAULT_MS));
  }
}
