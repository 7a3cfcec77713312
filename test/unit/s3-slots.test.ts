// The gateway's bound on blocks in flight: never more than `size` holders, waiters served in order,
// a failing holder still releases its slot.
import { Slots } from '../../src/actors/api/s3/slots';

test('at most size holders at once, in arrival order, released on failure too', async () => {
  const slots = new Slots(2);
  const started: number[] = [];
  let peak = 0;
  const releases: (() => void)[] = [];
  const runs = [0, 1, 2, 3, 4].map((index) =>
    slots.run(async () => {
      started.push(index);
      peak = Math.max(peak, slots.inUse);
      await new Promise<void>((resolve) => releases.push(resolve));
      if (index === 1) throw new Error('boom');
      return index;
    }),
  );
  const settled = Promise.allSettled(runs);
  for (let round = 0; round < 5; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    releases.shift()?.();
  }
  for (let round = 0; round < 5; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    releases.shift()?.();
  }
  const outcomes = await settled;
  expect(started).toEqual([0, 1, 2, 3, 4]);
  expect(peak).toBe(2);
  expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  expect(slots.inUse).toBe(0);
});

test('a size below one is a programmer error', () => {
  expect(() => new Slots(0)).toThrow(RangeError);
});
