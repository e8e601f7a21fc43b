/**
 * The data directory and the SQLite database hold requests, reasons, who approved what and the
 * conversation references the bot posts with: other users of the machine have no business reading
 * them. Countersign makes the directory 0700 and the database 0600 (SQLite gives its -wal and -shm
 * the database's mode); ones that already exist are left as they are, and the start names those
 * other users can reach, with the command that closes them.
 */
import { statSync } from 'node:fs';

/** The mode of a data directory Countersign makes (and of the folders above it that it makes). */
export const PRIVATE_DIR_MODE = 0o700;
/** The mode of a database file Countersign makes; the -wal and -shm SQLite makes beside it take it on. */
export const PRIVATE_FILE_MODE = 0o600;

export interface OpenToOthers {
  path: string;
  /** Its permission bits, as `chmod` writes them: `0755`. */
  mode: string;
  /** In words, with what to run. */
  problem: string;
}

const modeText = (mode: number): string => (mode & 0o777).toString(8).padStart(4, '0');

/**
 * Those of the data directory and (SQLite) the database, its -wal and -shm, that users other than
 * the owner may read or enter. Nothing on Windows, whose permissions are not modes; a path missing or
 * unreadable is not named.
 */
export function openToOtherUsers(dataDir: string, databaseFile?: string, platform: NodeJS.Platform = process.platform): OpenToOthers[] {
  if (platform === 'win32') return [];
  const found: OpenToOthers[] = [];
  const look = (target: string, what: string, fix: string) => {
    let mode: number;
    try {
      mode = statSync(target).mode;
    } catch {
      return;
    }
    if ((mode & 0o077) === 0) return;
    found.push({ path: target, mode: modeText(mode), problem: `${what} ${target} is mode ${modeText(mode)}: other users of this machine may read it; run: ${fix} ${target}` });
  };
  look(dataDir, 'the data directory', 'chmod 700');
  if (databaseFile) {
    look(databaseFile, 'the database', 'chmod 600');
    look(`${databaseFile}-wal`, 'the database\'s write-ahead log', 'chmod 600');
    look(`${databaseFile}-shm`, 'the database\'s shared-memory file', 'chmod 600');
  }
  return found;
}
