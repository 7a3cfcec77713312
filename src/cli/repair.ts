// `grange repair blocks` and `grange repair scrub start|pause|resume|cancel`: repairs on the reached
// node (Garage's `garage repair`).
import type { CommandModule } from 'yargs';
import { SCRUB_COMMANDS, type ScrubCommand, type ScrubState } from '../protocols/block/scrub';
import { askBlockManager, formatTime } from './block';

interface RepairArgs {
  config?: string;
  command?: string;
}

const blocksCommand: CommandModule<RepairArgs, RepairArgs> = {
  command: 'blocks',
  describe: 'queue every block referenced here and every block stored here for a resync check',
  handler: async (args) => {
    await askBlockManager<{ started: true }>(args.config, (replyTo) => ({ type: 'repairBlocks', replyTo }));
    process.stdout.write('Block repair started: every referenced and every stored block is queued for resync (see `grange worker list`).\n');
  },
};

const scrubCommand: CommandModule<RepairArgs, RepairArgs> = {
  command: 'scrub <command>',
  describe: 'verify every block stored here, and repair corrupt ones from other holders',
  builder: (parser) => parser.positional('command', { type: 'string', choices: SCRUB_COMMANDS, describe: 'start, pause, resume or cancel' }),
  handler: async (args) => {
    const command = args.command as ScrubCommand;
    const state = await askBlockManager<ScrubState>(args.config, (replyTo) => ({ type: 'scrubCommand', command, replyTo }));
    process.stdout.write(`Scrub ${state.phase}: ${state.checked} blocks checked in this pass, ${state.corruptions} corrupt; last completed ${formatTime(state.lastCompletedMs)}.\n`);
  },
};

export const repairCommand: CommandModule<object, RepairArgs> = {
  command: 'repair <command>',
  describe: "repairs on the reached node's data blocks",
  builder: (parser) => parser.command(blocksCommand).command(scrubCommand).demandCommand(1),
  handler: () => {},
};
