// Bounded reads of small text files (the config file, secret files). The mode comes from the same
// open file descriptor as the contents, so a permission check cannot race with a file swap.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface TextFile {
  text: string;
  /** st_mode, including the permission bits. */
  mode: number;
}

/** A file that opened but is not acceptable: not a regular file, too large, not UTF-8. */
export class FileContentError extends Error {
  override readonly name = 'FileContentError';
}

function readAll(fd: number, bytesMax: number): Buffer {
  // Read one byte past the limit, so a file that grew after fstat is still caught.
  const buffer = Buffer.alloc(bytesMax + 1);
  let length = 0;
  for (;;) {
    const read = readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) break;
    length += read;
    if (length > bytesMax) throw new FileContentError(`larger than ${bytesMax} bytes`);
  }
  return buffer.subarray(0, length);
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new FileContentError('not UTF-8 text');
  }
}

/**
 * Reads a whole text file of at most bytesMax bytes. Throws the Node error (ENOENT, EACCES...) when
 * the file cannot be opened, FileContentError when its contents are not acceptable.
 */
export function readTextFile(path: string, bytesMax: number): TextFile {
  const fd = openSync(path, 'r');
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw new FileContentError('a folder, not a file');
    if (!stats.isFile()) throw new FileContentError('not a regular file');
    if (stats.size > bytesMax) throw new FileContentError(`larger than ${bytesMax} bytes`);
    return { text: decodeUtf8(readAll(fd, bytesMax)), mode: stats.mode };
  } finally {
    closeSync(fd);
  }
}
