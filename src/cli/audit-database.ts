/**
 * The database an audit command works on, SQLite or PostgreSQL, chosen by the same settings as the
 * bot (COUNTERSIGN_STORE and the database variables, from the command's environment). The signing
 * key and the checkpoint file stay in the data directory either way.
 */
import type { CountersignStore as Store } from '../store/countersign-store';
import type { AuditFilter } from '../domain/audit';
import type { ChainVerification } from '../audit/verify/verify';
import { checkStoredRequests, type RequestCheck, type UnbackedRequest } from '../audit/verify/request-rows';
import type { StoredRecordText } from '../audit/formats/encoder';
import type { AuditCheckpoint } from '../audit/ports';
import type { AuditRecord } from '../domain/audit';
import { entraDatabasePassword } from '../azure/postgres-token';
import fs from 'node:fs';
import path from 'node:path';
import { loadOrCreateSigningKey, PRIVATE_KEY_FILE, type AuditSigner } from '../audit/access/signing';
import { checkpointFileOf } from '../audit/access/checkpoints';
import { checkContinuity, refuseEmptiedDatabase } from '../audit/access/continuity';
import { databaseFile, SettingsError } from '../settings';
import type { PostgresSettings, StoreSettings } from '../settings';
import { postgresConnectionOf } from '../store/open-store';
import type { RequestWithoutRow } from '../store/request-rows';
import { describeTarget, openPostgresAuditReader, openPostgresStore, PostgresStartupError, postgresStoredRequests, verifyPostgresAuditLog } from '../store/postgres';
import type { PostgresConnectionOptions } from '../store/postgres';
import { missingCheckpointTriggers, openSqliteAuditReader, readCheckpointTable, recordHashAt, salvageDamagedAuditLog, sqliteStoredRequests, verifySqliteAuditLog } from '../store/sqlite';
import { resolveDataDir } from './audit-options';
import { AuditInputError } from './audit-io';
import { openStoreForCli, requireCountersignFile, requireDatabase, unreadableAsInput } from './database-file';
import type { AuditCliIo } from './audit-io';

/** The store with what the export reads: the records' stored text. */
export type CliStore = Store & { audit: Store['audit'] & { readStored(filter?: AuditFilter): AsyncIterable<StoredRecordText> } };

/** What checkpoint verification reads from the database. */
export interface CheckpointSource {
  table: (AuditCheckpoint & { recordSeq: number | null })[];
  read(filter: AuditFilter): AsyncIterable<AuditRecord>;
  /** The records at these seqs, in that order (those found); where a backend has no such lookup, undefined. */
  readAt?(seqs: readonly number[]): AsyncIterable<AuditRecord>;
  hashesAt(seqs: readonly number[]): Promise<Map<number, string>>;
  missingCheckpointTriggers(): Promise<string[]>;
  close(): Promise<void>;
}

export interface AuditDatabase {
  kind: StoreSettings['kind'];
  dataDir: string;
  /** What the reports name: the SQLite file or postgres://user@host:port/db. */
  where: string;
  /**
   * The store, for commands that record what they do. A PostgreSQL schema with none of Countersign's
   * tables is held against the checkpoint file first, as the bot's start does (an emptied database is
   * refused, AuditContinuityError, with nothing made in it), unless `emptied: 'accept'` (accept-loss).
   */
  openStore(options?: { emptied?: 'accept' }): Promise<CliStore>;
  /** Refuses (read-only) a database that is not Countersign's, naming it, before anything is made for it. */
  check(): Promise<void>;
  /** The chain as stored, verified read-only (with where its checkpoint records are, when it is intact). */
  verify(): Promise<ChainVerification & { warnings: string[]; checkpointSeqs?: number[]; lossSeqs?: number[]; requestsWithoutRow: RequestWithoutRow[]; requestsTableMissing?: true; missingTables: string[]; indexProblems: string[] }>;
  checkpoints(): Promise<CheckpointSource>;
  /** Every request row and saved version judged against its audit records (read-only), each not backed given to `onFinding`. */
  checkRequests(onFinding: (f: UnbackedRequest) => void): Promise<RequestCheck>;
}

function storeSettings(io: AuditCliIo): StoreSettings {
  try {
    return io.settings.readStore();
  } catch (err) {
    if (err instanceof SettingsError) throw new AuditInputError(err.message);
    throw err;
  }
}

/** PostgreSQL errors are the operator's to fix: one line, exit 1. */
async function asInput<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    if (err instanceof PostgresStartupError) throw new AuditInputError(err.message);
    throw err;
  }
}

/** Which store the settings name (COUNTERSIGN_STORE), for a command that opens SQLite its own way. */
export function configuredStoreKind(io: AuditCliIo): StoreSettings['kind'] {
  return storeSettings(io).kind;
}

export function requireAuditDatabase(dataDirOption: string | undefined, io: AuditCliIo): AuditDatabase {
  const settings = storeSettings(io);
  if (settings.kind === 'sqlite') return sqliteDatabase(dataDirOption, io);
  const dataDir = resolveDataDir(dataDirOption, io.settings, io.cwd);
  const database = postgresDatabase(dataDir, postgresDatabaseConnection(settings.postgres), settings.postgres.migrate);
  // A SQLite file in the data directory is not what is read here (a store set aside after a move is
  // the usual one): said, so nobody takes this command's answer for that file's.
  const file = databaseFile(dataDir);
  if (fs.existsSync(file)) {
    io.stderr.write(`Note: ${file} is not what this command reads: COUNTERSIGN_STORE=postgres names the PostgreSQL database ${database.where}. To work on that SQLite file, run the command with COUNTERSIGN_STORE=sqlite.\n`);
  }
  return database;
}

/** The connection for a command: with Entra authentication, the token of the signed-in identity. */
export function postgresDatabaseConnection(pg: PostgresSettings): PostgresConnectionOptions {
  let password: (() => Promise<string>) | undefined;
  if (pg.auth === 'entra') {
    // Loaded only here: the Azure identity library is not needed by commands on a password or SQLite.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createCredential } = require('../azure/credential') as typeof import('../azure/credential');
    password = entraDatabasePassword(createCredential({ type: 'default', ...(pg.entraClientId ? { clientId: pg.entraClientId } : {}) }), pg.entraScope ? { scope: pg.entraScope } : {});
  }
  try {
    return { ...postgresConnectionOf(pg, password), max: 4 };
  } catch (err) {
    if (err instanceof PostgresStartupError) throw new AuditInputError(err.message);
    throw err;
  }
}

function postgresDatabase(dataDir: string, connection: PostgresConnectionOptions, migrate: 'auto' | 'always' | 'never' = 'never'): AuditDatabase {
  const where = describeTarget(connection);
  return {
    kind: 'postgres',
    dataDir,
    where,
    openStore: (options) =>
      asInput(() =>
        openPostgresStore({
          connection,
          migrate,
          // A command an operator runs and watches (a long count, an export): no answer wait.
          answerWaitMs: 0,
          ...(options?.emptied === 'accept' ? {} : { beforeEmptySchema: (found: { what: string; where: string }) => refuseEmptiedDatabase(dataDir, checkpointFileOf(dataDir), found, { kind: 'postgres', where: found.where }) }),
        }),
      ),
    check: () => asInput(async () => (await openPostgresAuditReader(connection)).close()),
    verify: () =>
      asInput(async () => {
        const reader = await openPostgresAuditReader(connection);
        try {
          return await verifyPostgresAuditLog(reader.pool, where);
        } finally {
          await reader.close();
        }
      }),
    checkpoints: () =>
      asInput(async () => {
        const reader = await openPostgresAuditReader(connection);
        try {
          return {
            table: await reader.checkpoints(),
            read: (filter: AuditFilter) => reader.read(filter),
            hashesAt: (seqs: readonly number[]) => reader.hashesAt(seqs),
            missingCheckpointTriggers: () => reader.missingCheckpointTriggers(),
            close: () => reader.close(),
          };
        } catch (err) {
          await reader.close();
          throw err;
        }
      }),
    checkRequests: (onFinding) =>
      asInput(async () => {
        const reader = await openPostgresAuditReader(connection);
        try {
          return await checkStoredRequests(postgresStoredRequests(reader.pool), onFinding);
        } finally {
          await reader.close();
        }
      }),
  };
}

/**
 * SQLite found the file damaged (SQLITE_CORRUPT: a page it cannot read, a file cut short), with how
 * much of the audit log can still be read in order: damage to report (exit 2), not a wrong input.
 */
export class DamagedDatabaseError extends Error {
  constructor(
    readonly file: string,
    cause: Error,
  ) {
    const salvage = salvageDamagedAuditLog(file);
    const left =
      salvage.readable === 0
        ? 'none of its audit records can be read'
        : `records 1 to ${salvage.lastSeq} of its audit log can still be read in order${salvage.stoppedBy ? `; the reading stops there (${salvage.stoppedBy})` : ', and the damage lies elsewhere in the file'}`;
    super(`SQLite cannot read ${file} (${cause.message}, ${(cause as { code?: string }).code}): ${left}. Restore it, with its -wal file, from a backup (docs/faults.md)`);
    this.name = 'DamagedDatabaseError';
  }
}

function sqliteDatabase(dataDirOption: string | undefined, io: AuditCliIo): AuditDatabase {
  const { dataDir, file } = requireDatabase(dataDirOption, io);
  return {
    kind: 'sqlite',
    dataDir,
    where: file,
    openStore: () => openStoreForCli(file),
    check: async () => requireCountersignFile(file),
    // Verification only reads: it works on read-only storage too.
    verify: () =>
      unreadableAsInput(file, async () => {
        try {
          return await verifySqliteAuditLog(file);
        } catch (err) {
          // A file SQLite calls damaged is what verify is run to look at: how much is left, not SQLite's words alone.
          if (!String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_CORRUPT')) throw err;
          throw new DamagedDatabaseError(file, err as Error);
        }
      }, 'read'),
    checkpoints: async () => {
      const reader = openSqliteAuditReader(file);
      return {
        table: readCheckpointTable(reader.db),
        read: (filter: AuditFilter) => reader.read(filter),
        readAt: (seqs: readonly number[]) => reader.readAt(seqs),
        hashesAt: async (seqs: readonly number[]) => {
          const out = new Map<number, string>();
          for (const seq of seqs) {
            const h = recordHashAt(reader.db, seq);
            if (h !== undefined) out.set(seq, h);
          }
          return out;
        },
        missingCheckpointTriggers: async () => missingCheckpointTriggers(reader.db),
        close: async () => reader.close(),
      };
    },
    checkRequests: (onFinding) =>
      unreadableAsInput(file, async () => {
        const reader = openSqliteAuditReader(file);
        try {
          return await checkStoredRequests(sqliteStoredRequests(reader.db), onFinding);
        } finally {
          reader.close();
        }
      }, 'read'),
  };
}

/**
 * The installation's signing key, for a command that signs (a checkpoint, an export's manifest, an
 * evidence bundle): the data directory's key, when it is the one the audit database's latest
 * checkpoint was signed with. A data directory without one (a command run elsewhere than the
 * installation, without COUNTERSIGN_DATA_DIR) is refused rather than given a new key: its signature
 * would go into the shared log (PostgreSQL) or to auditors and contradict every checkpoint before.
 * Only a SQLite data directory whose log was never signed gets one, as the bot's first start would.
 */
export async function installationSigner(db: Pick<AuditDatabase, 'kind' | 'dataDir' | 'where'>, store: Pick<CliStore, 'auditAccess'>): Promise<AuditSigner> {
  const last = await store.auditAccess.lastCheckpoint();
  const where = 'run it with the data directory of the Countersign installation that holds it (COUNTERSIGN_DATA_DIR or --data-dir)';
  if (!fs.existsSync(path.join(db.dataDir, PRIVATE_KEY_FILE))) refuseNewKey(db, last, { missing: `(${PRIVATE_KEY_FILE})`, run: 'run it', outcome: 'Nothing was signed or recorded.' });
  const signer = loadOrCreateSigningKey(db.dataDir);
  if (last && last.keyId !== signer.keyId) {
    throw new AuditInputError(
      `the audit database ${db.where} is signed with key ${last.keyId} (its latest checkpoint, of record ${last.seq}), and ${db.dataDir} holds key ${signer.keyId}: ${where.replace('holds it', `holds key ${last.keyId}`)}. Nothing was signed or recorded.`,
    );
  }
  return signer;
}

/**
 * What the bot's start would refuse this log for, in words (checkContinuity: the checkpoint table
 * and file against the log, such as an end cut off past its last checkpoint or a record that is not
 * the one a checkpoint signed), asked before a command signs anything of it. Checkpoints of another
 * key, their records still as signed, are the wrong data directory rather than damage: refused as
 * installationSigner refuses a table another key signed.
 */
export async function signedLogProblems(db: Pick<AuditDatabase, 'dataDir'>, store: CliStore, signer: AuditSigner): Promise<string[]> {
  const checkpointFile = checkpointFileOf(db.dataDir);
  const check = () => checkContinuity({ store, verifier: signer, keyExisted: true, keyFile: path.join(db.dataDir, PRIVATE_KEY_FILE), checkpointFile });
  let finding = await check();
  // Read once more before calling it damage: a checkpoint the running bot wrote after the head was
  // read names a record past it, which a second look, reading the head first again, takes in.
  if (finding.problems.length > 0) finding = await check();
  if (finding.keyOnly) {
    throw new AuditInputError(
      `${checkpointFile} holds checkpoints signed with key ${finding.keyOnly.signedWith.join(' and ')}, and ${db.dataDir} holds key ${signer.keyId}: run it with the data directory of the Countersign installation that holds key ${finding.keyOnly.signedWith.join(' and ')} (COUNTERSIGN_DATA_DIR or --data-dir). Nothing was signed or recorded.`,
    );
  }
  return finding.problems;
}

/**
 * Whether a command may make a key pair in a data directory that holds none: only beside a SQLite log
 * that was never signed, as the bot's first start would. Otherwise (PostgreSQL, whose instances share
 * one data directory's key, or a log another key signed) it refuses, naming that key.
 */
export function refuseNewKey(
  db: Pick<AuditDatabase, 'kind' | 'dataDir' | 'where'>,
  last: { keyId: string } | undefined,
  said: { missing: string; run: string; outcome: string },
): void {
  if (db.kind !== 'postgres' && !last) return;
  const signed = last ? `, and the audit database ${db.where} is signed with key ${last.keyId}` : '';
  const shared = db.kind === 'postgres' ? '; every instance on one PostgreSQL database uses that directory\'s key, which the bot creates at its first start' : '';
  throw new AuditInputError(
    `${db.dataDir} holds no audit signing key ${said.missing}${signed}: ${said.run} with the data directory of the Countersign installation that holds it (COUNTERSIGN_DATA_DIR or --data-dir)${shared}. ${said.outcome}`,
  );
}
