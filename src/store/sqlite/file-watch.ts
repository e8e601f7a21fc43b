/**
 * Whether the database file the writer has open is still the one at its path. SQLite keeps writing
 * to a file that was deleted, replaced or truncated under it: its commits succeed, readers on the same
 * connection see them, and all of it is gone at the next start. The writer asks before every COMMIT
 * (stat calls of the file, its -wal and its -shm: a file or log cut short in place is found by its
 * size, which never shrinks in use), readiness asks on every probe; what it finds stops the writes
 * (file-checks.ts, group-commit.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { INSTANCE_LOCK_FILE } from './instance-lock';

/** The database file (or its write-ahead log) is no longer the one the writer opened. */
export class DatabaseFileGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseFileGoneError';
  }
}

interface Identity {
  dev: number;
  ino: number;
}

function statOf(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const same = (a: Identity, b: Identity) => a.dev === b.dev && a.ino === b.ino;

/** When a file's content was last written: ctime too, which a copy that keeps the old mtime (cp -p) still moves. */
const writtenAt = (s: fs.Stats): readonly [number, number] => [s.mtimeMs, s.ctimeMs];

export class DatabaseFileWatch {
  private readonly file: string;
  private readonly opened: Identity;
  /** The largest size seen: the file never shrinks in use (no VACUUM, no auto_vacuum). */
  private size: number;
  /** The write-ahead log, once seen: SQLite keeps it while a connection is open. */
  private wal: Identity | undefined;
  /** The largest size of the write-ahead log seen. */
  private walSize = 0;
  /**
   * The shared-memory index, once seen. It holds the write lock every process on the database
   * shares: once it is deleted or replaced, another process makes a new one and writes beside this
   * one without waiting for it, and the two fork the log.
   */
  private shm: Identity | undefined;
  /** The data directory's instance lock file, when a bot holds it (instance-lock.ts): deleted, a second bot could take a new one. */
  private readonly lock: Identity | undefined;
  private problem: string | undefined;
  /** When the file's content last changed (mtime, ctime): only SQLite's checkpoints write it, or someone copying over it. */
  private written: readonly [number, number];
  /** The file was written since the last takeWritten(). */
  private writtenSince = false;

  /**
   * Call right after the connection opened the file. `walReset`, asked only when the -wal is found
   * emptied (0 bytes, after holding more), says whether SQLite's own index agrees that the log is
   * empty: a checkpoint run by another process (`PRAGMA wal_checkpoint(TRUNCATE)` in a sqlite3
   * shell) copies every frame into the database first, then empties the log; a log cut by hand
   * leaves the index naming frames the file no longer holds.
   */
  constructor(
    file: string,
    private readonly walReset?: () => boolean,
  ) {
    this.file = path.resolve(file);
    const s = statOf(this.file);
    if (!s) throw new DatabaseFileGoneError(`the database file ${this.file} is gone right after it was opened`);
    this.opened = { dev: s.dev, ino: s.ino };
    this.size = s.size;
    this.written = writtenAt(s);
    const lock = statOf(path.join(path.dirname(this.file), INSTANCE_LOCK_FILE));
    if (lock) this.lock = { dev: lock.dev, ino: lock.ino };
  }

  /** What is wrong, in words, or undefined; once something was wrong it stays wrong. */
  check(): string | undefined {
    if (this.problem) return this.problem;
    this.problem = this.look();
    return this.problem;
  }

  /**
   * Whether the database file itself was written since this was last asked (seen by the stats of
   * check(), so it costs nothing more). Only a checkpoint writes it in WAL mode, or someone copying
   * an older copy over it in place (`cp old.db countersign.db`: the same file, maybe the same size),
   * which the connection's page cache hides: the writer then reads its head record from the file.
   */
  takeWritten(): boolean {
    const was = this.writtenSince;
    this.writtenSince = false;
    return was;
  }

  private look(): string | undefined {
    const where = `the database file ${this.file}`;
    const then = 'while Countersign had it open: what was committed since it opened is not in the file at that path. Nothing more is written; restart Countersign (its start checks the audit log against the signed checkpoints, docs/faults.md)';
    const s = statOf(this.file);
    if (!s) return `${where} was deleted ${then}`;
    if (!same(s, this.opened)) return `${where} was replaced by another file ${then}`;
    if (s.size < this.size) return `${where} was cut from ${this.size} to ${s.size} bytes ${then}`;
    this.size = s.size;
    if (s.mtimeMs !== this.written[0] || s.ctimeMs !== this.written[1]) {
      this.written = writtenAt(s);
      this.writtenSince = true;
    }
    const wal = statOf(`${this.file}-wal`);
    if (this.wal && !wal) return `the write-ahead log ${this.file}-wal was deleted ${then}`;
    if (this.wal && wal && !same(wal, this.wal)) return `the write-ahead log ${this.file}-wal was replaced by another file ${then}`;
    if (wal) this.wal ??= { dev: wal.dev, ino: wal.ino };
    const shm = statOf(`${this.file}-shm`);
    const forks = 'while Countersign had the database open: other processes no longer share its write lock, so what they and Countersign write could fork the audit log. Nothing more is written; restart Countersign (its start checks the audit log against the signed checkpoints, docs/faults.md)';
    if (this.shm && !shm) return `the shared-memory file ${this.file}-shm was deleted ${forks}`;
    if (this.shm && shm && !same(shm, this.shm)) return `the shared-memory file ${this.file}-shm was replaced by another file ${forks}`;
    if (shm) this.shm ??= { dev: shm.dev, ino: shm.ino };
    // A log cut short (truncated in place: same file, fewer bytes) loses committed frames, and the
    // next commit would write beyond a hole of zeros that a checkpoint then copies into the database.
    // The log never shrinks while this writer has it open: SQLite starts it again from its beginning
    // after a checkpoint, and shortens it only for journal_size_limit or wal_checkpoint(TRUNCATE),
    // which Countersign never sets or runs; another process may run the latter (walReset above). (Its size is read by stat: reading the -shm index through
    // a descriptor of its own and closing it would drop SQLite's POSIX locks on that file.)
    if (wal) {
      const emptiedByCheckpoint = wal.size === 0 && wal.size < this.walSize && this.walReset?.() === true;
      if (wal.size < this.walSize && !emptiedByCheckpoint) return `the write-ahead log ${this.file}-wal was cut from ${this.walSize} to ${wal.size} bytes ${then}`;
      this.walSize = wal.size;
    }
    if (this.lock) {
      const lockFile = path.join(path.dirname(this.file), INSTANCE_LOCK_FILE);
      const now = statOf(lockFile);
      if (!now || !same(now, this.lock)) {
        return `the instance lock file ${lockFile} was ${now ? 'replaced by another file' : 'deleted'} while Countersign ran: a second Countersign could start on this data directory beside it. Nothing more is written; restart Countersign (and never delete that file while one runs)`;
      }
    }
    return undefined;
  }
}
