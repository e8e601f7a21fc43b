/**
 * The audit log's indexes as the migrations make them, in either store's SQL. Reads of one request's
 * or one person's records go through the partial indexes by request and by actor, so an index made
 * to leave records out (a partial index of its own, its definition text put back afterwards) hides
 * them from those reads without changing a record: `audit verify` compares what each index holds
 * with the records (src/audit/verify/schema-findings.ts), and each store reads its catalog for it.
 */
import type { AuditIndex } from '../audit/verify/schema-findings';

/** An index of audit_log as the migrations up to some version made it. */
export interface MadeIndex {
  name: string;
  /** The statement that makes it, spaces collapsed. */
  create: string;
  /** Its WHERE clause (a partial index), spaces collapsed. */
  where?: string;
  /** The records that must each have one entry in it, for an index filtered reads go through. */
  holds?: AuditIndex['holds'];
}

const spaced = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/** Which records a partial index holds, by its WHERE clause. */
const HOLDS: Readonly<Record<string, AuditIndex['holds']>> = {
  'request_id IS NOT NULL': 'requests',
  'actor_id IS NOT NULL': 'actors',
};

/** The indexes on audit_log that the migrations up to `applied` leave (`CREATE INDEX ... ON audit_log`, less each `DROP INDEX`). */
export function auditIndexesMadeBy(migrations: readonly { version: number; sql: string }[], applied: number): Map<string, MadeIndex> {
  const made = new Map<string, MadeIndex>();
  for (const m of migrations.filter((x) => x.version <= applied)) {
    for (const x of m.sql.matchAll(/(CREATE (?:UNIQUE )?INDEX (\w+) ON audit_log\b([^;]*));|DROP INDEX (?:IF EXISTS )?(\w+);/g)) {
      if (x[4]) {
        made.delete(x[4]);
        continue;
      }
      const where = /\bWHERE (.*)$/.exec(spaced(x[3]))?.[1];
      const holds = where === undefined ? undefined : HOLDS[where];
      made.set(x[2], { name: x[2], create: spaced(x[1]), ...(where !== undefined ? { where } : {}), ...(holds ? { holds } : {}) });
    }
  }
  return made;
}

/**
 * The indexes found on audit_log (name and definition, null for one a constraint made), judged
 * against those the migrations made. `normal` brings a definition as the store shows it to the
 * migrations' form; `byConstraint` names those made by the table's own constraints (its primary key,
 * its unique id), which the migrations do not list.
 */
export function judgeAuditIndexes(
  found: readonly { name: string; definition: string | null; byConstraint: boolean }[],
  made: ReadonlyMap<string, MadeIndex>,
  normal: (definition: string) => string = spaced,
): AuditIndex[] {
  const out: AuditIndex[] = [];
  const seen = new Set<string>();
  for (const f of [...found].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    seen.add(f.name);
    const expected = made.get(f.name);
    if (f.byConstraint && !expected) continue;
    const now = f.definition === null ? '' : spaced(f.definition);
    if (!expected) {
      out.push({ name: f.name, state: 'unexpected', now });
    } else if (f.definition === null || normal(f.definition) !== expected.create) {
      out.push({ name: f.name, state: 'changed', now, create: expected.create });
    } else {
      out.push({ name: f.name, state: 'as-made', ...(expected.holds ? { holds: expected.holds, where: expected.where } : {}) });
    }
  }
  for (const m of made.values()) if (!seen.has(m.name)) out.push({ name: m.name, state: 'missing', create: m.create });
  return out;
}
