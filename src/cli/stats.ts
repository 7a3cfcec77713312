// `grange stats [--json]`: per table on the reached node, its item count and a digest of its
// Merkle roots; replicas of a converged cluster show equal digests.
import type { CommandModule } from 'yargs';
import { NODE_PATHS } from '../actors/node';
import type { NodeTableStats, TablesMessage } from '../actors/table/tables';
import { loadCliConfig } from './config-path';
import { CLI_ASK_TIMEOUT_MS, withNodeClient } from './node-connection';
import { formatTable } from './status';

interface StatsArgs {
  config?: string;
  json?: boolean;
}

export const statsCommand: CommandModule<object, StatsArgs> = {
  command: 'stats',
  describe: "show this node's tables: items, pending Merkle updates, Merkle digest, anti-entropy, tombstone GC",
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const { config } = loadCliConfig(args.config, process.env);
    const stats = await withNodeClient(config, (client) =>
      client.ask<TablesMessage, NodeTableStats>(NODE_PATHS.tables, (replyTo) => ({ type: 'stats', replyTo }), CLI_ASK_TIMEOUT_MS),
    );
    if (args.json) {
      process.stdout.write(JSON.stringify(stats, null, 2) + '\n');
      return;
    }
    const rows = Object.entries(stats.tables).map(([name, table]) => [
      name,
      String(table.items),
      String(table.merkleTodo),
      table.merkleDigest.slice(0, 16),
      `${table.sync.rounds} rounds, ${table.sync.rowsPushed} pushed, ${table.sync.rowsPulled} pulled, ${table.sync.rowsHandedOff} handed off`,
      `${table.gcTodo} queued, ${table.gc.deleted} deleted`,
    ]);
    const header = ['TABLE', 'ITEMS', 'MERKLE TODO', 'MERKLE DIGEST', 'ANTI-ENTROPY', 'TOMBSTONE GC'];
    process.stdout.write(rows.length === 0 ? 'No tables on this node yet.\n' : formatTable([header, ...rows]));
  },
};
