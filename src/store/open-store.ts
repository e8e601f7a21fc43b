/**
 * Opening the store the settings choose: the SQLite file in the data directory, or the PostgreSQL
 * database. The bot and the CLI both come through here, so they always agree on where the audit
 * trail is.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { ChainHead } from '../domain/audit';
import type { CountersignStore } from './countersign-store';
import { databaseFile } from '../settings';
import type { PostgresSettings, StoreSettings } from '../settings';
import type { PostgresConnectionOptions, PostgresStore } from './postgres';
import { parsePostgresUrl, PostgresStartupError } from './postgres/url';
import { PRIVATE_DIR_MODE } from './private-files';
import { emptiedDatabaseFile, INSTANCE_LOCK_FILE, lockDataDirectory, openSqliteStore, sqliteOpenProblem, type EmptiedDatabaseFile, type WriterThreadBoot } from './sqlite';

export interface OpenedStore {
  store: CountersignStore;
  kind: StoreSettings['kind'];
  /** Where it is, without secrets: the SQLite file or postgres://user@host:port/db. */
  where: string;
  /**
   * Where forms in progress are kept when instances share them (PostgreSQL), in botbuilder's Storage
   * shape; absent for SQLite (one instance: memory will do).
   */
  dialogState?: PostgresStore['dialogState'];
  /**
   * SQLite: the highest record this process committed, read without the file (which may be gone or
   * cut): what the bot signs into the checkpoint file when the store stops under it.
   */
  lastWitnessed?: () => ChainHead | undefined;
  /**
   * PostgreSQL: holds the log against a checkpoint signed outside the database (the shared checkpoint
   * file); a log that ends before it or differs there stops the writer. The problem, if so.
   */
  holdsCheckpoint?: (c: ChainHead) => Promise<string | undefined>;
  /** PostgreSQL: the host reached without TLS over the network, when it is (the start warns of it). */
  unencryptedHost?: string;
  /**
   * SQLite: a failure of the start's first writes (a full disk, a lock held) in words, with the file
   * and what to do, as a failure to open it is; undefined when it is not the database's.
   */
  startProblem?: (err: unknown) => Error | undefined;
}

export interface StoreOpening {
  dataDir: string;
  /** With Microsoft Entra authentication: a fresh token for each new connection (built in src/azure). */
  databasePassword?: () => Promise<string>;
  onConnectionError?: (err: Error) => void;
  /**
   * How long a write waits for a lock held by another process (SQLite's write lock, without
   * blocking) or session (PostgreSQL's locks: also every statement's lock_timeout), COUNTERSIGN_STORE_LOCK_WAIT.
   */
  lockWaitMs?: number;
  /**
   * The store stopped writing for good: SQLite's writer thread stopped (or its file was deleted or
   * replaced); PostgreSQL's audit log went back below what this instance saw (emptied or replaced).
   */
  onWriterStopped?: (err: Error) => void;
  /**
   * Aborted (a stop signal while the bot starts): PostgreSQL's wait for the migration lock ends with
   * its reason. (SQLite's wait for its write lock is synchronous: it ends after `lockWaitMs`.)
   */
  stop?: AbortSignal;
  /** SQLite: a writer thread started ahead (by the entry point, while it loaded the rest). */
  sqliteWriterThread?: WriterThreadBoot;
  /**
   * SQLite: the database file is absent or holds no database (`found` says which, and what its -wal
   * holds), before anything opens it; throws to refuse the start with the files left as they are
   * (the bot's continuity check).
   */
  beforeEmptyDatabase?: (found: EmptiedDatabaseFile) => Promise<void>;
  /**
   * PostgreSQL: the schema holds none of Countersign's tables (a new database, or one emptied), before
   * any is made there; `what` says so, `where` names the database. Throws to refuse the start with
   * nothing created (the bot's continuity check, against the checkpoint file).
   */
  beforeEmptySchema?: (found: { what: string; where: string }) => Promise<void>;
}

/** The PostgreSQL connection the settings describe; the password function (Entra) replaces any password. */
export function postgresConnectionOf(settings: PostgresSettings, databasePassword?: () => Promise<string>): PostgresConnectionOptions {
  // The URL's parts win over the PG* variables, its sslrootcert over PGSSLROOTCERT as its sslmode over PGSSLMODE.
  const fromUrl = settings.url ? parsePostgresUrl(settings.url) : {};
  const rootCert = fromUrl.sslRootCertFile !== undefined ? { file: fromUrl.sslRootCertFile, named: "the database URL's sslrootcert" } : settings.sslRootCertFile ? { file: settings.sslRootCertFile, named: 'PGSSLROOTCERT' } : undefined;
  let sslRootCert: string | undefined;
  let sslMode = settings.sslMode;
  if (rootCert?.file === 'system') {
    // libpq's word (PostgreSQL 16) for the operating system's certificate authorities: with it libpq
    // checks the server's name too (verify-full by default) and refuses a weaker sslmode.
    const mode = fromUrl.sslMode ?? settings.sslMode;
    if (mode !== undefined && mode !== 'verify-full' && mode !== 'verify-ca') {
      throw new PostgresStartupError(`${rootCert.named} is system (the operating system's certificate authorities), which checks the server's certificate: sslmode ${mode} does not; set PGSSLMODE (or the URL's sslmode) to verify-full, as libpq requires`);
    }
    sslMode = mode ?? 'verify-full';
    sslRootCert = tls.getCACertificates('system').join('\n');
  } else if (rootCert) {
    try {
      sslRootCert = readFileSync(rootCert.file, 'utf8');
    } catch (err) {
      throw new PostgresStartupError(`${rootCert.named} names ${rootCert.file}, which cannot be read: ${(err as Error).message}`);
    }
  }
  if (settings.auth === 'entra' && !databasePassword) {
    throw new PostgresStartupError('COUNTERSIGN_DATABASE_AUTH is entra but no token provider was given');
  }
  const password = settings.auth === 'entra' ? databasePassword : settings.password;
  const { url, host, port, user, database, applicationName, schema, poolSize } = settings;
  return {
    ...(url ? { url } : {}),
    ...(host ? { host } : {}),
    ...(port ? { port } : {}),
    ...(user ? { user } : {}),
    ...(database ? { database } : {}),
    ...(password ? { password } : {}),
    ...(sslMode ? { sslMode } : {}),
    ...(sslRootCert ? { sslRootCert } : {}),
    ...(applicationName ? { applicationName } : {}),
    ...(schema ? { schema } : {}),
    ...(poolSize ? { max: poolSize } : {}),
  };
}

/** The data directory cannot be made (the start says so as COUNTERSIGN_DATA_DIR, where it came from). */
export class DataDirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirectoryError';
  }
}

/**
 * Makes the data directory (the SQLite database and, whatever the store, the audit signing key and
 * checkpoints live there), mode 0700 (one that exists is left as it is; the start says if others may
 * read it), or says what is in the way instead of mkdir's bare EEXIST or EPERM.
 * (`mkdir` is the file system's; tests give another.)
 * @internal
 */
export function makeDataDirectory(dir: string, mkdir: (dir: string) => void = (d) => mkdirSync(d, { recursive: true, mode: PRIVATE_DIR_MODE })): void {
  const full = path.resolve(dir);
  try {
    mkdir(full);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // With `recursive`, EEXIST means the path is there but is not a directory (a file, or a link to one).
    if (code === 'EEXIST') throw new DataDirectoryError(`${full} is a file, not a directory: name the directory that holds (or is to hold) Countersign's database and audit signing key`);
    const why =
      code === 'ENOTDIR'
        ? `${fileOnTheWay(full) ?? 'a part of the path'} is a file, not a directory`
        : code === 'EACCES' || code === 'EPERM'
          ? `this user may not create it there (${code})`
          : code === 'EROFS'
            ? 'it is on a read-only file system'
            : (err as Error).message;
    throw new DataDirectoryError(`${full} cannot be created: ${why}`);
  }
}

/** The first folder of the path that is a file. */
function fileOnTheWay(full: string): string | undefined {
  const parts = full.split(path.sep);
  for (let i = 2; i <= parts.length; i++) {
    const at = parts.slice(0, i).join(path.sep);
    try {
      if (!statSync(at).isDirectory()) return at;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export async function openConfiguredStore(settings: StoreSettings, opening: StoreOpening): Promise<OpenedStore> {
  try {
    makeDataDirectory(opening.dataDir);
  } catch (err) {
    await opening.sqliteWriterThread?.discard();
    throw err;
  }
  if (settings.kind === 'sqlite') {
    const file = databaseFile(opening.dataDir);
    let instanceLock;
    try {
      // One bot per SQLite data directory (instance-lock.ts): a second one is refused before it opens anything.
      instanceLock = lockDataDirectory(opening.dataDir);
    } catch (err) {
      await opening.sqliteWriterThread?.discard();
      // SQLite's words alone ("attempt to write a readonly database") name neither the file nor what to do.
      throw sqliteOpenProblem(err, path.join(opening.dataDir, INSTANCE_LOCK_FILE)) ?? err;
    }
    let store;
    try {
      // Checked before SQLite touches the file: opening an empty one writes into it and deletes its -wal.
      const nothing = emptiedDatabaseFile(file);
      if (nothing && opening.beforeEmptyDatabase) await opening.beforeEmptyDatabase(nothing);
    } catch (err) {
      await opening.sqliteWriterThread?.discard();
      instanceLock.release();
      throw err;
    }
    try {
      store = await openSqliteStore({
        file,
        instanceLock,
        ...(opening.lockWaitMs !== undefined ? { busyTimeoutMs: opening.lockWaitMs } : {}),
        ...(opening.onWriterStopped ? { onWriterStopped: opening.onWriterStopped } : {}),
        ...(opening.sqliteWriterThread ? { writerThread: opening.sqliteWriterThread } : {}),
      });
    } catch (err) {
      // SQLite's own words alone ("database is locked") name no file and no way out.
      throw sqliteOpenProblem(err, file) ?? err;
    }
    const writer = store.writer;
    return { store, kind: 'sqlite', where: file, lastWitnessed: () => writer.lastWitnessed(), startProblem: (err) => sqliteOpenProblem(err, file) };
  }
  await opening.sqliteWriterThread?.discard();
  // The driver and the PostgreSQL store load only when they are used (the bot on SQLite starts faster).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { explainConnectionError, isConnectionError, openPostgresStore, unencryptedRemoteHost } = require('./postgres') as typeof import('./postgres');
  const store: PostgresStore = await openPostgresStore({
    connection: postgresConnectionOf(settings.postgres, opening.databasePassword),
    migrate: settings.postgres.migrate,
    ...(opening.lockWaitMs !== undefined ? { lockWaitMs: opening.lockWaitMs } : {}),
    ...(opening.onConnectionError ? { onConnectionError: opening.onConnectionError } : {}),
    ...(opening.onWriterStopped ? { onStopped: opening.onWriterStopped } : {}),
    ...(opening.beforeEmptySchema ? { beforeEmptySchema: opening.beforeEmptySchema } : {}),
    ...(opening.stop ? { stop: opening.stop } : {}),
  });
  const connection = postgresConnectionOf(settings.postgres, opening.databasePassword);
  const unencryptedHost = unencryptedRemoteHost(connection);
  return {
    store,
    kind: 'postgres',
    where: store.target,
    ...(unencryptedHost ? { unencryptedHost } : {}),
    dialogState: store.dialogState,
    holdsCheckpoint: (c) => store.holdsCheckpoint(c),
    // The start's first writes meeting the server's refusal or a lost session: in words, with the database.
    startProblem: (err) => (isServerAnswer(err) || isConnectionError(err) ? explainConnectionError(err, connection) : undefined),
  };
}

/** An error PostgreSQL sent, with its SQLSTATE (five characters). */
function isServerAnswer(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}
