/**
 * Verifying the audit log as it lies in PostgreSQL, trusting nothing but the stored record text:
 * the rows are read in seq order through the stored-rows port and checked by the same verification
 * the SQLite file goes through (src/audit/verify), the indexed columns against the record included. This catches what a superuser can do with the triggers disabled: edited, deleted,
 * renumbered or duplicated rows, and columns changed to mislead filtered reads.
 */
import type pg from 'pg';
import type { StoredAuditRows, StoredRow } from '../../audit/verify/stored-rows';
import { verifyStoredLog } from '../../audit/verify/verify-database';
import type { ChainVerification, VerifyOptions } from '../../audit/verify/verify';
import { AUDIT_TRIGGERS, POSTGRES_MIGRATIONS } from './migrations';
import { REQUESTS_WITHOUT_ROW, tablesCreatedBy, type RequestWithoutRow } from '../request-rows';

export interface PostgresVerification extends ChainVerification {
  /** The database, without secrets. */
  target: string;
  /** Signs of interference that do not break the chain itself (append-only triggers missing or disabled). */
  warnings: string[];
  /** Requests whose row is gone while their saved versions remain (deleted outside Countersign): at most 100. */
  requestsWithoutRow: RequestWithoutRow[];
  /** The requests table itself is gone (dropped) while the saved versions remain. */
  requestsTableMissing?: true;
  /** Other tables its applied migrations made that are gone (dropped or renamed). */
  missingTables: string[];
}

/** The stored rows of the PostgreSQL audit log, as verification reads them. */
function postgresStoredRows(pool: pg.Pool): StoredAuditRows {
  const COLUMNS = 'seq, id, time, type, request_id, actor_id, prev_hash, hash, record';
  return {
    page: async (after, until, limit) => {
      const bounded = until !== undefined;
      const { rows } = await pool.query<StoredRow>({
        text: `SELECT ${COLUMNS} FROM audit_log WHERE seq > $1${bounded ? ' AND seq <= $3' : ''} ORDER BY seq LIMIT $2`,
        values: bounded ? [after, limit, until] : [after, limit],
        rowMode: 'array',
      });
      return rows;
    },
    bounds: async () => {
      const { rows } = await pool.query<{ low: number | null; high: number | null }>('SELECT MIN(seq)::int8 AS low, MAX(seq)::int8 AS high FROM audit_log');
      const { low, high } = rows[0];
      return { low: low === null ? null : Number(low), high: high === null ? null : Number(high) };
    },
  };
}

/** Append-only triggers of a table that are missing or disabled. */
export async function missingTriggers(pool: pg.Pool, table: string, expected: readonly string[]): Promise<string[]> {
  const r = await pool.query<{ tgname: string }>(
    "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal AND tgenabled <> 'D'",
    [table],
  );
  const present = new Set(r.rows.map((x) => x.tgname));
  return expected.filter((t) => !present.has(t));
}

export async function verifyPostgresAuditLog(pool: pg.Pool, target: string, options: VerifyOptions = {}): Promise<PostgresVerification> {
  const missing = await missingTriggers(pool, 'audit_log', AUDIT_TRIGGERS);
  const warnings = missing.length
    ? [`the append-only protection of the audit log is missing or disabled (triggers: ${missing.join(', ')}): someone changed the database schema by hand`]
    : [];
  // The same checks as for SQLite (src/audit/verify): the fast pass, and the full one naming any problem.
  const result = await verifyStoredLog(postgresStoredRows(pool), options);
  const tables = (await pool.query<{ requests: string | null; versions: string | null }>("SELECT to_regclass('requests')::text AS requests, to_regclass('request_versions')::text AS versions")).rows[0];
  // Without the saved versions there is nothing to compare; without the requests table every row is gone.
  const requestsWithoutRow = tables.requests && tables.versions ? (await pool.query<RequestWithoutRow>(REQUESTS_WITHOUT_ROW)).rows : [];
  const requestsTableMissing = !!tables.versions && !tables.requests;
  // Every table its applied migrations made must still be there (a start refuses the database otherwise).
  const present = new Set((await pool.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema()')).rows.map((r) => r.t));
  const applied = present.has('schema_migrations') ? Number((await pool.query<{ v: string | null }>('SELECT MAX(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0) : 0;
  const missingTables = tablesCreatedBy(POSTGRES_MIGRATIONS, applied).filter((t) => !present.has(t) && t !== 'requests');
  return { ...result, target, warnings, requestsWithoutRow, missingTables, ...(requestsTableMissing ? { requestsTableMissing: true as const } : {}) };
}
