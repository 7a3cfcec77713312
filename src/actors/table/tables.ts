// The parent of every table actor on a node: spawns one per registered schema, passes layout
// changes on to them, and speaks for all of them to the layout's trackers: the node has drained
// writes begun under older versions once every table has, and has synced a version once every
// table has.
import { assertNever, defineActor, restartWithBackoff, type Outcome, type Ref } from '../runtime';
import type { LayoutHistory } from '../../protocols/layout';
import { tableActor, type TableComponents, type TableMessage, type TableStats } from './table';

export interface NodeTableStats {
  tables: Record<string, TableStats>;
}

/** What the tables actor tells the layout actor. */
export type TablesReport = { type: 'writesDrained'; version: number } | { type: 'tablesSynced'; version: number };

export type TablesMessage =
  | { type: 'layoutChanged'; history: LayoutHistory }
  | { type: 'stats'; replyTo: Ref<NodeTableStats> }
  | { type: 'statsDone'; replyTo: Ref<NodeTableStats>; outcome: Outcome<NodeTableStats> }
  // From the layout actor:
  | { type: 'drainWrites'; version: number }
  | { type: 'reportSync' }
  // From the tables and internal:
  | { type: 'tableSynced'; table: string; version: number }
  | { type: 'drained'; version: number; outcome: Outcome<unknown> };

const STATS_TIMEOUT_MS = 10_000;

export interface TablesComponents {
  tables: TableComponents[];
  /** Receives drain and sync reports. */
  layout: Ref<TablesReport>;
  /** A drain waits for writes, which end within the replica timeout; this bounds the wait. */
  drainTimeoutMs: number;
}

interface TablesState {
  syncedByTable: Map<string, number>;
  reportedSync: number;
}

export const tablesActor = defineActor<TablesMessage, TablesState, TablesComponents>({
  kind: 'tables',
  remote: { accepts: ['stats'] },
  supervision: restartWithBackoff(),
  init(context) {
    for (const table of context.components.tables) context.spawn(tableActor, table.schema.name, table);
    const state: TablesState = { syncedByTable: new Map(context.components.tables.map((table) => [table.schema.name, 0])), reportedSync: -1 };
    reportSync(state, context.components.layout, context.tell);
    return state;
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
      case 'drainWrites': {
        const names = context.childNames();
        const drains = names.map((name) => context.ask(context.child<TableMessage>(name)!, (replyTo: Ref<null>) => ({ type: 'drainWrites' as const, version: message.version, replyTo }), context.components.drainTimeoutMs));
        return context.pipeToSelf(Promise.all(drains), (outcome) => ({ type: 'drained', version: message.version, outcome }));
      }
      case 'drained':
        // A failed drain is not reported: the layout actor asks again at its next change.
        if (!message.outcome.ok) return context.log.warn('draining writes for a layout version failed', { version: message.version, error: message.outcome.error.message });
        return context.tell(context.components.layout, { type: 'writesDrained', version: message.version });
      case 'tableSynced':
        context.state.syncedByTable.set(message.table, Math.max(context.state.syncedByTable.get(message.table) ?? 0, message.version));
        return reportSync(context.state, context.components.layout, context.tell);
      case 'reportSync':
        context.state.reportedSync = -1;
        return reportSync(context.state, context.components.layout, context.tell);
      default:
        return assertNever(message);
    }
  },
  status: (context) => ({ synced: Object.fromEntries(context.state.syncedByTable) }),
});

/**
 * Tells the layout the newest version every table has synced, when it moved. A node without
 * tables holds no data: it reports every version synced (the layout caps that at what everyone
 * acknowledged).
 */
function reportSync(state: TablesState, layout: Ref<TablesReport>, tell: <T>(ref: Ref<T>, message: T) => void): void {
  const versions = [...state.syncedByTable.values()];
  const synced = versions.length === 0 ? Number.MAX_SAFE_INTEGER : Math.min(...versions);
  if (synced === state.reportedSync) return;
  state.reportedSync = synced;
  tell(layout, { type: 'tablesSynced', version: synced });
}
