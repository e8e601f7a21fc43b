/** The audit log port over SQLite: appends go through the group committer, reads page by seq. */
import type Database from 'better-sqlite3';
import type { AuditLog, AuditReadOptions } from '../../app/ports';
import type { AuditFilter, ChainHead } from '../../domain/audit';
import type { StoredRecordText } from '../../audit/formats/encoder';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import { StatementCache, readAuditPages, readStoredAuditPages } from './audit-pages';
import type { StoreWriter } from './writer';

export class SqliteAuditLog implements AuditLog {
  private readonly statements: StatementCache;
  private readonly headStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: StoreWriter,
    private readonly pageSize?: number,
  ) {
    this.statements = new StatementCache(db);
    this.headStmt = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  }

  async append(events: AuditEventDraft[]): Promise<AuditRecord[]> {
    // One event is one INSERT (sealed before it runs): it needs no savepoint of its own.
    return (await this.writer.submit('appendEvents', [], events, { singleStatement: events.length <= 1 })).records;
  }

  read(filter: AuditFilter = {}, options: AuditReadOptions = {}): AsyncIterable<AuditRecord> {
    return readAuditPages(this.statements, filter, this.pageSize, options.scan === true);
  }

  /** The records' stored canonical text, unparsed (exports write it as it is), every record of the range read (a scan). */
  readStored(filter: AuditFilter = {}): AsyncIterable<StoredRecordText> {
    return readStoredAuditPages(this.statements, filter, this.pageSize);
  }

  /** The committed head (this connection sees a commit only once it is on disk). */
  async head(): Promise<ChainHead | undefined> {
    return this.headStmt.get() as ChainHead | undefined;
  }
}
