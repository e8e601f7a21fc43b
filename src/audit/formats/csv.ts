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
 * Lines end with CRLF (RFC 4180); records never hold a raw CR or LF (neutralise), but a cell that
 * did would be quoted.
 */
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { AuditRecord, AuditRequestRef } from '../../domain/audit';
import { csvLineFromStoredText } from './csv-stored-fast';
import { fastCanonicalJson } from '../chain/seal-json-fast';
import { writeRecords } from './output';
import type { RecordEncoder } from './encoder';
import type { ExportSummary } from './output';
import { ChainDefect } from '../verify/verify';

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

/** Canonical JSON of a value, as the JSON cells hold it. */
type CanonicalText = (value: unknown) => string;

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

const EOL = '\r\n';
const NEEDS_QUOTES = /[",\r\n]/;

/** RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled. */
function csvCell(value: string | undefined): string {
  if (value === undefined) return '';
  if (value.includes('"')) return `"${value.replaceAll('"', '""')}"`;
  return NEEDS_QUOTES.test(value) ? `"${value}"` : value;
}

/** One CSV line (with its line break) for a record, every cell escaped. */
export function csvLine(r: AuditRecord, canonical: CanonicalText = fastCanonicalJson): string {
  const row = flattenRecord(r, canonical);
  let line = '';
  for (let k = 0; k < CSV_COLUMNS.length; k++) {
    const v = row[CSV_COLUMNS[k]];
    line += (k ? ',' : '') + csvCell(v === undefined ? undefined : escapeCsvCell(v));
  }
  return line + EOL;
}

export const CSV_ENCODER: RecordEncoder = {
  header: CSV_COLUMNS.join(',') + EOL,
  // Writing a row costs several times reading and writing its bytes: large exports encode on a second thread.
  storedWorker: { module: __filename, name: 'CSV_ENCODER' },
  encode: (batch) => {
    let text = '';
    for (const r of batch) text += csvLine(r);
    return text;
  },
  encodeStored: (batch) => {
    let text = '';
    for (const row of batch) text += storedCsvLine(row.text);
    return text;
  },
  encodeStoredBytes: (batch) => {
    // Each line is written into the buffer as it comes: no rope of the whole batch to flatten
    // before encoding it (that took more than a third of the encoding time).
    let bytes = Buffer.allocUnsafeSlow(BATCH_BYTES);
    let length = 0;
    for (const row of batch) {
      const line = storedCsvLine(row.text);
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      if (bytes.length - length < line.length * 3) {
        const larger = Buffer.allocUnsafeSlow(Math.max(bytes.length * 2, length + line.length * 3));
        bytes.copy(larger, 0, 0, length);
        bytes = larger;
      }
      length += bytes.write(line, length, 'utf8');
    }
    return bytes.subarray(0, length);
  },
};

/** The first buffer of a batch's bytes (a batch of CSV rows takes about 180 kB). */
const BATCH_BYTES = 256 * 1024;

/** The CSV line of a stored record. */
function storedCsvLine(text: string): string {
  // Most records are written straight from the text (csv-stored.ts), which answers only for the
  // texts where that gives these very bytes.
  const line = csvLineFromStoredText(text);
  if (line !== undefined) return line;
  // The stored text is canonical JSON, and JSON.parse keeps its key order, so JSON.stringify of
  // any part of the parsed record is that part's canonical JSON, unless some key is one that
  // JavaScript orders numerically; such a key appears in the text as "<digits>": (digits are
  // never escaped), and then the cells are canonicalised the full way.
  const r = JSON.parse(text) as AuditRecord;
  return csvLine(r, INDEX_LIKE_KEY.test(text) ? fastCanonicalJson : JSON.stringify);
}

/** A member whose key JavaScript would order as an array index (a superset: any false alarm is only slower). */
const INDEX_LIKE_KEY = /"(?:0|[1-9]\d{0,9})":/;

export function writeCsv(records: AsyncIterable<AuditRecord>, out: Writable): Promise<ExportSummary> {
  return writeRecords(records, CSV_ENCODER, out);
}

function cell(value: string): string | undefined {
  return value === '' ? undefined : unescapeCsvCell(value);
}

/** A row of raw cells, and the line it starts on. */
interface RawRow {
  cells: string[];
  line: number;
}

class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An RFC 4180 reader for what writeCsv writes (any line ending; quoted cells may hold commas,
 * quotes and line breaks), streaming: a row is yielded as soon as it is complete. Written for the
 * verification path, where the csv-parse library took most of the time; the tests check its
 * reading against csv-parse's.
 */
export async function* readCsvRows(input: AsyncIterable<string | Buffer> | Iterable<string | Buffer>): AsyncGenerator<RawRow> {
  let cells: string[] = [];
  let cell = '';
  let quoted = false; // inside a quoted cell
  let afterQuote = false; // a quoted cell just closed: only a delimiter may follow
  let line = 1;
  let rowLine = 1;
  let pendingCR = false;
  let first = true;
  const endRow = (): RawRow | undefined => {
    cells.push(cell);
    const row = cells.length === 1 && cells[0] === '' && !afterQuote ? undefined : { cells, line: rowLine };
    cells = [];
    cell = '';
    afterQuote = false;
    return row;
  };
  for await (const chunk of input) {
    let text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let i = 0;
    const n = text.length;
    while (i < n) {
      if (pendingCR) {
        pendingCR = false;
        if (text.charCodeAt(i) === 10) {
          i++;
          continue;
        }
      }
      if (quoted) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          cell += text.slice(i);
          for (let k = i; k < n; k++) if (text.charCodeAt(k) === 10) line++;
          i = n;
          break;
        }
        const part = text.slice(i, q);
        cell += part;
        for (let k = 0; k < part.length; k++) if (part.charCodeAt(k) === 10) line++;
        if (q + 1 === n) {
          // The quote is the chunk's last character: decide with the next chunk.
          i = n;
          quoted = false;
          afterQuote = true;
          break;
        }
        if (text.charCodeAt(q + 1) === 34) {
          cell += '"';
          i = q + 2;
        } else {
          quoted = false;
          afterQuote = true;
          i = q + 1;
        }
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === 44) {
        cells.push(cell);
        cell = '';
        afterQuote = false;
        i++;
      } else if (c === 13 || c === 10) {
        const row = endRow();
        if (row) yield row;
        line++;
        rowLine = line;
        if (c === 13) pendingCR = true;
        i++;
      } else if (c === 34) {
        if (afterQuote) {
          // "" across a chunk boundary: an escaped quote inside the cell.
          cell += '"';
          quoted = true;
          afterQuote = false;
          i++;
        } else if (cell === '') {
          quoted = true;
          i++;
        } else {
          throw new CsvSyntaxError(line, 'a quote inside an unquoted cell');
        }
      } else {
        if (afterQuote) throw new CsvSyntaxError(line, 'text after the closing quote of a cell');
        let j = i + 1;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === 44 || d === 13 || d === 10 || d === 34) break;
          j++;
        }
        cell += text.slice(i, j);
        i = j;
      }
    }
  }
  if (quoted) throw new CsvSyntaxError(rowLine, 'a quoted cell that never ends');
  const last = endRow();
  if (last) yield last;
}

/**
 * Reads a CSV export back into records (for verifyChain). A header that is not Countersign's is an
 * error; a row that cannot be read is a ChainDefect naming its line.
 */
export async function* readCsv(source: string | Readable): AsyncGenerator<AuditRecord> {
  const input = typeof source === 'string' ? createReadStream(source, { encoding: 'utf8' }) : source;
  const rows = readCsvRows(input as AsyncIterable<string | Buffer>);
  try {
    let header = true;
    for await (const { cells, line } of rows) {
      if (header) {
        if (cells.join(',') !== CSV_COLUMNS.join(',')) {
          throw new Error(`not a Countersign audit CSV export: expected the columns ${CSV_COLUMNS.join(',')}, found ${cells.join(',')}`);
        }
        header = false;
        continue;
      }
      if (cells.length !== CSV_COLUMNS.length) {
        throw new ChainDefect('edited', `line ${line} of the CSV export cannot be read (it has ${cells.length} cells, not ${CSV_COLUMNS.length}): it was edited or truncated.`);
      }
      const row = {} as CsvRow;
      CSV_COLUMNS.forEach((c, k) => (row[c] = cell(cells[k])));
      yield unflattenRecord(row);
    }
  } catch (err) {
    if (err instanceof CsvSyntaxError) {
      throw new ChainDefect('edited', `line ${err.line} of the CSV export cannot be read (${err.message}): it was edited or truncated.`);
    }
    throw err;
  } finally {
    await rows.return(undefined);
    if (typeof source === 'string') input.destroy();
  }
}
