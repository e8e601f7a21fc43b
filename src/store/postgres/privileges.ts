/**
 * The privileges the bot's role needs on the tables, checked at start so missing grants stop it with
 * a message, not at the first click, and by every readiness probe, so a grant revoked while the
 * instances run turns /readyz 503 naming it rather than failing each click; and the statement that gives them, for the case at hand: a role
 * that is not in the runtime role is granted it, one that already is is not sent to grant it again.
 */
import type pg from 'pg';
import { RUNTIME_ROLE } from './schema-versions';

/** What the bot writes (and reads first). */
const NEEDED: readonly [table: string, privilege: string][] = [
  ['audit_log', 'SELECT'],
  ['audit_log', 'INSERT'],
  ['requests', 'SELECT'],
  ['requests', 'INSERT'],
  ['requests', 'UPDATE'],
  ['request_versions', 'INSERT'],
  ['conversation_refs', 'UPDATE'],
  ['personal_conversations', 'UPDATE'],
  ['card_messages', 'INSERT'],
  ['card_messages', 'UPDATE'],
  ['dialog_state', 'INSERT'],
  ['dialog_state', 'UPDATE'],
  ['dialog_state', 'DELETE'],
  ['audit_checkpoints', 'INSERT'],
  ['audit_downloads', 'INSERT'],
  ['audit_exports', 'INSERT'],
  ['delegations', 'UPDATE'],
  // The schema's version, read at start and by every readiness probe.
  ['schema_migrations', 'SELECT'],
];

export interface MissingPrivilege {
  table: string;
  privilege: string;
}

/** Where the questions are asked: the pool, or a connection of it (the readiness probe's). */
type Queryable = Pick<pg.ClientBase, 'query'>;

/** The privileges of NEEDED the connected role lacks on the schema's tables. */
export async function missingPrivileges(pool: Queryable): Promise<MissingPrivilege[]> {
  const r = await pool.query<{ t: string; p: string; ok: boolean }>(
    'SELECT t, p, has_table_privilege(t, p) AS ok FROM unnest($1::text[], $2::text[]) AS x(t, p)',
    [NEEDED.map((n) => n[0]), NEEDED.map((n) => n[1])],
  );
  return r.rows.filter((x) => !x.ok).map((x) => ({ table: x.t, privilege: x.p }));
}

/**
 * Why the connected role lacks them (or USAGE on `unusableSchema`), and what the schema's owner runs:
 * the runtime role granted to it; or, when it is a member already, the membership made to pass its
 * privileges on, or the grants the runtime role itself lacks (revoked, or a runtime role made by hand
 * without them).
 */
export async function privilegeRemedy(pool: Queryable, user: string, missing: readonly MissingPrivilege[], schema?: string, unusableSchema?: string): Promise<string> {
  const role = (
    await pool.query<{ exists: boolean; member: boolean; inherits: boolean; version: number }>(
      `SELECT r.id IS NOT NULL AS exists,
              COALESCE(pg_has_role(current_user, r.id, 'MEMBER'), false) AS member,
              COALESCE(pg_has_role(current_user, r.id, 'USAGE'), false) AS inherits,
              current_setting('server_version_num')::int AS version
         FROM (SELECT to_regrole($1)::oid AS id) AS r`,
      [RUNTIME_ROLE],
    )
  ).rows[0];
  const quoted = `"${user}"`;
  if (!role.exists) {
    return `the runtime role ${RUNTIME_ROLE} does not exist on this server: as the schema's owner, create it (CREATE ROLE ${RUNTIME_ROLE} NOLOGIN), give it the grants docs/postgresql.md lists, then GRANT ${RUNTIME_ROLE} TO ${quoted}`;
  }
  if (!role.member) return `grant it the runtime role (GRANT ${RUNTIME_ROLE} TO ${quoted}; see docs/postgresql.md)`;
  if (!role.inherits) {
    // From PostgreSQL 16 each membership says whether it passes privileges on; before, the member's INHERIT attribute did.
    const fix = role.version >= 160000 ? `GRANT ${RUNTIME_ROLE} TO ${quoted} WITH INHERIT TRUE` : `ALTER ROLE ${quoted} INHERIT`;
    return `it is a member of ${RUNTIME_ROLE} already, but does not inherit its privileges: ${fix}`;
  }
  // The schema itself, not its tables: the runtime role was not given USAGE on it.
  if (unusableSchema) return `it is a member of ${RUNTIME_ROLE} already, and that role may not use the schema either: as the schema's owner, GRANT USAGE ON SCHEMA "${unusableSchema}" TO ${RUNTIME_ROLE} (see docs/postgresql.md)`;
  const lacking = (
    await pool.query<{ t: string; p: string }>(
      'SELECT t, p FROM unnest($1::text[], $2::text[]) AS x(t, p) WHERE NOT has_table_privilege($3::name, t, p)',
      [missing.map((m) => m.table), missing.map((m) => m.privilege), RUNTIME_ROLE],
    )
  ).rows;
  const table = (name: string) => (schema ? `"${schema}".${name}` : name);
  if (lacking.length === 0) {
    // The runtime role holds them and passes them on, yet this role lacks them: said as it is, with the direct grant.
    return `it is a member of ${RUNTIME_ROLE}, which holds them, yet it lacks them; as the schema's owner, ${grants(missing, table, quoted)} (see docs/postgresql.md)`;
  }
  return `it is a member of ${RUNTIME_ROLE} already, and that role lacks them (revoked, or a runtime role made without the grants of the migrations): as the schema's owner, ${grants(lacking.map((l) => ({ table: l.t, privilege: l.p })), table, RUNTIME_ROLE)} (see docs/postgresql.md)`;
}

/** One GRANT per table, its privileges in the order found. */
function grants(missing: readonly MissingPrivilege[], table: (name: string) => string, to: string): string {
  const byTable = new Map<string, string[]>();
  for (const m of missing) byTable.set(m.table, [...(byTable.get(m.table) ?? []), m.privilege]);
  return [...byTable].map(([t, privileges]) => `GRANT ${privileges.join(', ')} ON ${table(t)} TO ${to};`).join(' ');
}
