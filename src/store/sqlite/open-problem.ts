/**
 * What a start that could not open the SQLite store is told: SQLite's own words ("database is
 * locked", "database disk image is malformed") with the file, what it means and what to do.
 */
import fs from 'node:fs';
import path from 'node:path';
import { outOfInodes, whyNotWritable } from './connection';
import { fileSizeLimitReached } from './file-size-limit';
import { isBusy } from './write-lock';

export class SqliteStartupError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'SqliteStartupError';
  }
}

/** The error in words for the person starting Countersign, or undefined when it is not SQLite's. */
export function sqliteOpenProblem(err: unknown, file: string, freeSpace: (dir: string) => number | undefined = freeBytes, freeInodes?: (dir: string) => number | undefined): SqliteStartupError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  const said = (err as Error).message;
  const words = (() => {
    if (isBusy(err)) return `the SQLite database ${file} is locked by another process (a sqlite3 shell, a backup tool or a command-line tool holding a write) for longer than COUNTERSIGN_STORE_LOCK_WAIT (${said}): let it finish or close it, then start again`;
    if (code.startsWith('SQLITE_FULL')) return `the disk holding ${file} is full (${said}): free some space, then start again (docs/faults.md)`;
    if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) {
      return `the SQLite database ${file} is damaged (${said}): restore it, with its -wal file, from a backup (docs/faults.md); countersign audit verify says how much of its audit log can still be read`;
    }
    if (code.startsWith('SQLITE_IOERR')) {
      // A write cut short by a disk that filled up comes back as an I/O error, not SQLITE_FULL.
      const free = freeSpace(path.dirname(path.resolve(file)));
      if (free !== undefined && free < NEARLY_FULL_BYTES) {
        return `the disk holding ${file} is full or nearly so (${Math.floor(free / 1024)} KiB free; ${said}): free some space, then start again (docs/faults.md)`;
      }
      // A file size limit (ulimit -f) makes a write past it fail as EFBIG, an I/O error to SQLite too.
      const limited = fileSizeLimitReached(file, LIMIT_MARGIN_BYTES);
      if (limited) return `the SQLite database ${file} cannot grow: ${limited} (${said}): raise the limit, then start again (docs/faults.md)`;
      return `the disk holding ${file} failed a read or write (${said}): check the disk, then start again`;
    }
    const noInodes = code.startsWith('SQLITE_CANTOPEN') ? outOfInodes(file, freeInodes) : undefined;
    // (openWritable's words may say it already: SQLite's own are "unable to open database file".)
    if (noInodes) return `Countersign cannot open the SQLite database ${file} (${said.includes(noInodes) ? 'unable to open database file' : said}): ${noInodes}`;
    if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) {
      // Which of the directory, the file, its -wal and -shm cannot be written, when the file system says.
      const named = (whyNotWritable(file, Object.assign(new Error(said), { code: code.replace(/^(SQLITE_[A-Z]+).*$/, '$1') })) as Error).message;
      const dir = path.dirname(path.resolve(file));
      if (!named.endsWith(said)) return named;
      return `Countersign cannot write the SQLite database ${file} (${said}): the user it runs as must be able to write that file, its -wal and -shm files beside it, and the directory ${dir} (SQLite makes and removes those files there); check their owner and mode (ls -l ${dir}), and that the disk is not mounted read-only`;
    }
    return `the SQLite database ${file} cannot be used (${said})`;
  })();
  return new SqliteStartupError(words, code);
}

/** Below this much free space, an I/O error at start is taken for a full disk (SQLite's WAL and a checkpoint need a few MB). */
const NEARLY_FULL_BYTES = 4 * 1024 * 1024;

/** Within this much of the file size limit, an I/O error at start is taken for the limit reached. */
const LIMIT_MARGIN_BYTES = 1024 * 1024;

/** Free bytes for an unprivileged user on the file system holding `dir`, when it can be read. */
function freeBytes(dir: string): number | undefined {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
