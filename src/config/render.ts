// The embedded default configuration of a single node (used by "grange dev-server" and first runs):
// everything under one root folder, loopback only, Garage's default ports.

import { join } from 'node:path';

import {
  DEFAULT_PORT_ADMIN,
  DEFAULT_PORT_K2V_API,
  DEFAULT_PORT_RPC,
  DEFAULT_PORT_S3_API,
  S3_REGION_DEFAULT,
} from './limits';

export interface SingleNodeConfigInit {
  /** Folder that will hold meta/ and data/. */
  rootDir: string;
  /** File holding the RPC secret (64 hex characters, mode 0600); the caller creates it. */
  rpcSecretFile: string;
}

/** A TOML basic string. JSON string escapes are a subset of TOML's, so JSON.stringify is exact. */
function tomlString(text: string): string {
  return JSON.stringify(text);
}

/** Returns the TOML text of a single-node configuration. */
export function renderSingleNodeConfig(init: SingleNodeConfigInit): string {
  const loopback = '127.0.0.1';
  return [
    '# Grange single-node configuration, generated. One node, one copy of the data: for trying out',
    '# and development only. See config/grange.toml for every key.',
    '',
    `metadata_dir = ${tomlString(join(init.rootDir, 'meta'))}`,
    `data_dir = ${tomlString(join(init.rootDir, 'data'))}`,
    'db_engine = "sqlite"',
    '',
    'replication_factor = 1',
    'consistency_mode = "consistent"',
    '',
    `rpc_bind_addr = "${loopback}:${DEFAULT_PORT_RPC}"`,
    `rpc_public_addr = "${loopback}:${DEFAULT_PORT_RPC}"`,
    `rpc_secret_file = ${tomlString(init.rpcSecretFile)}`,
    '',
    '[s3_api]',
    `api_bind_addr = "${loopback}:${DEFAULT_PORT_S3_API}"`,
    `s3_region = "${S3_REGION_DEFAULT}"`,
    '',
    '[k2v_api]',
    `api_bind_addr = "${loopback}:${DEFAULT_PORT_K2V_API}"`,
    '',
    '[admin]',
    `api_bind_addr = "${loopback}:${DEFAULT_PORT_ADMIN}"`,
    '',
  ].join('\n');
}
