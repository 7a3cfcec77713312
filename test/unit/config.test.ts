// The configuration module: what an operator sees when a config file is right, and the one line
// they read when it is wrong.

import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

import {
  ConfigError,
  formatSize,
  loadConfigFile,
  parseConfigText,
  parseDurationMs,
  parseSize,
  renderSingleNodeConfig,
  type ConfigErrorKind,
  type Environment,
  type GrangeConfig,
  type SecretFileReader,
} from '../../src/config';
import { describeFileError } from '../../src/config/errors';
import { editDistance, nearestKey } from '../../src/config/suggest';

const SECRET = '4425f5c26c5e11581d3223904324dcb5b5d5dfb14e5e7f35e38c595424f5f1e6';
const OTHER_SECRET = 'ab'.repeat(32);
const NO_ENV: Environment = {};
const ORIGIN = 'test.toml';
const runningAsRoot = process.getuid?.() === 0;

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'grange-config-test-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function writeScratch(name: string, text: string, mode = 0o600): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  chmodSync(path, mode); // explicit: writeFileSync's mode is filtered by the umask
  return path;
}

/** The smallest valid config, plus extra top-level lines and extra tables. */
function minimal(extraTopLevel = '', extraTables = ''): string {
  return [
    'metadata_dir = "/srv/grange/meta"',
    'data_dir = "/srv/grange/data"',
    'replication_factor = 3',
    `rpc_secret = "${SECRET}"`,
    'rpc_bind_addr = "[::]:3901"',
    extraTopLevel,
    extraTables,
  ].join('\n');
}

/** minimal() without the given top-level keys. */
function minimalWithout(...keys: string[]): string {
  return minimal()
    .split('\n')
    .filter((line) => !keys.some((key) => line.startsWith(`${key} =`)))
    .join('\n');
}

function parse(text: string, env: Environment = NO_ENV, reader?: SecretFileReader): GrangeConfig {
  return parseConfigText(text, ORIGIN, env, reader);
}

function errorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

function expectProblem(action: () => unknown, kind: ConfigErrorKind, message: string | RegExp): ConfigError {
  const error = errorOf(action);
  expect(error.message).not.toContain('\n');
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
  expect(error.kind).toBe(kind);
  return error;
}

describe('a good config file', () => {
  const fullText = [
    'metadata_dir = "/var/lib/grange/meta"',
    'data_dir = [',
    '  { path = "/mnt/hdd1", capacity = "2T" },',
    '  { path = "/mnt/hdd2", capacity = 500_000_000 },',
    '  { path = "/mnt/old", read_only = true },',
    ']',
    'db_engine = "sqlite"',
    'metadata_fsync = true',
    'data_fsync = true',
    'disable_scrub = true',
    'use_local_tz = true',
    'metadata_snapshots_dir = "/var/lib/grange/snapshots"',
    'metadata_auto_snapshot_interval = "6h"',
    'replication_factor = 3',
    'consistency_mode = "degraded"',
    'table_sync_interval = "30s"',
    'table_tombstone_gc_delay = "2 days"',
    'block_size = "10MiB"',
    'block_ram_buffer_max = "512MiB"',
    'block_max_concurrent_reads = 16',
    'block_max_concurrent_writes_per_request = 10',
    'lmdb_map_size = "1T"',
    'compression_level = "none"',
    `rpc_secret = "${SECRET.toUpperCase()}"`,
    'rpc_bind_addr = "[::]:3901"',
    'rpc_bind_outgoing = false',
    'rpc_public_addr = "[fc00:1::1]:3901"',
    'rpc_ping_timeout_msec = 10000',
    'rpc_timeout_msec = 300000',
    'allow_world_readable_secrets = false',
    'allow_punycode = true',
    'bootstrap_peers = [',
    '  "563e1ac825ee3323aa441e72c26d1030d6d4414aeb3dd25287c531e7fc2bc95d@[fc00:1::2]:3901",',
    '  "node3.example.org:3901",',
    ']',
    '',
    '[s3_api]',
    'api_bind_addr = "0.0.0.0:3900"',
    'root_domain = ".s3.garage"',
    '',
    '[s3_web]',
    'bind_addr = "/run/grange/web.sock"',
    'root_domain = ".web.garage"',
    '',
    '[k2v_api]',
    'api_bind_addr = "127.0.0.1:3904"',
    '',
    '[admin]',
    'api_bind_addr = "127.0.0.1:3903"',
    'admin_token = "admin-token-value"',
    'metrics_token = "metrics-token-value"',
    'trace_sink = "http://localhost:4317"',
  ].join('\n');

  it('loads from disk with every key translated to camelCase, sizes in bytes, addresses parsed', () => {
    const path = writeScratch('full.toml', fullText);
    const config = loadConfigFile(path, NO_ENV);
    expect(config.origin).toBe(path);
    expect(config.metadataDir).toBe('/var/lib/grange/meta');
    expect(config.dataDir).toEqual([
      { path: '/mnt/hdd1', capacity: 2_000_000_000_000, readOnly: false },
      { path: '/mnt/hdd2', capacity: 500_000_000, readOnly: false },
      { path: '/mnt/old', capacity: undefined, readOnly: true },
    ]);
    expect(config).toMatchObject({
      dbEngine: 'sqlite',
      metadataFsync: true,
      dataFsync: true,
      disableScrub: true,
      useLocalTz: true,
      metadataSnapshotsDir: '/var/lib/grange/snapshots',
      metadataAutoSnapshotInterval: 6 * 3600 * 1000,
      replicationFactor: 3,
      consistencyMode: 'degraded',
      tableSyncInterval: 30_000,
      tableTombstoneGcDelay: 2 * 86_400_000,
      blockSize: 10 * 1024 * 1024,
      blockRamBufferMax: 512 * 1024 * 1024,
      blockMaxConcurrentReads: 16,
      blockMaxConcurrentWritesPerRequest: 10,
      compressionLevel: 'none',
      rpcBindAddr: { host: '::', port: 3901 },
      rpcBindOutgoing: false,
      rpcPublicAddr: { host: 'fc00:1::1', port: 3901 },
      rpcPingTimeoutMsec: 10000,
      rpcTimeoutMsec: 300000,
      allowPunycode: true,
    });
    expect(config.rpcSecret.reveal()).toBe(SECRET);
    expect(config.bootstrapPeers).toEqual([
      { nodeId: '563e1ac825ee3323aa441e72c26d1030d6d4414aeb3dd25287c531e7fc2bc95d', host: 'fc00:1::2', port: 3901 },
      { host: 'node3.example.org', port: 3901 },
    ]);
    expect(config.s3Api).toEqual({ apiBindAddr: { kind: 'tcp', host: '0.0.0.0', port: 3900 }, s3Region: 'garage', rootDomain: '.s3.garage' });
    expect(config.s3Web).toEqual({ bindAddr: { kind: 'unix', path: '/run/grange/web.sock' }, rootDomain: '.web.garage', addHostToMetrics: false });
    expect(config.k2vApi).toEqual({ apiBindAddr: { kind: 'tcp', host: '127.0.0.1', port: 3904 } });
    expect(config.admin.apiBindAddr).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 3903 });
    expect(config.admin.adminToken?.reveal()).toBe('admin-token-value');
    expect(config.admin.metricsToken?.reveal()).toBe('metrics-token-value');
    expect(config.unusedKeys).toEqual(['lmdb_map_size', 'admin.trace_sink']);
  });

  it('gets Garage defaults for what it leaves out', () => {
    const config = parse(minimal());
    expect(config).toMatchObject({
      origin: ORIGIN,
      dataDir: [{ path: '/srv/grange/data', readOnly: false }],
      dbEngine: 'sqlite',
      metadataFsync: false,
      dataFsync: false,
      disableScrub: false,
      consistencyMode: 'consistent',
      tableSyncInterval: 10 * 60_000,
      tableTombstoneGcDelay: 24 * 3600_000,
      blockSize: 1024 * 1024,
      blockRamBufferMax: 256 * 1024 * 1024,
      compressionLevel: 1,
      bootstrapPeers: [],
      allowWorldReadableSecrets: false,
      s3Api: { s3Region: 'garage' },
      unusedKeys: [],
    });
    expect(config.s3Web).toBeUndefined();
    expect(config.k2vApi).toBeUndefined();
    expect(config.admin.adminToken).toBeUndefined();
    expect(config.rpcPublicAddr).toBeUndefined();
  });

  it("accepts Garage's legacy replication_mode and old sled keys", () => {
    const config = parse(minimalWithout('replication_factor') + '\nreplication_mode = "3-degraded"\nsled_cache_capacity = "128MiB"');
    expect(config.replicationFactor).toBe(3);
    expect(config.consistencyMode).toBe('degraded');
    expect(config.unusedKeys).toEqual(['sled_cache_capacity']);
  });

  it('accepts Garage discovery sections and reports them unused', () => {
    const config = parse(
      minimal(
        '',
        [
          '[consul_discovery]',
          'api = "agent"',
          'consul_http_addr = "http://127.0.0.1:8500"',
          'service_name = "garage-daemon"',
          'token = "consul-token"',
          'tags = ["dns-enabled"]',
          'meta = { dns-acl = "allow trusted" }',
          '[kubernetes_discovery]',
          'namespace = "garage"',
          'service_name = "garage-daemon"',
        ].join('\n'),
      ),
    );
    expect(config.consulDiscovery).toMatchObject({ api: 'agent', serviceName: 'garage-daemon', tags: ['dns-enabled'], meta: { 'dns-acl': 'allow trusted' } });
    expect(config.kubernetesDiscovery).toEqual({ namespace: 'garage', serviceName: 'garage-daemon', skipCrd: false });
    expect(config.unusedKeys).toEqual(['consul_discovery', 'kubernetes_discovery']);
  });

  it('never shows its secrets when printed or serialised', () => {
    const config = parse(minimal('', '[admin]\nadmin_token = "very-secret-admin-token"'));
    const printed = [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.rpcSecret)].join('\n');
    expect(printed).not.toContain(SECRET);
    expect(printed).not.toContain('very-secret-admin-token');
    expect(printed).toContain('[redacted]');
  });
});

describe('one clear line for each kind of mistake', () => {
  describe('unknown keys', () => {
    it('suggests the nearest key at top level', () => {
      const text = minimalWithout('rpc_secret') + `\nrpc_secert = "${SECRET}"`;
      expectProblem(() => parse(text), 'unknown-key', 'config test.toml: unknown key "rpc_secert" (did you mean "rpc_secret"?)');
    });

    it('suggests the nearest key inside a table', () => {
      expectProblem(
        () => parse(minimal('', '[s3_api]\napi_bind_adr = "127.0.0.1:3900"')),
        'unknown-key',
        'config test.toml: unknown key "s3_api.api_bind_adr" (did you mean "s3_api.api_bind_addr"?)',
      );
    });

    it('suggests the nearest key inside an array of tables', () => {
      const text = minimalWithout('data_dir') + '\ndata_dir = [{ path = "/a", capacty = "1T" }]';
      expectProblem(() => parse(text), 'unknown-key', 'config test.toml: unknown key "data_dir[0].capacty" (did you mean "data_dir[0].capacity"?)');
    });

    it('recognises camelCase and upper case spellings', () => {
      expectProblem(() => parse(minimal('blockSize = 4096')), 'unknown-key', /unknown key "blockSize" \(did you mean "block_size"\?\)$/);
      expectProblem(() => parse(minimal('DATA_FSYNC = true')), 'unknown-key', /unknown key "DATA_FSYNC" \(did you mean "data_fsync"\?\)$/);
    });

    it('points at the right table for a key written in the wrong one', () => {
      expectProblem(() => parse(minimal('s3_region = "garage"')), 'unknown-key', 'config test.toml: unknown key "s3_region" (did you mean "s3_region" in [s3_api]?)');
    });

    it('explains a top-level key written after a [table] header', () => {
      expectProblem(
        () => parse(minimal('', '[admin]\napi_bind_addr = "127.0.0.1:3903"\nmetadata_fsync = true')),
        'unknown-key',
        'config test.toml: unknown key "admin.metadata_fsync" (did you mean the top-level key "metadata_fsync"? top-level keys must come before the first [table])',
      );
    });

    it('suggests nothing when no key is close', () => {
      expectProblem(() => parse(minimal('frobnicate = 1')), 'unknown-key', 'config test.toml: unknown key "frobnicate"');
    });

    it('is reported before the missing key it hides', () => {
      const text = minimalWithout('replication_factor') + '\nreplication_factr = 3';
      expectProblem(() => parse(text), 'unknown-key', /unknown key "replication_factr" \(did you mean "replication_factor"\?\)$/);
    });
  });

  describe('wrong types', () => {
    it('names the key, what was expected and what was found', () => {
      const text = minimalWithout('replication_factor') + '\nreplication_factor = "3"';
      expectProblem(() => parse(text), 'wrong-type', 'config test.toml: wrong type for "replication_factor": expected integer, found string "3"');
    });

    it('inside a table', () => {
      expectProblem(
        () => parse(minimal('', '[s3_api]\napi_bind_addr = 3900')),
        'wrong-type',
        'config test.toml: wrong type for "s3_api.api_bind_addr": expected an address "host:port" or a Unix socket path, found integer 3900',
      );
    });

    it('for booleans, sizes, data_dir, enums and tables', () => {
      expectProblem(() => parse(minimal('metadata_fsync = "yes"')), 'wrong-type', /wrong type for "metadata_fsync": expected boolean \(true or false\), found string "yes"$/);
      expectProblem(() => parse(minimal('block_size = true')), 'wrong-type', /wrong type for "block_size": expected a size \(a number of bytes, or a string such as "10GiB"\), found boolean true$/);
      expectProblem(
        () => parse(minimalWithout('data_dir') + '\ndata_dir = 5'),
        'wrong-type',
        /wrong type for "data_dir": expected a path, or an array of tables \{ path, capacity \} or \{ path, read_only = true \}, found integer 5$/,
      );
      expectProblem(() => parse(minimal('consistency_mode = 2')), 'wrong-type', /wrong type for "consistency_mode": expected one of "consistent", "degraded", "dangerous", found integer 2$/);
      expectProblem(() => parse(minimal('s3_api = "x"')), 'wrong-type', /wrong type for "s3_api": expected table, found string "x"$/);
      expectProblem(() => parse(minimal('bootstrap_peers = "127.0.0.1:3901"')), 'wrong-type', /wrong type for "bootstrap_peers": expected array, found string/);
    });

    it('never quotes a secret value', () => {
      const text = minimalWithout('rpc_secret') + '\nrpc_secret = 123456789';
      const error = expectProblem(() => parse(text), 'wrong-type', 'config test.toml: wrong type for "rpc_secret": expected string, found an integer');
      expect(error.message).not.toContain('123456789');
    });
  });

  describe('missing keys', () => {
    it.each(['metadata_dir', 'data_dir', 'replication_factor', 'rpc_bind_addr'])('%s', (key) => {
      expectProblem(() => parse(minimalWithout(key)), 'missing-key', `config test.toml: missing required key "${key}"`);
    });

    it('inside a table', () => {
      expectProblem(() => parse(minimal('', '[k2v_api]')), 'missing-key', 'config test.toml: missing required key "k2v_api.api_bind_addr"');
      expectProblem(() => parse(minimal('', '[s3_web]\nbind_addr = "127.0.0.1:3902"')), 'missing-key', 'config test.toml: missing required key "s3_web.root_domain"');
    });

    it('a data directory without capacity', () => {
      const text = minimalWithout('data_dir') + '\ndata_dir = [{ path = "/a" }]';
      expectProblem(() => parse(text), 'missing-key', 'config test.toml: missing required key "data_dir[0].capacity" (needed unless read_only = true)');
    });
  });

  describe('bad values', () => {
    it('replication_factor out of range', () => {
      const text = minimalWithout('replication_factor') + '\nreplication_factor = 9';
      expectProblem(() => parse(text), 'invalid-value', 'config test.toml: invalid value for "replication_factor": must be an integer from 1 to 7, found integer 9');
    });

    it('consistency_mode not one of the modes', () => {
      expectProblem(
        () => parse(minimal('consistency_mode = "strict"')),
        'invalid-value',
        'config test.toml: invalid value for "consistency_mode": expected one of "consistent", "degraded", "dangerous", found string "strict"',
      );
    });

    it('db_engine = "lmdb" says only SQLite is supported', () => {
      expectProblem(
        () => parse(minimal('db_engine = "lmdb"')),
        'invalid-value',
        'config test.toml: invalid value for "db_engine": "lmdb" is not supported: Grange keeps metadata in SQLite only; set db_engine = "sqlite"',
      );
      expectProblem(() => parse(minimal('db_engine = "rocksdb"')), 'invalid-value', /invalid value for "db_engine": expected "sqlite", found "rocksdb"$/);
    });

    it('compression_level outside zstd levels', () => {
      for (const level of ['23', '-100', '"fast"', '1.5']) {
        expectProblem(() => parse(minimal(`compression_level = ${level}`)), 'invalid-value', /invalid value for "compression_level": expected an integer from -99 to 22 or "none", found /);
      }
      expect(parse(minimal('compression_level = -99')).compressionLevel).toBe(-99);
      expect(parse(minimal('compression_level = 22')).compressionLevel).toBe(22);
      expect(parse(minimal('compression_level = "NONE"')).compressionLevel).toBe('none');
    });

    it('block_size with a bad unit or out of bounds', () => {
      expectProblem(
        () => parse(minimal('block_size = "12XB"')),
        'invalid-value',
        /invalid value for "block_size": size "12XB" has an unknown unit "XB"; use a number of bytes, or K, M, G, T, P \(powers of 1000\) or KiB, MiB, GiB, TiB, PiB \(powers of 1024\)$/,
      );
      expectProblem(() => parse(minimal('block_size = "1K"')), 'invalid-value', /invalid value for "block_size": must be from 4 KiB to 16 MiB, found 1000 bytes$/);
      expectProblem(() => parse(minimal('block_size = -5')), 'invalid-value', /invalid value for "block_size": size -5 is negative$/);
    });

    it('addresses and peers', () => {
      const withBind = (address: string) => minimalWithout('rpc_bind_addr') + `\nrpc_bind_addr = "${address}"`;
      expectProblem(() => parse(withBind('localhost')), 'invalid-value', /invalid value for "rpc_bind_addr": address "localhost" has no port \(expected host:port\)$/);
      expectProblem(() => parse(withBind('127.0.0.1:70000')), 'invalid-value', /address "127.0.0.1:70000" has port 70000, outside 0..65535$/);
      expectProblem(() => parse(withBind('::1:3901')), 'invalid-value', /write an IPv6 address in brackets, e.g. "\[::1\]:3901"$/);
      expectProblem(() => parse(withBind('[fc00::zz]:3901')), 'invalid-value', /"fc00::zz" in brackets is not an IPv6 address$/);
      expectProblem(() => parse(withBind('bad host:3901')), 'invalid-value', /has an invalid host "bad host"$/);
      expectProblem(
        () => parse(minimal('bootstrap_peers = ["127.0.0.1:3902", "abcd@127.0.0.1:3901"]')),
        'invalid-value',
        /invalid value for "bootstrap_peers\[1\]": peer "abcd@127.0.0.1:3901": the part before "@" must be a node id of 64 hex characters$/,
      );
      expectProblem(() => parse(minimal('bootstrap_peers = ["127.0.0.1:0"]')), 'invalid-value', /has port 0, outside 1..65535$/);
      expectProblem(() => parse(minimal('rpc_public_addr = "127.0.0.1"')), 'invalid-value', /invalid value for "rpc_public_addr": address "127.0.0.1" has no port/);
    });

    it('two servers on one port', () => {
      expectProblem(
        () => parse(minimal('', '[s3_api]\napi_bind_addr = "127.0.0.1:3900"\n[k2v_api]\napi_bind_addr = "0.0.0.0:3900"')),
        'invalid-value',
        'config test.toml: s3_api.api_bind_addr and k2v_api.api_bind_addr both listen on port 3900',
      );
      expectProblem(() => parse(minimal('', '[admin]\napi_bind_addr = "[::]:3901"')), 'invalid-value', /rpc_bind_addr and admin.api_bind_addr both listen on port 3901$/);
      // Different hosts on one port, or port 0 twice, are fine.
      expect(() => parse(minimal('', '[s3_api]\napi_bind_addr = "127.0.0.1:0"\n[k2v_api]\napi_bind_addr = "127.0.0.1:0"'))).not.toThrow();
    });

    it('data_dir entries that contradict each other', () => {
      const withDirs = (dirs: string) => minimalWithout('data_dir') + `\ndata_dir = ${dirs}`;
      expectProblem(() => parse(withDirs('[{ path = "/a", capacity = "1T", read_only = true }]')), 'invalid-value', /invalid value for "data_dir\[0\].capacity": a read-only data directory takes no capacity$/);
      expectProblem(() => parse(withDirs('[{ path = "/a", read_only = true }]')), 'invalid-value', /invalid value for "data_dir": has no writable directory; give at least one a capacity$/);
      expectProblem(() => parse(withDirs('[{ path = "/a", capacity = "1T" }, { path = "/a", capacity = "2T" }]')), 'invalid-value', /invalid value for "data_dir": lists "\/a" twice$/);
      expectProblem(() => parse(withDirs('[]')), 'invalid-value', /invalid value for "data_dir": must list at least one directory, found an empty array$/);
      expectProblem(() => parse(withDirs('[{ path = "/a", capacity = 0 }]')), 'invalid-value', 'config test.toml: invalid value for "data_dir[0].capacity": must be at least 1 byte, found 0 bytes');
    });

    it('replication_mode together with replication_factor', () => {
      expectProblem(() => parse(minimal('replication_mode = "3"')), 'invalid-value', /config test.toml: replication_mode \(Garage before 1.0\) cannot be combined with replication_factor or consistency_mode; keep the newer keys$/);
    });

    it('snapshot interval', () => {
      expectProblem(() => parse(minimal('metadata_auto_snapshot_interval = "often"')), 'invalid-value', /invalid value for "metadata_auto_snapshot_interval": "often" is not a duration/);
      expectProblem(() => parse(minimal('metadata_auto_snapshot_interval = "10s"')), 'invalid-value', /must be at least 60 seconds$/);
    });

    it('table sync interval and tombstone GC delay outside their ranges', () => {
      expectProblem(() => parse(minimal('table_sync_interval = "500ms"')), 'invalid-value', /invalid value for "table_sync_interval": must be from 1 second to 24 hours, found 500 milliseconds$/);
      expectProblem(() => parse(minimal('table_sync_interval = "2d"')), 'invalid-value', /"table_sync_interval": must be from 1 second to 24 hours, found 2 days$/);
      expectProblem(() => parse(minimal('table_tombstone_gc_delay = "soon"')), 'invalid-value', /"table_tombstone_gc_delay": "soon" is not a duration/);
      expectProblem(() => parse(minimal('table_tombstone_gc_delay = "0s"')), 'invalid-value', /"table_tombstone_gc_delay": must be from 1 second to 365 days, found 0 seconds$/);
      expectProblem(() => parse(minimal('table_tombstone_gc_delay = 3600')), 'wrong-type', /table_tombstone_gc_delay.*expected a duration such as "6h"/);
    });

    it('accepts a short sync interval and GC delay, as tests use', () => {
      expect(parse(minimal('table_sync_interval = "1000ms"\ntable_tombstone_gc_delay = "1500ms"'))).toMatchObject({ tableSyncInterval: 1000, tableTombstoneGcDelay: 1500 });
    });
  });

  describe('unreadable files and TOML syntax', () => {
    it('a missing file', () => {
      const path = join(scratch, 'does-not-exist.toml');
      expectProblem(() => loadConfigFile(path, NO_ENV), 'unreadable', `config ${path}: cannot read the file: file not found`);
    });

    it('a folder instead of a file', () => {
      expectProblem(() => loadConfigFile(scratch, NO_ENV), 'unreadable', `config ${scratch}: cannot read the file: a folder, not a file`);
    });

    (runningAsRoot ? it.skip : it)('a file without read permission', () => {
      const path = writeScratch('no-read.toml', minimal(), 0o000);
      expectProblem(() => loadConfigFile(path, NO_ENV), 'unreadable', `config ${path}: cannot read the file: permission denied`);
    });

    it('names permission errors (also when running as root, where chmod cannot deny reads)', () => {
      expect(describeFileError(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }))).toBe('permission denied');
      expect(describeFileError(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }))).toBe('file not found');
    });

    it('a file that is not UTF-8', () => {
      const path = join(scratch, 'latin1.toml');
      writeFileSync(path, Buffer.from([0x61, 0x20, 0x3d, 0x20, 0x22, 0xe9, 0x22, 0x0a]));
      expectProblem(() => loadConfigFile(path, NO_ENV), 'unreadable', `config ${path}: cannot read the file: not UTF-8 text`);
    });

    it('a syntax error, with its line and column', () => {
      const text = 'metadata_dir = "/meta"\ndata_dir = "/data"\nreplication_factor = = 3\n';
      expectProblem(() => parse(text), 'syntax', /^config test.toml: TOML syntax error at line 3, column \d+: .+$/);
    });

    it('a key defined twice', () => {
      const text = minimal('replication_factor = 1');
      expectProblem(() => parse(text), 'syntax', /^config test.toml: TOML syntax error at line 6, column 1: .*redefine/);
    });
  });
});

describe('secrets', () => {
  const secretFileConfig = (path: string, extra = '') => minimalWithout('rpc_secret') + `\nrpc_secret_file = "${path}"\n${extra}`;

  describe('rpc_secret_file permissions', () => {
    it('refuses a secret file readable by group or others (0644)', () => {
      const path = writeScratch('rpc-secret-644', `${SECRET}\n`, 0o644);
      expectProblem(
        () => parse(secretFileConfig(path)),
        'secret-permissions',
        `config test.toml: secret file "${path}" (rpc_secret_file) is accessible by group or others (mode 0644); run "chmod 600" on it, or set allow_world_readable_secrets = true`,
      );
    });

    it('reads a private secret file (0600), without its trailing newline', () => {
      const path = writeScratch('rpc-secret-600', `${SECRET}\n`, 0o600);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(parse(secretFileConfig(path)).rpcSecret.reveal()).toBe(SECRET);
    });

    it('accepts 0644 when allow_world_readable_secrets = true, or its environment variable says so', () => {
      const path = writeScratch('rpc-secret-644-allowed', SECRET, 0o644);
      expect(parse(secretFileConfig(path, 'allow_world_readable_secrets = true')).rpcSecret.reveal()).toBe(SECRET);
      const fromEnv = parse(secretFileConfig(path), { GARAGE_ALLOW_WORLD_READABLE_SECRETS: 'true' });
      expect(fromEnv.rpcSecret.reveal()).toBe(SECRET);
      expect(fromEnv.allowWorldReadableSecrets).toBe(true);
      // The environment wins over the file, both ways, as in Garage.
      expectProblem(() => parse(secretFileConfig(path, 'allow_world_readable_secrets = true'), { GRANGE_ALLOW_WORLD_READABLE_SECRETS: 'false' }), 'secret-permissions', /is accessible by group or others/);
      expectProblem(() => parse(secretFileConfig(path), { GRANGE_ALLOW_WORLD_READABLE_SECRETS: 'maybe' }), 'invalid-value', 'config test.toml: environment variable GRANGE_ALLOW_WORLD_READABLE_SECRETS must be "true" or "false", found "maybe"');
    });

    it('checks admin and metrics token files too', () => {
      const path = writeScratch('admin-token-640', 'token\n', 0o640);
      expectProblem(() => parse(minimal('', `[admin]\nadmin_token_file = "${path}"`)), 'secret-permissions', /\(admin\.admin_token_file\) is accessible by group or others \(mode 0640\)/);
      const metrics = writeScratch('metrics-token-600', 'metrics\n', 0o600);
      expect(parse(minimal('', `[admin]\nmetrics_token_file = "${metrics}"`)).admin.metricsToken?.reveal()).toBe('metrics');
    });

    it('reports a secret file that cannot be read', () => {
      const path = join(scratch, 'no-such-secret');
      expectProblem(() => parse(secretFileConfig(path)), 'secret-unreadable', `config test.toml: cannot read rpc_secret_file "${path}": file not found`);
    });

    it('uses the injected reader, so tests can fake files and modes', () => {
      const reader: SecretFileReader = (path) => ({ text: path === '/fake/secret' ? OTHER_SECRET : '', mode: 0o100600 });
      expect(parse(secretFileConfig('/fake/secret'), NO_ENV, reader).rpcSecret.reveal()).toBe(OTHER_SECRET);
      const loose: SecretFileReader = () => ({ text: OTHER_SECRET, mode: 0o100604 });
      expectProblem(() => parse(secretFileConfig('/fake/secret'), NO_ENV, loose), 'secret-permissions', /\(mode 0604\)/);
    });
  });

  describe('the RPC secret', () => {
    it('is required from some source', () => {
      expectProblem(
        () => parse(minimalWithout('rpc_secret')),
        'secret-missing',
        'config test.toml: no RPC secret: set rpc_secret or rpc_secret_file, or the environment variable GRANGE_RPC_SECRET or GRANGE_RPC_SECRET_FILE',
      );
    });

    it('cannot be given both inline and as a file', () => {
      const path = writeScratch('rpc-secret-both', SECRET);
      expectProblem(() => parse(minimal(`rpc_secret_file = "${path}"`)), 'secret-conflict', 'config test.toml: both "rpc_secret" and "rpc_secret_file" are set; keep only one');
    });

    it('must be 64 hex characters, and is never echoed', () => {
      const short = minimalWithout('rpc_secret') + '\nrpc_secret = "deadbeef"';
      const error = expectProblem(
        () => parse(short),
        'secret-malformed',
        'config test.toml: malformed rpc_secret (from key "rpc_secret"): expected 64 hexadecimal characters (32 random bytes, e.g. from "openssl rand -hex 32"), found 8 characters',
      );
      expect(error.message).not.toContain('deadbeef');
      const notHex = 'g'.repeat(64);
      expectProblem(() => parse(minimalWithout('rpc_secret') + `\nrpc_secret = "${notHex}"`), 'secret-malformed', /found a character that is not hexadecimal$/);
      expectProblem(() => parse(minimalWithout('rpc_secret'), { GRANGE_RPC_SECRET: 'nope' }), 'secret-malformed', /\(from environment variable GRANGE_RPC_SECRET\).*found 4 characters$/);
    });
  });

  describe('from the environment', () => {
    const withoutSecret = minimalWithout('rpc_secret');

    it('GRANGE_RPC_SECRET or GARAGE_RPC_SECRET supply the secret; GRANGE_ wins', () => {
      expect(parse(withoutSecret, { GRANGE_RPC_SECRET: SECRET }).rpcSecret.reveal()).toBe(SECRET);
      expect(parse(withoutSecret, { GARAGE_RPC_SECRET: SECRET }).rpcSecret.reveal()).toBe(SECRET);
      expect(parse(withoutSecret, { GRANGE_RPC_SECRET: SECRET, GARAGE_RPC_SECRET: OTHER_SECRET }).rpcSecret.reveal()).toBe(SECRET);
    });

    it('override the config file, as in Garage', () => {
      expect(parse(minimal(), { GRANGE_RPC_SECRET: OTHER_SECRET }).rpcSecret.reveal()).toBe(OTHER_SECRET);
    });

    it('an empty variable counts as unset', () => {
      expect(parse(minimal(), { GRANGE_RPC_SECRET: '' }).rpcSecret.reveal()).toBe(SECRET);
    });

    it('GRANGE_RPC_SECRET_FILE names a file, checked like rpc_secret_file', () => {
      const path = writeScratch('env-rpc-secret', OTHER_SECRET);
      expect(parse(withoutSecret, { GRANGE_RPC_SECRET_FILE: path }).rpcSecret.reveal()).toBe(OTHER_SECRET);
      expectProblem(
        () => parse(withoutSecret, { GRANGE_RPC_SECRET: SECRET, GRANGE_RPC_SECRET_FILE: path }),
        'secret-conflict',
        'config test.toml: both GRANGE_RPC_SECRET and GRANGE_RPC_SECRET_FILE are set; keep only one',
      );
    });

    it('GRANGE_ADMIN_TOKEN and GARAGE_ADMIN_TOKEN supply the admin token; GRANGE_ wins', () => {
      expect(parse(minimal(), { GARAGE_ADMIN_TOKEN: 'garage-token' }).admin.adminToken?.reveal()).toBe('garage-token');
      const both = parse(minimal('', '[admin]\nadmin_token = "from-file"'), { GRANGE_ADMIN_TOKEN: 'grange-token', GARAGE_ADMIN_TOKEN: 'garage-token' });
      expect(both.admin.adminToken?.reveal()).toBe('grange-token');
    });

    it('reads nothing from process.env', () => {
      const saved = process.env['GRANGE_RPC_SECRET'];
      process.env['GRANGE_RPC_SECRET'] = OTHER_SECRET;
      try {
        expect(parse(minimal()).rpcSecret.reveal()).toBe(SECRET);
      } finally {
        if (saved === undefined) delete process.env['GRANGE_RPC_SECRET'];
        else process.env['GRANGE_RPC_SECRET'] = saved;
      }
    });
  });
});

describe('sizes', () => {
  it.each<[string | number, number]>([
    [0, 0],
    [1048576, 1048576],
    ['4096', 4096],
    ['1b', 1],
    ['1K', 1000],
    ['1k', 1000],
    ['1KB', 1000],
    ['1M', 1_000_000],
    ['1MB', 1_000_000],
    ['1mb', 1_000_000],
    ['1MiB', 1_048_576],
    ['1Mi', 1_048_576],
    ['512KiB', 524_288],
    ['10GiB', 10 * 1024 ** 3],
    ['10 GiB', 10 * 1024 ** 3],
    ['1.5G', 1_500_000_000],
    ['2T', 2_000_000_000_000],
    ['1TiB', 1024 ** 4],
    ['0.3KiB', 307],
    [' 256MiB ', 256 * 1024 ** 2],
  ])('%p is %p bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each<[string | number, RegExp]>([
    ['', /^size "" is empty; use a number of bytes/],
    ['abc', /^"abc" is not a size; use a number of bytes/],
    ['M', /^"M" is not a size/],
    ['1.2.3M', /^"1.2.3M" is not a size/],
    ['12XB', /^size "12XB" has an unknown unit "XB"/],
    ['1Mo', /^size "1Mo" has an unknown unit "Mo"/],
    ['-1M', /^size "-1M" is negative$/],
    [-1, /^size -1 is negative$/],
    [1.5, /^size 1.5 is not a whole number of bytes/],
    ['9999999P', /^size "9999999P" is too large/],
  ])('%p is refused', (input, message) => {
    expect(() => parseSize(input)).toThrow(message);
  });

  it('formats sizes for messages', () => {
    expect(formatSize(4096)).toBe('4 KiB');
    expect(formatSize(128 * 1024 * 1024)).toBe('128 MiB');
    expect(formatSize(1000)).toBe('1000 bytes');
    expect(formatSize(1)).toBe('1 byte');
  });

  it('durations', () => {
    expect(parseDurationMs('6h')).toBe(6 * 3600_000);
    expect(parseDurationMs('1h30m')).toBe(90 * 60_000);
    expect(parseDurationMs('2 days')).toBe(2 * 86_400_000);
    expect(() => parseDurationMs('6 parsecs')).toThrow(/unknown unit "parsecs"/);
    expect(() => parseDurationMs('')).toThrow(/is empty/);
  });
});

describe('key suggestions', () => {
  it('count a swap of neighbouring letters as one edit', () => {
    expect(editDistance('rpc_secert', 'rpc_secret')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggest only keys close enough to be a typo', () => {
    expect(nearestKey('metadata_fsnyc', ['metadata_fsync', 'data_fsync'])).toBe('metadata_fsync');
    expect(nearestKey('zzz', ['metadata_fsync', 'data_fsync'])).toBeUndefined();
  });
});

describe('the embedded single-node config', () => {
  it('loads, with everything under rootDir and Garage default ports on loopback', () => {
    const rootDir = join(scratch, 'single "node" \\ dir');
    mkdirSync(rootDir, { recursive: true });
    const rpcSecretFile = writeScratch('single-node-secret', `${SECRET}\n`);
    const text = renderSingleNodeConfig({ rootDir, rpcSecretFile });
    const config = parse(text);
    expect(config.metadataDir).toBe(join(rootDir, 'meta'));
    expect(config.dataDir).toEqual([{ path: join(rootDir, 'data'), readOnly: false }]);
    expect(config.replicationFactor).toBe(1);
    expect(config.rpcBindAddr).toEqual({ host: '127.0.0.1', port: 3901 });
    expect(config.s3Api).toEqual({ apiBindAddr: { kind: 'tcp', host: '127.0.0.1', port: 3900 }, s3Region: 'garage', rootDomain: undefined });
    expect(config.k2vApi?.apiBindAddr).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 3904 });
    expect(config.admin.apiBindAddr).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 3903 });
    expect(config.rpcSecret.reveal()).toBe(SECRET);
  });
});

describe('the example configs in config/', () => {
  const configRoot = join(__dirname, '..', '..', 'config');

  function tomlFilesUnder(folder: string): string[] {
    return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) return tomlFilesUnder(path);
      return entry.name.endsWith('.toml') ? [path] : [];
    });
  }

  const files = tomlFilesUnder(configRoot);

  it('include the single-node example and the three cluster nodes', () => {
    const names = files.map((path) => path.slice(configRoot.length + 1)).sort();
    expect(names).toEqual(expect.arrayContaining(['grange.toml', 'cluster/node1.toml', 'cluster/node2.toml', 'cluster/node3.toml']));
  });

  it.each(files.map((path) => [path.slice(configRoot.length + 1), path]))('%s loads', (_name, path) => {
    expect(() => loadConfigFile(path, NO_ENV)).not.toThrow();
  });

  it('describe a three-node cluster on 127.0.0.1 that can find itself', () => {
    const nodes = [1, 2, 3].map((index) => loadConfigFile(join(configRoot, 'cluster', `node${index}.toml`), NO_ENV));
    const [node1] = nodes as [GrangeConfig, GrangeConfig, GrangeConfig];
    const ports = nodes.flatMap((node) =>
      [node.rpcBindAddr, node.s3Api.apiBindAddr, node.s3Web?.bindAddr, node.k2vApi?.apiBindAddr, node.admin.apiBindAddr].map((address) =>
        address !== undefined && 'port' in address ? address.port : undefined,
      ),
    );
    expect(ports).not.toContain(undefined);
    expect(new Set(ports).size).toBe(ports.length);
    expect(new Set(nodes.map((node) => node.metadataDir)).size).toBe(3);
    expect(new Set(nodes.map((node) => node.dataDir[0]?.path)).size).toBe(3);
    for (const node of nodes) {
      expect(node.replicationFactor).toBe(3);
      expect(node.rpcBindAddr.host).toBe('127.0.0.1');
      expect(node.rpcSecret.reveal()).toBe(node1.rpcSecret.reveal());
    }
    expect(node1.bootstrapPeers).toEqual([]);
    for (const node of nodes.slice(1)) expect(node.bootstrapPeers).toEqual([{ host: '127.0.0.1', port: node1.rpcBindAddr.port }]);
  });
});
