// `grange worker list|get|set`: the reached node's block workers and their run-time settings
// (resync-worker-count, resync-tranquility, scrub-tranquility), as Garage's `garage worker`.
import type { CommandModule } from 'yargs';
import type { BlockWorkerInfo, WorkerSettingsReply } from '../actors/block/manager';
import { isWorkerSettingName, parseWorkerSetting, WORKER_SETTING_NAMES } from '../protocols/block/worker-settings';
import { askBlockManager } from './block';
import { CliUsageError } from './errors';
import { formatTable } from './status';

interface WorkerArgs {
  config?: string;
  json?: boolean;
  name?: string;
  value?: string;
}

const listCommand: CommandModule<WorkerArgs, WorkerArgs> = {
  command: 'list',
  describe: 'block workers: name, state, queue length or progress, errors, tranquility',
  builder: (parser) => parser.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const workers = await askBlockManager<BlockWorkerInfo[]>(args.config, (replyTo) => ({ type: 'listWorkers', replyTo }));
    if (args.json) return void process.stdout.write(JSON.stringify(workers, null, 2) + '\n');
    const rows = workers.map((worker) => [
      worker.name,
      worker.state,
      worker.queueLength === null ? '-' : String(worker.queueLength),
      worker.progress ?? '-',
      String(worker.errors),
      String(worker.tranquility),
      worker.lastError ?? '',
    ]);
    process.stdout.write(formatTable([['NAME', 'STATE', 'QUEUE', 'PROGRESS', 'ERRORS', 'TRANQUILITY', 'LAST ERROR'], ...rows]));
  },
};

const getCommand: CommandModule<WorkerArgs, WorkerArgs> = {
  command: 'get [name]',
  describe: `a worker setting, or all of them (${WORKER_SETTING_NAMES.join(', ')})`,
  builder: (parser) => parser.positional('name', { type: 'string' }).option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    if (args.name !== undefined && !isWorkerSettingName(args.name)) {
      throw new CliUsageError(`unknown worker setting ${JSON.stringify(args.name)}: expected one of ${WORKER_SETTING_NAMES.join(', ')}`);
    }
    const settings = await askBlockManager<WorkerSettingsReply>(args.config, (replyTo) => ({ type: 'getWorkerSettings', replyTo }));
    const shown = args.name === undefined ? WORKER_SETTING_NAMES : WORKER_SETTING_NAMES.filter((name) => name === args.name);
    if (args.json) return void process.stdout.write(JSON.stringify(Object.fromEntries(shown.map((name) => [name, settings[name]])), null, 2) + '\n');
    process.stdout.write(shown.map((name) => `${name}: ${settings[name]}`).join('\n') + '\n');
  },
};

const setCommand: CommandModule<WorkerArgs, WorkerArgs> = {
  command: 'set <name> <value>',
  describe: `change a worker setting at run time (kept across restarts): ${WORKER_SETTING_NAMES.join(', ')}`,
  builder: (parser) => parser.positional('name', { type: 'string' }).positional('value', { type: 'string' }),
  handler: async (args) => {
    // Checked here for a clear usage error, and again by the node (it trusts no input).
    const parsed = parseWorkerSetting(args.name, String(args.value));
    if (!parsed.ok) throw new CliUsageError(parsed.error);
    const settings = await askBlockManager<WorkerSettingsReply>(args.config, (replyTo) => ({ type: 'setWorkerSetting', name: parsed.name, value: String(parsed.value), replyTo }));
    process.stdout.write(`${parsed.name}: ${settings[parsed.name]}\n`);
  },
};

export const workerCommand: CommandModule<object, WorkerArgs> = {
  command: 'worker <command>',
  describe: "the reached node's block workers and their settings",
  builder: (parser) => parser.command(listCommand).command(getCommand).command(setCommand).demandCommand(1),
  handler: () => {},
};
