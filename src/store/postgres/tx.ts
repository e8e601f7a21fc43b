/**
 * What a write sees of its PostgreSQL transaction (transactions.ts runs it, grouped-writes.ts runs
 * several in one), and how a broken connection is told from a failed statement.
 */
import type pg from 'pg';
import type { SealTemplate } from '../../audit/chain/chain';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';

/** What a write can do inside its transaction. */
export interface PgTx {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * Chains the events after the committed head, sealed by the database with COMMIT: the last thing
   * a write does (no statement may follow); the records come once the transaction committed.
   */
  appendEvents(drafts: readonly AuditEventDraft[]): Promise<AuditRecord[]>;
  /** appendEvents for a write that needs the records' seq for a statement after them (a checkpoint). */
  appendEventsNow(drafts: readonly AuditEventDraft[]): Promise<AuditRecord[]>;
  /**
   * Several callers' appends, each group templated on its own: a group that cannot be sealed (a
   * value JSON cannot hold) fails alone and takes no place in the chain. Last, as appendEvents.
   */
  appendGroups(groups: readonly (readonly AuditEventDraft[])[]): Promise<(AuditRecord[] | { error: unknown })[]>;
  /** appendEvents of templates already made (grouped-writes.ts makes each write's own). */
  stage(templates: readonly SealTemplate[]): Promise<AuditRecord[]>;
  /**
   * Undoes what ran since `SAVEPOINT <name>` (grouped-writes.ts, after one write failed): sent before
   * any other statement, as the transaction may be aborted by the failure (a statement cancelled, a
   * constraint), and setting the lock wait again after it, as a SET LOCAL since the savepoint is undone.
   */
  rollbackTo(savepoint: string): Promise<void>;
}

/**
 * The server ending the session is a broken connection too: 57P01-57P03 (an administrator's
 * pg_terminate_backend, a shutdown), 25P03 (idle_in_transaction_session_timeout: a transaction lent
 * out between two statements, as in a stalled event loop, for longer than the role's or database's
 * setting) and 57P05 (idle_session_timeout: a pooled connection idle for longer). Nothing of the
 * transaction was committed, so the write is run again on a new connection.
 */
const CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '57P05', '25P03', '08000', '08001', '08003', '08004', '08006']);

/** A statement the server cancelled (lock_timeout ran out, a cancel request): the connection is fine. */
const CANCELLED_CODES = new Set(['55P03', '57014']);

/** The connection broke (server restart, failover, network, a terminated backend), not the statement. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e || CANCELLED_CODES.has(e.code ?? '')) return false;
  return CONNECTION_CODES.has(e.code ?? '') || /Connection terminated|connection is closed|not queryable/i.test(e.message ?? '');
}

/** A statement refused for a key another row already holds (23505): an id a second sending, or another instance, took first. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === '23505';
}
