// The parent of every table actor on a node: spawns one per registered schema and passes layout
// changes on to them.
import { assertNever, defineActor, restartWithBackoff, type Outcome, type Ref } from '../runtime';
import type { LayoutHistory } from '../../protocols/layout';
import { tableActor, type TableComponents, type TableMessage, type TableStats } from './table';

export interface NodeTableStats {
  tables: Record<string, TableStats>;
}

export type TablesMessage =
  | { type: 'layoutChanged'; history: LayoutHistory }
  | { type: 'stats'; replyTo: Ref<NodeTableStats> }
  | { type: 'statsDone'; replyTo: Ref<NodeTableStats>; outcome: Outcome<NodeTableStats> };

const STATS_TIMEOUT_MS = 10_000;

export interface TablesComponents {
  tables: TableComponents[];
}

export const tablesActor = defineActor<TablesMessage, null, TablesComponents>({
  kind: 'tables',
  remote: { accepts: ['stats'] },
  supervision: restartWithBackoff(),
  init(context) {
    for (const table of context.components.tables) context.spawn(tableActor, table.schema.name, table);
    return null;
  },
  handle(message, context) {
    switch (message.type) {
      case 'layoutChanged':
        for (const name of context.childNames()) context.tell(context.child<TableMessage>(name)!, message);
        return;
      case 'stats': {
        const names = context.childNames();
        const all = Promise.all(names.map((name) => context.ask(context.child<TableMessage>(name)!, (replyTo: Ref<TableStats>) => ({ type: 'stats' as const, replyTo }), STATS_TIMEOUT_MS)));
        const report = all.then((stats) => ({ tables: Object.fromEntries(names.map((name, index) => [name, stats[index]!])) }));
        return context.pipeToSelf(report, (outcome) => ({ type: 'statsDone', replyTo: message.replyTo, outcome }));
      }
      case 'statsDone':
        return message.outcome.ok ? context.tell(message.replyTo, message.outcome.value) : context.replyError(message.replyTo, message.outcome.error);
      default:
        return assertNever(message);
    }
  },
});
