// The peer list kept in metadata_dir, so a restarted node reconnects without bootstrap peers.
// Format: {"version": 1, "peers": [{"id": "<hex>", "addr": "host:port"}]}, written atomically.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PeerAddress } from '../protocols/membership/peers';
import { isNodeId } from '../protocols/membership/peers';

const PEER_LIST_FILE = 'peer_list.json';
const PEER_LIST_VERSION = 1;
const ADDR_LENGTH_MAX = 300;

export function peerListPath(metadataDir: string): string {
  return join(metadataDir, PEER_LIST_FILE);
}

/** The saved peers; an absent file is an empty list, a damaged one too (with the reason). */
export function loadPeerList(metadataDir: string): { peers: PeerAddress[]; problem: string | null } {
  let text: string;
  try {
    text = readFileSync(peerListPath(metadataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { peers: [], problem: null };
    return { peers: [], problem: (error as Error).message };
  }
  try {
    const parsed = JSON.parse(text) as { version?: unknown; peers?: unknown };
    if (parsed.version !== PEER_LIST_VERSION || !Array.isArray(parsed.peers)) return { peers: [], problem: 'unknown peer list format' };
    const peers = parsed.peers.filter(
      (peer): peer is PeerAddress => isNodeId((peer as PeerAddress)?.id) && typeof (peer as PeerAddress).addr === 'string' && (peer as PeerAddress).addr.length <= ADDR_LENGTH_MAX,
    );
    return { peers: peers.map(({ id, addr }) => ({ id, addr })), problem: null };
  } catch (error) {
    return { peers: [], problem: `damaged peer list: ${(error as Error).message}` };
  }
}

export async function savePeerList(metadataDir: string, peers: PeerAddress[]): Promise<void> {
  const path = peerListPath(metadataDir);
  const temporary = `${path}.tmp`;
  await writeFile(temporary, JSON.stringify({ version: PEER_LIST_VERSION, peers }, null, 1) + '\n', { mode: 0o600 });
  await rename(temporary, path);
}
