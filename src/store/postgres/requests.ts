/**
 * Approval requests in PostgreSQL: the whole request as JSON text plus the columns the lifecycle
 * queries. Compare-and-swap is one UPDATE ... WHERE version = expected: under READ COMMITTED a
 * concurrent writer of the same row waits for the first to commit, then finds the version moved on
 * and updates nothing, so of any number of instances exactly one wins.
 */
import { BreakGlassLimitError, DuplicateRequestError, OpenRequestExistsError, VersionConflictError } from '../../app/ports';
import type { BreakGlassLimit, OnceOpen, RequestQuery, RequestStore } from '../../app/ports';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import { breakGlassDueAt, breakGlassUsesAfter } from '../../domain/lifecycle';
import { OPEN_STATES, type ApprovalRequest } from '../../domain/request';
import { openRequestLike } from '../../domain/same-operation';
import { RequestWitness } from '../request-witness';
import type { PgWriter } from './transactions';
import { isUniqueViolation, type PgTx } from './tx';

/** A request's requester, as the requests_requester index (migration 15) holds it: lower case. */
const REQUESTER_ID = "lower(body::jsonb #>> '{requester,aadObjectId}')";
/** A request's target. */
const TARGET = "(body::jsonb -> 'target')";
/** A request's target in lower case (its ASCII letters, as SQLite's lower() folds them): Azure reads VM-Web-01 as vm-web-01. */
const TARGET_FOLDED = `lower(${TARGET}::text COLLATE "C")`;
/**
 * A request's target as the requests_requester index (migration 15) holds it: a hash, as a target
 * may be longer than a btree entry can be (2704 bytes). A query names it, to be read by that index,
 * and compares the targets themselves too.
 */
const TARGET_KEY = `hashtextextended(${TARGET_FOLDED}, 0)`;

/**
 * Where a request's target is the one given as JSON in parameter $n, whatever the case of its
 * letters, by the requests_requester index (domain/same-operation.ts decides what is the same).
 */
function targetIs(n: number): string {
  const asked = `lower($${n}::jsonb::text COLLATE "C")`;
  return `${TARGET_KEY} = hashtextextended(${asked}, 0) AND ${TARGET_FOLDED} = ${asked}`;
}
/**
 * A break-glass use nobody has ratified or flagged yet (reviewOpen in the domain): the condition of
 * the requests_review_waiting index (migration 13), so that PostgreSQL reads that index's rows only,
 * not the body of every request that ever ended.
 */
const REVIEW_WAITING = "(body::jsonb -> 'breakGlass') IS NOT NULL AND (body::jsonb #> '{breakGlass,review}') IS NULL";

class RequestNotFoundError extends Error {
  constructor(readonly requestId: string) {
    super(`request ${requestId} does not exist: it must be inserted before it can be updated`);
    this.name = 'RequestNotFoundError';
  }
}

function columns(r: ApprovalRequest): unknown[] {
  return [r.id, r.version, r.state, r.expiresAt, r.createdAt, r.updatedAt, JSON.stringify(r), breakGlassDueAt(r) ?? null];
}


/** The advisory lock's first key (the second is the hash of a person and a command): break-glass uses under a limit only. */
const BREAK_GLASS_LOCK_SPACE = 4_771_035;
/** The advisory lock's first key (the second is the hash of a person): inserts checked for an open request like them. */
const ONCE_OPEN_LOCK_SPACE = 4_771_036;

/**
 * Why the store is not ready when the request `witness` remembers (or the newest row, the first
 * time) is gone from `requests`, back at an earlier version, or its saved version gone from
 * `request_versions` (src/store/request-witness.ts), read on `client`: two reads by primary key.
 * `where` names the database. Readiness and lostRequests both ask it.
 */
export async function lostRequest(client: Pick<PgTx, 'query'>, witness: RequestWitness, where: string): Promise<string | undefined> {
  if (witness.found) return witness.found;
  if (!witness.current) {
    const newest = (await client.query<{ id: string; version: number }>('SELECT id, version FROM requests ORDER BY ord DESC LIMIT 1')).rows[0];
    witness.seed(newest ? { id: newest.id, version: Number(newest.version) } : undefined);
  }
  const w = witness.current;
  if (!w) return undefined;
  const found = (
    await client.query<{ version: number | null; saved: boolean }>(
      'SELECT (SELECT version FROM requests WHERE id = $1) AS version, EXISTS (SELECT 1 FROM request_versions WHERE request_id = $1 AND version = $2) AS saved',
      [w.id, w.version],
    )
  ).rows[0];
  return witness.judge(w, { version: found.version ?? undefined, saved: found.saved }, where);
}

export class PostgresRequestStore implements RequestStore {
  /** The request readiness looks up (src/store/request-witness.ts). */
  readonly witness = new RequestWitness();

  constructor(private readonly writer: PgWriter) {}

  /**
   * A request lost under the store, looked at now (the same reads as readiness: lostRequest), so that
   * `pending` and `status` say so from the first ask after the loss, as on SQLite, not only once a
   * readiness probe found it. Once found, kept, with no read.
   */
  async lostRequests(): Promise<string | undefined> {
    return lostRequest(this.writer.pool, this.witness, this.writer.name);
  }

  async insert(request: ApprovalRequest, events: AuditEventDraft[], limit?: BreakGlassLimit, once?: OnceOpen): Promise<AuditRecord[]> {
    if (request.version !== 1) {
      throw new RangeError(`a new request must have version 1; request ${request.id} has version ${request.version}`);
    }
    const values = columns(request);
    const records = await this.writer.transaction(async (tx) => {
      if (limit) {
        // One such insert at a time for this person and command, in every instance: the count below
        // (a statement started after the lock was granted) sees every use committed before it.
        const who = request.requester.aadObjectId.toLowerCase();
        await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [BREAK_GLASS_LOCK_SPACE, `${who}\n${request.command}`]);
        const changed = await tx.query<{ body: string }>('SELECT body FROM requests WHERE updated_at >= $1', [limit.since]);
        const used = breakGlassUsesAfter(
          changed.rows.map((r) => JSON.parse(r.body) as ApprovalRequest),
          who,
          request.command,
          limit.since,
        );
        if (used.length >= limit.count) throw new BreakGlassLimitError(request.id, used);
      }
      if (once) {
        // One such insert at a time for this person, in every instance: the read below sees every
        // request of theirs committed before, by the requests_requester index.
        const who = request.requester.aadObjectId.toLowerCase();
        await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ONCE_OPEN_LOCK_SPACE, who]);
        // The id as it came, folded by the index's own lower() (JavaScript's folds İ otherwise).
        const theirs = await tx.query<{ body: string }>(`SELECT body FROM requests WHERE ${REQUESTER_ID} = lower($1) AND ${targetIs(2)} AND state = ANY($3::text[])`, [
          request.requester.aadObjectId,
          JSON.stringify(request.target),
          [...OPEN_STATES],
        ]);
        const open = openRequestLike(request, who, theirs.rows.map((r) => JSON.parse(r.body) as ApprovalRequest), new Date(once.at));
        if (open) throw new OpenRequestExistsError(request.id, open.id);
      }
      try {
        await tx.query('INSERT INTO requests (id, version, state, expires_at, created_at, updated_at, body, review_due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', values);
      } catch (err) {
        if (isUniqueViolation(err)) throw new DuplicateRequestError(request.id);
        throw err;
      }
      await tx.query('INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES ($1, $2, $3, $4, $5)', [
        request.id,
        request.version,
        request.state,
        request.updatedAt,
        values[6],
      ]);
      return tx.appendEvents(events);
    });
    this.witness.note(request.id, request.version);
    return records;
  }

  async update(next: ApprovalRequest, expectedVersion: number, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    if (next.version !== expectedVersion + 1) {
      throw new RangeError(
        `an update of request ${next.id} must move it from version ${expectedVersion} to ${expectedVersion + 1}, not to ${next.version}`,
      );
    }
    const values = columns(next);
    const records = await this.writer.write(next.id, async (tx) => {
      const cas = await tx.query(
        'UPDATE requests SET version = $2, state = $3, expires_at = $4, updated_at = $5, body = $6, review_due_at = $8 WHERE id = $1 AND version = $7',
        [next.id, next.version, next.state, next.expiresAt, next.updatedAt, values[6], expectedVersion, values[7]],
      );
      if (cas.rowCount !== 1) {
        const exists = await tx.query('SELECT 1 FROM requests WHERE id = $1', [next.id]);
        if (exists.rowCount === 0) throw new RequestNotFoundError(next.id);
        throw new VersionConflictError(next.id, expectedVersion);
      }
      await tx.query('INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES ($1, $2, $3, $4, $5)', [
        next.id,
        next.version,
        next.state,
        next.updatedAt,
        values[6],
      ]);
      return tx.appendEvents(events);
    });
    this.witness.note(next.id, next.version);
    return records;
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    const r = await this.writer.pool.query<{ body: string }>('SELECT body FROM requests WHERE id = $1', [id]);
    return r.rows[0] ? (JSON.parse(r.rows[0].body) as ApprovalRequest) : undefined;
  }

  /** The server's clock_timestamp(): the one clock every instance judges execution leases by. */
  async databaseTime(): Promise<Date> {
    const r = await this.writer.pool.query<{ ms: number }>('SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS ms');
    return new Date(Math.round(Number(r.rows[0]?.ms)));
  }

  /** Oldest first (by createdAt, then insertion order). An empty `states` list matches nothing. */
  async list(query: RequestQuery): Promise<ApprovalRequest[]> {
    const { text, values } = requestListQuery(query);
    const r = await this.writer.pool.query<{ body: string }>(text, values);
    return r.rows.map((row) => JSON.parse(row.body) as ApprovalRequest);
  }
}

/**
 * An outcome message still owed to the requester (domain/lifecycle/outcome-message.ts): the
 * condition of the requests_outcome_owed index (migration 14), so that the sweep of owed messages
 * reads that index's rows only, not the body of every request changed within a day.
 */
const OUTCOME_MESSAGE_OWED = "(body::jsonb -> 'outcomeMessage') IS NOT NULL";

/** The SQL of a request list and its parameters. */
export function requestListQuery(query: RequestQuery): { text: string; values: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.states !== undefined) {
    params.push(query.states);
    where.push(`state = ANY($${params.length}::text[])`);
  }
  if (query.expiringBefore !== undefined) {
    params.push(query.expiringBefore);
    where.push(`expires_at < $${params.length}`);
  }
  if (query.reviewDueBy !== undefined) {
    params.push(query.reviewDueBy);
    where.push(`review_due_at IS NOT NULL AND review_due_at <= $${params.length}`);
  }
  if (query.reviewWaiting) where.push(REVIEW_WAITING);
  if (query.expiredAtAuditLoss) where.push("(body::jsonb -> 'expiredAtAuditLoss') IS NOT NULL");
  if (query.outcomeMessageOwed) where.push(OUTCOME_MESSAGE_OWED);
  if (query.updatedSince !== undefined) {
    params.push(query.updatedSince);
    where.push(`updated_at >= $${params.length}`);
  }
  if (query.requester !== undefined) {
    // The expression of the requests_requester index (migration 15), so that it is read by it.
    params.push(query.requester);
    where.push(`${REQUESTER_ID} = lower($${params.length})`);
  }
  if (query.target !== undefined) {
    params.push(JSON.stringify(query.target));
    where.push(targetIs(params.length));
  }
  let limit = '';
  if (query.limit !== undefined && query.limit >= 0) {
    params.push(query.limit);
    limit = ` LIMIT $${params.length}`;
  }
  if (query.offset !== undefined && query.offset > 0) {
    params.push(query.offset);
    limit += ` OFFSET $${params.length}`;
  }
  return { text: `SELECT body FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, ord${limit}`, values: params };
}
