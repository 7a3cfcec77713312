// The parent of every table actor on a node: spawns one per registered schema and passes layout
// changes on to them.
import { assertNever, defineActor, restartWithBackoff } from '../runtime';
import type { LayoutHistory } from '../../protocols/layout';
import { tableActor, type TableComponents, type TableMessage } from './table';

export type TablesMessage = { type: 'layoutChanged'; history: LayoutHistory };

export interface TablesComponents {
  tables: TableComponents[];
}

export const tablesActor = defineActor<TablesMessage, null, TablesComponents>({
  kind: 'tables',
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
      default:
        return assertNever(message.type);
    }
  },
});
