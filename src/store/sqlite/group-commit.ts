/**
 * Group commit: every write (audit appends, request inserts and updates, conversation writes)
 * submitted in the same turn of the event loop shares one transaction and so one fsync. Each write
 * runs in its own SAVEPOINT, so one that fails (a CAS conflict, a duplicate id) is rolled back alone
 * and the others still commit. The chain head lives in memory and advances only for writes that
 * committed; every caller's promise settles only after COMMIT returned (synchronous=FULL: on disk).
 * This file queues and commits; its parts: write-lock.ts takes the lock, file-checks.ts looks at the
 * database file, committed-head.ts keeps the head and follows other writers, transaction-chain.ts
 * seals records inside the transaction.
 */
import type Database from 'better-sqlite3';
import type { ChainHead } from '../../domain/audit';
import { AuditLogRewrittenError } from '../audit-rewritten';
import { CommittedHead } from './committed-head';
import { AskOutsideTransaction, DatabaseFileChecks, LookAtFileFirst } from './file-checks';
import { DatabaseFileGoneError } from './file-watch';
import { TransactionChain, type WriteTx } from './transaction-chain';
import { DEFAULT_LOCK_WAIT_LIMIT_MS, StoreBusyError, WriteLockTaker, isStorageFault } from './write-lock';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface PendingWrite {
  run: (tx: WriteTx) => unknown;
  /** False only for a write of a single statement, which SQLite already undoes alone when it fails. */
  savepoint: boolean;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  /** performance.now() by which the person's turn it belongs to must be answered, if it is one's. */
  deadline?: number;
}

/** How long before its turn's deadline a write stops waiting for the write lock, so its "busy" is told in time (ms). */
const LOCK_ANSWER_MARGIN_MS = 1000;

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
  /** Fault injection (StoreWriter.stallCommits): runs just before each COMMIT, on the committing thread. */
  beforeCommit: (() => void) | undefined;
  /**
   * Told once, after the writes of that transaction were refused, when the database file turned out
   * deleted, replaced or cut while open (file-watch.ts): nothing more can be written, Countersign
   * must restart.
   */
  onFileGone: ((err: DatabaseFileGoneError | AuditLogRewrittenError) => void) | undefined;
  private readonly files: DatabaseFileChecks;
  /** How the last transaction ended (readiness reads it), `at` on performance.now (an age is read off it). */
  lastOutcome: { ok: true; at: number } | { ok: false; at: number; error: unknown } | undefined;
  private readonly committed: CommittedHead;
  private readonly chain: TransactionChain;

  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;

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
    this.committed = new CommittedHead(db, file, { stopped: () => this.gone, stop: (err) => this.fileGone(err) });
    this.chain = new TransactionChain(db, file, newId);
  }

  /** The highest record this writer committed or saw, without looking at the file again (it may be gone). */
  lastWitnessed(): ChainHead | undefined {
    return this.committed.lastWitnessed();
  }

  /** The committed head, including what another process may have appended since our last write. */
  head(): ChainHead | undefined {
    this.committed.follow();
    return this.committed.place().head;
  }

  submit<T>(run: (tx: WriteTx) => T, options: { singleStatement?: boolean; leftMs?: number } = {}): Promise<T> {
    if (this.gone) return Promise.reject(this.gone);
    if (this.closed) return Promise.reject(new StoreClosedError(this.file));
    const deadline = options.leftMs === undefined ? {} : { deadline: performance.now() + options.leftMs };
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, savepoint: !options.singleStatement, resolve: resolve as (value: unknown) => void, reject, ...deadline });
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
      this.chain.moveTo(this.committed.place());
      if (err instanceof LookAtFileFirst) {
        // Nothing committed: the batch goes again at once, on the log as the file now holds it (the
        // data version kept: whether another connection committed since tells a copy from a rewrite).
        if (this.db.inTransaction) this.rollback.run();
        this.committed.readFromFileNext();
        this.queue = [...batch, ...this.queue];
        this.flush();
        return;
      }
      this.committed.lookAgain();
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
    this.committed.committed(this.chain.place());
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
    if (lock === 'waiting') {
      // A person's write whose turn ends before the next try gives up now, nothing written: they are
      // told the database is held by another process while Teams still waits for the answer.
      const pending = this.lock.pending();
      if (pending) {
        const by = pending.retryAt + LOCK_ANSWER_MARGIN_MS;
        const late = this.queue.filter((w) => w.deadline !== undefined && w.deadline <= by);
        if (late.length) {
          this.queue = this.queue.filter((w) => !late.includes(w));
          const error = new StoreBusyError(this.file, pending.waitedMs);
          for (const w of late) w.reject(error);
          if (this.queue.length === 0) this.lock.cancel();
        }
      }
      return false;
    }
    this.lastOutcome = { ok: false, at: performance.now(), error: lock.error };
    const all = this.queue;
    this.queue = [];
    for (const w of all) w.reject(lock.error);
    return false;
  }

  private runBatch(batch: PendingWrite[]): Outcome[] {
    // Another process may have appended since our last commit: continue the chain from its head.
    this.committed.follow();
    this.chain.moveTo(this.committed.place());
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
    if (this.files.takeWritten()) this.committed.readFromFileNext();
    // And whether the log still holds what this writer last committed or saw (CommittedHead.follow).
    try {
      this.committed.follow();
    } catch (err) {
      if (err instanceof AuditLogRewrittenError || (err && this.committed.isWentBack(err))) return (err as Error).message;
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

  /** Commits what is queued; later submissions are refused. */
  close(): void {
    // A write still waiting for the lock gets one last try, then fails: the connection is closing.
    this.lock.stopTimer();
    this.closed = true;
    this.flush();
  }
}
