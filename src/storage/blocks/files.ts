// File operations of the disk block store: atomic writes (temp file, then rename, fsync on demand),
// reads bounded in size, and moving a damaged file aside. Only node:fs/promises: the event loop
// never waits on the disk.
import type { FileHandle } from 'node:fs/promises';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TEMP_FILE_SUFFIX } from './placement';

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** fsync of a folder: makes the names created, renamed or removed in it durable. */
export async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The folders whose entries changed when mkdir created `firstCreated` and everything down to `folder`. */
function parentsToSync(folder: string, firstCreated: string): string[] {
  const parents: string[] = [];
  const top = dirname(firstCreated);
  for (let current = folder; current !== top && dirname(current) !== current; ) {
    current = dirname(current);
    parents.push(current);
  }
  return parents;
}

/** Opens `path` for writing (truncating a leftover), creating its folder on first use. */
async function openCreatingFolder(path: string, fsync: boolean): Promise<FileHandle> {
  try {
    return await open(path, 'w');
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  const folder = dirname(path);
  const firstCreated = await mkdir(folder, { recursive: true });
  if (fsync && firstCreated !== undefined) {
    for (const parent of parentsToSync(folder, firstCreated)) await syncFolder(parent);
  }
  return open(path, 'w');
}

async function writeAll(handle: FileHandle, parts: readonly Buffer[]): Promise<void> {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const { bytesWritten } = await handle.writev(parts as Buffer[]);
  if (bytesWritten === total) return;
  // A short write (a disk filling up): finish the rest, which then fails with the real error.
  const rest = Buffer.concat(parts).subarray(bytesWritten);
  for (let offset = 0; offset < rest.length; ) {
    offset += (await handle.write(rest, offset, rest.length - offset)).bytesWritten;
  }
}

/**
 * Writes `parts` as the file `path`, atomically: into `path`.tmp in the same folder, then renamed.
 * A crash leaves either the old state or the whole new file, plus at worst a temp file (which the
 * next write of this block overwrites, and list() removes once stale). With `fsync`, the file is
 * synced before the rename and the folder after it, so an acknowledged block survives power loss.
 * Callers serialize writes of one path (HashLocks): the temp name is fixed.
 */
export async function writeFileAtomically(path: string, parts: readonly Buffer[], fsync: boolean): Promise<void> {
  const temp = path + TEMP_FILE_SUFFIX;
  const handle = await openCreatingFolder(temp, fsync);
  try {
    try {
      await writeAll(handle, parts);
      if (fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined); // best effort: list() removes it later otherwise
    throw error;
  }
  if (fsync) await syncFolder(dirname(path));
}

export type ReadFile =
  | { status: 'absent' }
  | { status: 'read'; bytes: Buffer; inode: bigint }
  | { status: 'too-large'; size: number; inode: bigint };

/** The whole file, unless it is larger than `bytesMax` (then only its size: never read a huge file). */
export async function readFileBounded(path: string, bytesMax: number): Promise<ReadFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isMissing(error)) return { status: 'absent' };
    throw error;
  }
  try {
    const info = await handle.stat({ bigint: true });
    if (info.size > BigInt(bytesMax)) return { status: 'too-large', size: Number(info.size), inode: info.ino };
    return { status: 'read', bytes: await handle.readFile(), inode: info.ino };
  } finally {
    await handle.close();
  }
}

/**
 * Moves `path` to `destination`, but only if it is still the file that was read (same inode): a put
 * may have replaced it with a good copy since. True if moved.
 */
export async function moveIfSameFile(path: string, inode: bigint, destination: string): Promise<boolean> {
  try {
    if ((await lstat(path, { bigint: true })).ino !== inode) return false;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  await mkdir(dirname(destination), { recursive: true });
  await rename(path, destination);
  return true;
}

/** Removes `path`; false if it was not there. */
export async function removeIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}
