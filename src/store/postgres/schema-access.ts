/**
 * Whether the schema Countersign is pointed at can be reached at all: named by
 * COUNTERSIGN_DATABASE_SCHEMA yet not there, or there but not usable by the connected role. Both
 * read as a schema holding no tables, so the bot's start and the read-only commands alike name the
 * cause before anything asks for a migration or calls the database "not Countersign's".
 */
import type pg from 'pg';
import { PostgresStartupError } from './connection';
import { privilegeRemedy } from './privileges';

/** The schema COUNTERSIGN_DATABASE_SCHEMA names, when it does not exist in the database. */
export async function missingSchemaError(pool: pg.Pool, target: string, schema: string | undefined): Promise<PostgresStartupError | undefined> {
  if (!schema) return undefined;
  const r = await pool.query<{ ok: boolean }>('SELECT to_regnamespace($1) IS NOT NULL AS ok', [`"${schema}"`]);
  if (r.rows[0].ok) return undefined;
  return new PostgresStartupError(
    `${target}: the schema ${schema} (COUNTERSIGN_DATABASE_SCHEMA) does not exist in this database: create it as the owner (CREATE SCHEMA "${schema}"), then run \`countersign store migrate-schema\`; or fix COUNTERSIGN_DATABASE_SCHEMA`,
  );
}

/**
 * The schema, when it exists and the connected role may not use it: the grant it lacks, named. For
 * `reader` (the read-only commands an auditor runs) that is USAGE on the schema, with the SELECT they
 * hold, never the runtime role, which would also let the auditor write.
 */
export async function unusableSchemaError(pool: pg.Pool, target: string, schema: string | undefined, reader = false): Promise<PostgresStartupError | undefined> {
  const name = schema ?? 'public';
  const r = await pool.query<{ usable: boolean | null }>(
    "SELECT CASE WHEN to_regnamespace($1) IS NULL THEN NULL ELSE has_schema_privilege(to_regnamespace($1)::oid, 'USAGE') END AS usable",
    [`"${name}"`],
  );
  if (r.rows[0].usable !== false) return undefined;
  const user = (await pool.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
  const remedy = reader
    ? `reading the audit trail needs USAGE on the schema and SELECT on its tables: as the schema's owner, GRANT USAGE ON SCHEMA "${name}" TO "${user}" (or GRANT pg_read_all_data TO "${user}"); a bot's role is granted the runtime role instead (see docs/postgresql.md)`
    : await privilegeRemedy(pool, user, [], schema, name);
  return new PostgresStartupError(`${target}: the role ${user} may not use the schema ${name} (no USAGE on it), so it sees none of Countersign's tables: ${remedy}`);
}

/**
 * The schema made unusable to the role while the instance runs (USAGE revoked, or the runtime role
 * that gave it): a privilege taken away (42501, told to a person as access refused), not tables dropped.
 */
export class StoreSchemaHiddenError extends Error {
  readonly code = '42501';
  constructor(message: string) {
    super(message);
    this.name = 'StoreSchemaHiddenError';
  }
}

/**
 * Whether what a 42P01 or 42883 (`err`) says does not exist is in the catalog of the schema all the
 * same: then it was hidden from this session (the schema's USAGE taken away, or a session that looked
 * its search path up while it was), not dropped. Asked of pg_class and pg_proc, which every role
 * reads whatever it may use.
 */
export async function stillInCatalog(pool: pg.Pool, schema: string | undefined, err: unknown): Promise<boolean> {
  const text = String((err as { message?: unknown } | null)?.message ?? '');
  const name = (/relation "([^"]+)"/.exec(text)?.[1] ?? /function ([^\s(]+)\(/.exec(text)?.[1])?.split('.').pop();
  if (!name) return false;
  const r = await pool.query<{ there: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)
         OR EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = $2) AS there`,
    [schema ?? 'public', name],
  );
  return r.rows[0].there;
}
