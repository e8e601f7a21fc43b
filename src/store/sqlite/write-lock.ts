/**
 * Waiting for SQLite's write lock without freezing the process. SQLite's own busy handler sleeps
 * inside the call, on the event loop: while another process (a CLI run, a backup, a second bot)
 * holds the write lock, nothing else would run, not even /healthz. So the writer asks for the lock
 * with a busy timeout of zero and, when it is taken, tries again from a timer with a growing delay,
 * up to a limit; past it the writes fail with StoreBusyError and nothing of them is written.
 */

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
