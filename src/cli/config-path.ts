// Finding and loading the config file the way the CLI does for every command.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile, type GrangeConfig } from '../config';
import { CliUsageError } from './errors';

export const DEFAULT_CONFIG_PATHS = ['./grange.toml', '/etc/grange.toml'];

export function resolveConfigPath(explicit: string | undefined): string {
  if (explicit !== undefined) return resolve(explicit);
  const found = DEFAULT_CONFIG_PATHS.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new CliUsageError(`no config file: pass -c FILE, or create ${DEFAULT_CONFIG_PATHS.join(' or ')} (see config/grange.toml)`);
  }
  return resolve(found);
}

export function loadCliConfig(explicit: string | undefined, env: NodeJS.ProcessEnv): { path: string; config: GrangeConfig } {
  const path = resolveConfigPath(explicit);
  return { path, config: loadConfigFile(path, env) };
}
