// Public surface of the configuration module.

export { loadConfigFile, parseConfigText } from './load';
export { renderSingleNodeConfig, type SingleNodeConfigInit } from './render';
export { ConfigError, type ConfigErrorKind } from './errors';
export { parseSize, formatSize, SizeError } from './size';
export { parseDurationMs, formatDurationMs, DurationError } from './duration';
export {
  parseHostPort,
  parseListenAddress,
  parseBootstrapPeer,
  formatHostPort,
  AddressError,
  type HostPort,
  type ListenAddress,
  type BootstrapPeer,
} from './address';
export { Secret, readSecretFileFromDisk, type Environment, type SecretFileReader } from './secrets';
export type { TextFile } from './files';
export type {
  GrangeConfig,
  ConsistencyMode,
  DataDirectory,
  S3ApiConfig,
  S3WebConfig,
  K2vApiConfig,
  AdminConfig,
  ConsulDiscoveryConfig,
  KubernetesDiscoveryConfig,
} from './types';
export {
  DEFAULT_PORT_ADMIN,
  DEFAULT_PORT_K2V_API,
  DEFAULT_PORT_RPC,
  DEFAULT_PORT_S3_API,
  DEFAULT_PORT_S3_WEB,
  RPC_SECRET_BYTES,
  NODE_ID_BYTES,
} from './limits';
