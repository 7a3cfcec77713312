// Listing every block of the data directories, folder by folder, without reading a block.
// A block can sit in two directories at once (moved between disks, or put again after a directory
// list change): folders of the same name are merged across directories before their names are
// yielded, so each hash comes out once while memory stays at one folder's worth of names.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing } from './files';
import { BLOCK_FILE_NAME_PATTERN, PREFIX_FOLDER_PATTERN, TEMP_FILE_NAME_PATTERN } from './placement';

async function namesIn(folder: string): Promise<string[]> {
  try {
    return await readdir(folder);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** The two-hex-digit folder names found in any of `folders`, merged. */
async function prefixFoldersIn(folders: readonly string[]): Promise<string[]> {
  const names = new Set<string>();
  for (const folder of folders) {
    for (const name of await namesIn(folder)) if (PREFIX_FOLDER_PATTERN.test(name)) names.add(name);
  }
  return [...names].sort();
}

/**
 * Yields the hash of every block file under `directories` once, in ascending order (only those
 * above `afterHex` when given). `onTempFile` is called with each
 * temporary file met (path and hash in hex) and decides what to do with it; other names (the
 * `corrupted` folder, a file in a folder that does not match its hash) are ignored.
 */
export async function* listBlockHashes(
  directories: readonly string[],
  onTempFile: (path: string, hashHex: string) => Promise<void>,
  afterHex: string | null = null,
): AsyncGenerator<Buffer> {
  // Folders and names come out sorted, so the hashes are in ascending order and a listing can
  // resume after a given hash (the scrub's cursor) by skipping whole folders before it.
  for (const first of await prefixFoldersIn(directories)) {
    if (afterHex !== null && first < afterHex.slice(0, 2)) continue;
    const firstLevel = directories.map((directory) => join(directory, first));
    for (const second of await prefixFoldersIn(firstLevel)) {
      if (afterHex !== null && first + second < afterHex.slice(0, 4)) continue;
      const names = new Set<string>();
      for (const folder of firstLevel.map((path) => join(path, second))) {
        for (const name of await namesIn(folder)) {
          if (!name.startsWith(first + second)) continue; // misplaced: get() would never look there
          if (BLOCK_FILE_NAME_PATTERN.test(name)) names.add(name);
          else if (TEMP_FILE_NAME_PATTERN.test(name)) await onTempFile(join(folder, name), name.slice(0, 64));
        }
      }
      for (const name of [...names].sort()) if (afterHex === null || name > afterHex) yield Buffer.from(name, 'hex');
    }
  }
}
