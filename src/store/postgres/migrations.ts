/**
 * The PostgreSQL schema brought to the version this code expects: the numbered migrations
 * (schema-versions.ts) recorded in schema_migrations. They run under a session advisory lock, so
 * instances starting at once apply each migration once; an instance refuses a schema newer or older
 * than it expects, naming both versions.
 */
import type pg from 'pg';
import { POSTGRES_MIGRATIONS, type PostgresMigration } from './schema-versions';

/** Held while migrating (session lock): one instance migrates, the others wait and then see it done. */
const MIGRATION_LOCK = 4_771_034_112_001;

export class SchemaVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaVersionError';
  }
}

function newerSchema(version: number, expected: number): SchemaVersionError {
  return new SchemaVersionError(
    `the database schema is at version ${version}, newer than this Countersign expects (${expected}): upgrade Countersign on every instance, or restore the database of its version`,
  );
}

export type MigrateMode =
  /** Apply missing migrations when this role may create tables in the schema (it owns it); else refuse. */
  | 'auto'
  /** Apply missing migrations (the `countersign store migrate-schema` command, run as the owner). */
  | 'always'
  /** Never change the schema: refuse one that is not at the expected version. */
  | 'never';

/** How often a start waiting for the migration lock asks for it again. */
const MIGRATION_LOCK_POLL_MS = 100;

/**
 * Waits for the migration lock without limit, but asked for again and again rather than queued in
 * PostgreSQL: once `stop` is aborted (a stop signal while the bot starts) it gives up with its reason.
 */
async function takeMigrationLock(client: pg.PoolClient, stop: AbortSignal | undefined): Promise<void> {
  for (;;) {
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [MIGRATION_LOCK]);
    if (r.rows[0].ok) return;
    stop?.throwIfAborted();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, MIGRATION_LOCK_POLL_MS);
      function done(): void {
        clearTimeout(timer);
        stop?.removeEventListener('abort', done);
        resolve();
      }
      stop?.addEventListener('abort', done, { once: true });
    });
  }
}

async function currentVersion(client: pg.PoolClient): Promise<number | undefined> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (!exists.rows[0].t) return undefined;
  const r = await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations');
  return r.rows[0].v;
}

/**
 * Brings the schema to the version this code expects (as the mode allows); returns that version.
 * Each migration applied by this call is added to `applied`, when given. `beforeEmptySchema` is
 * called, with the schema's name, when the schema holds no `schema_migrations` table (a new database, or one emptied), before
 * anything is refused or made: it throws to stop there with nothing created. Once `stop` is aborted,
 * a wait for the migration lock ends with its reason.
 */
export async function migratePostgres(
  pool: pg.Pool,
  mode: MigrateMode = 'auto',
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
  applied?: Pick<PostgresMigration, 'version' | 'name'>[],
  beforeEmptySchema?: (schema: string) => Promise<void>,
  stop?: AbortSignal,
): Promise<number> {
  const expected = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const client = await pool.connect();
  try {
    // The version is read under the pool's lock_timeout (COUNTERSIGN_STORE_LOCK_WAIT): a start with
    // nothing to migrate waits no longer for a lock on schema_migrations than a write would, and
    // never for the migration lock.
    const found = await currentVersion(client);
    if (found === expected) return found;
    // The schema named from this connection: with a pool of one (COUNTERSIGN_DATABASE_POOL_SIZE=1) it is
    // the only one, held until the migration ends, and a query on the pool would wait for it in vain.
    if (found === undefined && beforeEmptySchema) await beforeEmptySchema((await client.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0].s ?? '(none)');
    if ((found ?? 0) > expected) throw newerSchema(found ?? 0, expected);
    // Something to migrate: instances starting together wait here for the one migrating, and a
    // migration's DDL for the writers of the running instances: longer than the pool's lock_timeout
    // (the writes' wait) allows.
    await client.query('SET lock_timeout = 0');
    await takeMigrationLock(client, stop);
    try {
      let version = (await currentVersion(client)) ?? 0;
      if (version > expected) throw newerSchema(version, expected);
      if (version < expected) {
        const mayCreate = (await client.query<{ ok: boolean }>("SELECT has_schema_privilege(current_schema(), 'CREATE') AS ok")).rows[0].ok;
        if (mode === 'never' || (mode === 'auto' && !mayCreate)) {
          throw new SchemaVersionError(
            `the database schema is at version ${version}, older than this Countersign expects (${expected}): run \`countersign store migrate-schema\` as the schema's owner${mode === 'auto' ? ' (this role may not create tables there)' : ''}`,
          );
        }
        if (!mayCreate) {
          // Asked to migrate (store migrate-schema) by a role that may not: said so, not as a missing runtime grant.
          const who = (await client.query<{ u: string; s: string | null }>('SELECT current_user AS u, current_schema() AS s')).rows[0];
          throw new SchemaVersionError(
            `the database schema is at version ${version}, older than this Countersign expects (${expected}), and the role ${who.u} may not create tables in the schema ${who.s ?? '(none)'}: run \`countersign store migrate-schema\` as the schema's owner (docs/postgresql.md)`,
          );
        }
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version     integer PRIMARY KEY,
          name        text NOT NULL,
          applied_at  timestamptz NOT NULL DEFAULT now()
        )`);
        for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
          if (m.version <= version) continue;
          await client.query('BEGIN');
          try {
            await client.query(m.sql);
            await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            // A role that may create tables here but does not own the earlier ones (42501): said in
            // words, with who should run it, not PostgreSQL's bare "permission denied".
            if ((err as { code?: unknown }).code === '42501') {
              const who = (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
              throw new SchemaVersionError(
                `migration ${m.version} (${m.name}) could not be applied as the role ${who}: ${(err as Error).message}. The schema is still at version ${version}; run \`countersign store migrate-schema\` as the role that owns Countersign's tables (the one that ran the earlier migrations)`,
              );
            }
            throw err;
          }
          version = m.version;
          applied?.push({ version: m.version, name: m.name });
        }
      }
      return version;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    // Back to the pool's lock_timeout before the connection serves others (else it is dropped).
    const reset = await client.query('RESET lock_timeout').then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    client.release(reset);
  }
}
