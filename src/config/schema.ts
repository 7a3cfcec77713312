// The config file's schema, in Garage's snake_case keys, and its translation to camelCase.
// Every table is strict: an unknown key is an error (with a "did you mean"), because a typo in a
// key silently falls back to a default, and a default replication or fsync setting can lose data.
// Keys of current Garage configs that Grange does not use are still accepted and type-checked, so
// that a Garage config file starts a Grange node.

import { z } from 'zod';

import { parseBootstrapPeer, parseHostPort, parseListenAddress, type ListenAddress } from './address';
import { formatDurationMs, parseDurationMs } from './duration';
import {
  BLOCK_CONCURRENCY_MAX,
  BLOCK_RAM_BUFFER_MAX_DEFAULT_BYTES,
  BLOCK_SIZE_DEFAULT_BYTES,
  BLOCK_SIZE_MAX_BYTES,
  BLOCK_SIZE_MIN_BYTES,
  BOOTSTRAP_PEERS_MAX,
  COMPRESSION_LEVEL_DEFAULT,
  COMPRESSION_LEVEL_MAX,
  COMPRESSION_LEVEL_MIN,
  DATA_DIRS_MAX,
  REPLICATION_FACTOR_MAX,
  REPLICATION_FACTOR_MIN,
  RPC_TIMEOUT_MS_MAX,
  RPC_TIMEOUT_MS_MIN,
  S3_REGION_DEFAULT,
  SIZE_BYTES_MAX,
  SNAPSHOT_INTERVAL_MS_MIN,
  TABLE_SYNC_INTERVAL_DEFAULT_MS,
  TABLE_SYNC_INTERVAL_MS_MAX,
  TABLE_SYNC_INTERVAL_MS_MIN,
  TABLE_TOMBSTONE_GC_DELAY_DEFAULT_MS,
  TABLE_TOMBSTONE_GC_DELAY_MS_MAX,
  TABLE_TOMBSTONE_GC_DELAY_MS_MIN,
} from './limits';
import { Secret, type SecretsInConfig } from './secrets';
import { formatSize, parseSize } from './size';
import type { AdminConfig, ConsistencyMode, DataDirectory, GrangeConfig } from './types';

// ---- leaf fields -------------------------------------------------------------------------------

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A field read by `parse`, whose exception message becomes the one-line error. */
function parsedField<Input extends z.ZodTypeAny, Output>(input: Input, parse: (value: z.output<Input>) => Output) {
  return input.transform((value: z.output<Input>, context): Output => {
    try {
      return parse(value);
    } catch (error) {
      context.addIssue({ code: z.ZodIssueCode.custom, message: messageOf(error) });
      return z.NEVER;
    }
  });
}

const nonEmptyText = z.string().min(1, { message: 'must not be empty' });
const pathField = nonEmptyText.describe('a path');

function integerField(min: number, max: number) {
  const message = `must be an integer from ${min} to ${max}`;
  return z.number().int().min(min, { message }).max(max, { message });
}

function sizeRange(minBytes: number, maxBytes: number): string {
  // parseSize already caps every size at SIZE_BYTES_MAX: no need to print that bound.
  return maxBytes >= SIZE_BYTES_MAX ? `at least ${formatSize(minBytes)}` : `from ${formatSize(minBytes)} to ${formatSize(maxBytes)}`;
}

function sizeField(minBytes: number, maxBytes: number) {
  return parsedField(z.union([z.number(), z.string()]), (value) => {
    const bytes = parseSize(value);
    if (bytes < minBytes || bytes > maxBytes) throw new Error(`must be ${sizeRange(minBytes, maxBytes)}, found ${formatSize(bytes)}`);
    return bytes;
  }).describe('a size (a number of bytes, or a string such as "10GiB")');
}

const anySize = sizeField(0, SIZE_BYTES_MAX);
const capacitySize = sizeField(1, SIZE_BYTES_MAX);

const hostPortField = (allowZero: boolean) =>
  parsedField(z.string(), (text) => parseHostPort(text, { allowZero })).describe('an address "host:port"');
const listenField = parsedField(z.string(), parseListenAddress).describe('an address "host:port" or a Unix socket path');
const peerField = parsedField(z.string(), parseBootstrapPeer).describe('a peer "<node id>@host:port" or "host:port"');

/** A duration in milliseconds, at least `minMs` and, when given, at most `maxMs`. */
function durationField(minMs: number, maxMs?: number) {
  return parsedField(z.string(), (text) => {
    const milliseconds = parseDurationMs(text);
    if (maxMs === undefined && milliseconds < minMs) throw new Error(`must be at least ${formatDurationMs(minMs)}`);
    if (maxMs !== undefined && (milliseconds < minMs || milliseconds > maxMs)) {
      throw new Error(`must be from ${formatDurationMs(minMs)} to ${formatDurationMs(maxMs)}, found ${formatDurationMs(milliseconds)}`);
    }
    return milliseconds;
  }).describe('a duration such as "6h"');
}

function parseCompressionLevel(value: number | string): number | 'none' {
  // Garage compares "none" without regard to case.
  if (typeof value === 'string' && value.toLowerCase() === 'none') return 'none';
  if (typeof value === 'number' && Number.isInteger(value) && value >= COMPRESSION_LEVEL_MIN && value <= COMPRESSION_LEVEL_MAX) {
    return value;
  }
  throw new Error(
    `expected an integer from ${COMPRESSION_LEVEL_MIN} to ${COMPRESSION_LEVEL_MAX} or "none", found ${JSON.stringify(value)}`,
  );
}

const compressionField = parsedField(z.union([z.number(), z.string()]), parseCompressionLevel).describe(
  `an integer from ${COMPRESSION_LEVEL_MIN} to ${COMPRESSION_LEVEL_MAX}, or "none"`,
);

// Grange keeps metadata in SQLite only. A Garage node's LMDB (or Sled) metadata folder cannot be
// read by Grange, so starting anyway would silently give an empty node on top of it: refuse.
const dbEngineField = parsedField(z.string(), (engine): 'sqlite' => {
  if (engine === 'sqlite') return 'sqlite';
  if (engine === 'lmdb' || engine === 'sled') {
    throw new Error(`"${engine}" is not supported: Grange keeps metadata in SQLite only; set db_engine = "sqlite"`);
  }
  throw new Error(`expected "sqlite", found ${JSON.stringify(engine)}`);
});

// ---- tables --------------------------------------------------------------------------------------

const dataDirEntry = z
  .object({ path: pathField, capacity: capacitySize.optional(), read_only: z.boolean().default(false) })
  .strict()
  .superRefine((entry, context) => {
    if (entry.read_only && entry.capacity !== undefined) {
      context.addIssue({ code: 'custom', path: ['capacity'], message: 'a read-only data directory takes no capacity' });
    }
    if (!entry.read_only && entry.capacity === undefined) {
      // A custom issue marked `missing` reads "missing required key ... (<message>)".
      context.addIssue({ code: 'custom', path: ['capacity'], message: 'needed unless read_only = true', params: { missing: true } });
    }
  });

const dataDirField = z
  .union([
    pathField,
    z
      .array(dataDirEntry)
      .min(1, { message: 'must list at least one directory' })
      .max(DATA_DIRS_MAX, { message: `must list at most ${DATA_DIRS_MAX} directories` }),
  ])
  .describe('a path, or an array of tables { path, capacity } or { path, read_only = true }');

const s3ApiTable = z
  .object({
    api_bind_addr: listenField.optional(),
    s3_region: nonEmptyText.default(S3_REGION_DEFAULT),
    root_domain: nonEmptyText.optional(),
  })
  .strict();

const s3WebTable = z
  .object({ bind_addr: listenField, root_domain: nonEmptyText, add_host_to_metrics: z.boolean().default(false) })
  .strict();

const k2vApiTable = z.object({ api_bind_addr: listenField }).strict();

const adminTable = z
  .object({
    api_bind_addr: listenField.optional(),
    admin_token: z.string().optional(),
    admin_token_file: pathField.optional(),
    metrics_token: z.string().optional(),
    metrics_token_file: pathField.optional(),
    trace_sink: nonEmptyText.optional(),
  })
  .strict();

const consulDiscoveryTable = z
  .object({
    api: z.enum(['catalog', 'agent']).default('catalog'),
    consul_http_addr: nonEmptyText,
    service_name: nonEmptyText,
    ca_cert: pathField.optional(),
    client_cert: pathField.optional(),
    client_key: pathField.optional(),
    token: z.string().optional(),
    tls_skip_verify: z.boolean().default(false),
    tags: z.array(z.string()).default([]),
    meta: z.record(z.string()).optional(),
  })
  .strict();

const kubernetesDiscoveryTable = z
  .object({ namespace: nonEmptyText, service_name: nonEmptyText, skip_crd: z.boolean().default(false) })
  .strict();

// Garage before 1.0 set replication and consistency together in one key.
const LEGACY_REPLICATION_MODES = {
  none: [1, 'consistent'],
  '1': [1, 'consistent'],
  '2': [2, 'consistent'],
  '2-dangerous': [2, 'dangerous'],
  '3': [3, 'consistent'],
  '3-degraded': [3, 'degraded'],
  '3-dangerous': [3, 'dangerous'],
} as const satisfies Record<string, readonly [number, ConsistencyMode]>;

const legacyReplicationModeField = z.enum(Object.keys(LEGACY_REPLICATION_MODES) as [keyof typeof LEGACY_REPLICATION_MODES]);

const rootTable = z
  .object({
    metadata_dir: pathField,
    data_dir: dataDirField,
    db_engine: dbEngineField.default('sqlite'),
    metadata_fsync: z.boolean().default(false),
    data_fsync: z.boolean().default(false),
    disable_scrub: z.boolean().default(false),
    use_local_tz: z.boolean().default(false),
    metadata_snapshots_dir: pathField.optional(),
    metadata_auto_snapshot_interval: durationField(SNAPSHOT_INTERVAL_MS_MIN).optional(),
    // Grange's own keys (Garage hard-codes both).
    table_sync_interval: durationField(TABLE_SYNC_INTERVAL_MS_MIN, TABLE_SYNC_INTERVAL_MS_MAX).optional(),
    table_tombstone_gc_delay: durationField(TABLE_TOMBSTONE_GC_DELAY_MS_MIN, TABLE_TOMBSTONE_GC_DELAY_MS_MAX).optional(),

    replication_factor: integerField(REPLICATION_FACTOR_MIN, REPLICATION_FACTOR_MAX).optional(),
    consistency_mode: z.enum(['consistent', 'degraded', 'dangerous']).optional(),
    replication_mode: legacyReplicationModeField.optional(),

    block_size: sizeField(BLOCK_SIZE_MIN_BYTES, BLOCK_SIZE_MAX_BYTES).default(BLOCK_SIZE_DEFAULT_BYTES),
    block_ram_buffer_max: anySize.default(BLOCK_RAM_BUFFER_MAX_DEFAULT_BYTES),
    block_max_concurrent_reads: integerField(1, BLOCK_CONCURRENCY_MAX).optional(),
    block_max_concurrent_writes_per_request: integerField(1, BLOCK_CONCURRENCY_MAX).optional(),
    compression_level: compressionField.default(COMPRESSION_LEVEL_DEFAULT),
    lmdb_map_size: anySize.optional(),
    sled_cache_capacity: anySize.optional(),
    sled_flush_every_ms: integerField(0, Number.MAX_SAFE_INTEGER).optional(), // ignored: type-checked only

    rpc_secret: z.string().optional(),
    rpc_secret_file: pathField.optional(),
    rpc_bind_addr: hostPortField(true),
    rpc_bind_outgoing: z.boolean().default(false),
    rpc_public_addr: hostPortField(false).optional(),
    rpc_public_addr_subnet: nonEmptyText.optional(),
    rpc_ping_timeout_msec: integerField(RPC_TIMEOUT_MS_MIN, RPC_TIMEOUT_MS_MAX).optional(),
    rpc_timeout_msec: integerField(RPC_TIMEOUT_MS_MIN, RPC_TIMEOUT_MS_MAX).optional(),
    bootstrap_peers: z
      .array(peerField)
      .max(BOOTSTRAP_PEERS_MAX, { message: `must list at most ${BOOTSTRAP_PEERS_MAX} peers` })
      .default([]),

    allow_world_readable_secrets: z.boolean().default(false),
    allow_punycode: z.boolean().default(false),

    s3_api: s3ApiTable.default({}),
    s3_web: s3WebTable.optional(),
    k2v_api: k2vApiTable.optional(),
    admin: adminTable.default({}),
    consul_discovery: consulDiscoveryTable.optional(),
    kubernetes_discovery: kubernetesDiscoveryTable.optional(),
  })
  .strict();

type RootTable = z.output<typeof rootTable>;
type Context = z.RefinementCtx;

// ---- translation and checks across keys -------------------------------------------------------

// Accepted so that Garage configs load, but without effect in Grange (by design, or not yet).
const UNUSED_KEYS = [
  'lmdb_map_size',
  'sled_cache_capacity',
  'sled_flush_every_ms',
  'rpc_public_addr_subnet',
  'consul_discovery',
  'kubernetes_discovery',
] as const;

function unusedKeys(raw: RootTable): string[] {
  const present: string[] = UNUSED_KEYS.filter((key) => raw[key] !== undefined);
  if (raw.admin.trace_sink !== undefined) present.push('admin.trace_sink');
  return present;
}

type Replication = Pick<GrangeConfig, 'replicationFactor' | 'consistencyMode'>;

function replication(raw: RootTable, context: Context): Replication | undefined {
  if (raw.replication_mode !== undefined) {
    if (raw.replication_factor !== undefined || raw.consistency_mode !== undefined) {
      context.addIssue({
        code: 'custom',
        path: [],
        message: 'replication_mode (Garage before 1.0) cannot be combined with replication_factor or consistency_mode; keep the newer keys',
      });
      return undefined;
    }
    const [replicationFactor, consistencyMode] = LEGACY_REPLICATION_MODES[raw.replication_mode];
    return { replicationFactor, consistencyMode };
  }
  if (raw.replication_factor === undefined) {
    context.addIssue({ code: 'invalid_type', expected: 'number', received: 'undefined', path: ['replication_factor'] });
    return undefined;
  }
  return { replicationFactor: raw.replication_factor, consistencyMode: raw.consistency_mode ?? 'consistent' };
}

function dataDirectories(raw: RootTable['data_dir'], context: Context): DataDirectory[] | undefined {
  if (typeof raw === 'string') return [{ path: raw, readOnly: false }];
  const directories = raw.map((entry) => ({ path: entry.path, capacity: entry.capacity, readOnly: entry.read_only }));
  const paths = new Set<string>();
  for (const directory of directories) {
    if (paths.has(directory.path)) {
      context.addIssue({ code: 'custom', path: ['data_dir'], message: `lists ${JSON.stringify(directory.path)} twice` });
      return undefined;
    }
    paths.add(directory.path);
  }
  if (directories.every((directory) => directory.readOnly)) {
    context.addIssue({ code: 'custom', path: ['data_dir'], message: 'has no writable directory; give at least one a capacity' });
    return undefined;
  }
  return directories;
}

interface Listener {
  key: string;
  address: ListenAddress;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);

function sameSocket(left: ListenAddress, right: ListenAddress): boolean {
  if (left.kind === 'unix' || right.kind === 'unix') {
    return left.kind === 'unix' && right.kind === 'unix' && left.path === right.path;
  }
  if (left.port === 0 || left.port !== right.port) return false; // port 0: the system picks distinct ports
  return left.host === right.host || WILDCARD_HOSTS.has(left.host) || WILDCARD_HOSTS.has(right.host);
}

function describeSocket(address: ListenAddress): string {
  return address.kind === 'unix' ? address.path : `port ${address.port}`;
}

/** Two servers of this node on one socket would fail at start with a bare EADDRINUSE: say which. */
function checkListeners(listeners: Listener[], context: Context): boolean {
  for (const [index, listener] of listeners.entries()) {
    const clash = listeners.slice(index + 1).find((other) => sameSocket(listener.address, other.address));
    if (clash !== undefined) {
      context.addIssue({
        code: 'custom',
        path: [],
        message: `${listener.key} and ${clash.key} both listen on ${describeSocket(listener.address)}`,
      });
      return false;
    }
  }
  return true;
}

function listenersOf(raw: RootTable): Listener[] {
  const candidates: Array<[string, ListenAddress | undefined]> = [
    ['rpc_bind_addr', { kind: 'tcp', ...raw.rpc_bind_addr }],
    ['s3_api.api_bind_addr', raw.s3_api.api_bind_addr],
    ['s3_web.bind_addr', raw.s3_web?.bind_addr],
    ['k2v_api.api_bind_addr', raw.k2v_api?.api_bind_addr],
    ['admin.api_bind_addr', raw.admin.api_bind_addr],
  ];
  return candidates.flatMap(([key, address]) => (address === undefined ? [] : [{ key, address }]));
}

/** The config file's content, in camelCase, before secrets are looked up. */
export interface ConfigFile extends Omit<GrangeConfig, 'origin' | 'rpcSecret' | 'admin'> {
  admin: Omit<AdminConfig, 'adminToken' | 'metricsToken'>;
  secrets: SecretsInConfig;
}

function secretsOf(raw: RootTable): SecretsInConfig {
  return {
    rpcSecret: { value: raw.rpc_secret, file: raw.rpc_secret_file },
    adminToken: { value: raw.admin.admin_token, file: raw.admin.admin_token_file },
    metricsToken: { value: raw.admin.metrics_token, file: raw.admin.metrics_token_file },
  };
}

function discoveryOf(raw: RootTable): Pick<ConfigFile, 'consulDiscovery' | 'kubernetesDiscovery'> {
  const consul = raw.consul_discovery;
  const kubernetes = raw.kubernetes_discovery;
  return {
    consulDiscovery: consul && {
      api: consul.api,
      consulHttpAddr: consul.consul_http_addr,
      serviceName: consul.service_name,
      caCert: consul.ca_cert,
      clientCert: consul.client_cert,
      clientKey: consul.client_key,
      token: consul.token === undefined ? undefined : new Secret(consul.token),
      tlsSkipVerify: consul.tls_skip_verify,
      tags: consul.tags,
      meta: consul.meta,
    },
    kubernetesDiscovery: kubernetes && {
      namespace: kubernetes.namespace,
      serviceName: kubernetes.service_name,
      skipCrd: kubernetes.skip_crd,
    },
  };
}

function apisOf(raw: RootTable): Pick<ConfigFile, 's3Api' | 's3Web' | 'k2vApi' | 'admin'> {
  return {
    s3Api: { apiBindAddr: raw.s3_api.api_bind_addr, s3Region: raw.s3_api.s3_region, rootDomain: raw.s3_api.root_domain },
    s3Web: raw.s3_web && {
      bindAddr: raw.s3_web.bind_addr,
      rootDomain: raw.s3_web.root_domain,
      addHostToMetrics: raw.s3_web.add_host_to_metrics,
    },
    k2vApi: raw.k2v_api && { apiBindAddr: raw.k2v_api.api_bind_addr },
    admin: { apiBindAddr: raw.admin.api_bind_addr, traceSink: raw.admin.trace_sink },
  };
}

function storageOf(raw: RootTable, dataDir: DataDirectory[]) {
  return {
    metadataDir: raw.metadata_dir,
    dataDir,
    dbEngine: raw.db_engine,
    metadataFsync: raw.metadata_fsync,
    dataFsync: raw.data_fsync,
    disableScrub: raw.disable_scrub,
    useLocalTz: raw.use_local_tz,
    metadataSnapshotsDir: raw.metadata_snapshots_dir,
    metadataAutoSnapshotInterval: raw.metadata_auto_snapshot_interval,
    blockSize: raw.block_size,
    blockRamBufferMax: raw.block_ram_buffer_max,
    blockMaxConcurrentReads: raw.block_max_concurrent_reads,
    blockMaxConcurrentWritesPerRequest: raw.block_max_concurrent_writes_per_request,
    compressionLevel: raw.compression_level,
    tableSyncInterval: raw.table_sync_interval ?? TABLE_SYNC_INTERVAL_DEFAULT_MS,
    tableTombstoneGcDelay: raw.table_tombstone_gc_delay ?? TABLE_TOMBSTONE_GC_DELAY_DEFAULT_MS,
  } satisfies Partial<ConfigFile>;
}

function networkOf(raw: RootTable) {
  return {
    rpcBindAddr: raw.rpc_bind_addr,
    rpcBindOutgoing: raw.rpc_bind_outgoing,
    rpcPublicAddr: raw.rpc_public_addr,
    rpcPublicAddrSubnet: raw.rpc_public_addr_subnet,
    rpcPingTimeoutMsec: raw.rpc_ping_timeout_msec,
    rpcTimeoutMsec: raw.rpc_timeout_msec,
    bootstrapPeers: raw.bootstrap_peers,
  } satisfies Partial<ConfigFile>;
}

function toConfigFile(raw: RootTable, context: Context): ConfigFile {
  const replicationSettings = replication(raw, context);
  const dataDir = dataDirectories(raw.data_dir, context);
  if (replicationSettings === undefined || dataDir === undefined || !checkListeners(listenersOf(raw), context)) {
    return z.NEVER;
  }
  return {
    ...storageOf(raw, dataDir),
    ...replicationSettings,
    ...networkOf(raw),
    ...apisOf(raw),
    ...discoveryOf(raw),
    allowWorldReadableSecrets: raw.allow_world_readable_secrets,
    allowPunycode: raw.allow_punycode,
    secrets: secretsOf(raw),
    unusedKeys: unusedKeys(raw),
  };
}

/** The whole schema: validates a parsed TOML document and returns its camelCase form. */
export const configFileSchema = rootTable.transform(toConfigFile);

/** The strict tables, for error messages (known keys, expected types). */
export const configTableSchema = rootTable;

/** Keys whose values must never appear in an error message. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['rpc_secret', 'admin_token', 'metrics_token', 'token']);
