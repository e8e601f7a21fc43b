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
import { schemaFindings, type SchemaFindings, type StoredSchema } from '../../audit/verify/schema-findings';

export interface PostgresVerification extends ChainVerification, SchemaFindings {
  /** The database, without secrets. */
  target: string;
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

/**
 * Append-only triggers of a table that are missing or do not fire in an ordinary session: disabled
 * ('D'), or set to fire only in replica sessions ('R'), which leaves them as silent as disabled.
 * They fire when enabled ('O') or always ('A').
 */
export async function missingTriggers(pool: pg.Pool, table: string, expected: readonly string[]): Promise<string[]> {
  const r = await pool.query<{ tgname: string }>(
    "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal AND tgenabled IN ('O', 'A')",
    [table],
  );
  const present = new Set(r.rows.map((x) => x.tgname));
  return expected.filter((t) => !present.has(t));
}

export async function verifyPostgresAuditLog(pool: pg.Pool, target: string, options: VerifyOptions = {}): Promise<PostgresVerification> {
  // The same checks as for SQLite (src/audit/verify): the fast pass, and the full one naming any problem.
  const result = await verifyStoredLog(postgresStoredRows(pool), options);
  return { ...result, target, ...(await schemaFindings(postgresSchema(pool))) };
}

/** The schema's catalog in PostgreSQL, as verification reads it. */
function postgresSchema(pool: pg.Pool): StoredSchema {
  return {
    missingAuditTriggers: () => missingTriggers(pool, 'audit_log', AUDIT_TRIGGERS),
    tables: async () => {
      const present = new Set((await pool.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema()')).rows.map((r) => r.t));
      const applied = present.has('schema_migrations') ? Number((await pool.query<{ v: string | null }>('SELECT MAX(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0) : 0;
      return { present, created: tablesCreatedBy(POSTGRES_MIGRATIONS, applied) };
    },
    requestsWithoutRow: async () => (await pool.query<RequestWithoutRow>(REQUESTS_WITHOUT_ROW)).rows,
  };
}
