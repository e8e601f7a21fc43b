/**
 * CSV export for spreadsheets. A fixed column set flattens each record; nested values that have no
 * fixed shape (source, target, execution, data, request parameters) are canonical JSON in one cell.
 * The mapping is lossless, so a CSV export parses back into the very records and can be verified.
 *
 * Spreadsheet safety: a cell starting with = + - @ tab or CR would be run as a formula, so it gets a
 * leading single quote. A cell that itself starts with a quote gets one too, which keeps the escaping
 * reversible: reading strips exactly one leading quote.
 * Absent vs empty: an absent optional field is an empty cell; an empty string is written as a lone
 * quote (the escaped form of nothing), so the two stay apart without quoting tricks.
 */
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import type { AuditRecord, AuditRequestRef } from '../domain/audit';
import { canonicalJson } from '../domain/canonical';
import { tally, writeChunk } from './output';
import type { ExportSummary } from './output';
import { ChainDefect } from './verify';

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

function json(value: unknown): string | undefined {
  return value === undefined ? undefined : canonicalJson(value);
}

/** The record's cells, unescaped (undefined = absent). */
export function flattenRecord(r: AuditRecord): CsvRow {
  return {
    seq: String(r.seq),
    id: r.id,
    time: r.time,
    type: r.type,
    actor_id: r.actor?.aadObjectId,
    actor_name: r.actor?.name,
    actor_tenant: r.actor?.tenantId,
    source: json(r.source),
    request_id: r.request?.id,
    request_command: r.request?.command,
    request_parameters: r.request ? json(r.request.parameters) : undefined,
    request_operation_hash: r.request?.operationHash,
    request_reason: r.request?.reason,
    request_policy_version: r.request?.policyVersion,
    target: json(r.target),
    execution: json(r.execution),
    outcome_result: r.outcome?.result,
    outcome_reason: r.outcome?.reason,
    outcome_detail: r.outcome?.detail,
    data: json(r.data),
    schema_version: String(r.schemaVersion),
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

function parseJsonCell(row: CsvRow, column: CsvColumn): unknown {
  const cell = row[column];
  if (cell === undefined) return undefined;
  try {
    return JSON.parse(cell);
  } catch {
    throw new ChainDefect('edited', `the ${column} cell of record ${row.seq} is not valid JSON: it was edited.`, Number(row.seq) || undefined, row.id ?? '');
  }
}

/** The inverse of flattenRecord. */
export function unflattenRecord(row: CsvRow): AuditRecord {
  const record: Record<string, unknown> = {
    type: row.type,
    time: row.time,
    outcome: withoutUndefined({ result: row.outcome_result, reason: row.outcome_reason, detail: row.outcome_detail }),
    schemaVersion: Number(row.schema_version),
    id: row.id,
    seq: Number(row.seq),
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

// quote_record_delimiter: csv-stringify would leave a lone CR unquoted with a CRLF record delimiter.
const STRINGIFY_OPTIONS = { record_delimiter: 'windows' as const, quote_record_delimiter: true };
/** Rows per stringify call: amortises its setup, holds one page in memory. */
const ROWS_PER_CHUNK = 256;

function escapedCells(r: AuditRecord): (string | undefined)[] {
  const row = flattenRecord(r);
  return CSV_COLUMNS.map((c) => {
    const v = row[c];
    return v === undefined ? undefined : escapeCsvCell(v);
  });
}

/** One CSV line (with its line break) for a record, every cell escaped. */
export function csvLine(r: AuditRecord): string {
  return stringify([escapedCells(r)], STRINGIFY_OPTIONS);
}

export async function writeCsv(records: AsyncIterable<AuditRecord>, out: Writable): Promise<ExportSummary> {
  const summary: ExportSummary = { count: 0, firstSeq: 0, lastSeq: 0 };
  await writeChunk(out, stringify([], { ...STRINGIFY_OPTIONS, header: true, columns: [...CSV_COLUMNS] }));
  let rows: (string | undefined)[][] = [];
  for await (const record of records) {
    rows.push(escapedCells(record));
    tally(summary, record.seq);
    if (rows.length === ROWS_PER_CHUNK) {
      await writeChunk(out, stringify(rows, STRINGIFY_OPTIONS));
      rows = [];
    }
  }
  if (rows.length) await writeChunk(out, stringify(rows, STRINGIFY_OPTIONS));
  return summary;
}

function cell(value: string): string | undefined {
  return value === '' ? undefined : unescapeCsvCell(value);
}

/**
 * Reads a CSV export back into records (for verifyChain). A header that is not Countersign's is an
 * error; a row that cannot be read is a ChainDefect naming its line.
 */
export async function* readCsv(source: string | Readable): AsyncGenerator<AuditRecord> {
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const parser = input.pipe(
    parse({
      bom: true,
      columns: (header: string[]) => {
        if (header.join(',') !== CSV_COLUMNS.join(',')) {
          throw new Error(`not a Countersign audit CSV export: expected the columns ${CSV_COLUMNS.join(',')}, found ${header.join(',')}`);
        }
        return header;
      },
    }),
  );
  try {
    for await (const raw of parser as AsyncIterable<Record<CsvColumn, string>>) {
      const row = {} as CsvRow;
      for (const c of CSV_COLUMNS) row[c] = cell(raw[c]);
      yield unflattenRecord(row);
    }
  } catch (err) {
    if (err instanceof ChainDefect) throw err;
    const e = err as Error & { code?: string; lines?: number };
    if (e.code && e.code.startsWith('CSV_')) {
      throw new ChainDefect('edited', `line ${e.lines ?? '?'} of the CSV export cannot be read (${e.message}): it was edited or truncated.`);
    }
    throw err;
  } finally {
    parser.destroy();
    if (typeof source === 'string') input.destroy();
  }
}
