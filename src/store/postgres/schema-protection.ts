/**
 * The append-only protection of the audit tables as the migrations (schema-versions.ts) made it:
 * the triggers each table must have, each trigger's statement and the body of every function they
 * made. `audit verify`, the audit reader and the audit access store compare the database with these, so a
 * trigger dropped, disabled, made again with another statement or a function replaced is named.
 */
import { POSTGRES_MIGRATIONS } from './schema-versions';

export const AUDIT_TRIGGERS = ['audit_log_no_update', 'audit_log_no_delete', 'audit_log_no_truncate', 'audit_log_chain'] as const;
export const CHECKPOINT_TRIGGERS = ['audit_checkpoints_no_update', 'audit_checkpoints_no_delete', 'audit_checkpoints_no_truncate'] as const;

/** Whitespace collapsed: how a stored definition is compared with the migrations' text. */
export function spaced(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}

/**
 * The trigger statements of the migrations by trigger name (whitespace collapsed, without the `;`),
 * and the body of each trigger function they name: what the append-only protection must still be. A
 * trigger present and enabled protects nothing once a superuser made it again with another statement
 * (`BEFORE UPDATE OF hash`, a `WHEN (false)`), or replaced the body of its function with one that
 * lets every change through.
 */
export const POSTGRES_TRIGGER_SQL: ReadonlyMap<string, string> = new Map(
  POSTGRES_MIGRATIONS.flatMap((m) => [...m.sql.matchAll(/CREATE TRIGGER (\w+)[^;]*/g)].map((x) => [x[1], spaced(x[0])] as const)),
);
export const POSTGRES_TRIGGER_FUNCTIONS: ReadonlyMap<string, string> = new Map(
  POSTGRES_MIGRATIONS.flatMap((m) => [...m.sql.matchAll(/CREATE FUNCTION (\w+)\(\) RETURNS trigger LANGUAGE plpgsql AS \$\$([\s\S]*?)\$\$;/g)].map((x) => [x[1], spaced(x[2])] as const)),
);

/**
 * The body of every function the migrations make (whitespace collapsed), trigger functions or not:
 * countersign_append_sealed seals and inserts each record, so one replaced by a superuser could
 * store another text than the one the application sealed, hashed and chained as if it were.
 */
export const POSTGRES_FUNCTIONS: ReadonlyMap<string, string> = new Map(
  POSTGRES_MIGRATIONS.flatMap((m) => [...m.sql.matchAll(/CREATE (?:OR REPLACE )?FUNCTION (\w+)\([\s\S]*?\bAS \$\$([\s\S]*?)\$\$;/g)].map((x) => [x[1], spaced(x[2])] as const)),
);
