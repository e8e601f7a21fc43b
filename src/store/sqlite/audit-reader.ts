/**
 * Read-only access to the audit log of a database file, for the CLI: exports and verification can
 * run while the bot is writing (WAL), and can never change the file.
 */
import type Database from 'better-sqlite3';
import type { AuditFilter, ChainHead } from '../../domain/audit';
import type { AuditRecord } from '../../domain/audit';
import { StatementCache, readAuditPages } from './audit-pages';
import { openReadOnly } from './connection';

export class NotACountersignDatabaseError extends Error {
  constructor(readonly file: string) {
    super(`${file} is not a Countersign database: it has no audit_log table`);
    this.name = 'NotACountersignDatabaseError';
  }
}

export interface SqliteAuditReader {
  read(filter?: AuditFilter): AsyncIterable<AuditRecord>;
  /** The records at these seqs, in that order (seqs with no record are skipped). */
  readAt(seqs: readonly number[]): AsyncIterable<AuditRecord>;
  head(): ChainHead | undefined;
  close(): void;
  readonly db: Database.Database;
}

export function openSqliteAuditReader(file: string, pageSize?: number): SqliteAuditReader {
  const db = openReadOnly(file);
  try {
    const hasAudit = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get();
    if (!hasAudit) throw new NotACountersignDatabaseError(file);
  } catch (err) {
    db.close();
    throw err;
  }
  const statements = new StatementCache(db);
  const headStmt = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  const atStmt = db.prepare('SELECT record FROM audit_log WHERE seq = ?').pluck();
  return {
    db,
    read: (filter = {}) => readAuditPages(statements, filter, pageSize),
    async *readAt(seqs) {
      for (const seq of seqs) {
        const text = atStmt.get(seq) as string | undefined;
        if (text !== undefined) yield JSON.parse(text) as AuditRecord;
      }
    },
    head: () => headStmt.get() as ChainHead | undefined,
    close: () => db.close(),
  };
}
