/** Turning audit command-line input into checked values, with errors that name what was wrong. */
import path from 'node:path';
import { InvalidArgumentError } from 'commander';

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * An ISO-8601 date (midnight UTC) or date-time, as a canonical UTC instant (Date#toISOString), the
 * form audit times are stored in. A date-time without a zone is taken as UTC, never local time.
 */
export function parseInstant(value: string): string {
  const text = value.trim();
  const m = ISO_INSTANT.exec(text);
  const bad = () =>
    new InvalidArgumentError(`"${value}" is not an ISO-8601 date or date-time (examples: 2026-11-02, 2026-11-02T09:30:00Z).`);
  if (!m) throw bad();
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = m;
  const daysInMonth = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > daysInMonth) throw bad();
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw bad();
  const withZone = m[4] === undefined ? `${text}T00:00:00Z` : zone ? text : `${text}Z`;
  const ms = Date.parse(withZone);
  if (Number.isNaN(ms)) throw bad();
  return new Date(ms).toISOString();
}

export type ExportFormat = 'jsonl' | 'csv';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'csv'];

/** --data-dir, else COUNTERSIGN_DATA_DIR, else ./data (the same default the bot uses). */
export function resolveDataDir(option: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  return path.resolve(cwd, option || env.COUNTERSIGN_DATA_DIR || 'data');
}
