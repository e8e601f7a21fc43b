/** Opening a SQLite connection with the settings Countersign relies on. */
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { checkSharedIndex } from './instance-lock';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-files';

// better-sqlite3 reads SQLite URI file names ("file:...?immutable=1", see openReadOnly) only when
// SQLITE_USE_URI=1 is set as its native module loads, at the first connection of the process.
// Every other open passes an absolute path (path.resolve), which never starts with "file:", so a
// data directory named like a URI ("file:x?mode=memory") is a directory, not options. This
// configures the library; it reads no setting, so it is not in src/settings/.
// eslint-disable-next-line no-restricted-properties
process.env.SQLITE_USE_URI ??= '1';

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * Read-write: WAL (readers never block the writer) with synchronous=FULL, so a commit that
 * returned is on disk even if the machine loses power right after. A database it makes is mode 0600
 * in a directory it makes 0700 (SQLite would make it 0644): SQLite gives the -wal and -shm the
 * database's mode. An existing database keeps its mode.
 */
export function openWritable(file: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): Database.Database {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: PRIVATE_DIR_MODE });
  createPrivately(path.resolve(file));
  let db: Database.Database | undefined;
  try {
    db = new Database(path.resolve(file), { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db?.close();
    throw whyNotWritable(file, err);
  }
}

/**
 * Makes the (empty) database file 0600 when there is none, for SQLite to open; one there is left
 * alone. A file that cannot be made here is left to SQLite, whose refusal is then said in words.
 */
function createPrivately(full: string): void {
  let fd: number;
  try {
    fd = openSync(full, 'wx', PRIVATE_FILE_MODE);
  } catch {
    return;
  }
  closeSync(fd);
}

/**
 * SQLite says "unable to open database file" or "attempt to write a readonly database" whatever the
 * cause: the directory (where the write-ahead log and shared-memory files go) and the file are
 * checked to name it. (`access` is the file system's check; tests give another.)
 * @internal
 */
export function whyNotWritable(file: string, err: unknown, access: (target: string, mode: number) => void = accessSync, freeFiles: (dir: string) => number | undefined = freeInodes): unknown {
  const code = (err as { code?: unknown })?.code;
  if (code !== 'SQLITE_CANTOPEN' && code !== 'SQLITE_READONLY' && code !== 'SQLITE_PERM') return err;
  const full = path.resolve(file);
  // The -wal and -shm files too: a start refused on a read-only database leaves them behind with the
  // database's mode, and they refuse every later start after the database itself is writable again.
  for (const target of [path.dirname(full), full, `${full}-wal`, `${full}-shm`]) {
    try {
      access(target, constants.W_OK);
    } catch (access) {
      const errno = (access as NodeJS.ErrnoException).code;
      if (errno === 'ENOENT') continue;
      const what = errno === 'EROFS' ? 'it is on a read-only file system' : errno === 'EACCES' || errno === 'EPERM' ? 'this user may not write there' : `${errno ?? 'it cannot be written'}`;
      const side = target === `${full}-wal` ? 'write-ahead log' : target === `${full}-shm` ? 'shared-memory file' : undefined;
      const thing = side ? `its ${side} ${target}` : target === full ? `the database file ${full}` : `the data directory ${target}`;
      const fix = side
        ? ` Make it writable by this user${side === 'shared-memory file' ? ' or, with no Countersign running on it, delete it (SQLite makes a new one)' : ''}: a start refused on a read-only database leaves it behind.`
        : ' Countersign writes the database, its write-ahead log and shared-memory file there; COUNTERSIGN_DATA_DIR chooses the directory.';
      return Object.assign(new Error(`cannot open ${full} for writing: ${thing} is not writable (${what}).${fix}`), { code });
    }
  }
  // Everything writable, yet the -wal or -shm file could not be made: a file system out of inodes
  // (bytes free, no room for one more file) says "unable to open database file" too.
  const noInodes = code === 'SQLITE_CANTOPEN' ? outOfInodes(full, freeFiles) : undefined;
  if (noInodes) return Object.assign(new Error(`cannot open ${full} for writing: ${noInodes} (${(err as Error).message})`), { code });
  return Object.assign(new Error(`cannot open ${full} for writing: ${(err as Error).message}`), { code });
}

/**
 * When the file system holding the database has no inode left: what that stops, in words (SQLite
 * cannot make the -wal and -shm files, and says only "unable to open database file").
 */
export function outOfInodes(file: string, freeFiles: (dir: string) => number | undefined = freeInodes): string | undefined {
  const dir = path.dirname(path.resolve(file));
  if (freeFiles(dir) !== 0) return undefined;
  return `the file system holding ${dir} has no free inodes left (df -i ${dir}), so SQLite cannot make the database's -wal and -shm files beside it: delete files there or give the file system more inodes, then start again`;
}

/** Free inodes of the file system holding `dir`; undefined when it keeps no count (btrfs says 0 of 0) or cannot be read. */
function freeInodes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.files > 0 ? s.ffree : undefined;
  } catch {
    return undefined;
  }
}

class DatabaseMissingError extends Error {
  constructor(readonly file: string) {
    super(`no Countersign database at ${file}`);
    this.name = 'DatabaseMissingError';
  }
}

/**
 * Read-only, for the CLI (verify, export) while the bot may be running. A WAL database is read through
 * its -shm file, which SQLite creates if it is missing; on read-only storage (a stopped bot's data
 * directory mounted read-only) it cannot, and the file is opened as immutable instead: nothing can
 * change it there. Only when there is no -shm (a running bot keeps one: an immutable read could meet
 * its writes half-done) and no write-ahead log with changes in it (immutable reads ignore the WAL,
 * so a -wal that holds records would be left out).
 */
export function openReadOnly(file: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): Database.Database {
  if (!existsSync(file)) throw new DatabaseMissingError(file);
  // Opening would make a new -shm beside a running bot whose own was deleted (instance-lock.ts).
  checkSharedIndex(file);
  const db = new Database(path.resolve(file), { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  try {
    // The first read opens the -shm (and -wal) files.
    db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_CANTOPEN' || existsSync(`${file}-shm`) || walHoldsChanges(file)) throw err;
  }
  return new Database(`${pathToFileURL(file).href}?immutable=1`, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
}

function walHoldsChanges(file: string): boolean {
  try {
    return statSync(`${file}-wal`).size > 0;
  } catch {
    return false;
  }
}
