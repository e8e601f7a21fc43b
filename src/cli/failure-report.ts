/**
 * How a command's failure is told: a user's mistake (AuditInputError, a signing key problem) as one
 * line and exit 1, an emptied database as exit 2, and the disk or a file's permissions in words
 * (what stopped the command, and whose the files are), never as a stack trace.
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditContinuityError } from '../audit/access/continuity';
import { SigningKeyError } from '../audit/access/signing';
import { AuditInputError, type AuditCliIo } from './audit-io';
import { EXIT_DAMAGED, EXIT_INPUT } from './audit-report';
import { shownReport } from './terminal-text';

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
