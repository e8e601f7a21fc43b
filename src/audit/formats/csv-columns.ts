/**
 * The CSV export's columns and how a record maps onto them and back. A fixed column set flattens
 * each record; nested values that have no fixed shape (source, target, execution, data, request
 * parameters) are canonical JSON in one cell. The mapping is lossless, so a CSV export parses back
 * into the very records and can be verified.
 *
 * Spreadsheet safety: a cell starting with = + - @ tab or CR would be run as a formula, so it gets a
 * leading single quote. A cell that itself starts with a quote gets one too, which keeps the escaping
 * reversible: reading strips exactly one leading quote. A cell not in that form (the guard taken off a
 * formula, or one put before a cell that needs none) is not what Countersign wrote: reading it is an edit.
 * Absent vs empty: an absent optional field is an empty cell; an empty string is written as a lone
 * quote (the escaped form of nothing), so the two stay apart without quoting tricks.
 */
import type { AuditRecord, AuditRequestRef } from '../../domain/audit';
import { fastCanonicalJson } from '../chain/seal-json-fast';
import { ChainDefect, isCanonicalText, NOT_CANONICAL } from '../chain/record-text';

export const CSV_COLUMNS = [
  'seq',
  'id',
  'time',
  'type',
  'actor_id',
  'actor_name',
  'actor_tenant',
  'source',
  'request_id',
  'request_command',
  'request_parameters',
  'request_operation_hash',
  'request_reason',
  'request_policy_version',
  'target',
  'execution',
  'outcome_result',
  'outcome_reason',
  'outcome_detail',
  'data',
  'schema_version',
  'prev_hash',
  'hash',
] as const;

export type CsvColumn = (typeof CSV_COLUMNS)[number];
export type CsvRow = Record<CsvColumn, string | undefined>;

const FORMULA_START = /^[=+\-@\t\r']/;

/** A cell a spreadsheet will show as text, never evaluate. */
export function escapeCsvCell(value: string): string {
  return value === '' || FORMULA_START.test(value) ? `'${value}` : value;
}

export function unescapeCsvCell(value: string): string {
  return value.startsWith("'") ? value.slice(1) : value;
}

/**
 * Why a (non-empty) cell as read is not in the form escapeCsvCell writes, or undefined when it is. The
 * value reads the same either way, so the record's hash cannot show it: a formula whose guard was
 * taken off hashes as intact, and is exactly what a spreadsheet runs.
 */
export function notAsEscaped(raw: string): string | undefined {
  // Most cells start with none of ' = + - @ tab CR: they are as written, with nothing to compare.
  if (!FORMULA_START.test(raw)) return undefined;
  const value = unescapeCsvCell(raw);
  if (escapeCsvCell(value) === raw) return undefined;
  return raw.startsWith("'")
    ? `it starts with a ' that Countersign writes only before an empty text or one starting with = + - @ ' tab or CR`
    : `it starts with ${JSON.stringify(raw[0])} without the ' Countersign writes before = + - @ ' tab and CR (without it a spreadsheet runs the cell as a formula)`;
}

/** Canonical JSON of a value, as the JSON cells hold it. */
export type CanonicalText = (value: unknown) => string;

function json(value: unknown, canonical: CanonicalText): string | undefined {
  return value === undefined ? undefined : canonical(value);
}

/** The record's cells, unescaped (undefined = absent). */
export function flattenRecord(r: AuditRecord, canonical: CanonicalText = fastCanonicalJson): CsvRow {
  return {
    seq: String(r.seq),
    id: r.id,
    time: r.time,
    type: r.type,
    actor_id: r.actor?.aadObjectId,
    actor_name: r.actor?.name,
    actor_tenant: r.actor?.tenantId,
    source: json(r.source, canonical),
    request_id: r.request?.id,
    request_command: r.request?.command,
    request_parameters: r.request ? json(r.request.parameters, canonical) : undefined,
    request_operation_hash: r.request?.operationHash,
    request_reason: r.request?.reason,
    request_policy_version: r.request?.policyVersion,
    target: json(r.target, canonical),
    execution: json(r.execution, canonical),
    outcome_result: r.outcome?.result,
    outcome_reason: r.outcome?.reason,
    outcome_detail: r.outcome?.detail,
    data: json(r.data, canonical),
    schema_version: String(r.schemaVersion),
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

function parseJsonCell(row: CsvRow, column: CsvColumn): unknown {
  const cell = row[column];
  if (cell === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(cell);
  } catch {
    throw new ChainDefect('edited', `the ${column} cell of record ${row.seq} is not valid JSON: it was edited.`, Number(row.seq) || undefined, row.id ?? '');
  }
  if (!isCanonicalText(cell, value)) throw new ChainDefect('edited', `the ${column} cell of record ${row.seq} was edited: ${NOT_CANONICAL}.`, Number(row.seq) || undefined, row.id ?? '');
  return value;
}

/**
 * A number cell (seq, schema_version) as flattenRecord writes it: the integer's decimal text. Number()
 * also reads "09", "9.0", " 9" or "0x9" as 9, so such a cell would hash as written while not being it.
 */
function integerCell(row: CsvRow, column: 'seq' | 'schema_version'): number {
  const cell = row[column];
  if (cell !== undefined && !/^(0|[1-9][0-9]*)$/.test(cell)) {
    const seq = /^(0|[1-9][0-9]*)$/.test(row.seq ?? '') ? Number(row.seq) : undefined;
    throw new ChainDefect('edited', `the ${column} cell of record ${row.seq} was edited: ${JSON.stringify(cell.slice(0, 40))} is not the integer as Countersign writes it (decimal digits, no leading zero, sign, point or spaces).`, seq, row.id ?? '');
  }
  return Number(cell);
}

/** The inverse of flattenRecord. */
export function unflattenRecord(row: CsvRow): AuditRecord {
  const record: Record<string, unknown> = {
    type: row.type,
    time: row.time,
    outcome: withoutUndefined({ result: row.outcome_result, reason: row.outcome_reason, detail: row.outcome_detail }),
    schemaVersion: integerCell(row, 'schema_version'),
    id: row.id,
    seq: integerCell(row, 'seq'),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  if (row.actor_id !== undefined || row.actor_name !== undefined || row.actor_tenant !== undefined) {
    record.actor = withoutUndefined({ aadObjectId: row.actor_id, tenantId: row.actor_tenant, name: row.actor_name });
  }
  if (row.request_id !== undefined) {
    const request: Partial<AuditRequestRef> = {
      id: row.request_id,
      command: row.request_command,
      parameters: parseJsonCell(row, 'request_parameters') as Record<string, string>,
      operationHash: row.request_operation_hash,
      reason: row.request_reason,
      policyVersion: row.request_policy_version,
    };
    record.request = withoutUndefined(request);
  }
  for (const [field, column] of [
    ['source', 'source'],
    ['target', 'target'],
    ['execution', 'execution'],
    ['data', 'data'],
  ] as const) {
    const value = parseJsonCell(row, column);
    if (value !== undefined) record[field] = value;
  }
  return withoutUndefined(record) as unknown as AuditRecord;
}

function withoutUndefined<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
  return o;
}
