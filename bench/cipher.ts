// bench/cipher: seal + open throughput of the RPC frame cipher, for both AEADs node offers, so the
// choice in src/protocols/rpc/frame-cipher.ts can be checked on any machine. Prints; decides nothing.
// Run: npx tsc -p tsconfig.build.json && node dist/bench/cipher.js   (options: ROUNDS=5 BULK_FRAMES=300 SMALL_FRAMES=100000)
import { randomBytes } from 'node:crypto';

import { FRAME_ALGORITHM, FrameCipher, type FrameAlgorithm } from '../src/protocols/rpc/frame-cipher';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const BULK_FRAMES = Number(process.env.BULK_FRAMES ?? 300);
const SMALL_FRAMES = Number(process.env.SMALL_FRAMES ?? 100_000);
const BULK_FRAME_BYTES = 1024 * 1024;
const SMALL_FRAME_BYTES = 100;
const ALGORITHMS: FrameAlgorithm[] = ['chacha20-poly1305', 'aes-256-gcm'];

/** Seconds to seal and open `count` frames of `plaintext` through a fresh cipher pair. */
function sealOpenSeconds(algorithm: FrameAlgorithm, plaintext: Buffer, count: number): number {
  const keyOut = randomBytes(32);
  const keyBack = randomBytes(32);
  const sender = new FrameCipher({ sendKey: keyOut, receiveKey: keyBack }, { algorithm });
  const receiver = new FrameCipher({ sendKey: keyBack, receiveKey: keyOut }, { algorithm });
  const started = process.hrtime.bigint();
  let checksum = 0;
  for (let index = 0; index < count; index++) checksum += receiver.open(sender.seal(plaintext)).length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (checksum !== plaintext.length * count) throw new Error('bench: frames did not round-trip');
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function main(): void {
  const bulk = randomBytes(BULK_FRAME_BYTES);
  const small = randomBytes(SMALL_FRAME_BYTES);
  console.log(`node ${process.version}; chosen: ${FRAME_ALGORITHM}; ${ROUNDS} rounds, medians; seal + open per frame`);
  for (const algorithm of ALGORITHMS) {
    sealOpenSeconds(algorithm, bulk, 20); // warm up
    sealOpenSeconds(algorithm, small, 10_000);
  }
  const bulkRates = new Map<FrameAlgorithm, number[]>(ALGORITHMS.map((algorithm) => [algorithm, []]));
  const smallRates = new Map<FrameAlgorithm, number[]>(ALGORITHMS.map((algorithm) => [algorithm, []]));
  // Interleave the algorithms round by round so that a noisy neighbour hurts both alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const algorithm of ALGORITHMS) {
      bulkRates.get(algorithm)!.push(BULK_FRAMES / sealOpenSeconds(algorithm, bulk, BULK_FRAMES));
      smallRates.get(algorithm)!.push(SMALL_FRAMES / sealOpenSeconds(algorithm, small, SMALL_FRAMES));
    }
  }
  for (const algorithm of ALGORITHMS) {
    const bulkMiBs = median(bulkRates.get(algorithm)!) * (BULK_FRAME_BYTES / (1024 * 1024));
    const smallFrames = median(smallRates.get(algorithm)!);
    console.log(
      `${algorithm.padEnd(18)} 1 MiB frames: ${bulkMiBs.toFixed(0).padStart(6)} MiB/s   ` +
        `100 B frames: ${smallFrames.toFixed(0).padStart(7)} frames/s`,
    );
  }
}

main();
