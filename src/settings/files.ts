/**
 * Where the config and the data are: COUNTERSIGN_CONFIG (else the example config) and
 * COUNTERSIGN_DATA_DIR (else `data`), and the SQLite file inside the data directory.
 */
import path from 'node:path';
import { SettingsError, variable } from './values';

/** The config the bot loads when COUNTERSIGN_CONFIG is not set (relative to the working directory). */
export const DEFAULT_CONFIG_PATH = 'config/countersign.example.yaml';

export const DEFAULT_DATA_DIR = 'data';

export function configPath(env: NodeJS.ProcessEnv): string {
  return path.resolve(pathVariable(env, 'COUNTERSIGN_CONFIG') ?? DEFAULT_CONFIG_PATH);
}

/**
 * A path a variable holds. One with white space at an end is refused: taken as written,
 * `COUNTERSIGN_DATA_DIR=/var/lib/countersign ` (a .env line's trailing space) or a blank one started
 * the bot on a new, empty folder of that name, with a new database and a new audit signing key.
 */
export function pathVariable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = variable(env, name);
  if (value === undefined || value.trim() === value) return value;
  if (value.trim() === '') throw new SettingsError(name, `is only white space (${JSON.stringify(value)}): leave it empty or unset it for the default, or give the path`);
  throw new SettingsError(name, `has white space at its start or end (${JSON.stringify(value)}), which would be part of the path: remove it`);
}

/** The SQLite file inside the data directory. */
export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'countersign.db');
}
