// bench/runtime: local tell throughput and ask round trips per second through our actor runtime,
// and the same work with raw nact in the same run, with the ratio. Prints figures; decides nothing.
// Run: npm run bench:runtime   (options: TELLS=200000 ASKS=20000 ROUNDS=5)
import { ActorSystem, defineActor, type Ref } from '../src/actors/runtime';
import { rawNactAsks, rawNactTells } from '../src/actors/runtime/raw-nact-baseline';

const TELLS = Number(process.env.TELLS ?? 200_000);
const ASKS = Number(process.env.ASKS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const ASK_TIMEOUT_MS = 10_000;

type CounterMessage = { type: 'add'; value: number };
type EchoMessage = { type: 'echo'; value: number; replyTo: Ref<number> };

async function wrapperTells(count: number): Promise<void> {
  const system = new ActorSystem();
  let finish = (): void => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const counter = defineActor<CounterMessage, { handled: number }, Record<string, never>>({
    kind: 'counter',
    init: () => ({ handled: 0 }),
    handle(_message, context) {
      if (++context.state.handled === count) finish();
    },
  });
  const ref = system.spawn(counter, 'counter', {});
  for (let index = 0; index < count; index++) system.tell(ref, { type: 'add', value: index });
  await finished;
  await system.shutdown();
}

async function wrapperAsks(count: number): Promise<void> {
  const system = new ActorSystem();
  const echo = defineActor<EchoMessage, null, Record<string, never>>({
    kind: 'echo',
    init: () => null,
    handle: (message, context) => context.tell(message.replyTo, message.value),
  });
  const ref = system.spawn(echo, 'echo', {});
  for (let index = 0; index < count; index++) {
    await system.ask<EchoMessage, number>(ref, (replyTo) => ({ type: 'echo', value: index, replyTo }), ASK_TIMEOUT_MS);
  }
  await system.shutdown();
}

async function perSecond(work: () => Promise<void>, operations: number): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return operations / seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const figures = { wrapperTell: [] as number[], rawTell: [] as number[], wrapperAsk: [] as number[], rawAsk: [] as number[] };
  // Rounds alternate wrapper and raw so that warm-up and machine noise hit both alike.
  for (let round = 0; round < ROUNDS; round++) {
    figures.rawTell.push(await perSecond(() => rawNactTells(TELLS), TELLS));
    figures.wrapperTell.push(await perSecond(() => wrapperTells(TELLS), TELLS));
    figures.rawAsk.push(await perSecond(() => rawNactAsks(ASKS, ASK_TIMEOUT_MS), ASKS));
    figures.wrapperAsk.push(await perSecond(() => wrapperAsks(ASKS), ASKS));
  }
  const tell = { wrapper: median(figures.wrapperTell), raw: median(figures.rawTell) };
  const ask = { wrapper: median(figures.wrapperAsk), raw: median(figures.rawAsk) };
  const format = (value: number): string => Math.round(value).toLocaleString('en-US').padStart(10);
  console.log(`bench/runtime  (${TELLS} tells, ${ASKS} sequential asks, median of ${ROUNDS} rounds, node ${process.version})`);
  console.log(`                      grange runtime     raw nact    ratio`);
  console.log(`tell msgs/s          ${format(tell.wrapper)}   ${format(tell.raw)}    ${(tell.wrapper / tell.raw).toFixed(2)}`);
  console.log(`ask round trips/s    ${format(ask.wrapper)}   ${format(ask.raw)}    ${(ask.wrapper / ask.raw).toFixed(2)}`);
  console.log(`target: tell ratio >= 0.70  ->  ${tell.wrapper / tell.raw >= 0.7 ? 'met' : 'NOT met'}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
