/**
 * Waiting for SQLite's write lock without freezing the process. SQLite's own busy handler sleeps
 * inside the call, on the event loop: while another process (a CLI run, a backup, a second bot)
 * holds the write lock, nothing else would run, not even /healthz. So the writer asks for the lock
 * with a busy timeout of zero and, when it is taken, tries again from a timer with a growing delay,
 * up to a limit; past it the writes fail with StoreBusyError and nothing of them is written.
 */
import type Database from 'better-sqlite3';

/** How long a write waits, in total, for another process to release the write lock (ms). */
export const DEFAULT_LOCK_WAIT_LIMIT_MS = 5000;
const FIRST_DELAY_MS = 2;
const LONGEST_DELAY_MS = 100;

/** The write lock stayed with another process past the limit: nothing of the write was recorded. */
export class StoreBusyError extends Error {
  constructor(
    readonly file: string,
    readonly waitedMs: number,
  ) {
    super(`the store ${file} is locked by another process (database is locked): waited ${waitedMs} ms for its write lock, nothing was written`);
    this.name = 'StoreBusyError';
  }
}

/** SQLITE_BUSY (or an extended code of it): someone else holds the lock. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** The storage failed (full, I/O, read-only, corrupt), as opposed to one write being refused. */
export function isStorageFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CORRUPT|CANTOPEN|NOTADB)/.test(code);
}

/**
 * The file does not read as a database (SQLITE_CORRUPT, SQLITE_NOTADB): cut short or overwritten
 * under the connection, or damaged. Nothing more is to be trusted from it.
 */
export function isDamaged(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code);
}

/** The delays of one wait for the lock: 2, 4, 8 ... 100, 100 ms, until the limit has passed. */
export class LockWait {
  // Monotonic: on the wall clock a step back made a write retry for the size of the step, a step
  // forward failed it at once.
  private readonly since = performance.now();
  private delay = FIRST_DELAY_MS;

  constructor(private readonly limitMs: number) {}

  waited(): number {
    return Math.round(performance.now() - this.since);
  }

  /** The delay before the next try, or undefined when the limit has passed. */
  next(): number | undefined {
    const left = this.limitMs - this.waited();
    if (left <= 0) return undefined;
    const d = Math.min(this.delay, left);
    this.delay = Math.min(this.delay * 2, LONGEST_DELAY_MS);
    return d;
  }
}

/** How a try for the write lock ended: the transaction is open, a timer will try again, or the error the writes fail with. */
export type LockTry = 'taken' | 'waiting' | { error: unknown; busy: boolean };

/**
 * Takes the write lock for the group committer (group-commit.ts): BEGIN IMMEDIATE without waiting.
 * While another process holds the lock, a timer calls `retry` with the growing delays of LockWait,
 * until the limit has passed.
 */
export class WriteLockTaker {
  /** Set while another process holds the write lock: the queue waits for this timer, not the event loop. */
  private lockWait: { wait: LockWait; timer: NodeJS.Timeout; retryAt: number } | undefined;
  private readonly begin: Database.Statement;
  /** The connection's own busy timeout (ms), put back after each BEGIN IMMEDIATE. */
  private readonly busyTimeoutMs: number;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly limitMs: number,
    private readonly retry: () => void,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.busyTimeoutMs = Math.trunc(db.pragma('busy_timeout', { simple: true }) as number);
  }

  /** A timer will try again: new writes join the queue for it rather than flush on the event loop. */
  waiting(): boolean {
    return this.lockWait !== undefined;
  }

  /**
   * BEGIN IMMEDIATE. When the lock is busy, 'waiting' (a timer tries again), or, once the limit has
   * passed or the writer is closing, a StoreBusyError; any other error is returned as it is.
   */
  take(closing: boolean): LockTry {
    let busy: unknown;
    // The lock is asked for without SQLite's busy wait, which would sleep on the event loop. (A
    // prepared PRAGMA runs when prepared, so it cannot be kept as a statement.)
    this.db.pragma('busy_timeout = 0');
    try {
      this.begin.run();
    } catch (err) {
      if (!isBusy(err)) return { error: err, busy: false };
      busy = err;
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
    if (busy === undefined) {
      if (this.lockWait) clearTimeout(this.lockWait.timer);
      this.lockWait = undefined;
      return 'taken';
    }
    const wait = this.lockWait?.wait ?? new LockWait(this.limitMs);
    const delay = closing ? undefined : wait.next();
    if (delay === undefined) {
      this.lockWait = undefined;
      return { error: new StoreBusyError(this.file, wait.waited()), busy: true };
    }
    this.lockWait = { wait, timer: setTimeout(() => this.retry(), delay), retryAt: performance.now() + delay };
    return 'waiting';
  }

  /** While a timer waits to try again: when it will (performance.now()) and how long the wait has lasted (ms). */
  pending(): { retryAt: number; waitedMs: number } | undefined {
    return this.lockWait && { retryAt: this.lockWait.retryAt, waitedMs: this.lockWait.wait.waited() };
  }

  /**
   * The writes that waited were all given up (their turns' deadlines): no wait stays set, so the
   * next write is flushed and asks for the lock afresh (a wait left set with nothing behind it kept
   * every later write of the instance from being flushed).
   */
  cancel(): void {
    if (this.lockWait) clearTimeout(this.lockWait.timer);
    this.lockWait = undefined;
  }

  /** The writer closes: no timer tries again (the wait so far still counts for its last try). */
  stopTimer(): void {
    if (this.lockWait) clearTimeout(this.lockWait.timer);
  }
}
