/**
 * Appends sealed by the database (countersign_append_sealed, migration 6): the application makes
 * each record's template (src/audit/chain/chain.ts, sealTemplate), the function takes the chain
 * lock, reads the head, seals and inserts them. Sent in the same query as COMMIT, the lock is held
 * by the server alone, never across a round trip to a busy application.
 */
import { completeSealed, SEAL_PLACEHOLDERS, sealTemplate, type SealTemplate } from '../../audit/chain/chain';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';

/** The chain's lock (per database): taken by every append, in every instance. */
export const CHAIN_LOCK = 4_771_034_112_002;

/** The committed head of the chain: its last record's seq and hash. */
export const READ_HEAD = 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1';

/** One appended record as the function answers it. */
interface AppendedRow {
  appended_seq: number;
  appended_prev_hash: string;
  appended_hash: string;
}

const APPEND = 'SELECT appended_seq, appended_prev_hash, appended_hash FROM countersign_append_sealed';

/** The templates of a batch, in chain order. */
export function templatesOf(drafts: readonly AuditEventDraft[], newId: () => string): SealTemplate[] {
  return drafts.map((draft) => sealTemplate(draft, newId()));
}

/** The function's arguments for the templates: the column arrays, then the placeholders. */
function argumentsOf(templates: readonly SealTemplate[]): unknown[] {
  const column = (f: (r: Record<string, unknown>) => unknown) => templates.map((t) => f(t.record) ?? null);
  return [
    templates.map((t) => t.template),
    column((r) => r.id),
    column((r) => r.time),
    column((r) => r.type),
    column((r) => (r.request as { id?: string } | undefined)?.id),
    column((r) => (r.actor as { aadObjectId?: string } | undefined)?.aadObjectId),
    SEAL_PLACEHOLDERS.seq,
    SEAL_PLACEHOLDERS.prevHash,
    SEAL_PLACEHOLDERS.hash,
  ];
}

/** The call with parameters, for an append whose records the transaction needs before it commits. */
export function appendQuery(templates: readonly SealTemplate[]): { text: string; values: unknown[] } {
  return { text: `${APPEND}($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7, $8, $9)`, values: argumentsOf(templates) };
}

/**
 * A value as an SQL literal. The E'' form doubles backslashes, so it reads the same whatever
 * standard_conforming_strings says; text holding a NUL is refused by PostgreSQL either way.
 */
function literal(value: unknown): string {
  if (value === null) return 'NULL';
  if (Array.isArray(value)) return `ARRAY[${value.map(literal).join(',')}]::text[]`;
  const text = String(value);
  return /[\\']/.test(text) ? `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${text}'`;
}

/**
 * The call as SQL text with literal values, no parameters: so it goes to the server in one simple
 * query with COMMIT, and the chain lock is released by that commit without waiting for us.
 */
export function appendText(templates: readonly SealTemplate[]): string {
  return `${APPEND}(${argumentsOf(templates).map(literal).join(',')})`;
}

/** The records the templates became, from the function's rows (one per template, in order). */
export function appendedRecords(templates: readonly SealTemplate[], rows: readonly AppendedRow[]): AuditRecord[] {
  if (rows.length !== templates.length) throw new Error(`the database appended ${rows.length} audit records of ${templates.length}`);
  return templates.map((t, i) => completeSealed(t, Number(rows[i].appended_seq), rows[i].appended_prev_hash, rows[i].appended_hash));
}

export type { AppendedRow };
