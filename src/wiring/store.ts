/**
 * The store the settings choose, opened for the composition root (src/composition-root.ts), and the
 * database passwords its log must never show.
 */
import type { Logger } from '../log/context';
import { refuseEmptiedDatabase } from '../audit/access/continuity';
import { checkpointFileOf } from '../audit/access/checkpoints';
import type { Settings } from '../settings';
import { DataDirectoryError, openConfiguredStore, type OpenedStore } from '../store/open-store';
import type { WriterThreadBoot } from '../store/sqlite';
import { InstanceLockedError } from '../store/sqlite/instance-lock';
import { SqliteStartupError } from '../store/sqlite/open-problem';
import { parsePostgresUrl, PostgresStartupError } from '../store/postgres/url';
import { azureLayer } from './azure';
import { StartupError } from './start-checks';

/** The store the settings choose; a PostgreSQL that cannot be used stops startup with what to do. */
export async function openStore(
  settings: Settings,
  log: Logger,
  sqliteWriterThread: WriterThreadBoot | undefined,
  onWriterStopped: (err: Error) => void,
  stop?: AbortSignal,
): Promise<OpenedStore> {
  const pg = settings.store.kind === 'postgres' ? settings.store.postgres : undefined;
  const databasePassword =
    pg?.auth === 'entra' ? azureLayer().entraDatabasePassword(azureLayer().createCredential({ type: 'default', ...(pg.entraClientId ? { clientId: pg.entraClientId } : {}) }), pg.entraScope ? { scope: pg.entraScope } : {}) : undefined;
  try {
    return await openConfiguredStore(settings.store, {
      dataDir: settings.dataDir,
      ...(databasePassword ? { databasePassword } : {}),
      lockWaitMs: settings.storeLockWaitMs,
      onWriterStopped,
      ...(stop ? { stop } : {}),
      ...(sqliteWriterThread ? { sqliteWriterThread } : {}),
      // An emptied or deleted database is held against the checkpoint file, and its -wal, before SQLite
      // opens it (and deletes the -wal); anything else is checked once open, with the checkpoint table too.
      beforeEmptyDatabase: (found) => refuseEmptiedDatabase(settings.dataDir, checkpointFileOf(settings.dataDir), found),
      // The same for a PostgreSQL schema with none of Countersign's tables, before any is made: an
      // emptied database is not taken for a new one and given empty tables.
      beforeEmptySchema: (found) => refuseEmptiedDatabase(settings.dataDir, checkpointFileOf(settings.dataDir), found, { kind: 'postgres', where: found.where }),
      onConnectionError: (err) => log.warn({ err: err.message }, 'a PostgreSQL connection broke; the pool opens a new one'),
    });
  } catch (err) {
    if (err instanceof PostgresStartupError) throw new StartupError(`the PostgreSQL store cannot be used: ${err.message}`);
    if (err instanceof InstanceLockedError) throw new StartupError(err.message);
    if (err instanceof SqliteStartupError) throw new StartupError(err.message);
    if (err instanceof DataDirectoryError) throw new StartupError(`COUNTERSIGN_DATA_DIR: ${err.message}`);
    throw err;
  }
}

/** Database passwords kept out of the log. */
export function databaseSecrets(settings: Settings): string[] {
  if (settings.store.kind !== 'postgres') return [];
  const { password, url } = settings.store.postgres;
  let inUrl: string | undefined;
  try {
    inUrl = url ? parsePostgresUrl(url).password : undefined;
  } catch {
    inUrl = undefined;
  }
  return [password, inUrl].filter((s): s is string => !!s);
}
