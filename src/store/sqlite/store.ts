/** The embedded store: one SQLite file holding requests, the audit log and conversation data. */
import { uuidv7 } from '../ids';
import type Database from 'better-sqlite3';
import { CommitOutcomeUnknownError, type StorageFault } from '../../app/ports';
import type { CountersignStore } from '../countersign-store';
import { SqliteAuditLog } from './audit-log';
import { SqliteAuditAccessStore } from './audit-access';
import { openWritable } from './connection';
import { SqliteConversationStore } from './conversations';
import { SqliteDelegationStore } from './delegations';
import { migrate } from './migrations';
import type { Readiness, ReadinessOptions } from './readiness';
import { SqliteRequestStore } from './requests';
import { checkSharedIndex, type InstanceLock } from './instance-lock';
import { InlineWriter, type StoreWriter } from './writer';
import { ThreadWriter } from './thread-writer';
import { isDamaged, isStorageFault, StoreBusyError } from './write-lock';
import { DatabaseFileGoneError } from './file-watch';
import { diskFault } from './read-only-file-system';
import { watchForDamage } from './damage-watch';
import type { WriterThreadBoot } from './writer-boot';

export interface SqliteStoreOptions {
  file: string;
  /** Audit record ids (default: UUID version 7). */
  newId?: () => string;
  /**
   * How long a write waits for another process to release the write lock before it fails with
   * StoreBusyError (default 5 s). The wait is asynchronous: the process keeps answering meanwhile.
   */
  busyTimeoutMs?: number;
  /** Records per page when reading the audit log. */
  pageSize?: number;
  readiness?: ReadinessOptions;
  /**
   * Where writes run: `thread` (the default, the bot) on a worker thread that owns the write
   * connection, so the event loop never waits for a commit; `inline` on this thread, on the same
   * connection as the reads (one-shot CLI commands, which have no event loop to keep free). Given
   * `newId`, the default is `inline` (a function cannot be sent to the thread).
   */
  writer?: 'thread' | 'inline';
  /** The writer thread stopped without being closed (it should not; nothing more can be written then). */
  onWriterStopped?: (err: Error) => void;
  /** A writer thread started ahead (the entry point's); by default the store starts its own. */
  writerThread?: WriterThreadBoot;
  /** The data directory's instance lock (the bot's, instance-lock.ts): released when the store closes, or fails to open. */
  instanceLock?: InstanceLock;
}

/** The longest a read (or the migration at open) may wait on a lock synchronously (ms). */
const READ_BUSY_TIMEOUT_MS = 100;

export class SqliteStore implements CountersignStore {
  readonly requests: SqliteRequestStore;
  readonly audit: SqliteAuditLog;
  /** Conversation references (the Teams layer's) and card bindings (the use cases') share one table set. */
  readonly conversations: SqliteConversationStore;
  readonly cards: SqliteConversationStore;
  readonly delegations: SqliteDelegationStore;
  readonly auditAccess: SqliteAuditAccessStore;
  private closed = false;
  /** The data directory's instance lock, when this store is the bot's. */
  instanceLock: InstanceLock | undefined;
  /** Told (once, with the writer's own stop) when a read found the file no longer a database. */
  onDamaged: ((err: Error) => void) | undefined;
  private damaged = false;
  /** The last readiness answer (ping() refreshes it). */
  private lastReadiness: Readiness = { ok: true };

  constructor(
    private readonly db: Database.Database,
    readonly file: string,
    /** Runs every write; fault tests reach the write connection through it. */
    readonly writer: StoreWriter,
    pageSize?: number,
  ) {
    // Every read, a background one too (a sweep's, whose failure is only logged), stops the store on a damaged file.
    const reads = watchForDamage(db, (err) => this.stopOnDamage(err));
    this.requests = new SqliteRequestStore(reads, writer, file);
    this.audit = new SqliteAuditLog(reads, writer, pageSize);
    this.conversations = new SqliteConversationStore(reads, writer);
    this.cards = this.conversations;
    this.delegations = new SqliteDelegationStore(reads, writer);
    this.auditAccess = new SqliteAuditAccessStore(reads, writer);
  }

  /** Ready for a durable write: not closed, the last write did not fail, lock and room available, the writer answering. */
  async ping(): Promise<boolean> {
    this.lastReadiness = this.closed ? { ok: false, problem: 'the store is closed' } : await this.writer.readiness();
    if (this.lastReadiness.ok) {
      // The request it last wrote still there (rows deleted in a sqlite3 shell leave the audit log as it was).
      try {
        const lost = this.requests.lostRequestProblem(this.file);
        if (lost) this.lastReadiness = { ok: false, problem: lost };
      } catch (err) {
        this.lastReadiness = { ok: false, problem: `the store cannot be probed: ${String(err)}` };
      }
    }
    return this.lastReadiness.ok;
  }

  /** SQLite's storage errors (full, I/O, read-only, corrupt, the file gone or the writer thread stopped) are the disk's. */
  storageFault(err: unknown): StorageFault | undefined {
    if (err instanceof StoreBusyError) return 'busy';
    // The commit may have been saved (the writer thread stopped during it, or a person's turn ended
    // while it was committing): never "nothing was changed".
    if (err instanceof CommitOutcomeUnknownError) return 'unconfirmed';
    // Both cross from the writer thread by name (errorFromWire rebuilds only the errors callers tell apart).
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'DatabaseFileGoneError' || name === 'AuditLogRewrittenError') return 'damaged';
    if (name === 'WriterThreadError') return 'disk';
    if (isDamaged(err)) {
      this.stopOnDamage(err);
      return 'damaged';
    }
    // A read-only file system is told apart from a full or failing disk (read-only-file-system.ts).
    return isStorageFault(err) ? diskFault(this.file) : undefined;
  }

  /**
   * A read (on this thread's connection) found the file no longer a database: cut short or
   * overwritten under Countersign, or damaged. The writer looks at the files at once, and stops
   * with what it finds (cut from … to … bytes); when it finds nothing, the store stops all the same:
   * nothing read from that file can be trusted, and the next start says whether a restore is needed.
   */
  private stopOnDamage(err: unknown): void {
    if (this.damaged) return;
    this.damaged = true;
    const stop = () =>
      this.onDamaged?.(new DatabaseFileGoneError(`the database file ${this.file} no longer reads as a database (${(err as Error).message}): it was cut short or overwritten while Countersign had it open, or it is damaged`));
    // A file check that finds it reports it itself, a moment after its answer (the stop is told once).
    const later = () => void setTimeout(stop, 200).unref();
    void this.writer.readiness(true).then((r) => (r.ok ? stop() : later()), later);
  }

  /** What the last ping() answered, with the reason when not ready. */
  writeReadiness(): Readiness {
    return this.closed ? { ok: false, problem: 'the store is closed' } : this.lastReadiness;
  }

  /** Commits every write already submitted, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer.close();
      this.db.close();
    } finally {
      this.instanceLock?.release();
    }
  }
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  let db: ReturnType<typeof openWritable>;
  try {
    // A one-shot command beside a running bot whose -shm was deleted would not share its write lock.
    if (options.writer === 'inline') checkSharedIndex(options.file);
    db = openWritable(options.file, options.busyTimeoutMs);
  } catch (err) {
    await options.writerThread?.discard();
    options.instanceLock?.release();
    throw err;
  }
  // Once: the writer's own stop and a read that finds the file damaged may both report it.
  let told = false;
  const stopped = options.onWriterStopped
    ? (err: Error) => {
        if (told) return;
        told = true;
        options.onWriterStopped!(err);
      }
    : undefined;
  try {
    migrate(db);
    // SQLite's own busy wait sleeps on the event loop. Opening may wait (nothing runs yet); afterwards
    // it is short (reads in WAL mode rarely meet it) and writes wait asynchronously (write-lock.ts).
    const busyTimeoutMs = Math.min(options.busyTimeoutMs ?? READ_BUSY_TIMEOUT_MS, READ_BUSY_TIMEOUT_MS);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (options.writer === 'thread' && options.newId) throw new TypeError('newId works only with the inline writer (a function cannot be sent to the writer thread)');
    const inline = options.writer === 'inline' || (options.writer === undefined && options.newId);
    if (inline) await options.writerThread?.discard();
    const writer = inline
      ? new InlineWriter(db, options.file, options.newId ?? (() => uuidv7()), options.busyTimeoutMs, options.readiness)
      : await ThreadWriter.start(
          {
            file: options.file,
            busyTimeoutMs,
            ...(options.busyTimeoutMs !== undefined ? { lockWaitLimitMs: options.busyTimeoutMs } : {}),
            ...(options.readiness ? { readiness: options.readiness } : {}),
            ...(stopped ? { onStopped: stopped } : {}),
          },
          options.writerThread,
        );
    if (writer instanceof InlineWriter && stopped) writer.group.onFileGone = stopped;
    const store = new SqliteStore(db, options.file, writer, options.pageSize);
    store.onDamaged = stopped;
    store.instanceLock = options.instanceLock;
    return store;
  } catch (err) {
    db.close();
    await options.writerThread?.discard();
    options.instanceLock?.release();
    throw err;
  }
}
