/**
 * The SQLite database a command names (--data-dir, COUNTERSIGN_DATA_DIR, ./data): refused before
 * anything opens it when it is missing or emptied (its -wal kept), and, when opened, refused in words
 * when it is not a Countersign database or this user may not read or write it.
 */
import { existsSync, statSync } from 'node:fs';
import { databaseFile } from '../settings';
import { emptiedDatabaseFile, NotACountersignDatabaseError, openSqliteAuditReader, openSqliteStore, SharedIndexMissingError } from '../store/sqlite';
import type { SqliteStore } from '../store/sqlite';
import { AuditInputError, type AuditCliIo } from './audit-io';
import { resolveDataDir } from './audit-options';

export interface Database {
  dataDir: string;
  file: string;
}

export function requireDatabase(dataDirOption: string | undefined, io: AuditCliIo): Database {
  const dataDir = resolveDataDir(dataDirOption, io.settings, io.cwd);
  const file = databaseFile(dataDir);
  const from = dataDirOption ? '--data-dir' : io.settings.dataDirFromEnv ? 'COUNTERSIGN_DATA_DIR' : 'the default ./data';
  requireDatabaseFile(file, {
    missing: `no Countersign database at ${file} (data directory from ${from})`,
    fix: dataDirOption
      ? 'check that path: a data directory holds countersign.db once Countersign has started there'
      : 'pass --data-dir <dir>, the directory Countersign runs with (COUNTERSIGN_DATA_DIR)',
  });
  return { dataDir, file };
}

/**
 * Refuses a SQLite database file that holds nothing (missing, emptied to 0 bytes, not beginning as a
 * SQLite file) before anything opens it, as the bot's start does: SQLite deletes the -wal beside a
 * database of no pages when a connection first reads it, even a read-only one, and after a crash that
 * -wal is the last copy of the newest records. `missing` is what to say of an absent file (and `fix`,
 * when no -wal beside it shows the path is right). Only `audit accept-loss` opens such a file, on purpose.
 */
export function requireDatabaseFile(file: string, said: { missing: string; fix?: string }): void {
  const found = emptiedDatabaseFile(file);
  if (!found) return;
  const { wal } = found;
  if (found.kind === 'missing') {
    if (wal) throw new AuditInputError(`${said.missing}, though its -wal (${wal.bytes} bytes) is there: the database was deleted, and the -wal, left as it is, may hold the newest records: keep it for the restore`);
    throw new AuditInputError(said.fix ? `${said.missing}; ${said.fix}` : said.missing);
  }
  if (wal) {
    throw new AuditInputError(
      `${found.what}: it was not opened, so it and its -wal and -shm files are left as they are. Its -wal (${wal.bytes} bytes) may hold the newest records: keep it with the database for the restore`,
    );
  }
  throw new AuditInputError(`${found.what}: it holds no Countersign database, and was not opened`);
}

/**
 * A file that is not a Countersign database, or one we may not write (or, for a command that only
 * reads it, not read), is the user's input problem.
 */
export async function unreadableAsInput<T>(file: string, open: () => Promise<T>, access: 'read' | 'write' = 'write'): Promise<T> {
  try {
    return await open();
  } catch (err) {
    if (err instanceof NotACountersignDatabaseError || err instanceof SharedIndexMissingError) throw new AuditInputError(err.message);
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') throw new AuditInputError(`${file} is not a SQLite database`);
    if (access === 'read' && (code === 'SQLITE_CANTOPEN' || code === 'EACCES')) {
      const wal = `${file}-wal`;
      if (existsSync(wal) && statSync(wal).size > 0) {
        throw new AuditInputError(
          `cannot read ${file} (${code}): its write-ahead log ${wal} holds changes, and reading them needs ${file}-shm, which cannot be created there (read-only storage?): verify a copy of the data directory, with its -wal file, on writable storage`,
        );
      }
      throw new AuditInputError(`cannot read ${file} (${code})`);
    }
    if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'EACCES') {
      // The store's own words name the file or directory and why (read-only file system, permission).
      const why = (err as Error).message.includes(file) ? (err as Error).message : `cannot write to ${file} (${code})`;
      throw new AuditInputError(`${why.replace(/\.$/, '')}. This command records what it does in the audit log, so it needs write access to the database`);
    }
    throw err;
  }
}

/**
 * Checks, read-only, that the file is a Countersign database, naming it when it is not: for commands
 * that read it (or hand it on), so a wrong path is refused before anything is made from it.
 */
export function requireCountersignFile(file: string): void {
  try {
    openSqliteAuditReader(file).close();
  } catch (err) {
    if (err instanceof NotACountersignDatabaseError || err instanceof SharedIndexMissingError) throw new AuditInputError(err.message);
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') throw new AuditInputError(`${file} is not a SQLite database, so not a Countersign database`);
    if (code === 'SQLITE_CANTOPEN' || code === 'EACCES') throw new AuditInputError(`cannot read ${file} (${code})`);
    throw err;
  }
}

/**
 * The store, for commands that record what they do. The file is first checked to be a Countersign
 * database, so a wrong path is never given Countersign's tables.
 */
export async function openStoreForCli(file: string): Promise<SqliteStore> {
  return unreadableAsInput(file, async () => {
    openSqliteAuditReader(file).close();
    return openSqliteStore({ file, writer: 'inline' });
  });
}
