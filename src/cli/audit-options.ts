/** Turning audit command-line input into checked values, with errors that name what was wrong. */
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { CliSettings } from '../settings';
import { InstantError, parseInstant as parseInstantText } from '../audit/access/instant';

/** parseInstant for commander: a bad value becomes commander's own error for the option. */
export function parseInstant(value: string): string {
  try {
    return parseInstantText(value);
  } catch (err) {
    if (err instanceof InstantError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

export { EXPORT_FORMATS } from '../audit/access/export';

/** --data-dir, else COUNTERSIGN_DATA_DIR, else ./data (the same default the bot uses). */
export function resolveDataDir(option: string | undefined, settings: Pick<CliSettings, 'dataDir'>, cwd: string): string {
  return path.resolve(cwd, option || settings.dataDir);
}
