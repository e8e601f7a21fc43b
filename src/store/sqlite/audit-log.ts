/** The audit log port over SQLite: appends go through the group committer, reads page by seq. */
import type Database from 'better-sqlite3';
import type { AuditLog } from '../../app/ports';
import type { AuditFilter, ChainHead } from '../../domain/audit';
import type { StoredRecordText } from '../../audit/formats/encoder';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import { StatementCache, readAuditPages, readStoredAuditPages } from './audit-pages';
import type { GroupCommitWriter } from './group-commit';

export class SqliteAuditLog implements AuditLog {
  private readonly statements: StatementCache;

  constructor(
    db: Database.Database,
    private readonly writer: GroupCommitWriter,
    private readonly pageSize?: number,
  ) {
    this.statements = new StatementCache(db);
  }

  append(events: AuditEventDraft[]): Promise<AuditRecord[]> {
    // One event is one INSERT (sealed before it runs): it needs no savepoint of its own.
    return this.writer.submit((tx) => tx.appendEvents(events), { singleStatement: events.length <= 1 });
  }

  read(filter: AuditFilter = {}): AsyncIterable<AuditRecord> {
    return readAuditPages(this.statements, filter, this.pageSize);
  }

  /** The records' stored canonical text, unparsed (exports write it as it is). */
  readStored(filter: AuditFilter = {}): AsyncIterable<StoredRecordText> {
    return readStoredAuditPages(this.statements, filter, this.pageSize);
  }

  async head(): Promise<ChainHead | undefined> {
    return this.writer.head();
  }
}
