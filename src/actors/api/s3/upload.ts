// Writing data: a body cut into blocks sent to their holders (a few in flight), and the version
// row plus block references that make them part of an object or of an upload's part. Shared by
// PutObject, UploadPart and the copies.
import { blockRefSchema } from '../../../protocols/block/block-ref';
import { S3Error } from '../../../protocols/s3/errors';
import { S3_PUT_BLOCKS_IN_FLIGHT } from '../../../protocols/s3/limits';
import { VERSION_BLOCKS_MAX, versionSchema, type VersionBlock } from '../../../protocols/s3/version';
import { blockHash } from '../../../storage/blocks';
import { cutBlocks } from './body';
import type { S3Services } from './services';

export interface WriteOptions {
  /** Part number the blocks are filed under (1 for a single PUT). */
  part: number;
  /** A body that ends before this many bytes is returned whole instead (null: never). */
  inlineBelow: number | null;
  /**
   * Starts once, as the first block is sent, and runs alongside the block transfers (the write
   * waits for it before it resolves): the PUT's `uploading` version costs no extra round trip.
   */
  onFirstBlock(): Promise<void>;
}

export type WriteResult = { inline: Buffer } | { inline: null; blocks: VersionBlock[] };

/** Streams a body into blocks; resolves once every block is on a write quorum of its holders. */
export class BlockWriter {
  readonly blocks: VersionBlock[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown = null;
  private firstBlockWork: Promise<void> | null = null;

  constructor(private readonly services: S3Services) {}

  async write(chunks: AsyncIterable<Buffer>, options: WriteOptions): Promise<WriteResult> {
    let offset = 0;
    for await (const block of cutBlocks(chunks, this.services.blockSize)) {
      // A block shorter than block_size is the last one: with nothing before it, the whole body.
      if (offset === 0 && options.inlineBelow !== null && block.length < options.inlineBelow && block.length < this.services.blockSize) return { inline: block };
      if (offset === 0) {
        this.firstBlockWork = options.onFirstBlock();
        this.firstBlockWork.catch(() => undefined);
      }
      if (this.blocks.length >= VERSION_BLOCKS_MAX) throw new S3Error('EntityTooLarge', `An object or part is at most ${VERSION_BLOCKS_MAX} blocks of ${this.services.blockSize} bytes.`);
      const hash = blockHash(block);
      this.blocks.push({ part: options.part, offset, hash, size: block.length });
      offset += block.length;
      await this.send(hash, block);
    }
    if (offset === 0 && options.inlineBelow !== null) return { inline: Buffer.alloc(0) };
    await this.flush();
    return { inline: null, blocks: this.blocks };
  }

  /** Keeps S3_PUT_BLOCKS_IN_FLIGHT blocks travelling; the first failure fails the write. */
  private async send(hash: Buffer, data: Buffer): Promise<void> {
    if (this.failure !== null) throw this.failure;
    const sending: Promise<void> = this.services.blocks.put(hash, data).then(
      () => void this.inFlight.delete(sending),
      (error: unknown) => {
        this.inFlight.delete(sending);
        this.failure ??= error;
      },
    );
    this.inFlight.add(sending);
    while (this.inFlight.size >= S3_PUT_BLOCKS_IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure !== null) throw this.failure;
  }

  async flush(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure !== null) throw this.failure;
    await this.firstBlockWork;
  }

  /** Waits for blocks still travelling, whatever their outcome (before cleaning up a failure). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight, this.firstBlockWork]);
  }
}

export interface VersionTarget {
  uuid: Buffer;
  bucketId: Buffer;
  key: string;
}

/** The version row and one live reference per block: the blocks now belong to `target`. */
export async function commitVersion(services: S3Services, target: VersionTarget, blocks: readonly VersionBlock[]): Promise<void> {
  const refs = blocks.map((block) => ({ block: block.hash, version: target.uuid, deleted: false }));
  await Promise.all([
    services.tables.insert(versionSchema, [{ ...target, deleted: false, blocks: [...blocks] }]),
    services.tables.insert(blockRefSchema, refs),
  ]);
}

/** Best effort: the version and its references deleted (their blocks freed by the cascade). */
export async function discardVersion(services: S3Services, target: VersionTarget, blocks: readonly VersionBlock[]): Promise<void> {
  const refs = blocks.map((block) => ({ block: block.hash, version: target.uuid, deleted: true }));
  await Promise.allSettled([
    services.tables.insert(versionSchema, [{ ...target, deleted: true, blocks: [] }]),
    services.tables.insert(blockRefSchema, refs),
  ]);
}
