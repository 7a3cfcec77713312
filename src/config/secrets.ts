// Secrets: the RPC secret shared by the cluster, and the admin and metrics bearer tokens.
//
// Each secret comes from the first of these sources that is set, as in Garage:
//   1. the environment: GRANGE_<NAME> or GRANGE_<NAME>_FILE; failing those, Garage's own
//      GARAGE_<NAME> / GARAGE_<NAME>_FILE, so a Garage deployment keeps working (GRANGE_ wins);
//   2. the config file: <key> or <key>_file (both at once is an error).
// The environment overrides the file so that a shared config file can hold no secret at all.
// A secret file must not be accessible by group or others unless allow_world_readable_secrets says
// otherwise; its trailing whitespace is dropped ("echo $(openssl rand -hex 32) > file" adds a newline).
// Secret values never appear in messages, logs or JSON: they are wrapped in Secret.

import { inspect } from 'node:util';

import { ConfigError, describeFileError } from './errors';
import { FileContentError, readTextFile, type TextFile } from './files';
import { RPC_SECRET_BYTES, SECRET_FILE_BYTES_MAX } from './limits';

const REDACTED = '[redacted]';

/** A secret value that prints, inspects and serialises as "[redacted]". Call reveal() to use it. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** The process environment, injected (tests pass their own; nothing here reads process.env). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Reads a secret file: its text and its st_mode. Injected so tests can fake modes and failures. */
export type SecretFileReader = (path: string) => TextFile;

export const readSecretFileFromDisk: SecretFileReader = (path) => readTextFile(path, SECRET_FILE_BYTES_MAX);

/** Environment prefixes, strongest first. */
const ENV_PREFIXES = ['GRANGE_', 'GARAGE_'] as const;
const GROUP_OR_OTHER_PERMISSION_BITS = 0o077;

/** A secret as written in the config file: the value itself, or the path of a file holding it. */
export interface SecretInConfig {
  value?: string;
  file?: string;
}

interface SecretSpec {
  /** Config key, as the operator writes it: "rpc_secret", "admin.admin_token". */
  key: string;
  /** Environment variable name without prefix: "RPC_SECRET". */
  envName: string;
}

const RPC_SECRET: SecretSpec = { key: 'rpc_secret', envName: 'RPC_SECRET' };
const ADMIN_TOKEN: SecretSpec = { key: 'admin.admin_token', envName: 'ADMIN_TOKEN' };
const METRICS_TOKEN: SecretSpec = { key: 'admin.metrics_token', envName: 'METRICS_TOKEN' };

interface SecretContext {
  origin: string;
  env: Environment;
  readSecretFile: SecretFileReader;
  allowWorldReadable: boolean;
}

interface FoundSecret {
  text: string;
  /** Where it came from, for messages: never the value itself. */
  source: string;
}

/** An environment variable counts as set only when non-empty ("-e X=" in Docker means unset). */
function envValue(env: Environment, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function readCheckedSecretFile(path: string, namedBy: string, context: SecretContext): string {
  let file: TextFile;
  try {
    file = context.readSecretFile(path);
  } catch (error) {
    const reason = error instanceof FileContentError ? error.message : describeFileError(error);
    throw new ConfigError('secret-unreadable', context.origin, `cannot read ${namedBy} ${JSON.stringify(path)}: ${reason}`);
  }
  if (!context.allowWorldReadable && (file.mode & GROUP_OR_OTHER_PERMISSION_BITS) !== 0) {
    throw new ConfigError(
      'secret-permissions',
      context.origin,
      `secret file ${JSON.stringify(path)} (${namedBy}) is accessible by group or others (mode ${octal(file.mode)}); ` +
        `run "chmod 600" on it, or set allow_world_readable_secrets = true`,
    );
  }
  return file.text.trimEnd();
}

function conflict(first: string, second: string, origin: string): ConfigError {
  return new ConfigError('secret-conflict', origin, `both ${first} and ${second} are set; keep only one`);
}

function secretFromEnv(spec: SecretSpec, context: SecretContext): FoundSecret | undefined {
  for (const prefix of ENV_PREFIXES) {
    const valueName = `${prefix}${spec.envName}`;
    const fileName = `${valueName}_FILE`;
    const value = envValue(context.env, valueName);
    const path = envValue(context.env, fileName);
    if (value !== undefined && path !== undefined) throw conflict(valueName, fileName, context.origin);
    if (value !== undefined) return { text: value, source: `environment variable ${valueName}` };
    if (path !== undefined) {
      return { text: readCheckedSecretFile(path, fileName, context), source: `file ${JSON.stringify(path)} named by ${fileName}` };
    }
  }
  return undefined;
}

function secretFromConfig(spec: SecretSpec, inConfig: SecretInConfig, context: SecretContext): FoundSecret | undefined {
  const fileKey = `${spec.key}_file`;
  if (inConfig.value !== undefined && inConfig.file !== undefined) throw conflict(`"${spec.key}"`, `"${fileKey}"`, context.origin);
  if (inConfig.file !== undefined) {
    return {
      text: readCheckedSecretFile(inConfig.file, fileKey, context),
      source: `file ${JSON.stringify(inConfig.file)} named by ${fileKey}`,
    };
  }
  if (inConfig.value !== undefined) return { text: inConfig.value, source: `key "${spec.key}"` };
  return undefined;
}

function findSecret(spec: SecretSpec, inConfig: SecretInConfig, context: SecretContext): FoundSecret | undefined {
  return secretFromEnv(spec, context) ?? secretFromConfig(spec, inConfig, context);
}

const RPC_SECRET_PATTERN = new RegExp(`^[0-9a-f]{${RPC_SECRET_BYTES * 2}}$`, 'i');

function rpcSecret(inConfig: SecretInConfig, context: SecretContext): Secret {
  const found = findSecret(RPC_SECRET, inConfig, context);
  if (found === undefined) {
    throw new ConfigError(
      'secret-missing',
      context.origin,
      'no RPC secret: set rpc_secret or rpc_secret_file, or the environment variable GRANGE_RPC_SECRET or GRANGE_RPC_SECRET_FILE',
    );
  }
  if (RPC_SECRET_PATTERN.test(found.text)) return new Secret(found.text.toLowerCase());
  const hexChars = RPC_SECRET_BYTES * 2;
  const problem =
    found.text.length === hexChars ? 'found a character that is not hexadecimal' : `found ${found.text.length} characters`;
  throw new ConfigError(
    'secret-malformed',
    context.origin,
    `malformed rpc_secret (from ${found.source}): expected ${hexChars} hexadecimal characters ` +
      `(${RPC_SECRET_BYTES} random bytes, e.g. from "openssl rand -hex 32"), ${problem}`,
  );
}

function token(spec: SecretSpec, inConfig: SecretInConfig, context: SecretContext): Secret | undefined {
  const found = findSecret(spec, inConfig, context);
  if (found === undefined) return undefined;
  if (found.text.trim() === '') throw new ConfigError('secret-malformed', context.origin, `${spec.key} (from ${found.source}) is empty`);
  return new Secret(found.text);
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** allow_world_readable_secrets, overridden by GRANGE_/GARAGE_ALLOW_WORLD_READABLE_SECRETS as in Garage. */
export function allowWorldReadableSecrets(inConfig: boolean, env: Environment, origin: string): boolean {
  for (const prefix of ENV_PREFIXES) {
    const name = `${prefix}ALLOW_WORLD_READABLE_SECRETS`;
    const value = envValue(env, name);
    if (value === undefined) continue;
    if (TRUE_WORDS.has(value.toLowerCase())) return true;
    if (FALSE_WORDS.has(value.toLowerCase())) return false;
    throw new ConfigError('invalid-value', origin, `environment variable ${name} must be "true" or "false", found ${JSON.stringify(value)}`);
  }
  return inConfig;
}

export interface SecretsInConfig {
  rpcSecret: SecretInConfig;
  adminToken: SecretInConfig;
  metricsToken: SecretInConfig;
}

export interface ResolvedSecrets {
  /** The effective setting: the config file's, unless the environment overrides it. */
  allowWorldReadableSecrets: boolean;
  rpcSecret: Secret;
  adminToken?: Secret;
  metricsToken?: Secret;
}

export interface SecretResolution {
  origin: string;
  env: Environment;
  readSecretFile: SecretFileReader;
  allowWorldReadableInConfig: boolean;
}

/** Finds every secret from the environment or the config file; throws ConfigError. */
export function resolveSecrets(inConfig: SecretsInConfig, resolution: SecretResolution): ResolvedSecrets {
  const allowWorldReadable = allowWorldReadableSecrets(resolution.allowWorldReadableInConfig, resolution.env, resolution.origin);
  const { origin, env, readSecretFile } = resolution;
  const context: SecretContext = { origin, env, readSecretFile, allowWorldReadable };
  return {
    allowWorldReadableSecrets: allowWorldReadable,
    rpcSecret: rpcSecret(inConfig.rpcSecret, context),
    adminToken: token(ADMIN_TOKEN, inConfig.adminToken, context),
    metricsToken: token(METRICS_TOKEN, inConfig.metricsToken, context),
  };
}
