// Loading a configuration: read the file, parse TOML, validate with the schema, resolve secrets.
// Every failure is one ConfigError with a one-line message. The environment and the secret-file
// reader are passed in: nothing here reads process.env, so tests bring their own.

import { parse, TomlError } from 'smol-toml';

import { ConfigError, describeFileError } from './errors';
import { FileContentError, readTextFile } from './files';
import { describeIssues } from './issues';
import { CONFIG_FILE_BYTES_MAX, TOML_NESTING_DEPTH_MAX } from './limits';
import { configFileSchema, configTableSchema, SECRET_KEYS, type ConfigFile } from './schema';
import { readSecretFileFromDisk, resolveSecrets, type Environment, type SecretFileReader } from './secrets';
import type { GrangeConfig } from './types';

function readConfigText(path: string): string {
  try {
    return readTextFile(path, CONFIG_FILE_BYTES_MAX).text;
  } catch (error) {
    const reason = error instanceof FileContentError ? error.message : describeFileError(error);
    throw new ConfigError('unreadable', path, `cannot read the file: ${reason}`);
  }
}

/** smol-toml's message is "Invalid TOML document: <reason>" followed by a code excerpt. */
function tomlReason(message: string): string {
  const firstLine = message.split('\n', 1)[0] ?? message;
  return firstLine.replace(/^Invalid TOML document:\s*/, '');
}

function parseToml(text: string, origin: string): unknown {
  try {
    // "throw" on __proto__ / constructor keys: they have no business in a config.
    return parse(text, { maxDepth: TOML_NESTING_DEPTH_MAX, unsafeKeyBehaviour: 'throw' });
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const where = `line ${error.line}, column ${error.column}`;
    throw new ConfigError('syntax', origin, `TOML syntax error at ${where}: ${tomlReason(error.message)}`);
  }
}

function validate(document: unknown, origin: string): ConfigFile {
  const result = configFileSchema.safeParse(document);
  if (result.success) return result.data;
  const problem = describeIssues(result.error.issues, { document, schema: configTableSchema, secretKeys: SECRET_KEYS });
  throw new ConfigError(problem.kind, origin, problem.detail);
}

function withSecrets(file: ConfigFile, origin: string, env: Environment, readSecretFile: SecretFileReader): GrangeConfig {
  const { secrets, admin, ...settings } = file;
  const resolved = resolveSecrets(secrets, {
    origin,
    env,
    readSecretFile,
    allowWorldReadableInConfig: file.allowWorldReadableSecrets,
  });
  return {
    origin,
    ...settings,
    allowWorldReadableSecrets: resolved.allowWorldReadableSecrets,
    rpcSecret: resolved.rpcSecret,
    admin: { ...admin, adminToken: resolved.adminToken, metricsToken: resolved.metricsToken },
  };
}

/**
 * Parses and validates configuration text. `origin` names it in error messages (a file path, or a
 * label such as "<embedded single-node config>"). Throws ConfigError.
 */
export function parseConfigText(
  text: string,
  origin: string,
  env: Environment,
  readSecretFile: SecretFileReader = readSecretFileFromDisk,
): GrangeConfig {
  return withSecrets(validate(parseToml(text, origin), origin), origin, env, readSecretFile);
}

/** Reads, parses and validates a config file. Throws ConfigError. */
export function loadConfigFile(
  path: string,
  env: Environment,
  readSecretFile: SecretFileReader = readSecretFileFromDisk,
): GrangeConfig {
  return parseConfigText(readConfigText(path), path, env, readSecretFile);
}
