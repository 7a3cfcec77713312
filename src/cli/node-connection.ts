// How CLI commands reach the node named by the config file: over RPC, as a client.
import type { GrangeConfig } from '../config';
import { connectToNode, type NodeClient } from '../client/node-client';
import { publicAddressOf } from '../server';

export const CLI_CONNECT_TIMEOUT_MS = 10_000;
export const CLI_ASK_TIMEOUT_MS = 10_000;

export async function withNodeClient<T>(config: GrangeConfig, work: (client: NodeClient) => Promise<T>, addr?: string): Promise<T> {
  const client = await connectToNode({
    addr: addr ?? publicAddressOf(config),
    secret: Buffer.from(config.rpcSecret.reveal(), 'hex'),
    timeoutMs: CLI_CONNECT_TIMEOUT_MS,
  });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}
