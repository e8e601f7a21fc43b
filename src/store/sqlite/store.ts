/** The embedded store: one SQLite file holding requests, the audit log and conversation data. */
import { uuidv7 } from '../ids';
import type Database from 'better-sqlite3';
import type { CountersignStore } from '../countersign-store';
import { SqliteAuditLog } from './audit-log';
import { SqliteComplianceStore } from './compliance';
import { openWritable } from './connection';
import { SqliteConversationStore } from './conversations';
import { GroupCommitWriter } from './group-commit';
import { SqliteDelegationStore } from './delegations';
import { migrate } from './migrations';
import { WriteReadiness, type Readiness, type ReadinessOptions } from './readiness';
import { SqliteRequestStore } from './requests';

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
  readonly compliance: SqliteComplianceStore;
  private readonly readiness: WriteReadiness;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    readonly file: string,
    private readonly writer: GroupCommitWriter,
    pageSize?: number,
    readiness?: ReadinessOptions,
  ) {
    this.requests = new SqliteRequestStore(db, writer);
    this.audit = new SqliteAuditLog(db, writer, pageSize);
    this.conversations = new SqliteConversationStore(db, writer);
    this.cards = this.conversations;
    this.delegations = new SqliteDelegationStore(db, writer);
    this.compliance = new SqliteComplianceStore(db, writer);
    this.readiness = new WriteReadiness(db, file, writer, readiness);
  }

  /** Ready for a durable write: not closed, the last write did not fail, lock and room available. */
  async ping(): Promise<boolean> {
    return this.writeReadiness().ok;
  }

  /** What ping() answers, with the reason when not ready. */
  writeReadiness(): Readiness {
    if (this.closed) return { ok: false, problem: 'the store is closed' };
    return this.readiness.check();
  }

  /** Commits every write already submitted, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.writer.close();
    this.db.close();
  }
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  const db = openWritable(options.file, options.busyTimeoutMs);
  try {
    migrate(db);
    // SQLite's own busy wait sleeps on the event loop. Opening may wait (nothing runs yet); afterwards
    // it is short (reads in WAL mode rarely meet it) and writes wait asynchronously (write-lock.ts).
    db.pragma(`busy_timeout = ${Math.min(options.busyTimeoutMs ?? READ_BUSY_TIMEOUT_MS, READ_BUSY_TIMEOUT_MS)}`);
    const writer = new GroupCommitWriter(db, options.file, options.newId ?? (() => uuidv7()), options.busyTimeoutMs);
    return new SqliteStore(db, options.file, writer, options.pageSize, options.readiness);
  } catch (err) {
    db.close();
    throw err;
  }
}
