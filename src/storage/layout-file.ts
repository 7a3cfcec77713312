// The layout history kept in metadata_dir (its canonical encoding), written atomically, so a
// restarted node comes back with the layout it had.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const LAYOUT_FILE = 'cluster_layout';

export function layoutPath(metadataDir: string): string {
  return join(metadataDir, LAYOUT_FILE);
}

/** The saved layout bytes, or null when this node never saved one. */
export function loadLayoutBytes(metadataDir: string): Buffer | null {
  try {
    return readFileSync(layoutPath(metadataDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function saveLayoutBytes(metadataDir: string, encoded: Buffer): Promise<void> {
  const path = layoutPath(metadataDir);
  const temporary = `${path}.tmp`;
  await writeFile(temporary, encoded, { mode: 0o600 });
  await rename(temporary, path);
}
