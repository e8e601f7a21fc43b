/**
 * Readiness that tells the truth: can the store take a durable write now? A SELECT 1 answers even
 * while the disk is full or another process holds the write lock. This looks at how the last write
 * ended and at a cheap probe that writes nothing: the write lock can be taken (BEGIN IMMEDIATE,
 * ROLLBACK), the database may still grow (max_page_count, free pages), the file system has room and
 * is not read-only (read-only-file-system.ts), and the process may still grow its files (its file size
 * limit). After a write failed for its storage, none of that shows whether writes work again (a
 * failing disk), so until a write commits the probe makes a test write (writeAgain).
 * The answer is kept for a moment, so probes polled often cost nothing; a failed write drops it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { GroupCommitWriter } from './group-commit';
import { fileSizeLimitReached } from './file-size-limit';
import { readOnlyFileSystem } from './read-only-file-system';
import { StoreBusyError, isBusy, isDamaged, isStorageFault } from './write-lock';

export interface ReadinessOptions {
  /** How long an answer is reused (ms). */
  cacheMs?: number;
  /** After a write failed (disk full, I/O error), not ready for at least this long (ms). */
  failureHoldMs?: number;
  /** Pages the database must still be able to grow by (a request with its records takes a few). */
  minFreePages?: number;
  /** Bytes the file system must still have free. */
  minFreeBytes?: number;
  /** How long a probe waits for the writer thread before it answers "not ready" (ms, default 1000). */
  writerAnswerMs?: number;
}

export interface Readiness {
  ok: boolean;
  /** Why not, in words. */
  problem?: string;
}

export class WriteReadiness {
  private cached: { at: number; answer: Readiness } | undefined;
  private lockBusySince: number | undefined;
  private readonly pages: Database.Statement;
  private readonly cacheMs: number;
  private readonly failureHoldMs: number;
  private readonly minFreePages: number;
  private readonly minFreeBytes: number;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly writer: GroupCommitWriter,
    options: ReadinessOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 1000;
    this.failureHoldMs = options.failureHoldMs ?? 2000;
    this.minFreePages = options.minFreePages ?? 16;
    this.minFreeBytes = options.minFreeBytes ?? 1024 * 1024;
    this.pages = db.prepare('SELECT page_count, max_page_count, freelist_count FROM pragma_page_count(), pragma_max_page_count(), pragma_freelist_count()');
  }

  /**
   * `now` is monotonic (performance.now, as the writer's `lastOutcome.at`, on this thread): the
   * cache, the failure hold and the lock's hold are ages. On Date.now a backward step of an hour made
   * the cached answer "fresh" for that hour, skipping the file check and a full disk alike.
   */
  check(now = performance.now(), again = false): Readiness {
    const last = this.writer.lastOutcome;
    const fresh = !again && this.cached && now - this.cached.at < this.cacheMs && !(last && !last.ok && last.at >= this.cached.at);
    if (fresh && this.cached) return this.cached.answer;
    const answer = this.probe(now);
    this.cached = { at: now, answer };
    return answer;
  }

  private probe(now: number): Readiness {
    if (!this.db.open) return { ok: false, problem: 'the store is closed' };
    const gone = this.writer.checkFile();
    if (gone) return { ok: false, problem: gone };
    // Before a write fails too: the lock can be taken and statfs shows room on a read-only file system.
    const readOnly = readOnlyFileSystem(this.file);
    if (readOnly) return { ok: false, problem: readOnly };
    const last = this.writer.lastOutcome;
    if (last && !last.ok && !(last.error instanceof StoreBusyError) && now - last.at < this.failureHoldMs) {
      return { ok: false, problem: `the last write failed: ${String(last.error)}` };
    }
    try {
      return this.lockProblem(now) ?? this.roomProblem() ?? this.writeAgain() ?? { ok: true };
    } catch (err) {
      return { ok: false, problem: `the store cannot be probed: ${String(err)}` };
    }
  }

  /** Not ready once another process has held the write lock for longer than writes wait for it. */
  private lockProblem(now: number): Readiness | undefined {
    if (this.db.inTransaction) return undefined;
    const restore = Math.trunc(this.db.pragma('busy_timeout', { simple: true }) as number);
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
      this.lockBusySince = undefined;
      return undefined;
    } catch (err) {
      if (!isBusy(err)) throw err;
      const last = this.writer.lastOutcome;
      const gaveUp = last && !last.ok && last.error instanceof StoreBusyError && now - last.at < this.writer.lockWaitLimitMs + this.failureHoldMs ? last.at : undefined;
      // A write that just gave up on the lock watched it for the whole wait before: the probe counts
      // from then, not from the first moment it looked itself.
      if (this.lockBusySince === undefined) this.lockBusySince = gaveUp !== undefined ? Math.min(now, gaveUp - this.writer.lockWaitLimitMs) : now;
      const held = Math.round(now - this.lockBusySince);
      const refused = gaveUp !== undefined && gaveUp >= this.lockBusySince;
      if (held < this.writer.lockWaitLimitMs && !refused) return undefined;
      return { ok: false, problem: `another process has held the write lock for ${held} ms (writes wait ${this.writer.lockWaitLimitMs} ms)` };
    } finally {
      this.db.pragma(`busy_timeout = ${restore}`);
    }
  }

  /**
   * The last write failed for its storage (SQLITE_FULL, SQLITE_IOERR, read-only) and none committed
   * since: whether writes work again is known only by making one. Before, the probe was ready again
   * two seconds after the failure wherever the lock could be taken and the file system said it had
   * room, while every click was told that nothing changed: tried for real on an ext4 file system
   * the kernel made read-only after a disk error (errors=remount-ro), /readyz went 200 and 503 in
   * turn. The test write sets the database's user_version (which Countersign does not use) to the
   * value it has: a page of the write-ahead log, committed as any write is, nothing changed. At most
   * one a second (the answer is kept), and only until one commits. It proves a small write only: a
   * quota with room for a page and not for a request is seen again at the next write that fails, and
   * the page often lands in blocks the failed commit already had (docs/faults.md, A disk quota).
   */
  private writeAgain(): Readiness | undefined {
    const last = this.writer.lastOutcome;
    if (!last || last.ok || !isStorageFault(last.error) || isDamaged(last.error) || this.db.inTransaction) return undefined;
    const restore = Math.trunc(this.db.pragma('busy_timeout', { simple: true }) as number);
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      const version = Math.trunc(this.db.pragma('user_version', { simple: true }) as number);
      this.db.pragma(`user_version = ${version}`);
      this.db.exec('COMMIT');
      this.writer.lastOutcome = { ok: true, at: performance.now() };
      return undefined;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      // Another process took the lock meanwhile: lockProblem's to judge at the next probe.
      if (isBusy(err)) return undefined;
      return { ok: false, problem: `writes still fail: a test write failed (${String(err)}) as the last write did (${String(last.error)}): the disk is failing, full or read-only` };
    } finally {
      this.db.pragma(`busy_timeout = ${restore}`);
    }
  }

  private roomProblem(): Readiness | undefined {
    const p = this.pages.get() as { page_count: number; max_page_count: number; freelist_count: number };
    const room = p.max_page_count - p.page_count + p.freelist_count;
    if (room < this.minFreePages) return { ok: false, problem: `the database is full: room for ${room} more page(s) (max_page_count ${p.max_page_count})` };
    const fsStat = fs.statfsSync(path.dirname(path.resolve(this.file)));
    const free = fsStat.bavail * fsStat.bsize;
    if (free < this.minFreeBytes) return { ok: false, problem: `the file system holding ${this.file} has ${free} bytes free` };
    return this.fileSizeLimitProblem();
  }

  /** The process's file size limit (file-size-limit.ts) too close to the database or its -wal. */
  private fileSizeLimitProblem(): Readiness | undefined {
    const reached = fileSizeLimitReached(this.file, this.minFreeBytes);
    return reached ? { ok: false, problem: `${reached}. Raise the limit (prlimit --pid, or start Countersign again with a higher one)` } : undefined;
  }
}
