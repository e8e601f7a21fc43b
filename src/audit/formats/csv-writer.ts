/**
 * Writing the CSV export (the columns are csv-columns.ts). Lines end with CRLF (RFC 4180); records
 * never hold a raw CR or LF (neutralise), but a cell that did would be quoted.
 */
import type { Writable } from 'node:stream';
import type { AuditRecord } from '../../domain/audit';
import { fastCanonicalJson } from '../chain/seal-json-fast';
import { CSV_COLUMNS, type CanonicalText, escapeCsvCell, flattenRecord } from './csv-columns';
import { ByteSink, csvLineFromStoredText, writeCsvLineFromStoredBytes } from './csv-stored-fast';
import type { RecordEncoder, StoredRecordText } from './encoder';
import { packRows } from './packed-rows';
import type { PackedRows } from './encoder';
import { isCanonicalText } from '../chain/record-text';
import { writeRecords } from './output';
import type { ExportSummary } from './output';

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
  encodeStored: (batch, altered) => {
    let text = '';
    for (const row of batch) text += storedCsvLine(row, altered);
    return text;
  },
  encodeStoredBytes: (batch, altered) => encodePackedCsv(packRows(batch), altered),
  encodePackedBytes: (packed, altered) => encodePackedCsv(packed, altered),
};

/** The first buffer of a batch's bytes (a batch of CSV rows takes about 180 kB). */
const BATCH_BYTES = 256 * 1024;

/**
 * A packed batch's CSV lines, each written into one buffer as it comes: no rope of the whole batch to
 * flatten before encoding it (that took more than a third of the encoding time), and most records
 * written from their text's bytes (csv-stored-fast.ts), without a string of each.
 */
function encodePackedCsv(packed: PackedRows, altered: number[] | undefined): Uint8Array {
  const { seqs, ends, wide } = packed;
  const bytes = Buffer.from(packed.bytes.buffer, packed.bytes.byteOffset, packed.bytes.byteLength);
  const out = new ByteSink(BATCH_BYTES);
  for (let r = 0; r < seqs.length; r++) {
    // Row r's hash ends where its text starts.
    const start = ends[2 * r];
    const end = ends[2 * r + 1];
    // Stored as its ASCII bytes, its own UTF-8: scanned as it is.
    if (!wide[2 * r + 1]) {
      if (writeCsvLineFromStoredBytes(bytes, start, end, out)) continue;
      out.writeString(generalCsvLine(seqs[r], bytes.toString('latin1', start, end), altered));
    } else out.writeString(storedCsvLine({ seq: seqs[r], hash: '', text: bytes.toString('utf16le', start, end) }, altered));
  }
  return out.written();
}

/**
 * The CSV line of a stored record; its seq pushed to `altered` when its text is not the canonical
 * form it was sealed in (the cells are those of what it parses to, which is what its hash vouches for).
 */
function storedCsvLine({ seq, text }: StoredRecordText, altered: number[] | undefined): string {
  // Most records are written straight from the text (csv-stored-fast.ts), which answers only for the
  // texts where that gives these very bytes, all of them canonical: nothing more to check.
  const line = csvLineFromStoredText(text);
  return line ?? generalCsvLine(seq, text, altered);
}

/** The CSV line of a stored record by the general path (JSON.parse), which decides every text. */
function generalCsvLine(seq: number, text: string, altered: number[] | undefined): string {
  // The stored text is canonical JSON, and JSON.parse keeps its key order, so JSON.stringify of
  // any part of the parsed record is that part's canonical JSON, unless some key is one that
  // JavaScript orders numerically; such a key appears in the text as "<digits>": (digits are
  // never escaped), and then the cells are canonicalised the full way.
  const r = JSON.parse(text) as AuditRecord;
  // Parsed already: the check re-serialises the record, it does not parse it again.
  if (altered && !isCanonicalText(text, r)) altered.push(seq);
  return csvLine(r, INDEX_LIKE_KEY.test(text) ? fastCanonicalJson : JSON.stringify);
}

/** A member whose key JavaScript would order as an array index (a superset: any false alarm is only slower). */
const INDEX_LIKE_KEY = /"(?:0|[1-9]\d{0,9})":/;

export function writeCsv(records: AsyncIterable<AuditRecord>, out: Writable): Promise<ExportSummary> {
  return writeRecords(records, CSV_ENCODER, out);
}
