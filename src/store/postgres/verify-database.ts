/**
 * Verifying the audit log as it lies in PostgreSQL, trusting nothing but the stored record text:
 * the rows are read in seq order through the stored-rows port and checked by the same verification
 * the SQLite file goes through (src/audit/verify), the indexed columns against the record included. This catches what a superuser can do with the triggers disabled: edited, deleted,
 * renumbered or duplicated rows, and columns changed to mislead filtered reads.
 */
import type pg from 'pg';
import type { StoredAuditRows, StoredRow } from '../../audit/verify/stored-rows';
import type { StoredRequests, StoredRequestText } from '../../audit/verify/request-rows';
import { verifyStoredLog } from '../../audit/verify/verify-database';
import type { VerifyOptions } from '../../audit/verify/verify';
import type { StoredLogVerification } from '../../audit/verify/verify-database';
import { AUDIT_TRIGGERS, POSTGRES_FUNCTIONS, POSTGRES_TRIGGER_FUNCTIONS, POSTGRES_TRIGGER_SQL, spaced } from './schema-protection';
import { POSTGRES_MIGRATIONS } from './schema-versions';
import { REQUESTS_WITHOUT_ROW, tablesCreatedBy, type RequestWithoutRow } from '../request-rows';
import { ROW_LEVEL_SECURITY, schemaFindings, type AuditIndex, type SchemaFindings, type StoredSchema } from '../../audit/verify/schema-findings';
import { auditIndexesMadeBy, judgeAuditIndexes } from '../audit-indexes';

export interface PostgresVerification extends StoredLogVerification, SchemaFindings {
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
 * The request rows and saved versions of the PostgreSQL database, with their records, as the request
 * check of `audit verify` reads them (src/audit/verify/request-rows.ts): ids compared and ordered by
 * the database itself, a batch of ids at a time, the records through the index by request.
 */
export function postgresStoredRequests(pool: pg.Pool): StoredRequests {
  const orphans = 'SELECT DISTINCT request_id FROM request_versions v WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.id = v.request_id)';
  return {
    rows: async (after, limit) =>
      (
        await pool.query<StoredRequestText>(
          after === undefined ? 'SELECT id, version, body FROM requests ORDER BY id LIMIT $1' : 'SELECT id, version, body FROM requests WHERE id > $2 ORDER BY id LIMIT $1',
          after === undefined ? [limit] : [limit, after],
        )
      ).rows,
    withoutRow: async (after, limit) =>
      (await pool.query<{ request_id: string }>(`${orphans}${after === undefined ? '' : ' AND request_id > $2'} ORDER BY request_id LIMIT $1`, after === undefined ? [limit] : [limit, after])).rows.map(
        (r) => r.request_id,
      ),
    versions: async (ids) =>
      (await pool.query<StoredRequestText>('SELECT request_id AS id, version, body FROM request_versions WHERE request_id = ANY($1::text[])', [ids])).rows,
    records: async (ids, types) =>
      (
        await pool.query<{ record: string }>('SELECT record FROM audit_log WHERE request_id IS NOT NULL AND request_id = ANY($1::text[]) AND type = ANY($2::text[]) ORDER BY seq', [ids, types])
      ).rows.map((r) => r.record),
  };
}

/**
 * Append-only triggers of a table that are missing or do not fire in an ordinary session: disabled
 * ('D'), or set to fire only in replica sessions ('R'), which leaves them as silent as disabled.
 * They fire when enabled ('O') or always ('A'). One that is there and fires but is not the one the
 * migrations made is named "<name> (changed)", as on SQLite: made again with another statement
 * (`BEFORE UPDATE OF hash`, a `WHEN` clause), or calling a function that is not Countersign's in
 * this schema or whose body was replaced (`CREATE OR REPLACE FUNCTION countersign_append_only()`
 * returning the row refuses nothing, and needs no trigger touched). A rewrite rule on the table is
 * named too ("rule <name>"): one that does INSTEAD NOTHING on INSERT drops records as they are appended.
 */
export async function missingTriggers(pool: pg.Pool, table: string, expected: readonly string[]): Promise<string[]> {
  const r = await pool.query<{ tgname: string; enabled: string; definition: string; schema: string; function: string; body: string; own: boolean }>(
    `SELECT t.tgname, t.tgenabled AS enabled, pg_get_triggerdef(t.oid) AS definition, quote_ident(current_schema()) AS schema, p.proname AS function, p.prosrc AS body,
            p.pronamespace = to_regnamespace(quote_ident(current_schema())) AND l.lanname = 'plpgsql' AS own
       FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_language l ON l.oid = p.prolang
      WHERE t.tgrelid = to_regclass($1) AND NOT t.tgisinternal AND t.tgenabled <> 'D'`,
    [table],
  );
  // Those that fire in an ordinary session; one disabled or firing only for replicas protects nothing.
  const present = new Map(r.rows.filter((x) => x.enabled !== 'R').map((x) => [x.tgname, x]));
  // Countersign makes no rewrite rule: one added (ON INSERT … DO INSTEAD NOTHING) drops what is
  // appended without an error, where no trigger is asked; named as "rule <name>".
  const rules = await pool.query<{ rulename: string }>("SELECT rulename FROM pg_rewrite WHERE ev_class = to_regclass($1) AND rulename <> '_RETURN' ORDER BY rulename", [table]);
  // Nor does it turn on row-level security: a policy then hides rows from the role that reads them
  // (the bot's, the CLI's), and a selection by request or person skips them without a gap it checks.
  const secured = await pool.query<{ on: boolean }>('SELECT relrowsecurity AS on FROM pg_class WHERE oid = to_regclass($1)', [table]);
  return [
    ...expected.flatMap((name) => {
      const t = present.get(name);
      if (!t) return [name];
      return asMade(t) ? [] : [`${name} (changed)`];
    }),
    // One the migrations did not make (a BEFORE INSERT returning NULL drops a record without an error).
    ...r.rows.filter((x) => !POSTGRES_TRIGGER_SQL.has(x.tgname)).map((x) => `${x.tgname} (not Countersign's)`),
    ...rules.rows.map((x) => `rule ${x.rulename}`),
    ...(secured.rows[0]?.on ? [ROW_LEVEL_SECURITY] : []),
  ];
}

/**
 * Countersign's functions in its schema whose body is not the one the migrations gave them, named
 * "function <name> (changed)": countersign_append_sealed seals and inserts every record, so one a
 * superuser replaced could store another text than the application sealed, hashed and chained as
 * if it were its own; a trigger function replaced refuses nothing (missingTriggers names those
 * triggers too).
 */
export async function changedFunctions(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string; body: string }>(
    'SELECT proname AS name, prosrc AS body FROM pg_proc WHERE pronamespace = to_regnamespace(quote_ident(current_schema())) AND proname = ANY($1::text[]) ORDER BY proname',
    [[...POSTGRES_FUNCTIONS.keys()]],
  );
  const changed = new Set(rows.filter((r) => spaced(r.body) !== POSTGRES_FUNCTIONS.get(r.name)).map((r) => r.name));
  return [...changed].map((name) => `function ${name} (changed)`);
}

/** Whether a trigger is the statement the migrations made, calling their function with its body. */
function asMade(t: { tgname: string; definition: string; schema: string; function: string; body: string; own: boolean }): boolean {
  const qualified = (what: string) => new RegExp(`${what} ${t.schema.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`, 'g');
  const definition = spaced(t.definition.replace(qualified(' ON'), ' ON ').replace(qualified('EXECUTE FUNCTION'), 'EXECUTE FUNCTION '));
  const body = POSTGRES_TRIGGER_FUNCTIONS.get(t.function);
  return t.own && definition === POSTGRES_TRIGGER_SQL.get(t.tgname) && body !== undefined && spaced(t.body) === body;
}

export async function verifyPostgresAuditLog(pool: pg.Pool, target: string, options: VerifyOptions = {}): Promise<PostgresVerification> {
  // The same checks as for SQLite (src/audit/verify): the fast pass, and the full one naming any problem.
  const result = await verifyStoredLog(postgresStoredRows(pool), options);
  return { ...result, target, ...(await schemaFindings(postgresSchema(pool), result)) };
}

async function appliedVersion(pool: pg.Pool, present: ReadonlySet<string>): Promise<number> {
  return present.has('schema_migrations') ? Number((await pool.query<{ v: string | null }>('SELECT MAX(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0) : 0;
}

/** A definition as pg_get_indexdef gives it, in the migrations' words: without the schema, the access method (btree) and the WHERE clause's parentheses. */
function asMigrationsWrite(definition: string): string {
  return definition
    .replace(/ ON (?:"(?:[^"]|"")*"|\w+)\.audit_log /, ' ON audit_log ')
    .replace(/ USING btree /, ' ')
    .replace(/ WHERE \((.*)\)$/, ' WHERE $1');
}

/**
 * The indexes on audit_log as PostgreSQL keeps them (pg_get_indexdef reads pg_index, which a superuser
 * can edit: a partial index built to leave records out, then shown as the one the migrations made).
 * Those of its primary key and unique id are its constraints'.
 */
async function auditLogIndexes(pool: pg.Pool): Promise<{ name: string; definition: string | null; byConstraint: boolean }[]> {
  const { rows } = await pool.query<{ name: string; definition: string; constraint: boolean }>(
    `SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition, EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid) AS "constraint"
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass('audit_log') ORDER BY i.relname`,
  );
  return rows.map((r) => ({ name: r.name, definition: r.definition, byConstraint: r.constraint }));
}

/**
 * An index's entries for the records up to `lastSeq`, counted through it: PostgreSQL has no way to
 * name the index a query must use, so the query is one only that index answers without the table
 * (its WHERE clause, `seq + 0` which the primary key cannot take), table scans are off, and the plan
 * is checked to be an index-only scan of it before the count is trusted. Undefined otherwise.
 */
async function countThrough(pool: pg.Pool, index: AuditIndex, lastSeq: number): Promise<number | undefined> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN READ ONLY');
    await client.query('SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL max_parallel_workers_per_gather = 0');
    const sql = `SELECT count(*)::int8 AS n FROM audit_log WHERE ${index.where} AND seq + 0 <= $1`;
    const plan = JSON.stringify((await client.query({ text: `EXPLAIN (FORMAT JSON) ${sql}`, values: [lastSeq] })).rows);
    const through = plan.includes('"Node Type":"Index Only Scan"') && plan.includes(`"Index Name":${JSON.stringify(index.name)}`);
    const n = through ? Number((await client.query<{ n: string }>(sql, [lastSeq])).rows[0].n) : undefined;
    await client.query('COMMIT');
    return n;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The schema's catalog in PostgreSQL, as verification reads it (and the running bot, its indexes). */
export function postgresSchema(pool: pg.Pool): StoredSchema {
  const present = async () => new Set((await pool.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema()')).rows.map((r) => r.t));
  return {
    missingAuditTriggers: async () => [...(await missingTriggers(pool, 'audit_log', AUDIT_TRIGGERS)), ...(await changedFunctions(pool))],
    tables: async () => {
      const tables = await present();
      return { present: tables, created: tablesCreatedBy(POSTGRES_MIGRATIONS, await appliedVersion(pool, tables)) };
    },
    requestsWithoutRow: async () => (await pool.query<RequestWithoutRow>(REQUESTS_WITHOUT_ROW)).rows,
    auditIndexes: async () => judgeAuditIndexes(await auditLogIndexes(pool), auditIndexesMadeBy(POSTGRES_MIGRATIONS, await appliedVersion(pool, await present())), asMigrationsWrite),
    // Counted up to lastSeq: records appended since are left out of both sides.
    auditIndexEntries: async (index, lastSeq) => {
      const entries = await countThrough(pool, index, lastSeq);
      return entries === undefined ? undefined : { entries, past: 0 };
    },
  };
}
