/** What the audit commands share: where they read and write, and how a user's mistake is reported. */
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { ExportIncompleteError } from '../audit/access/export';
import { SigningKeyError } from '../audit/access/signing';
import { databaseFile, readCliSettings, type CliSettings } from '../settings';
import { emptiedDatabaseFile, NotACountersignDatabaseError, openSqliteAuditReader, openSqliteStore, SharedIndexMissingError } from '../store/sqlite';
import type { SqliteStore } from '../store/sqlite';
import { resolveDataDir } from './audit-options';
import { existsAt, OutputTakenError, partialNameOf, placeOutput } from '../output-file';
import { EXIT_DAMAGED, EXIT_INPUT } from './audit-report';
import { AuditContinuityError } from '../audit/access/continuity';
import { shownReport } from './terminal-text';

/** Where the commands read and write; tests pass their own. */
export interface AuditCliIo {
  stdout: Writable;
  /** `isTTY` set: progress is shown there. */
  stderr: Writable & { isTTY?: boolean };
  /** The environment, as the settings read it. */
  settings: CliSettings;
  cwd: string;
  setExitCode(code: number): void;
  /** Who runs the command, as recorded with what it does (default: user@host of the process). */
  operator?: string;
}

export const processIo = (settings: CliSettings = readCliSettings()): AuditCliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  settings,
  cwd: process.cwd(),
  setExitCode: (code) => {
    process.exitCode = code;
  },
});

export function operatorOf(io: AuditCliIo): string {
  if (io.operator) return io.operator;
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    user = io.settings.user ?? 'unknown';
  }
  return `${user}@${os.hostname()}`;
}

/**
 * A report on standard output whose reader stopped reading (`countersign audit verify | head -1`):
 * the rest of it is dropped without a stack trace, and the exit code still gives the result. The
 * error arrives after the write returned, so the listener stays for the life of the stream.
 */
export function droppingOutputOnClosedPipe(out: Writable): void {
  if (!out.listeners('error').includes(closedPipe)) out.on('error', closedPipe);
}

function closedPipe(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
}

/** A problem the user can fix, reported as one line and exit code 1 (never a stack trace). */
export class AuditInputError extends Error {}

/**
 * `readsOnly`: the command records nothing in the database (audit verify), so a storage failure is
 * told as what stopped the read, not as something it did left unrecorded.
 */
export async function reportingInputErrors(io: AuditCliIo, run: () => Promise<number>, options: { readsOnly?: boolean } = {}): Promise<void> {
  try {
    io.setExitCode(await run());
  } catch (err) {
    const storage = (options.readsOnly ? readProblem(err) : storageProblem(err)) ?? permissionProblem(err);
    if (storage) {
      io.stderr.write(`error: ${storage}\n`);
      io.setExitCode(EXIT_INPUT);
      return;
    }
    if (err instanceof AuditContinuityError) {
      // An emptied database (PostgreSQL: a schema without Countersign's tables, where the checkpoint
      // file says records were): refused with nothing made in it, as the bot's start refuses it.
      io.stderr.write(shownReport(`error: ${err.message.replace(/^Countersign will not start: /, '')}\n`));
      io.setExitCode(EXIT_DAMAGED);
      return;
    }
    const known = err instanceof AuditInputError || err instanceof SigningKeyError;
    if (!known) throw err;
    io.stderr.write(shownReport(`error: ${err.message}\n`));
    io.setExitCode(EXIT_INPUT);
  }
}

/**
 * A file of the data directory this user may not read (EACCES, EPERM), in words: Countersign makes
 * the directory 0700 and the database 0600, so the CLI run as another user than the bot's meets
 * this; it is told whose they are and to run the command as that user. Undefined for other errors.
 * (`stat` and `passwd` are the file system's; tests give others.)
 * @internal
 */
export function permissionProblem(err: unknown, stat: (p: string) => { uid: number; mode: number } = statSync, passwd: () => string = () => readFileSync('/etc/passwd', 'utf8')): string | undefined {
  const e = err as NodeJS.ErrnoException | null;
  if ((e?.code !== 'EACCES' && e?.code !== 'EPERM') || typeof e.path !== 'string') return undefined;
  let me = 'this user';
  try {
    me = `this user (${os.userInfo().username})`;
  } catch {
    // no name to give
  }
  // The nearest folder above the file that can be looked at: the data directory, usually.
  let owner = '';
  let user = '<the bot\'s user>';
  for (let dir = path.dirname(e.path); ; dir = path.dirname(dir)) {
    try {
      const { uid, mode } = stat(dir);
      const name = userName(uid, passwd);
      if (name) user = name;
      owner = `; ${dir} is mode ${(mode & 0o777).toString(8).padStart(4, '0')}, owned by ${name ? `${name} (uid ${uid})` : `uid ${uid}`}`;
      break;
    } catch {
      if (path.dirname(dir) === dir) break;
    }
  }
  return `${me} may not read ${e.path} (${e.code})${owner}. Countersign makes its data directory 0700 and its database 0600, for the user the bot runs as alone: run countersign as that user (sudo -u ${user} countersign …, see docs/cli.md), or give --data-dir a copy this user may read.`;
}

/** The name /etc/passwd gives a uid, if any. */
function userName(uid: number, passwd: () => string): string | undefined {
  try {
    for (const line of passwd().split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id === String(uid)) return name;
    }
  } catch {
    // no passwd file (a container without one): the uid is said alone
  }
  return undefined;
}

/**
 * The audit database's storage failing under a command (SQLite's disk I/O error, a full disk, a file
 * past the process's size limit), in words: the command records what it does there, so what it did
 * is not recorded, and the disk is what to look at. Undefined for any other error.
 */
function storageProblem(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^SQLITE_(FULL|IOERR)/.test(code)) return undefined;
  const why = code.startsWith('SQLITE_FULL') ? 'its disk is full' : 'the disk failed a write, or the file reached a size limit (ulimit -f)';
  return `Countersign could not write its audit database (${(err as Error).message}, ${code}): ${why}. This command records what it does there, so what it did is not recorded (an export already written out stays, without its audit.exported record); free space or check the disk, then run it again.`;
}

/**
 * The same failure under a command that only reads. SQLite opens a database in WAL mode with its
 * -wal and -shm files beside it, and makes them when they are missing (as after a clean stop): the
 * -shm file needs 32 KiB, so a full disk stops even a read (SQLITE_IOERR_SHMSIZE, SQLITE_FULL).
 */
function readProblem(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^SQLITE_(FULL|IOERR)/.test(code)) return undefined;
  return `Countersign could not read its audit database (${(err as Error).message}, ${code}): SQLite needs a little room on the disk beside the database even to read it (its -wal and -shm files, 32 KiB and more), so its disk is full, or failed a read or write. This command changes nothing; free some space or check the disk, then run it again.`;
}

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

/** The output path, checked: its directory must exist. */
export function outputPath(io: AuditCliIo, file: string): string {
  const target = path.resolve(io.cwd, file);
  if (!existsSync(path.dirname(target))) throw new AuditInputError(`cannot write ${target}: its directory does not exist`);
  return target;
}

/**
 * Writes beside the target, then `commit` (which may still fail, e.g. the audit record), then
 * moves it into place: a failed export never leaves a file, half-written or unrecorded. Without
 * `replace`, a file that appeared at the target while it was written is never replaced: found
 * before `commit`, nothing is recorded and nothing kept; found in the moment after it (the export
 * is recorded), the export is kept under its temporary name, which the error gives.
 *
 * With `recordedAs`, the complete file is renamed `<temp>.<recordedAs(result)>` just before
 * `commit`, so that a process killed between the commit and the move leaves a file that names its
 * record: the next command can tell a recorded export from an unfinished one
 * (`abandonedRecordedOutputs`).
 */
export async function writeFileAtomically<T>(
  target: string,
  write: (out: Writable) => Promise<T>,
  commit: (result: T) => Promise<void>,
  replace = false,
  recordedAs?: (result: T) => string,
): Promise<T> {
  let temp = partialNameOf(target);
  const out = createWriteStream(temp, { flags: 'wx' });
  let committed = false;
  try {
    const result = await write(out);
    out.end();
    await finished(out);
    if (!replace && existsAt(target)) throw new OutputTakenError(target);
    if (recordedAs) {
      const named = `${temp}.${recordedAs(result)}`;
      renameSync(temp, named);
      temp = named;
    }
    await commit(result);
    committed = true;
    placeOutput(temp, target, replace);
    return result;
  } catch (err) {
    out.destroy();
    if (err instanceof OutputTakenError && committed && err.kept) {
      throw new AuditInputError(`${target} appeared while the export was written and was not replaced; the export is recorded and kept as ${err.kept}`);
    }
    rmSync(temp, { force: true });
    if (err instanceof OutputTakenError) throw new AuditInputError(`${target} appeared while the export was written: nothing was exported or recorded; pass --force to replace it, or choose another --out`);
    const cause = (err instanceof ExportIncompleteError ? err.cause : err) as NodeJS.ErrnoException;
    if (cause?.code && cause.syscall) throw new AuditInputError(`cannot write ${target}: ${cause.message}`);
    throw err;
  }
}

/**
 * A small file (a manifest) written beside the target and renamed into place: never half a file under
 * its name, and a link standing there is replaced, not followed.
 */
export function writeTextAtomically(target: string, text: string, replace = false): void {
  const temp = partialNameOf(target);
  try {
    writeFileSync(temp, text, { flag: 'wx' });
    placeOutput(temp, target, replace);
  } catch (err) {
    if (err instanceof OutputTakenError) {
      rmSync(temp, { force: true });
      throw new Error(`${target} appeared meanwhile and was not replaced (pass --force to replace it)`);
    }
    // A temporary file of that name that was there before is not ours to remove.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') rmSync(temp, { force: true });
    throw err;
  }
}

/** Progress on a terminal, at most a few times a second; nothing when stderr is not one. */
export function progressLine(io: AuditCliIo, describe: () => string): { update(): void; done(): void } {
  if (!io.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update() {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      io.stderr.write(`\r${describe()}\u001b[K`);
    },
    done() {
      if (shown) io.stderr.write(`\r${describe()}\u001b[K\n`);
    },
  };
}
