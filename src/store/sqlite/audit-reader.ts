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
  return {
    db,
    read: (filter = {}) => readAuditPages(statements, filter, pageSize),
    head: () => headStmt.get() as ChainHead | undefined,
    close: () => db.close(),
  };
}
