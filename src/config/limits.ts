// Every bound, default and fixed width of the configuration module, in one place.
// Names carry their unit last. Relations between them are asserted at load time (bottom of file).

export const KIB_BYTES = 1024;
export const MIB_BYTES = 1024 * KIB_BYTES;
export const GIB_BYTES = 1024 * MIB_BYTES;

// A config file is a few KiB; the cap only stops us from slurping a wrong, huge file.
export const CONFIG_FILE_BYTES_MAX = 1 * MIB_BYTES;
// Secret files hold one token of a few dozen bytes.
export const SECRET_FILE_BYTES_MAX = 64 * KIB_BYTES;
// Our schema nests at most three levels (data_dir = [{ ... }], consul meta); anything deeper is a mistake.
export const TOML_NESTING_DEPTH_MAX = 8;

// Replication: more than 7 copies buys nothing for a household cluster and makes quorums slow.
export const REPLICATION_FACTOR_MIN = 1;
export const REPLICATION_FACTOR_MAX = 7;

// zstd's accepted range: negative levels are the "fast" levels, 20..22 the "ultra" ones.
export const COMPRESSION_LEVEL_MIN = -99;
export const COMPRESSION_LEVEL_MAX = 22;
// Same default as Garage: cheap enough to run faster than the network, still saves space.
export const COMPRESSION_LEVEL_DEFAULT = 1;

export const BLOCK_SIZE_DEFAULT_BYTES = 1 * MIB_BYTES;
// Objects under 3 KiB are stored inline, so a block is always above that; 4 KiB keeps multi-block
// objects cheap in tests without letting a typo ("1K") turn every upload into a storm of blocks.
export const BLOCK_SIZE_MIN_BYTES = 4 * KIB_BYTES;
// A block travels between nodes as one RPC message (at most 17 MiB with its envelope), and
// several are in flight per request: 16 MiB keeps both bounded (the block store refuses more).
export const BLOCK_SIZE_MAX_BYTES = 16 * MIB_BYTES;
// Garage's default for the RAM kept for blocks still being sent to slow replicas.
export const BLOCK_RAM_BUFFER_MAX_DEFAULT_BYTES = 256 * MIB_BYTES;
// Parallelism knobs (block reads, block writes per request).
export const BLOCK_CONCURRENCY_MAX = 1024;

// The RPC secret is 32 random bytes written as 64 hex characters ("openssl rand -hex 32").
export const RPC_SECRET_BYTES = 32;
// A node id is the node's 32-byte public key, written as 64 hex characters.
export const NODE_ID_BYTES = 32;

export const DATA_DIRS_MAX = 64;
export const BOOTSTRAP_PEERS_MAX = 256;

// RPC timeouts given in milliseconds: at least 1 ms, at most 10 minutes (longer is a hang, not a timeout).
export const RPC_TIMEOUT_MS_MIN = 1;
export const RPC_TIMEOUT_MS_MAX = 10 * 60 * 1000;
// A metadata snapshot copies the whole database: more often than once a minute is a mistake.
export const SNAPSHOT_INTERVAL_MS_MIN = 60 * 1000;

// Metadata tables. Anti-entropy rounds (table_sync_interval): Garage's 10 minutes by default; more
// often than once a second is a busy loop, and a day is as long as one timer can safely wait.
export const TABLE_SYNC_INTERVAL_DEFAULT_MS = 10 * 60 * 1000;
export const TABLE_SYNC_INTERVAL_MS_MIN = 1000;
export const TABLE_SYNC_INTERVAL_MS_MAX = 24 * 3600 * 1000;
// Tombstone GC delay (table_tombstone_gc_delay): Garage's 24 hours. It must outlast any write still
// in flight and the hand-off of a retired layout version, or a collected tombstone could let an
// older value come back; seconds are for tests only. A year is far beyond any use.
export const TABLE_TOMBSTONE_GC_DELAY_DEFAULT_MS = 24 * 3600 * 1000;
export const TABLE_TOMBSTONE_GC_DELAY_MS_MIN = 1000;
export const TABLE_TOMBSTONE_GC_DELAY_MS_MAX = 365 * 24 * 3600 * 1000;

// Sizes are JavaScript numbers: stay where every integer is exact.
export const SIZE_BYTES_MAX = Number.MAX_SAFE_INTEGER;

// Garage's default ports, so that firewall rules and client settings carry over unchanged.
export const DEFAULT_PORT_S3_API = 3900;
export const DEFAULT_PORT_RPC = 3901;
export const DEFAULT_PORT_S3_WEB = 3902;
export const DEFAULT_PORT_ADMIN = 3903;
export const DEFAULT_PORT_K2V_API = 3904;

export const S3_REGION_DEFAULT = 'garage';

// Error messages quote at most this many characters of a bad value.
export const ERROR_VALUE_PREVIEW_CHARS_MAX = 48;
// An unknown key gets a "did you mean" only when the nearest key is this close (edit distance):
// at least 2 edits, or a third of the key's length for long keys.
export const KEY_SUGGESTION_DISTANCE_MIN = 2;
export const KEY_SUGGESTION_LENGTH_PER_EDIT = 3;

function assertLimit(holds: boolean, relation: string): void {
  if (!holds) throw new Error(`config limits are inconsistent: ${relation}`);
}

assertLimit(BLOCK_SIZE_MIN_BYTES <= BLOCK_SIZE_DEFAULT_BYTES, 'BLOCK_SIZE_MIN_BYTES <= BLOCK_SIZE_DEFAULT_BYTES');
assertLimit(BLOCK_SIZE_DEFAULT_BYTES <= BLOCK_SIZE_MAX_BYTES, 'BLOCK_SIZE_DEFAULT_BYTES <= BLOCK_SIZE_MAX_BYTES');
assertLimit(BLOCK_SIZE_MAX_BYTES <= BLOCK_RAM_BUFFER_MAX_DEFAULT_BYTES, 'one block fits in the default RAM buffer');
assertLimit(
  COMPRESSION_LEVEL_MIN <= COMPRESSION_LEVEL_DEFAULT && COMPRESSION_LEVEL_DEFAULT <= COMPRESSION_LEVEL_MAX,
  'COMPRESSION_LEVEL_DEFAULT within its range',
);
assertLimit(REPLICATION_FACTOR_MIN >= 1 && REPLICATION_FACTOR_MIN <= REPLICATION_FACTOR_MAX, 'replication range');
assertLimit(RPC_TIMEOUT_MS_MIN <= RPC_TIMEOUT_MS_MAX, 'RPC_TIMEOUT_MS_MIN <= RPC_TIMEOUT_MS_MAX');
assertLimit(
  TABLE_SYNC_INTERVAL_MS_MIN <= TABLE_SYNC_INTERVAL_DEFAULT_MS && TABLE_SYNC_INTERVAL_DEFAULT_MS <= TABLE_SYNC_INTERVAL_MS_MAX,
  'TABLE_SYNC_INTERVAL_DEFAULT_MS within its range',
);
assertLimit(
  TABLE_TOMBSTONE_GC_DELAY_MS_MIN <= TABLE_TOMBSTONE_GC_DELAY_DEFAULT_MS && TABLE_TOMBSTONE_GC_DELAY_DEFAULT_MS <= TABLE_TOMBSTONE_GC_DELAY_MS_MAX,
  'TABLE_TOMBSTONE_GC_DELAY_DEFAULT_MS within its range',
);
// Node.js timers wait at most 2^31 - 1 ms; a longer sync interval would fire at once.
assertLimit(TABLE_SYNC_INTERVAL_MS_MAX < 2 ** 31, 'TABLE_SYNC_INTERVAL_MS_MAX fits in one timer');
