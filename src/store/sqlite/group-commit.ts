/**
 * Group commit: every write (audit appends, request inserts and updates, conversation writes)
 * submitted in the same turn of the event loop shares one transaction and so one fsync. Each write
 * runs in its own SAVEPOINT, so one that fails (a CAS conflict, a duplicate id) is rolled back alone
 * and the others still commit. The chain head lives in memory and advances only for writes that
 * committed; every caller's promise settles only after COMMIT returned (synchronous=FULL: on disk).
 */
import type Database from 'better-sqlite3';
import type { ChainHead } from '../../domain/audit';
import { AuditLogRewrittenError } from '../audit-rewritten';
import { AskOutsideTransaction, DatabaseFileChecks, LookAtFileFirst } from './file-checks';
import { DatabaseFileGoneError } from './file-watch';
import { TransactionChain, type WriteTx } from './transaction-chain';
import { DEFAULT_LOCK_WAIT_LIMIT_MS, WriteLockTaker, isStorageFault } from './write-lock';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface PendingWrite {
  run: (tx: WriteTx) => unknown;
  /** False only for a write of a single statement, which SQLite already undoes alone when it fails. */
  savepoint: boolean;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** A write submitted after the writer began to close (group commit, or the writer thread's main side). */
export class StoreClosedError extends Error {
  constructor(file: string) {
    super(`the store ${file} is closed`);
    this.name = 'StoreClosedError';
  }
}

export class GroupCommitWriter {
  private queue: PendingWrite[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly lock: WriteLockTaker;
  private closed = false;
  /** Set once the database file turned out gone, or the log rewritten: every later write is refused with it. */
  private gone: DatabaseFileGoneError | AuditLogRewrittenError | undefined;
  /** The log found gone back below what this writer committed or saw (followOtherWriters). */
  private wentBack: DatabaseFileGoneError | undefined;
  /** Fault injection (StoreWriter.stallCommits): runs just before each COMMIT, on the committing thread. */
  beforeCommit: (() => void) | undefined;
  /**
   * Told once, after the writes of that transaction were refused, when the database file turned out
   * deleted, replaced or cut while open (file-watch.ts): nothing more can be written, Countersign
   * must restart.
   */
  onFileGone: ((err: DatabaseFileGoneError | AuditLogRewrittenError) => void) | undefined;
  private readonly files: DatabaseFileChecks;
  /** The next batch first reads the head record from the file, not the page cache (LookAtFileFirst). */
  private readFromFile = false;
  /** How the last transaction ended (readiness reads it), `at` on performance.now (an age is read off it). */
  lastOutcome: { ok: true; at: number } | { ok: false; at: number; error: unknown } | undefined;
  /** Head as committed. */
  private committedHead: ChainHead | undefined;
  /**
   * The highest record this writer committed or saw as the head: when another connection has
   * committed since, the log must still hold it, with the same hash, before anything is appended.
   */
  private witness: ChainHead | undefined;
  /** The time of the head record as committed: no record is sealed earlier. */
  private committedTime: string | undefined;
  private readonly chain: TransactionChain;
  /** PRAGMA data_version after our last look: it changes only when another connection commits. */
  private dataVersion: number;

  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;
  private readonly readDataVersion: Database.Statement;
  private readonly readHead: Database.Statement;
  private readonly readHashAt: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    newId: () => string,
    /** How long writes wait for another process to release the write lock before they fail. */
    readonly lockWaitLimitMs = DEFAULT_LOCK_WAIT_LIMIT_MS,
  ) {
    this.files = new DatabaseFileChecks(db, file);
    // A write's savepoint keeps the pages it changes in a journal of its own, which SQLite moves to a
    // new temporary file (in /var/tmp) once it passes 64 KiB, as the click approving a request did.
    // With no file descriptor left (ulimit -n), or no writable temporary directory (a read-only root
    // file system), that write failed as "unable to open database file", and the person was told the
    // disk was full or failing. Kept in memory, a write opens no file (test/faults/file-descriptors.test.ts).
    db.pragma('temp_store = MEMORY');
    this.lock = new WriteLockTaker(db, file, lockWaitLimitMs, () => this.flush());
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT write');
    this.release = db.prepare('RELEASE write');
    this.rollbackTo = db.prepare('ROLLBACK TO write');
    this.readDataVersion = db.prepare('PRAGMA data_version').pluck();
    this.readHead = db.prepare('SELECT seq, hash, time FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.readHashAt = db.prepare('SELECT hash FROM audit_log WHERE seq = ?').pluck();
    this.chain = new TransactionChain(db, file, newId);
    this.committedHead = this.loadHead();
    this.witness = this.committedHead;
    this.dataVersion = this.readDataVersion.get() as number;
  }

  /** The highest record this writer committed or saw, without looking at the file again (it may be gone). */
  lastWitnessed(): ChainHead | undefined {
    return this.witness;
  }

  /** The committed head, including what another process may have appended since our last write. */
  head(): ChainHead | undefined {
    this.followOtherWriters();
    return this.committedHead;
  }

  private followOtherWriters(): void {
    if (this.gone instanceof AuditLogRewrittenError || (this.gone && this.gone === this.wentBack)) throw this.gone;
    // The data version before the file was looked at: the same after, no connection committed (checkpoints leave it).
    const seen = this.dataVersion;
    const fromFile = this.readFromFile;
    if (fromFile) {
      // The database file was written since the last look (file-watch.ts takeWritten): a checkpoint,
      // or an older copy put over it in place, which this connection's page cache would hide (its
      // commits would then go on from the head in memory, onto the old log). The cache is dropped, so
      // the head record is read from the file (and the -wal), and the log's head is looked at below.
      this.readFromFile = false;
      this.db.pragma('shrink_memory');
      this.dataVersion = -1;
    }
    const version = this.readDataVersion.get() as number;
    if (version !== this.dataVersion) {
      // Another connection committed: it may append, never take back what is in the log.
      const witness = this.witness;
      const found = witness ? (this.readHashAt.get(witness.seq) as string | undefined) : undefined;
      // No other connection committed, and the file was written: put over by something else than SQLite.
      if (fromFile && version === seen && witness && found === undefined) {
        const now = this.readHead.get() as ChainHead | undefined;
        if ((now?.seq ?? 0) < witness.seq) {
          const err = new DatabaseFileGoneError(
            `the audit log in ${this.file} went back while Countersign had it open: this instance had committed or seen it reach record ${witness.seq}, and it now ends at ${now ? `record ${now.seq}` : 'no record'}, so records ${(now?.seq ?? 0) + 1} to ${witness.seq} are missing from it (an older copy of the database put over the file, or its records deleted). ` +
              'Nothing more is written. Restore the database, with its -wal file, from a backup that holds them, then restart Countersign (its start checks the audit log against the signed checkpoints, docs/faults.md)',
          );
          this.wentBack = err;
          this.fileGone(err);
          throw err;
        }
      }
      if (witness && found !== witness.hash) {
        const err = new AuditLogRewrittenError(this.file, witness, found);
        this.fileGone(err);
        throw err;
      }
      this.committedHead = this.loadHead();
      this.witness = this.committedHead ?? witness;
      this.dataVersion = version;
    }
  }

  submit<T>(run: (tx: WriteTx) => T, options: { singleStatement?: boolean } = {}): Promise<T> {
    if (this.gone) return Promise.reject(this.gone);
    if (this.closed) return Promise.reject(new StoreClosedError(this.file));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, savepoint: !options.singleStatement, resolve: resolve as (value: unknown) => void, reject });
      if (!this.lock.waiting()) this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /**
   * Commits everything queued so far, synchronously; while another process holds the write lock it
   * leaves them queued for a timer to try again (takeLock).
   */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;

    const gone = this.files.beforeBatch();
    if (gone) {
      const error = new DatabaseFileGoneError(gone);
      this.lastOutcome = { ok: false, at: performance.now(), error };
      for (const w of batch) w.reject(error);
      this.fileGone(error);
      return;
    }
    if (!this.takeLock(batch)) return;
    let outcomes: Outcome[];
    try {
      outcomes = this.runBatch(batch);
      this.beforeCommit?.();
      this.files.beforeCommit();
      this.commit.run();
    } catch (err) {
      // The transaction as a whole failed (disk full, I/O error, lock timeout): nothing committed.
      // Re-read the head from disk before the next batch rather than trust memory.
      this.chain.moveTo({ head: this.committedHead, time: this.committedTime });
      if (err instanceof LookAtFileFirst) {
        // Nothing committed: the batch goes again at once, on the log as the file now holds it (the
        // data version kept: whether another connection committed since tells a copy from a rewrite).
        if (this.db.inTransaction) this.rollback.run();
        this.readFromFile = true;
        this.queue = [...batch, ...this.queue];
        this.flush();
        return;
      }
      this.dataVersion = -1;
      if (err instanceof AskOutsideTransaction) {
        // Nothing committed: the batch goes again at once, after the -wal was looked at outside a
        // transaction (once: a log a checkpoint emptied is then the size the watch expects).
        if (this.db.inTransaction) this.rollback.run();
        this.files.lookBeforeNextBatch();
        this.queue = [...batch, ...this.queue];
        this.flush();
        return;
      }
      this.lastOutcome = { ok: false, at: performance.now(), error: err };
      // An I/O error or a malformed page while running the batch may be the files changed under the
      // connection (a log cut short): asked, so that it stops writes as when the check before COMMIT finds it.
      const gone = err instanceof DatabaseFileGoneError || err instanceof AuditLogRewrittenError ? err : this.files.goneAfter(err);
      for (const w of batch) w.reject(gone ?? err);
      if (this.db.inTransaction) this.rollback.run();
      if (gone) this.fileGone(gone);
      return;
    }
    ({ head: this.committedHead, time: this.committedTime } = this.chain.place());
    if (this.committedHead) this.witness = this.committedHead;
    // A write that failed alone because the disk is full (SQLite kept the transaction) counts too.
    const fault = outcomes.find((o) => !o.ok && isStorageFault(o.error));
    this.lastOutcome = fault && !fault.ok ? { ok: false, at: performance.now(), error: fault.error } : { ok: true, at: performance.now() };
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o.ok) w.resolve(o.value);
      else w.reject(o.error);
    });
  }

  /**
   * BEGIN IMMEDIATE without waiting. While another process holds the lock the batch goes back to the
   * head of the queue (later writes join it) and a timer tries again, until the limit has passed.
   */
  private takeLock(batch: PendingWrite[]): boolean {
    const lock = this.lock.take(this.closed);
    if (lock === 'taken') return true;
    if (lock !== 'waiting' && !lock.busy) {
      for (const w of batch) w.reject(lock.error);
      this.lastOutcome = { ok: false, at: performance.now(), error: lock.error };
      return false;
    }
    this.queue = [...batch, ...this.queue];
    if (lock === 'waiting') return false;
    this.lastOutcome = { ok: false, at: performance.now(), error: lock.error };
    const all = this.queue;
    this.queue = [];
    for (const w of all) w.reject(lock.error);
    return false;
  }

  private runBatch(batch: PendingWrite[]): Outcome[] {
    // Another process may have appended since our last commit: continue the chain from its head.
    this.followOtherWriters();
    this.chain.moveTo({ head: this.committedHead, time: this.committedTime });
    return batch.map((w) => {
      const before = this.chain.place();
      if (w.savepoint) this.savepoint.run();
      try {
        const value = w.run(this.chain);
        if (w.savepoint) this.release.run();
        return { ok: true as const, value };
      } catch (error) {
        // Some errors (I/O, disk full) make SQLite roll back the whole transaction: stop the batch,
        // or the writes after this one would each commit on their own.
        if (!this.db.inTransaction) throw error;
        if (w.savepoint) {
          this.rollbackTo.run();
          this.release.run();
        }
        this.chain.moveTo(before);
        return { ok: false as const, error };
      }
    });
  }

  /**
   * Whether the database file is still the one open here, and its audit log still holds what this
   * writer committed or saw (readiness asks it between writes); when not, writes stop as when a
   * commit found it. Returns what is wrong, in words.
   */
  checkFile(): string | undefined {
    if (this.gone) return this.gone.message;
    const gone = this.files.betweenWrites();
    if (gone) {
      this.fileGone(new DatabaseFileGoneError(gone));
      return gone;
    }
    if (this.files.takeWritten()) this.readFromFile = true;
    // And whether the log still holds what this writer last committed or saw (followOtherWriters).
    try {
      this.followOtherWriters();
    } catch (err) {
      if (err instanceof AuditLogRewrittenError || (err && err === this.wentBack)) return (err as Error).message;
      throw err;
    }
    return undefined;
  }

  private fileGone(err: DatabaseFileGoneError | AuditLogRewrittenError): void {
    if (this.gone) return;
    this.gone = err;
    const all = this.queue;
    this.queue = [];
    for (const w of all) w.reject(err);
    // After the refused writes' rejections have been handled.
    const tell = this.onFileGone;
    if (tell) setImmediate(() => tell(err));
  }

  private loadHead(): ChainHead | undefined {
    const row = this.readHead.get() as (ChainHead & { time: string }) | undefined;
    this.committedTime = row?.time;
    return row ? { seq: row.seq, hash: row.hash } : undefined;
  }

  /** Commits what is queued; later submissions are refused. */
  close(): void {
    // A write still waiting for the lock gets one last try, then fails: the connection is closing.
    this.lock.stopTimer();
    this.closed = true;
    this.flush();
  }
}
