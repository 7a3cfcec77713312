// Typed access to this node's tables for services that live on the node (the S3 and K2V
// gateways, the key and bucket catalog): quorum reads and writes through the local table actor,
// with entries encoded and decoded by their schema. Built over an `ask` function, so a test can
// hand in a memory fake (`memoryTableClient`) instead of a running node.
import { decodeEntry, encodeEntry, type TableSchema } from '../../protocols/table';
import type { Ref } from '../runtime';
import { REPLICA_RANGE_LIMIT_MAX } from './replica';
import type { TableMessage, TableWriteReply } from './table';

/** The tables actor's children are addressed as `/node/tables/<name>`. */
export const TABLE_PATH_PREFIX = '/node/tables/';

/** Rows one range call may return (what one replica answers at most). */
export const TABLE_CLIENT_RANGE_LIMIT_MAX = REPLICA_RANGE_LIMIT_MAX;

export interface RangeOptions {
  /** First sort key included (null or absent: from the first). */
  start?: Buffer | null;
  /** First sort key excluded (null or absent: to the last). */
  end?: Buffer | null;
  /** At most this many entries, 1..TABLE_CLIENT_RANGE_LIMIT_MAX. */
  limit: number;
  reverse?: boolean;
}

export interface TableClient {
  /** The merged entry after a read quorum, or null; tombstones are returned as they are. */
  get<E>(schema: TableSchema<E>, partitionKey: Buffer, sortKey: Buffer): Promise<E | null>;
  /** Resolves once a write quorum stored every entry (merged with what they held). */
  insert<E>(schema: TableSchema<E>, entries: readonly E[]): Promise<void>;
  /** Entries of one partition key in sort-key order (tombstones included). */
  range<E>(schema: TableSchema<E>, partitionKey: Buffer, options: RangeOptions): Promise<E[]>;
}

/** How the client reaches the table actors: an actor's `context.ask`, or a NodeClient's. */
export type TableAsk = <R>(path: string, makeMessage: (replyTo: Ref<R>) => TableMessage, timeoutMs: number) => Promise<R>;

export function tableClient(ask: TableAsk, timeoutMs: number): TableClient {
  return {
    async get(schema, partitionKey, sortKey) {
      const bytes = await ask<Buffer | null>(TABLE_PATH_PREFIX + schema.name, (replyTo) => ({ type: 'get', partitionKey, sortKey, replyTo }), timeoutMs);
      return bytes === null ? null : decodeEntry(schema, bytes);
    },
    async insert(schema, entries) {
      if (entries.length === 0) return;
      const encoded = entries.map((entry) => encodeEntry(schema, entry));
      await ask<TableWriteReply>(TABLE_PATH_PREFIX + schema.name, (replyTo) => ({ type: 'insert', entries: encoded, replyTo }), timeoutMs);
    },
    async range(schema, partitionKey, options) {
      const rows = await ask<Buffer[]>(
        TABLE_PATH_PREFIX + schema.name,
        (replyTo) => ({ type: 'range', partitionKey, start: options.start ?? null, end: options.end ?? null, limit: options.limit, reverse: options.reverse === true, replyTo }),
        timeoutMs,
      );
      return rows.map((bytes) => decodeEntry(schema, bytes));
    },
  };
}

/**
 * An in-memory TableClient for unit tests of services built on tables: one copy of each table,
 * entries merged with their schema's merge, `updated` hooks not run. Sort keys compare byte-wise.
 */
export function memoryTableClient(): TableClient & { rows(table: string): number } {
  const tables = new Map<string, Map<string, Buffer>>();
  const tableOf = (name: string): Map<string, Buffer> => {
    let table = tables.get(name);
    if (!table) tables.set(name, (table = new Map()));
    return table;
  };
  const keyOf = (partitionKey: Buffer, sortKey: Buffer): string => `${partitionKey.toString('hex')}:${sortKey.toString('hex')}`;
  return {
    rows: (name) => tableOf(name).size,
    async get(schema, partitionKey, sortKey) {
      const bytes = tableOf(schema.name).get(keyOf(partitionKey, sortKey));
      return bytes === undefined ? null : decodeEntry(schema, bytes);
    },
    async insert(schema, entries) {
      const table = tableOf(schema.name);
      for (const entry of entries) {
        const key = keyOf(schema.partitionKey(entry), schema.sortKey(entry));
        const old = table.get(key);
        const merged = old === undefined ? entry : schema.merge(decodeEntry(schema, old), entry);
        table.set(key, encodeEntry(schema, merged));
      }
    },
    async range(schema, partitionKey, options) {
      const prefix = `${partitionKey.toString('hex')}:`;
      const inRange = [...tableOf(schema.name).entries()]
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, bytes]) => ({ sortKey: Buffer.from(key.slice(prefix.length), 'hex'), bytes }))
        .filter(({ sortKey }) => (!options.start || Buffer.compare(sortKey, options.start) >= 0) && (!options.end || Buffer.compare(sortKey, options.end) < 0))
        .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
      if (options.reverse) inRange.reverse();
      return inRange.slice(0, options.limit).map(({ bytes }) => decodeEntry(schema, bytes));
    },
  };
}

/**
 * A client whose point reads of the named tables are remembered for its lifetime (one request):
 * the S3 gateway reads the same key row for the signature, the bucket alias and the permissions.
 * A write to a table forgets that table's reads, so a request sees its own writes.
 */
export function memoizedReads(client: TableClient, tables: readonly string[]): TableClient {
  const memo = new Map<string, Promise<unknown>>();
  return {
    get<E>(schema: TableSchema<E>, partitionKey: Buffer, sortKey: Buffer): Promise<E | null> {
      if (!tables.includes(schema.name)) return client.get(schema, partitionKey, sortKey);
      const key = `${schema.name}:${partitionKey.toString('hex')}:${sortKey.toString('hex')}`;
      let read = memo.get(key) as Promise<E | null> | undefined;
      if (read === undefined) {
        read = client.get(schema, partitionKey, sortKey);
        memo.set(key, read);
        read.catch(() => memo.delete(key)); // a failed read is tried again, not remembered
      }
      return read;
    },
    async insert(schema, entries) {
      for (const key of [...memo.keys()]) if (key.startsWith(`${schema.name}:`)) memo.delete(key);
      await client.insert(schema, entries);
    },
    range: (schema, partitionKey, options) => client.range(schema, partitionKey, options),
  };
}
