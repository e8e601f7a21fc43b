/**
 * Where the config and the data are: COUNTERSIGN_CONFIG (else the example config) and
 * COUNTERSIGN_DATA_DIR (else `data`), and the SQLite file inside the data directory.
 */
import path from 'node:path';
import { variable } from './values';

/** The config the bot loads when COUNTERSIGN_CONFIG is not set (relative to the working directory). */
export const DEFAULT_CONFIG_PATH = 'config/countersign.example.yaml';

export const DEFAULT_DATA_DIR = 'data';

export function configPath(env: NodeJS.ProcessEnv): string {
  return path.resolve(variable(env, 'COUNTERSIGN_CONFIG') ?? DEFAULT_CONFIG_PATH);
}

/** The SQLite file inside the data directory. */
export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'countersign.db');
}
