// The SQLite metadata store (better-sqlite3, synchronous): one file `db.sqlite` in metadata_dir,
// WAL journal, one table per tree `t_<name>` (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID, so rows
// live in key order in the primary B-tree and BLOB comparison (memcmp) gives the bytewise order.
// Transactions are BEGIN IMMEDIATE (the write lock up front: a deferred one could fail to upgrade
// with SQLITE_BUSY, which busy_timeout cannot cure); nested ones are savepoints.
import Database from 'better-sqlite3';
import { MetadataStoreError } from './errors';
import { GroupCommit } from './group-commit';
import { checkKey, checkTreeName, checkValue, rangeBounds } from './keys';
import { SQLITE_BUSY_TIMEOUT_MS, SQLITE_JOURNAL_SIZE_LIMIT_BYTES, TREES_MAX } from './limits';
import { TransactionScopes } from './scopes';
import { runWork } from './transaction';
import type { Entry, MetadataStore, MetadataStoreStats, RangeQuery, Transaction, Tree } from './types';

export interface SqliteStoreInit {
  /** Full path of the database file: `<metadata_dir>/db.sqlite`. Its folder must exist. */
  path: string;
  /**
   * `metadata_fsync`. true: synchronous=FULL, every commit is synced to disk before it returns
   * (survives power loss). false: synchronous=NORMAL, the WAL is synced only at checkpoints; the
   * database stays consistent, but the last commits may be lost on power loss (not on a crash of
   * the process alone).
   */
  fsync: boolean;
}

/** What the file's PRAGMA user_version holds: the schema of this store. Bump with a migration. */
export const SQLITE_SCHEMA_VERSION = 1;

export function openSqliteStore(init: SqliteStoreInit): SqliteMetadataStore {
  let database: Database.Database | undefined;
  try {
    database = new Database(init.path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    configure(database, init.fsync);
    return new SqliteMetadataStore(database, init.path);
  } catch (error) {
    database?.close();
    // Not only SqliteError: better-sqlite3 throws a TypeError when the folder does not exist.
    if (error instanceof MetadataStoreError) throw error;
    throw new MetadataStoreError('io', `cannot open metadata database ${init.path}: ${(error as Error).message}`, { cause: error });
  }
}

function configure(database: Database.Database, fsync: boolean): void {
  const journalMode = database.pragma('journal_mode = WAL', { simple: true });
  if (journalMode !== 'wal') throw new MetadataStoreError('io', `SQLite refused WAL mode (journal_mode is ${String(journalMode)})`);
  database.pragma(`synchronous = ${fsync ? 'FULL' : 'NORMAL'}`);
  database.pragma(`journal_size_limit = ${SQLITE_JOURNAL_SIZE_LIMIT_BYTES}`);
  const schemaVersion = database.pragma('user_version', { simple: true }) as number;
  if (schemaVersion === 0) database.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  else if (schemaVersion !== SQLITE_SCHEMA_VERSION) {
    throw new MetadataStoreError('unsupported-format', `metadata database schema ${schemaVersion}; this build knows ${SQLITE_SCHEMA_VERSION}`);
  }
}

type Statement = Database.Statement<unknown[], unknown>;

interface TreeStatements {
  get: Statement;
  insert: Statement;
  remove: Statement;
  count: Statement;
  /** Indexed by rangeVariant(hasLower, hasUpper, reverse); prepared on first use. */
  ranges: Array<Statement | undefined>;
}

/** A tree's table created inside a transaction: if `scope` rolls back, so does the CREATE TABLE. */
interface CreatedTree {
  name: string;
  scope: number;
}

export class SqliteMetadataStore implements MetadataStore {
  private readonly handles = new Map<string, SqliteTree>();
  /** Prepared statements per tree; an entry is dropped when the CREATE TABLE behind it rolls back. */
  private readonly statements = new Map<string, TreeStatements>();
  private readonly createdInTransaction: CreatedTree[] = [];
  private readonly savepoints: Array<{ begin: Statement; release: Statement; rollback: Statement }> = [];
  private readonly control: { begin: Statement; commit: Statement; rollback: Statement };
  private readonly scopes: TransactionScopes;
  private readonly groupCommit: GroupCommit;
  private closed = false;

  constructor(private readonly database: Database.Database, readonly path: string) {
    this.control = {
      begin: database.prepare('BEGIN IMMEDIATE'),
      commit: database.prepare('COMMIT'),
      rollback: database.prepare('ROLLBACK'),
    };
    this.scopes = new TransactionScopes({
      begin: (depth) => sql(() => (depth === 0 ? this.control.begin : this.savepoint(depth).begin).run()),
      commit: (depth) => this.commitScope(depth),
      rollback: (depth) => this.rollbackScope(depth),
      inTransaction: () => this.database.inTransaction,
      lost: () => this.forgetCreatedTrees(0),
    });
    this.groupCommit = new GroupCommit(this.scopes);
  }

  tree(name: string): Tree {
    this.assertOpen();
    // Every transaction asks for its trees again: a known name was checked when it was first used.
    let tree = this.handles.get(name);
    if (tree === undefined) {
      checkTreeName(name);
      if (this.handles.size >= TREES_MAX) throw new MetadataStoreError('limit-exceeded', `more than ${TREES_MAX} trees`);
      this.beginOperation(name);
      tree = new SqliteTree(this, name);
      this.handles.set(name, tree);
    }
    return tree;
  }

  transaction<T>(work: (tx: Transaction) => T): T {
    this.assertOpen();
    return this.scopes.run(() => runWork(this, work));
  }

  transactAsync<T>(work: (tx: Transaction) => T): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    return this.groupCommit.enqueue(() => runWork(this, work));
  }

  stats(): MetadataStoreStats {
    return {
      commits: this.scopes.commits,
      rollbacks: this.scopes.rollbacks,
      groupCommits: this.groupCommit.batches,
      groupCommitWorks: this.groupCommit.works,
      groupCommitPending: this.groupCommit.pendingCount,
    };
  }

  /** The settings SQLite actually applied, for status views and tests. */
  settings(): { journalMode: string; synchronous: 'off' | 'normal' | 'full' | 'extra' } {
    this.assertOpen();
    const journalMode = sql(() => this.database.pragma('journal_mode', { simple: true })) as string;
    const synchronous = sql(() => this.database.pragma('synchronous', { simple: true })) as number;
    return { journalMode, synchronous: (['off', 'normal', 'full', 'extra'] as const)[synchronous] ?? 'off' };
  }

  close(): void {
    if (this.closed) return;
    if (this.scopes.depth > 0) throw new MetadataStoreError('busy', 'cannot close the store from inside a transaction');
    this.groupCommit.drain();
    this.closed = true;
    this.statements.clear();
    sql(() => this.database.close());
  }

  /** Every tree operation starts here: the store is usable, and the tree's table exists. */
  beginOperation(name: string): TreeStatements {
    this.assertOpen();
    this.scopes.assertUsable();
    return this.statements.get(name) ?? this.createTree(name);
  }

  /** A write ran; outside a transaction it was a commit of its own. */
  noteWrite(): void {
    this.scopes.noteAutocommitWrite();
  }

  rangeStatement(statements: TreeStatements, name: string, variant: number): Statement {
    let statement = statements.ranges[variant];
    if (statement === undefined) {
      const table = tableName(name);
      const conditions = [variant & RANGE_HAS_LOWER ? 'k >= ?' : '', variant & RANGE_HAS_UPPER ? 'k < ?' : ''].filter((text) => text !== '');
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      const order = variant & RANGE_REVERSE ? 'DESC' : 'ASC';
      statement = sql(() => this.database.prepare(`SELECT k AS key, v AS value FROM ${table} ${where} ORDER BY k ${order} LIMIT ?`));
      statements.ranges[variant] = statement;
    }
    return statement;
  }

  private createTree(name: string): TreeStatements {
    const table = tableName(name);
    const statements = sql((): TreeStatements => {
      this.database.prepare(`CREATE TABLE IF NOT EXISTS ${table} (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID`).run();
      return {
        get: this.database.prepare(`SELECT v FROM ${table} WHERE k = ?`).pluck(),
        insert: this.database.prepare(`INSERT INTO ${table} (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`),
        remove: this.database.prepare(`DELETE FROM ${table} WHERE k = ?`),
        count: this.database.prepare(`SELECT count(*) FROM ${table}`).pluck(),
        ranges: [],
      };
    });
    if (this.scopes.depth > 0) this.createdInTransaction.push({ name, scope: this.scopes.depth - 1 });
    this.statements.set(name, statements);
    return statements;
  }

  private savepoint(depth: number): { begin: Statement; release: Statement; rollback: Statement } {
    let savepoint = this.savepoints[depth];
    if (savepoint === undefined) {
      savepoint = {
        begin: this.database.prepare(`SAVEPOINT s${depth}`),
        release: this.database.prepare(`RELEASE s${depth}`),
        rollback: this.database.prepare(`ROLLBACK TO s${depth}`),
      };
      this.savepoints[depth] = savepoint;
    }
    return savepoint;
  }

  private commitScope(depth: number): void {
    if (depth === 0) {
      sql(() => this.control.commit.run());
      this.createdInTransaction.length = 0;
      return;
    }
    sql(() => this.savepoint(depth).release.run());
    // Released into the enclosing scope: a rollback of that scope now undoes these tables.
    for (const created of this.createdInTransaction) if (created.scope === depth) created.scope = depth - 1;
  }

  private rollbackScope(depth: number): void {
    this.forgetCreatedTrees(depth);
    if (depth === 0) {
      sql(() => this.control.rollback.run());
      return;
    }
    const savepoint = this.savepoint(depth);
    sql(() => {
      savepoint.rollback.run();
      savepoint.release.run();
    });
  }

  /** Drops the statements of tables created in scope `depth` or deeper: their CREATE TABLE is undone. */
  private forgetCreatedTrees(depth: number): void {
    for (let index = this.createdInTransaction.length - 1; index >= 0; index--) {
      const created = this.createdInTransaction[index]!;
      if (created.scope < depth) continue;
      this.statements.delete(created.name);
      this.createdInTransaction.splice(index, 1);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

const RANGE_HAS_LOWER = 1;
const RANGE_HAS_UPPER = 2;
const RANGE_REVERSE = 4;

class SqliteTree implements Tree {
  constructor(private readonly store: SqliteMetadataStore, readonly name: string) {}

  get(key: Buffer): Buffer | null {
    const statements = this.store.beginOperation(this.name);
    checkKey(key);
    return (sql(() => statements.get.get(key)) as Buffer | undefined) ?? null;
  }

  range(query: RangeQuery): Entry[] {
    const statements = this.store.beginOperation(this.name);
    const bounds = rangeBounds(query);
    if (bounds === null) return [];
    const variant = (bounds.lower === null ? 0 : RANGE_HAS_LOWER) | (bounds.upper === null ? 0 : RANGE_HAS_UPPER) | (bounds.reverse ? RANGE_REVERSE : 0);
    const statement = this.store.rangeStatement(statements, this.name, variant);
    const parameters: unknown[] = [];
    if (bounds.lower !== null) parameters.push(bounds.lower);
    if (bounds.upper !== null) parameters.push(bounds.upper);
    // SQLite reads a negative LIMIT as none.
    parameters.push(bounds.limit === Infinity ? -1 : bounds.limit);
    return sql(() => statement.all(...parameters)) as Entry[];
  }

  count(): number {
    const statements = this.store.beginOperation(this.name);
    return sql(() => statements.count.get()) as number;
  }

  insert(key: Buffer, value: Buffer): void {
    const statements = this.store.beginOperation(this.name);
    checkKey(key);
    checkValue(value);
    sql(() => statements.insert.run(key, value));
    this.store.noteWrite();
  }

  remove(key: Buffer): boolean {
    const statements = this.store.beginOperation(this.name);
    checkKey(key);
    const { changes } = sql(() => statements.remove.run(key));
    this.store.noteWrite();
    return changes > 0;
  }
}

/** Quoted, so no name can clash with an SQL keyword; names are validated, so no quote inside. */
function tableName(name: string): string {
  return `"t_${name}"`;
}

/** Runs a database call; SQLite's own failures become MetadataStoreError('io') with the cause. */
function sql<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw asStoreError(error);
  }
}

function asStoreError(error: unknown): unknown {
  if (error instanceof Database.SqliteError) {
    return new MetadataStoreError('io', `metadata database: ${error.message} (${error.code})`, { cause: error });
  }
  return error;
}

function closedError(): MetadataStoreError {
  return new MetadataStoreError('closed', 'the metadata store is closed');
}
