/**
 * One Countersign per SQLite data directory. SQLite is the store of one instance: two bots writing
 * the same file each keep their own view of the chain head and of what they have sent, and a second
 * one started by mistake (a second container on the same volume, a test run beside the service)
 * would do that silently. So the bot holds an exclusive lock on a small file of its own beside the
 * database for as long as it runs. The lock is SQLite's (a POSIX lock on the file): the kernel lets
 * it go when the process ends however it ends, so a crash never leaves a stale lock behind, and a
 * process id reused after a restart (a container's pid 1) cannot be mistaken for a running bot.
 *
 * The CLI's commands that write (checkpoint, export, accept-loss) run beside the bot, sharing
 * SQLite's write lock through the database's `-shm` file. If that file was deleted under a running
 * bot, a new process would make a fresh one and no longer share the bot's lock: the two would write
 * the log each on its own. The CLI therefore refuses to open the database when the bot holds this
 * lock and the `-shm` file is missing (the bot, for its part, stops writing once it sees the file
 * gone: file-watch.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export const INSTANCE_LOCK_FILE = 'countersign.instance-lock';

/** How long a starting bot waits for the instance lock before it takes another bot to hold it. */
const LOCK_WAIT_MS = 2_000;

/** Another Countersign already runs on this data directory. */
export class InstanceLockedError extends Error {
  constructor(readonly dataDir: string) {
    super(
      `another Countersign is already running on the data directory ${dataDir} (it holds ${path.join(dataDir, INSTANCE_LOCK_FILE)}): the SQLite store serves one instance. Stop the other one first, or run several instances on PostgreSQL (docs/postgresql.md)`,
    );
    this.name = 'InstanceLockedError';
  }
}

/** The database's -shm file is missing while a bot runs on it: opening it now would fork the log. */
export class SharedIndexMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SharedIndexMissingError';
  }
}

/** The lock a running bot holds; released when its store closes. */
export interface InstanceLock {
  release(): void;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/**
 * The lock file holds nothing: only SQLite's lock on it counts. In SQLite's default journal mode its
 * exclusive transaction writes a -journal file beside it, which a full disk refuses (SQLITE_FULL):
 * a bot could then not start, nor `audit verify` run, on a disk whose database needed no room at all.
 * With the journal in memory the lock is the same POSIX lock on the file, and nothing is written.
 */
function journalInMemory(db: Database.Database): void {
  db.pragma('journal_mode = MEMORY');
}

/** Takes the data directory's instance lock, or throws InstanceLockedError when another process holds it. */
export function lockDataDirectory(dataDir: string): InstanceLock {
  // A command-line tool may hold the lock for a moment to see whether a bot runs (instanceRunning):
  // a start waits that out; a running bot holds it for good, so the start is refused after the wait.
  const db = new Database(path.join(dataDir, INSTANCE_LOCK_FILE), { timeout: LOCK_WAIT_MS });
  try {
    // The lock needs no room on the disk (see journalInMemory).
    journalInMemory(db);
    // Held from the first transaction until the connection closes.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if (isBusy(err)) throw new InstanceLockedError(dataDir);
    throw err;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}

/** Whether a bot holds the data directory's instance lock right now (tried and let go at once). */
function instanceRunning(dataDir: string): boolean {
  const file = path.join(dataDir, INSTANCE_LOCK_FILE);
  if (!fs.existsSync(file)) return false;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 0, fileMustExist: true });
    journalInMemory(db);
    db.exec('BEGIN EXCLUSIVE; ROLLBACK');
    return false;
  } catch (err) {
    if (isBusy(err)) return true;
    throw err;
  } finally {
    db?.close();
  }
}

/**
 * Refuses to open the database `file` beside a running bot whose `-shm` file is missing (see above).
 * Called by the one-shot commands before they open it.
 */
export function checkSharedIndex(file: string): void {
  const dataDir = path.dirname(path.resolve(file));
  if (fs.existsSync(`${file}-shm`) || !fs.existsSync(file) || !instanceRunning(dataDir)) return;
  throw new SharedIndexMissingError(
    `the database's shared-memory file ${file}-shm is missing while Countersign runs on ${dataDir}: opening the database now would make a new one that does not share Countersign's write lock, and the two would write the audit log each on its own. Nothing was opened. Restart Countersign (it stops writing once it sees the file gone, and its start checks the audit log), then run this again`,
  );
}
