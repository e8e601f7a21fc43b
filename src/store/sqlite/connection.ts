/** Opening a SQLite connection with the settings Countersign relies on. */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * Read-write: WAL (readers never block the writer) with synchronous=FULL, so a commit that
 * returned is on disk even if the machine loses power right after.
 */
export function openWritable(file: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): Database.Database {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

class DatabaseMissingError extends Error {
  constructor(readonly file: string) {
    super(`no Countersign database at ${file}`);
    this.name = 'DatabaseMissingError';
  }
}

/** Read-only, for the CLI (verify, export) while the bot may be running. */
export function openReadOnly(file: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): Database.Database {
  if (!existsSync(file)) throw new DatabaseMissingError(file);
  return new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
}
