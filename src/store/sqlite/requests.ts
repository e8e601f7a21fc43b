/**
 * Approval requests in SQLite: the whole request as JSON plus the columns the lifecycle queries
 * (state, expiry). Writes go through the group committer together with their audit events.
 */
import type Database from 'better-sqlite3';
import type { BreakGlassLimit, OnceOpen, RequestQuery, RequestStore } from '../../app/ports';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import { breakGlassDueAt } from '../../domain/lifecycle';
import type { ApprovalRequest } from '../../domain/request';
import { RequestWitness } from '../request-witness';
import { StatementCache } from './audit-pages';
import { REQUESTER_ID, type BreakGlassGuard, type RequestRow } from './write-ops';
import type { StoreWriter } from './writer';

function row(r: ApprovalRequest): RequestRow {
  return {
    id: r.id,
    version: r.version,
    state: r.state,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    reviewDueAt: breakGlassDueAt(r) ?? null,
    body: JSON.stringify(r),
  };
}

/** Freezes a request and everything in it, so that one kept by the store cannot be changed by a caller. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** How many requests the store keeps parsed (the ones being decided and executed right now). */
const LATEST_CACHE_SIZE = 512;

export class SqliteRequestStore implements RequestStore {
  private readonly versionStmt: Database.Statement;
  private readonly statements: StatementCache;
  private readonly getWithVersionStmt: Database.Statement;
  /**
   * The latest version of recently read or written requests, parsed and frozen. Served only while
   * the database still holds that very version: every `get` reads the row's version first (an
   * integer from the primary key, no JSON), and every write of a request, by this process or any
   * other, moves its version on by one under compare-and-swap, so (id, version) names exactly one
   * body. A request another process changed is therefore read afresh, never served stale, and
   * `update` still compares against the version in the database, not against this cache.
   */
  private readonly latest = new Map<string, ApprovalRequest>();
  /** The request readiness looks up (src/store/request-witness.ts). */
  readonly witness = new RequestWitness();
  private readonly witnessStmt: Database.Statement;
  private readonly newestStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: StoreWriter,
    /** The database file, as a lost request's problem names it. */
    private readonly where = 'the database',
  ) {
    this.versionStmt = db.prepare('SELECT version FROM requests WHERE id = ?').pluck();
    this.witnessStmt = db.prepare('SELECT (SELECT version FROM requests WHERE id = ?) AS version, EXISTS (SELECT 1 FROM request_versions WHERE request_id = ? AND version = ?) AS saved');
    this.newestStmt = db.prepare('SELECT id, version FROM requests ORDER BY rowid DESC LIMIT 1');
    this.getWithVersionStmt = db.prepare('SELECT version, body FROM requests WHERE id = ?');
    this.statements = new StatementCache(db);
  }

  async insert(request: ApprovalRequest, events: AuditEventDraft[], limit?: BreakGlassLimit, once?: OnceOpen): Promise<AuditRecord[]> {
    if (request.version !== 1) {
      throw new RangeError(`a new request must have version 1; request ${request.id} has version ${request.version}`);
    }
    const guard: BreakGlassGuard | null = limit ? { ...limit, requester: request.requester.aadObjectId, command: request.command } : null;
    const { records } = await this.writer.submit('insertRequest', [row(request), guard, once ?? null], events);
    this.remember(request);
    this.witness.note(request.id, request.version);
    return records;
  }

  async update(next: ApprovalRequest, expectedVersion: number, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    if (next.version !== expectedVersion + 1) {
      throw new RangeError(
        `an update of request ${next.id} must move it from version ${expectedVersion} to ${expectedVersion + 1}, not to ${next.version}`,
      );
    }
    const { records } = await this.writer.submit('updateRequest', [row(next), expectedVersion], events);
    // Only once committed: a write that failed or was rolled back leaves nothing behind here. The
    // object written is kept (frozen: the caller's copy is the stored version and must stay so).
    this.remember(next);
    this.witness.note(next.id, next.version);
    return records;
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    const known = this.latest.get(id);
    // The version is asked first only when a parsed copy may serve; otherwise the row is read once.
    if (known) {
      const version = this.versionStmt.get(id) as number | undefined;
      if (version === undefined) {
        this.latest.delete(id);
        return undefined;
      }
      if (known.version === version) return known;
    }
    const fresh = this.getWithVersionStmt.get(id) as { version: number; body: string } | undefined;
    if (!fresh) {
      this.latest.delete(id);
      return undefined;
    }
    const request = JSON.parse(fresh.body) as ApprovalRequest;
    return this.remember(request);
  }

  /**
   * Why the store is not ready when the request it last wrote (or the newest at its first look) is
   * gone from the database, or back at an earlier version: two reads by primary key.
   */
  lostRequestProblem(where: string): string | undefined {
    if (this.witness.found) return this.witness.found;
    if (!this.witness.current) this.witness.seed(this.newestStmt.get() as { id: string; version: number } | undefined);
    const w = this.witness.current;
    if (!w) return undefined;
    const found = this.witnessStmt.get(w.id, w.id, w.version) as { version: number | null; saved: number };
    return this.witness.judge(w, { version: found.version ?? undefined, saved: found.saved === 1 }, where);
  }

  /** What readiness would say of a request lost under the store, looked at now (the same two reads). */
  async lostRequests(): Promise<string | undefined> {
    return this.lostRequestProblem(this.where);
  }

  /** Keeps a stored version (frozen) as the latest known, unless a later one is known already. */
  private remember(request: ApprovalRequest): ApprovalRequest {
    const known = this.latest.get(request.id);
    if (known && known.version > request.version) return deepFreeze(request);
    this.latest.delete(request.id);
    if (this.latest.size >= LATEST_CACHE_SIZE) this.latest.delete(this.latest.keys().next().value as string);
    this.latest.set(request.id, deepFreeze(request));
    return request;
  }

  /** Oldest first (by createdAt, then insertion order). An empty `states` list matches nothing. */
  async list(query: RequestQuery): Promise<ApprovalRequest[]> {
    const { sql, params } = requestListQuery(query);
    const bodies = this.statements.get(sql).pluck().all(params) as string[];
    return bodies.map((b) => JSON.parse(b) as ApprovalRequest);
  }
}

/**
 * A break-glass use nobody has ratified or flagged yet (reviewOpen in the domain): the condition of
 * the requests_review_waiting index (migration 11) word for word, so that SQLite reads that index's
 * rows only, not the body of every request that ever ended.
 */
const REVIEW_WAITING = "json_extract(body, '$.breakGlass') IS NOT NULL AND json_extract(body, '$.breakGlass.review') IS NULL";

/**
 * An outcome message still owed to the requester (domain/lifecycle/outcome-message.ts): the
 * condition of the requests_outcome_owed index (migration 12) word for word, so that the sweep of
 * owed messages reads that index's rows only, not the body of every request changed within a day.
 */
const OUTCOME_MESSAGE_OWED = "json_extract(body, '$.outcomeMessage') IS NOT NULL";

/** The SQL of a request list and its parameters. */
export function requestListQuery(query: RequestQuery): { sql: string; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (query.states !== undefined) {
    // With reviewDueBy (or updatedSince, reviewWaiting) the few rows of the review_due_at (updated_at,
    // requests_review_waiting) index are the ones to read: unary + keeps SQLite (no statistics) from ranging over every ended request by the
    // state index instead.
    const byOtherIndex = query.reviewDueBy !== undefined || query.updatedSince !== undefined || !!query.reviewWaiting;
    where.push(`${byOtherIndex ? '+' : ''}state IN (SELECT value FROM json_each(@states))`);
    params.states = JSON.stringify(query.states);
  }
  if (query.expiringBefore !== undefined) {
    where.push('expires_at < @expiringBefore');
    params.expiringBefore = query.expiringBefore;
  }
  if (query.reviewDueBy !== undefined) {
    where.push('review_due_at IS NOT NULL AND review_due_at <= @reviewDueBy');
    params.reviewDueBy = query.reviewDueBy;
  }
  if (query.reviewWaiting) where.push(REVIEW_WAITING);
  if (query.expiredAtAuditLoss) where.push("json_extract(body, '$.expiredAtAuditLoss') IS NOT NULL");
  if (query.outcomeMessageOwed) where.push(OUTCOME_MESSAGE_OWED);
  if (query.updatedSince !== undefined) {
    where.push('updated_at >= @updatedSince');
    params.updatedSince = query.updatedSince;
  }
  if (query.requester !== undefined) {
    // The expression of the requests_requester index (migration 13), so that it is read by it.
    where.push(`${REQUESTER_ID} = lower(@requester)`);
    params.requester = query.requester;
  }
  if (query.target !== undefined) {
    // Field by field (the requests_requester index holds the group and the resource id), so that the
    // order of the target's fields in the stored JSON does not matter; in lower case, as the index
    // (migration 13) holds them: Azure reads VM-Web-01 as vm-web-01.
    where.push(
      "lower(json_extract(body, '$.target.resourceGroup')) IS lower(@targetGroup) AND lower(json_extract(body, '$.target.resourceId')) IS lower(@targetResource) AND lower(json_extract(body, '$.target.subscriptionId')) = lower(@targetSubscription)",
    );
    params.targetGroup = query.target.resourceGroup ?? null;
    params.targetResource = query.target.resourceId ?? null;
    params.targetSubscription = query.target.subscriptionId;
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  // Left to itself SQLite reads every row by the created_at index to spare the sort; the rows changed
  // since a recent moment are few, so their range is read and sorted instead.
  // The requests whose outcome message is owed are fewer still: their own index's range.
  const byUpdated = query.outcomeMessageOwed ? 'requests INDEXED BY requests_outcome_owed' : 'requests INDEXED BY requests_updated';
  const from = query.updatedSince !== undefined && query.reviewDueBy === undefined ? byUpdated : 'requests';
  if ((query.limit ?? -1) < 0 && !query.offset) return { sql: `SELECT body FROM ${from} ${filter} ORDER BY created_at, rowid`, params };
  params.limit = query.limit ?? -1;
  params.offset = query.offset ?? 0;
  // A page: the matching rows are put in order by their keys alone, then only the page's bodies are
  // read. Sorting the bodies themselves for every page cost 1.9 s to page through 10,000 open
  // requests 500 at a time, this 0.08 s.
  const sql = `SELECT body FROM requests WHERE rowid IN (
      SELECT rowid FROM ${from} ${filter} ORDER BY created_at, rowid LIMIT @limit OFFSET @offset
    ) ORDER BY created_at, rowid`;
  return { sql, params };
}
