/** The embedded store: one SQLite file holding requests, the audit log and conversation data. */
import { uuidv7 } from '../ids';
import type Database from 'better-sqlite3';
import type { CountersignStore } from '../countersign-store';
import { SqliteAuditLog } from './audit-log';
import { SqliteComplianceStore } from './compliance';
import { openWritable } from './connection';
import { SqliteConversationStore } from './conversations';
import { GroupCommitWriter } from './group-commit';
import { migrate } from './migrations';
import { SqliteRequestStore } from './requests';

export interface SqliteStoreOptions {
  file: string;
  /** Audit record ids (default: UUID version 7). */
  newId?: () => string;
  busyTimeoutMs?: number;
  /** Records per page when reading the audit log. */
  pageSize?: number;
}

export class SqliteStore implements CountersignStore {
  readonly requests: SqliteRequestStore;
  readonly audit: SqliteAuditLog;
  /** Conversation references (the Teams layer's) and card bindings (the use cases') share one table set. */
  readonly conversations: SqliteConversationStore;
  readonly cards: SqliteConversationStore;
  readonly compliance: SqliteComplianceStore;
  private readonly ping1: Database.Statement;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    readonly file: string,
    private readonly writer: GroupCommitWriter,
    pageSize?: number,
  ) {
    this.requests = new SqliteRequestStore(db, writer);
    this.audit = new SqliteAuditLog(db, writer, pageSize);
    this.conversations = new SqliteConversationStore(db, writer);
    this.cards = this.conversations;
    this.compliance = new SqliteComplianceStore(db, writer);
    this.ping1 = db.prepare('SELECT 1').pluck();
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      return this.ping1.get() === 1;
    } catch {
      return false;
    }
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
    const writer = new GroupCommitWriter(db, options.file, options.newId ?? (() => uuidv7()));
    return new SqliteStore(db, options.file, writer, options.pageSize);
  } catch (err) {
    db.close();
    throw err;
  }
}
