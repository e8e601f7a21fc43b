/**
 * Reading a CSV export back into records, streaming, for verification (the columns are
 * csv-columns.ts).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { AuditRecord } from '../../domain/audit';
import { ChainDefect } from '../chain/record-text';
import { CSV_COLUMNS, type CsvRow, notAsEscaped, unescapeCsvCell, unflattenRecord } from './csv-columns';
import { MAX_EXPORT_LINE_CHARS } from './jsonl';

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

/** A row whose cells hold more text than any record's: past the cap it is not read on. */
class CsvRowTooLong extends CsvSyntaxError {
  constructor(
    line: number,
    readonly maxChars: number,
  ) {
    super(line, `a row longer than the ${maxChars.toLocaleString('en-US')} characters a row may hold`);
  }
}

/**
 * An RFC 4180 reader for what writeCsv writes (any line ending; quoted cells may hold commas,
 * quotes and line breaks), streaming: a row is yielded as soon as it is complete. Written for the
 * verification path, where the csv-parse library took most of the time; the tests check its
 * reading against csv-parse's. A row whose cells hold more than `maxRowChars` characters is a
 * CsvRowTooLong as soon as it passes the cap, as a JSON Lines line is (jsonl.ts): never read whole.
 */
export async function* readCsvRows(input: AsyncIterable<string | Buffer> | Iterable<string | Buffer>, maxRowChars = MAX_EXPORT_LINE_CHARS): AsyncGenerator<RawRow> {
  let cells: string[] = [];
  let cell = '';
  let rowChars = 0; // the text of the row's cells before this one
  const bounded = () => {
    if (rowChars + cell.length > maxRowChars) throw new CsvRowTooLong(rowLine, maxRowChars);
  };
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
    rowChars = 0;
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
          bounded();
          for (let k = i; k < n; k++) if (text.charCodeAt(k) === 10) line++;
          i = n;
          break;
        }
        const part = text.slice(i, q);
        cell += part;
        bounded();
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
        rowChars += cell.length;
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
        bounded();
        i = j;
      }
    }
  }
  if (quoted) throw new CsvSyntaxError(rowLine, 'a quoted cell that never ends');
  const last = endRow();
  if (last) yield last;
}

/**
 * The first row is not the header Countersign writes: not a CSV export at all, unless a manifest
 * signed the file as one (then its header was edited: verify-export says so).
 */
export class CsvHeaderError extends Error {
  constructor(readonly found: string) {
    super(`not a Countersign audit CSV export: ${found}`);
    this.name = 'CsvHeaderError';
  }
}

/** How much of a first line that is not the expected header an error quotes. */
const QUOTED_HEADER_CHARS = 300;

function shortened(text: string): string {
  return text.length <= QUOTED_HEADER_CHARS ? text : `${text.slice(0, QUOTED_HEADER_CHARS)}… (${text.length.toLocaleString('en-US')} characters in all)`;
}

/**
 * Reads a CSV export back into records (for verifyChain). A header that is not Countersign's is an
 * error; a row that cannot be read is a ChainDefect naming its line.
 */
export async function* readCsv(source: string | Readable): AsyncGenerator<AuditRecord> {
  const input = typeof source === 'string' ? createReadStream(source, { encoding: 'utf8' }) : source;
  const rows = readCsvRows(input as AsyncIterable<string | Buffer>);
  let header = true;
  try {
    for await (const { cells, line } of rows) {
      if (header) {
        if (cells.join(',') !== CSV_COLUMNS.join(',')) {
          throw new CsvHeaderError(`expected the columns ${CSV_COLUMNS.join(',')}, found ${shortened(cells.join(','))}`);
        }
        header = false;
        continue;
      }
      if (cells.length !== CSV_COLUMNS.length) {
        throw new ChainDefect('edited', `line ${line} of the CSV export cannot be read (it has ${cells.length} cells, not ${CSV_COLUMNS.length}): it was edited or truncated.`);
      }
      const row = {} as CsvRow;
      CSV_COLUMNS.forEach((c, k) => (row[c] = cell(cells[k])));
      CSV_COLUMNS.forEach((c, k) => {
        const why = cells[k] === '' ? undefined : notAsEscaped(cells[k]);
        if (why) throw new ChainDefect('edited', `the ${c} cell of record ${row.seq} was edited: ${why}.`, Number(row.seq) || undefined, row.id ?? '');
      });
      yield unflattenRecord(row);
    }
  } catch (err) {
    if (err instanceof CsvRowTooLong) {
      const cap = `longer than the ${err.maxChars.toLocaleString('en-US')} characters a row may hold (Countersign's records are far shorter)`;
      if (header) throw new CsvHeaderError(`its first row is ${cap}`);
      throw new ChainDefect('edited', `line ${err.line} of the CSV export starts a row ${cap}: it was edited, or is not a Countersign export.`);
    }
    if (err instanceof CsvSyntaxError) {
      throw new ChainDefect('edited', `line ${err.line} of the CSV export cannot be read (${err.message}): it was edited or truncated.`);
    }
    throw err;
  } finally {
    await rows.return(undefined);
    if (typeof source === 'string') input.destroy();
  }
}
