/**
 * `countersign store ...`: moving an installation from SQLite to PostgreSQL, upgrading the
 * PostgreSQL schema as its owner, and an online backup of a SQLite store.
 */
import { plural } from '../domain/duration-text';
import { report } from './terminal-text';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { SettingsError } from '../settings';
import type { PostgresSettings } from '../settings';
import { copySqliteToPostgres, EXPECTED_SCHEMA_VERSION, openPostgresStore, PostgresStartupError, TargetNotEmptyError, verifyPostgresAuditLog } from '../store/postgres';
import type { CopyProgress, MigrateMode } from '../store/postgres';
import { backupSqliteStore, BackupTargetExistsError, openSqliteAuditReader, verifySqliteAuditLog } from '../store/sqlite';
import { postgresDatabaseConnection } from './audit-database';
import { AuditInputError, droppingOutputOnClosedPipe, processIo, progressLine } from './audit-io';
import { requireCountersignFile, requireDatabase, requireDatabaseFile, unreadableAsInput } from './database-file';
import { reportingInputErrors } from './failure-report';
import type { AuditCliIo } from './audit-io';
import { removeAbandonedPartials } from '../output-file';
import { checkpointFileOf } from '../audit/access/checkpoints';
import { AuditContinuityError, refuseEmptiedDatabase } from '../audit/access/continuity';
import { resolveDataDir } from './audit-options';
import { EXIT_DAMAGED, EXIT_OK, verificationReport } from './audit-report';

const DATA_DIR_HELP = 'data directory holding countersign.db (default: $COUNTERSIGN_DATA_DIR or ./data)';

function postgresSettings(io: AuditCliIo, command: string): PostgresSettings {
  let settings;
  try {
    settings = io.settings.readStore();
  } catch (err) {
    if (err instanceof SettingsError) throw new AuditInputError(err.message);
    throw err;
  }
  if (settings.kind !== 'postgres') {
    throw new AuditInputError(`${command} works on PostgreSQL: set COUNTERSIGN_STORE=postgres and COUNTERSIGN_DATABASE_URL (or the PG* variables) to the target database`);
  }
  return settings.postgres;
}

async function openTarget(
  io: AuditCliIo,
  command: string,
  migrate: MigrateMode,
  applied?: { version: number; name: string }[],
  beforeEmptySchema?: (found: { what: string; where: string }) => Promise<void>,
) {
  const connection = postgresDatabaseConnection(postgresSettings(io, command));
  try {
    // A command an operator runs and watches (a copy's COMMIT of a whole database): no answer wait.
    return await openPostgresStore({ connection, migrate, answerWaitMs: 0, ...(applied ? { applied } : {}), ...(beforeEmptySchema ? { beforeEmptySchema } : {}) });
  } catch (err) {
    if (err instanceof PostgresStartupError) throw new AuditInputError(err.message);
    throw err;
  }
}

/**
 * Upgrades the schema to the version this Countersign expects (run as the schema's owner). A schema
 * with none of Countersign's tables is first held against the data directory's checkpoint file, as
 * the bot's start does: an emptied database is refused (exit 2), not given empty tables, unless
 * `force` says the loss is to be accepted.
 */
async function migrateSchema(io: AuditCliIo, opts: { dataDir?: string; force?: boolean }): Promise<number> {
  const applied: { version: number; name: string }[] = [];
  const dataDir = resolveDataDir(opts.dataDir, io.settings, io.cwd);
  const checkpointFile = checkpointFileOf(dataDir);
  const emptied = opts.force
    ? undefined
    : (found: { what: string; where: string }) => refuseEmptiedDatabase(dataDir, checkpointFile, found, { kind: 'postgres', where: found.where });
  let store;
  try {
    store = await openTarget(io, 'store migrate-schema', 'always', applied, emptied);
  } catch (err) {
    if (!(err instanceof AuditContinuityError)) throw err;
    io.stderr.write(
      `error: ${err.message.replace(/^Countersign will not start: /, '')}\nNothing was created. Only to accept the loss (its tables made again, empty, then countersign audit accept-loss), run countersign store migrate-schema --force.\n`,
    );
    return EXIT_DAMAGED;
  }
  await store.close();
  if (applied.some((m) => m.version === 1) && !existsSync(checkpointFile)) {
    io.stderr.write(
      `Note: no checkpoint file at ${checkpointFile}: expected on a new installation, whose bots have not started yet. Otherwise whether this database held Countersign's records before could not be checked: run it with --data-dir (or COUNTERSIGN_DATA_DIR) naming the bots' data directory to have an emptied database refused instead.\n`,
    );
  }
  if (applied.length === 0) {
    report(io, `The schema of ${store.target} was already at the version this Countersign expects (${EXPECTED_SCHEMA_VERSION}): nothing to do.\n`);
  } else {
    const each = applied.map((m) => `  ${m.version}: ${m.name}`).join('\n');
    report(io, `Applied ${applied.length === 1 ? 'migration' : `${applied.length} migrations`} to the schema of ${store.target}:\n${each}\nIt is now at the version this Countersign expects (${EXPECTED_SCHEMA_VERSION}).\n`);
  }
  return EXIT_OK;
}

/** Copies a SQLite store into an empty PostgreSQL database, then verifies the chain there. */
async function migrateFromSqlite(fromOption: string, io: AuditCliIo): Promise<number> {
  postgresSettings(io, 'store migrate');
  const file = path.resolve(io.cwd, fromOption);
  requireDatabaseFile(file, { missing: `no SQLite database at ${file}` });
  const sourceHead = await unreadableAsInput(file, async () => {
    const reader = openSqliteAuditReader(file);
    try {
      return reader.head();
    } finally {
      reader.close();
    }
  }, 'read');
  const store = await openTarget(io, 'store migrate', 'auto');
  try {
    let shown: CopyProgress = { table: '', copied: 0, total: 0 };
    const progress = progressLine(io, () => `Copying ${shown.table}: ${shown.copied.toLocaleString('en-US')} of ${shown.total.toLocaleString('en-US')} ${shown.total === 1 ? 'row' : 'rows'}`);
    let result;
    try {
      result = await copySqliteToPostgres(file, store.pool, store.target, (p) => {
        if (p.table !== shown.table && shown.table) progress.done();
        shown = p;
        progress.update();
      });
    } catch (err) {
      if (err instanceof TargetNotEmptyError) throw new AuditInputError(err.message);
      throw err;
    }
    progress.done();
    io.stderr.write(`Copied ${Object.entries(result.rows).map(([t, n]) => `${plural(n, 'row')} of ${t}`).join(', ')} from ${file} to ${store.target}.\n`);
    const chain = await verifyPostgresAuditLog(store.pool, store.target);
    report(io, verificationReport(store.target, chain, chain.warnings));
    const same = (sourceHead?.seq ?? 0) === chain.lastSeq && (sourceHead?.hash ?? chain.headHash) === chain.headHash;
    if (!chain.ok || !same) {
      report(io, `The copy does not end where the source does (source head: record ${sourceHead?.seq ?? 0}): do not switch to it.\n`);
      return EXIT_DAMAGED;
    }
    report(io, 
      `Moved. Keep ${file} as it is, the record of the move: set it aside with a copy of the checkpoint file that vouches for it, and leave the checkpoint file itself where it is: PostgreSQL holds the same checkpoints (docs/postgresql.md, "Moving an existing SQLite installation"), then start the bots with COUNTERSIGN_STORE=postgres.\n`,
    );
    return EXIT_OK;
  } finally {
    await store.close();
  }
}

/** An online backup of the SQLite store, its hash chain verified (its checkpoints are checked where it is put back). */
async function backupStore(targetOption: string, opts: { dataDir?: string }, io: AuditCliIo): Promise<number> {
  // `store backup … | head`: the report's reader may close early; the copy is made all the same.
  droppingOutputOnClosedPipe(io.stdout);
  let kind;
  try {
    kind = io.settings.readStore().kind;
  } catch (err) {
    if (err instanceof SettingsError) throw new AuditInputError(err.message);
    throw err;
  }
  if (kind === 'postgres') {
    throw new AuditInputError('store backup copies a SQLite store; PostgreSQL is backed up by the server (point-in-time restore on Azure, or pg_dump): see docs/postgresql.md');
  }
  const { file } = requireDatabase(opts.dataDir, io);
  const target = path.resolve(io.cwd, targetOption);
  if (!existsSync(path.dirname(target))) throw new AuditInputError(`cannot write ${target}: its directory does not exist`);
  // The source first: a wrong data directory is named as such, and nothing is copied from it.
  requireCountersignFile(file);
  // The copy is made under <file>.partial-<pid> (backup.ts): one a killed backup left is removed here.
  for (const left of removeAbandonedPartials(target)) io.stderr.write(`Removed ${left}, left by an earlier backup that did not finish.\n`);
  let pages = { totalPages: 0, remainingPages: 0 };
  const progress = progressLine(io, () => `Backing up: ${pages.totalPages - pages.remainingPages} of ${pages.totalPages} pages`);
  try {
    await backupSqliteStore(file, target, (p) => {
      pages = p;
      progress.update();
    });
  } catch (err) {
    if (err instanceof BackupTargetExistsError) throw new AuditInputError(err.message);
    throw err;
  }
  progress.done();
  const chain = await verifySqliteAuditLog(target);
  report(io, `Backed up ${file} to ${target}.\n`);
  report(io, verificationReport(`${target} (the copy)`, chain, chain.warnings));
  // The data directory's checkpoint file may already reach past the copy (the bot goes on writing),
  // so the signatures are checked where the copy is put back, not here: said, not left unsaid.
  report(io, `Checkpoints: not checked here, only the copy's hash chain. To check the copy against the signed checkpoints, put it as countersign.db in a directory with copies of audit-signing-key.pub.pem and audit-checkpoints.jsonl from ${path.dirname(file)}, and run countersign audit verify --data-dir <that directory> (checkpoints signed after the copy was made are then reported as reaching past its end).\n`);
  return chain.ok ? EXIT_OK : EXIT_DAMAGED;
}

export function registerStoreCommands(program: Command, io: AuditCliIo = processIo()): Command {
  const store = program.command('store').description('Move, upgrade and back up the store (SQLite or PostgreSQL)');
  store
    .command('migrate')
    .description('Copy a SQLite store verbatim into an empty PostgreSQL database (COUNTERSIGN_STORE=postgres and its variables), then verify the chain there')
    .requiredOption('--from <sqlite-file>', 'required: the SQLite database to copy (e.g. data/countersign.db); stop the bot first')
    .action(async (opts: { from: string }) => {
      await reportingInputErrors(io, () => migrateFromSqlite(opts.from, io));
    });
  store
    .command('migrate-schema')
    .description('Create or upgrade the PostgreSQL schema to the version this Countersign expects (run as the schema owner)')
    .option('--data-dir <dir>', 'the bots\' data directory, whose checkpoint file tells an emptied database from a new one (default: $COUNTERSIGN_DATA_DIR or ./data)')
    .option('--force', 'create the tables in a database the checkpoint file shows was emptied (only to accept the loss)')
    .action(async (opts: { dataDir?: string; force?: boolean }) => {
      await reportingInputErrors(io, () => migrateSchema(io, opts));
    });
  store
    .command('backup')
    .description('Online backup of the SQLite store into a new file (safe while the bot runs); the copy\'s hash chain is verified as audit verify does, its checkpoints not (the output says how)')
    .argument('<file>', 'the new file')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (file: string, opts: { dataDir?: string }) => {
      await reportingInputErrors(io, () => backupStore(file, opts, io));
    });
  return store;
}
