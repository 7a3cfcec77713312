// The same work as bench/runtime.ts does through our wrapper, done with raw nact, so the benchmark
// can print the wrapper's cost as a ratio. It lives here because nothing outside this folder
// imports nact.
import * as nact from 'nact';

/** Dispatches `count` messages to one raw nact actor; resolves when the last is handled. */
export async function rawNactTells(count: number): Promise<void> {
  const system = nact.start();
  let finish = (): void => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const counter = nact.spawn(system, (state: number, _message: number) => {
    const next = (state ?? 0) + 1;
    if (next === count) finish();
    return next;
  }, 'counter');
  for (let index = 0; index < count; index++) nact.dispatch(counter, index);
  await finished;
  nact.stop(system);
}

/** `count` sequential queries (one in flight) to a raw nact echo actor. */
export async function rawNactAsks(count: number, timeoutMs: number): Promise<void> {
  const system = nact.start();
  const echo = nact.spawn(system, (state: unknown, message: { replyTo: nact.Ref<number>; value: number }) => {
    nact.dispatch(message.replyTo, message.value);
    return state;
  }, 'echo');
  for (let index = 0; index < count; index++) {
    await nact.query(echo, (replyTo: nact.Ref<number>) => ({ replyTo, value: index }), timeoutMs);
  }
  nact.stop(system);
}
