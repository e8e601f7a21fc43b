/**
 * The group committer's looks at the database file (file-watch.ts): before each COMMIT, after a
 * storage error, between writes, and before a batch when an earlier look had to be put off. The
 * watch's one question to SQLite, whether a checkpoint emptied the -wal, cannot be answered inside a
 * transaction: the look is then put off to the next one outside (AskOutsideTransaction).
 */
import type Database from 'better-sqlite3';
import { DatabaseFileGoneError, DatabaseFileWatch } from './file-watch';
import { isStorageFault } from './write-lock';

/** The file watch needs SQLite's answer outside a transaction (walWasReset); nothing was decided. */
export class AskOutsideTransaction extends Error {
  constructor() {
    super('the write-ahead log was found emptied inside a transaction: looked at again outside one');
    this.name = 'AskOutsideTransaction';
  }
}

/** The database file was written since the last look (a checkpoint, or a copy over it): its head is read from the file first. */
export class LookAtFileFirst extends Error {
  constructor() {
    super('the database file was written since the last commit: its audit log is looked at again before this one');
    this.name = 'LookAtFileFirst';
  }
}

export class DatabaseFileChecks {
  private readonly fileWatch: DatabaseFileWatch;
  /** The next flush looks at the files before it begins a transaction (walWasReset). */
  private recheckFile = false;

  constructor(
    private readonly db: Database.Database,
    file: string,
  ) {
    this.fileWatch = new DatabaseFileWatch(file, () => this.walWasReset());
  }

  /**
   * Before a batch: the -wal was found emptied inside the last try's transaction, where SQLite cannot
   * be asked whether a checkpoint did it (walWasReset): asked now, outside one. What is wrong, in words.
   */
  beforeBatch(): string | undefined {
    if (!this.recheckFile) return undefined;
    this.recheckFile = false;
    return this.fileWatch.check();
  }

  /**
   * Just before COMMIT: throws DatabaseFileGoneError when the file is gone (sticky: once found gone,
   * every later check says so), LookAtFileFirst when it was written since the last look, and
   * AskOutsideTransaction when the look must be put off (then call lookBeforeNextBatch).
   */
  beforeCommit(): void {
    const gone = this.fileWatch.check();
    if (gone) throw new DatabaseFileGoneError(gone);
    if (this.fileWatch.takeWritten()) throw new LookAtFileFirst();
  }

  /** After AskOutsideTransaction: the next batch looks at the files before it begins a transaction. */
  lookBeforeNextBatch(): void {
    this.recheckFile = true;
  }

  /** Between writes (readiness): what is wrong, in words, or undefined. */
  betweenWrites(): string | undefined {
    // (Asked between writes, never inside one's transaction; if it were, the next write asks again.)
    return this.lookOrPutOff();
  }

  /** Whether the database file was written since the last look (file-watch.ts takeWritten). */
  takeWritten(): boolean {
    return this.fileWatch.takeWritten();
  }

  /** After a storage error: the database's files changed under the connection, in words, or undefined. */
  goneAfter(err: unknown): DatabaseFileGoneError | undefined {
    if (!isStorageFault(err)) return undefined;
    const problem = this.lookOrPutOff();
    return problem ? new DatabaseFileGoneError(problem) : undefined;
  }

  private lookOrPutOff(): string | undefined {
    try {
      return this.fileWatch.check();
    } catch (err) {
      if (!(err instanceof AskOutsideTransaction)) throw err;
      this.recheckFile = true;
      return undefined;
    }
  }

  /**
   * Whether SQLite's index of the write-ahead log agrees that the log, found emptied, was emptied by
   * a checkpoint (another process's wal_checkpoint(TRUNCATE)): a PASSIVE checkpoint then finds no
   * frame in it. On a log cut by hand the index still names frames: the checkpoint counts them, or
   * fails reading them (SQLITE_IOERR_SHORT_READ) and copies nothing. SQLite runs no checkpoint
   * inside a transaction: there the question is put off (AskOutsideTransaction).
   */
  private walWasReset(): boolean {
    if (this.db.inTransaction) throw new AskOutsideTransaction();
    try {
      const [frames] = this.db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
      return frames.busy === 0 && frames.log === 0;
    } catch {
      return false;
    }
  }
}
