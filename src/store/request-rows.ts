/**
 * Requests deleted outside Countersign. Countersign never deletes a request, and every saved version
 * is kept in request_versions (append-only, guarded by triggers in both stores), so a request whose
 * versions outlive its row was deleted by hand: `audit verify` names them (an approved or scheduled
 * one would otherwise never run, without a word).
 */

export type { RequestWithoutRow } from '../audit/verify/schema-findings';

/** The latest version of each request whose versions outlive its row (SQL for SQLite and PostgreSQL alike). */
export const REQUESTS_WITHOUT_ROW = `SELECT v.request_id AS id, v.state, v.updated_at AS "updatedAt" FROM request_versions v
  WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.id = v.request_id)
    AND v.version = (SELECT MAX(w.version) FROM request_versions w WHERE w.request_id = v.request_id)
  ORDER BY v.request_id LIMIT 100`;

/** The tables the migrations up to `applied` create (`CREATE TABLE name`), in either store's SQL. */
export function tablesCreatedBy(migrations: readonly { version: number; sql: string }[], applied: number): string[] {
  return migrations.filter((m) => m.version <= applied).flatMap((m) => [...m.sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)/g)].map((x) => x[1]));
}
