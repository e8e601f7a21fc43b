/**
 * Approval requests in SQLite: the whole request as JSON plus the columns the lifecycle queries
 * (state, expiry). Writes go through the group committer together with their audit events.
 */
import type Database from 'better-sqlite3';
import { DuplicateRequestError, VersionConflictError } from '../../app/ports';
import type { RequestQuery, RequestStore } from '../../app/ports';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import type { ApprovalRequest } from '../../domain/request';
import { StatementCache } from './audit-pages';
import type { GroupCommitWriter } from './group-commit';

export class RequestNotFoundError extends Error {
  constructor(readonly requestId: string) {
    super(`request ${requestId} does not exist: it must be inserted before it can be updated`);
    this.name = 'RequestNotFoundError';
  }
}

function row(r: ApprovalRequest) {
  return {
    id: r.id,
    version: r.version,
    state: r.state,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    body: JSON.stringify(r),
  };
}

function isConstraint(err: unknown, code: string): boolean {
  return (err as { code?: string } | null)?.code === code;
}

export class SqliteRequestStore implements RequestStore {
  private readonly insertStmt: Database.Statement;
  private readonly casStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  private readonly versionStmt: Database.Statement;
  private readonly historyStmt: Database.Statement;
  private readonly statements: StatementCache;

  constructor(
    db: Database.Database,
    private readonly writer: GroupCommitWriter,
  ) {
    this.insertStmt = db.prepare(
      `INSERT INTO requests (id, version, state, expires_at, created_at, updated_at, body)
       VALUES (@id, @version, @state, @expiresAt, @createdAt, @updatedAt, @body)`,
    );
    this.casStmt = db.prepare(
      `UPDATE requests SET version = @version, state = @state, expires_at = @expiresAt, updated_at = @updatedAt, body = @body
       WHERE id = @id AND version = @expectedVersion`,
    );
    this.getStmt = db.prepare('SELECT body FROM requests WHERE id = ?').pluck();
    this.versionStmt = db.prepare('SELECT version FROM requests WHERE id = ?').pluck();
    // Every saved version is kept as well, in the same transaction (the evidence bundle reads them).
    this.historyStmt = db.prepare(
      `INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES (@id, @version, @state, @updatedAt, @body)`,
    );
    this.statements = new StatementCache(db);
  }

  async insert(request: ApprovalRequest, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    if (request.version !== 1) {
      throw new RangeError(`a new request must have version 1; request ${request.id} has version ${request.version}`);
    }
    const values = row(request);
    return this.writer.submit((tx) => {
      try {
        this.insertStmt.run(values);
      } catch (err) {
        if (isConstraint(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new DuplicateRequestError(request.id);
        throw err;
      }
      this.historyStmt.run(values);
      return tx.appendEvents(events);
    });
  }

  async update(next: ApprovalRequest, expectedVersion: number, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    if (next.version !== expectedVersion + 1) {
      throw new RangeError(
        `an update of request ${next.id} must move it from version ${expectedVersion} to ${expectedVersion + 1}, not to ${next.version}`,
      );
    }
    const values = { ...row(next), expectedVersion };
    return this.writer.submit((tx) => {
      if (this.casStmt.run(values).changes !== 1) {
        if (this.versionStmt.get(next.id) === undefined) throw new RequestNotFoundError(next.id);
        throw new VersionConflictError(next.id, expectedVersion);
      }
      this.historyStmt.run(values);
      return tx.appendEvents(events);
    });
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    const body = this.getStmt.get(id) as string | undefined;
    return body === undefined ? undefined : (JSON.parse(body) as ApprovalRequest);
  }

  /** Oldest first (by createdAt, then insertion order). An empty `states` list matches nothing. */
  async list(query: RequestQuery): Promise<ApprovalRequest[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (query.states !== undefined) {
      where.push('state IN (SELECT value FROM json_each(@states))');
      params.states = JSON.stringify(query.states);
    }
    if (query.expiringBefore !== undefined) {
      where.push('expires_at < @expiringBefore');
      params.expiringBefore = query.expiringBefore;
    }
    params.limit = query.limit ?? -1;
    const sql = `SELECT body FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at, rowid LIMIT @limit`;
    const bodies = this.statements.get(sql).pluck().all(params) as string[];
    return bodies.map((b) => JSON.parse(b) as ApprovalRequest);
  }
}
