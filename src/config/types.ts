// The validated configuration of one Grange node. Each field is named exactly as its Garage key,
// in camelCase (block_size -> blockSize, s3_api.api_bind_addr -> s3Api.apiBindAddr), so that anyone
// who knows the config file finds the field; this is why names do not carry a unit suffix as the
// style guide would have it. Instead: every size is in bytes, every duration in milliseconds.
// Addresses are parsed; secrets are resolved (environment or file) and wrapped so they never print.

import type { BootstrapPeer, HostPort, ListenAddress } from './address';
import type { Secret } from './secrets';

export type ConsistencyMode = 'consistent' | 'degraded' | 'dangerous';

export interface DataDirectory {
  path: string;
  /** Bytes this directory may hold; undefined for a single data_dir string, or a read-only directory. */
  capacity?: number;
  /** A directory blocks are only read from (a disk being retired); never written to. */
  readOnly: boolean;
}

export interface S3ApiConfig {
  apiBindAddr?: ListenAddress;
  s3Region: string;
  /** Suffix for vhost-style bucket addressing, e.g. ".s3.garage.localhost". */
  rootDomain?: string;
}

export interface S3WebConfig {
  bindAddr: ListenAddress;
  rootDomain: string;
  addHostToMetrics: boolean;
}

export interface K2vApiConfig {
  apiBindAddr: ListenAddress;
}

export interface AdminConfig {
  apiBindAddr?: ListenAddress;
  /** Without it, the admin endpoints (other than health and metrics) are disabled, as in Garage. */
  adminToken?: Secret;
  /** Without it, /metrics needs no token, as in Garage. */
  metricsToken?: Secret;
  traceSink?: string;
}

/** Accepted for Garage compatibility; Grange does not discover peers through Consul yet. */
export interface ConsulDiscoveryConfig {
  api: 'catalog' | 'agent';
  consulHttpAddr: string;
  serviceName: string;
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  token?: Secret;
  tlsSkipVerify: boolean;
  tags: string[];
  meta?: Record<string, string>;
}

/** Accepted for Garage compatibility; Grange does not discover peers through Kubernetes yet. */
export interface KubernetesDiscoveryConfig {
  namespace: string;
  serviceName: string;
  skipCrd: boolean;
}

export interface GrangeConfig {
  /** Where the configuration came from: the file path, or the label given to parseConfigText. */
  origin: string;

  metadataDir: string;
  /** data_dir, always as a list: a single path becomes one writable directory without capacity. */
  dataDir: DataDirectory[];
  dbEngine: 'sqlite';
  metadataFsync: boolean;
  dataFsync: boolean;
  disableScrub: boolean;
  useLocalTz: boolean;
  metadataSnapshotsDir?: string;
  /** Milliseconds. */
  metadataAutoSnapshotInterval?: number;

  replicationFactor: number;
  consistencyMode: ConsistencyMode;

  /** Milliseconds between Merkle anti-entropy rounds of every table (table_sync_interval; Grange's own key). */
  tableSyncInterval: number;
  /**
   * Milliseconds a tombstone is kept before it is garbage-collected, which also waits until every
   * replica holds it (table_tombstone_gc_delay; Grange's own key).
   */
  tableTombstoneGcDelay: number;

  /** Bytes. */
  blockSize: number;
  /** Bytes. */
  blockRamBufferMax: number;
  blockMaxConcurrentReads?: number;
  blockMaxConcurrentWritesPerRequest?: number;
  /** zstd level, or 'none' to store blocks uncompressed. */
  compressionLevel: number | 'none';

  /** 32 bytes as 64 lowercase hex characters (reveal() it, then Buffer.from(hex, 'hex')). */
  rpcSecret: Secret;
  rpcBindAddr: HostPort;
  rpcBindOutgoing: boolean;
  rpcPublicAddr?: HostPort;
  rpcPublicAddrSubnet?: string;
  rpcPingTimeoutMsec?: number;
  rpcTimeoutMsec?: number;
  bootstrapPeers: BootstrapPeer[];

  allowWorldReadableSecrets: boolean;
  allowPunycode: boolean;

  s3Api: S3ApiConfig;
  s3Web?: S3WebConfig;
  k2vApi?: K2vApiConfig;
  admin: AdminConfig;
  consulDiscovery?: ConsulDiscoveryConfig;
  kubernetesDiscovery?: KubernetesDiscoveryConfig;

  /**
   * Keys present in the file that Grange accepts so that a Garage config loads, but that have no
   * effect in Grange (e.g. lmdb_map_size, consul_discovery). The node logs them once at start.
   */
  unusedKeys: string[];
}
