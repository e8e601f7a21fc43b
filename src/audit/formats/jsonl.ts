/**
 * JSON Lines export: one record per line, each line the record's RFC 8785 canonical JSON (the same
 * bytes the store keeps). Records never contain a raw CR or LF (neutralise), so a line is a record.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import type { AuditRecord } from '../../domain/audit';
import { fastCanonicalJson } from '../chain/seal-json-fast';
import { writeRecords } from './output';
import type { RecordEncoder } from './encoder';
import type { ExportSummary } from './output';
import { ChainDefect, isCanonicalStoredText, isCanonicalText, NOT_CANONICAL } from '../chain/record-text';

export const JSONL_ENCODER: RecordEncoder = {
  // No worker: the records' text is copied as it is, and handing batches to a worker and back cost
  // more than the canonical check it would take off this thread (measured).
  encode: (batch) => {
    let text = '';
    for (const record of batch) text += `${fastCanonicalJson(record)}\n`;
    return text;
  },
  // The stored text is already the record's canonical JSON: written as it is, not parsed and
  // re-serialised. A text that is not (edited in the database) is written as stored too, and named.
  encodeStored: (batch, altered) => {
    let text = '';
    for (const row of batch) {
      if (altered && !isCanonicalStoredText(row.text)) altered.push(row.seq);
      text += `${row.text}\n`;
    }
    return text;
  },
  // The same bytes, each line written straight into one buffer: no rope of the batch to flatten
  // into a string of its own (hundreds of kB on the heap per batch) before it is encoded.
  encodeStoredBytes: (batch, altered) => {
    let size = 0;
    for (const row of batch) {
      if (altered && !isCanonicalStoredText(row.text)) altered.push(row.seq);
      size += Buffer.byteLength(row.text, 'utf8') + 1;
    }
    const bytes = Buffer.allocUnsafeSlow(size);
    let at = 0;
    for (const row of batch) {
      at += bytes.write(row.text, at, 'utf8');
      bytes[at++] = 10;
    }
    return bytes;
  },
};

export function writeJsonl(records: AsyncIterable<AuditRecord>, out: Writable): Promise<ExportSummary> {
  return writeRecords(records, JSONL_ENCODER, out);
}

/**
 * The longest line an export file may hold, in characters (UTF-16 code units). Countersign's records
 * are a few kilobytes: every field a client sends is capped (docs/limits.md) and a request body is at
 * most 1 MB, and an OCSF line holds its record twice. A line past this cap was not written by
 * Countersign; reading it whole would only hold the process for as long as the line is.
 */
export const MAX_EXPORT_LINE_CHARS = 16 * 1024 * 1024;

const count = (n: number) => n.toLocaleString('en-US');

/** The line being read, across chunks: kept while within the cap, past it only counted. */
class PendingLine {
  private text = ''; // appended to (a rope), flattened once when the line ends
  private length = 0;
  private kept = true;
  private endsWithCR = false;

  constructor(private readonly maxChars: number) {}

  get empty(): boolean {
    return this.length === 0;
  }

  add(piece: string): void {
    if (piece === '') return;
    this.length += piece.length;
    this.endsWithCR = piece.endsWith('\r');
    if (!this.kept) return;
    // Past the cap even if a CR ends it: from here on counted, not kept.
    if (this.length > this.maxChars + 1) {
      this.kept = false;
      this.text = '';
    } else this.text += piece;
  }

  /** The line without its CR, or the length of one past the cap; the next line starts empty. */
  end(): { text: string } | { tooLong: number } {
    const length = this.length - (this.endsWithCR ? 1 : 0);
    const line = length > this.maxChars ? { tooLong: length } : { text: this.endsWithCR ? this.text.slice(0, -1) : this.text };
    this.text = '';
    this.length = 0;
    this.kept = true;
    this.endsWithCR = false;
    return line;
  }
}

/**
 * The non-blank lines of a file or stream, with their line numbers (for naming a bad one). Lines end
 * at LF (a CRLF's CR is dropped) and nowhere else: node:readline also ends lines at U+2028 and U+2029
 * since Node 24, characters that JSON keeps unescaped inside strings, so a record quoting them would
 * be cut in two and the export would no longer verify. Only each new chunk is searched for line
 * ends, so a long line costs its length, not its length squared. A line longer than `maxLineChars`
 * is a ChainDefect naming it, its length and the cap.
 */
export async function* textLines(source: string | Readable, maxLineChars = MAX_EXPORT_LINE_CHARS): AsyncGenerator<{ text: string; lineNo: number }> {
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const decoder = new StringDecoder('utf8');
  const line = new PendingLine(maxLineChars);
  let lineNo = 0;
  function* scan(text: string): Generator<{ text: string; lineNo: number }> {
    let from = 0;
    for (let lf = text.indexOf('\n'); lf !== -1; lf = text.indexOf('\n', from)) {
      line.add(text.slice(from, lf));
      from = lf + 1;
      lineNo += 1;
      const ended = line.end();
      if ('tooLong' in ended) {
        throw new ChainDefect(
          'edited',
          `line ${lineNo} of the export is ${count(ended.tooLong)} characters long, more than the ${count(maxLineChars)} a line may hold (Countersign's records are far shorter): it was edited, or is not a Countersign export.`,
        );
      }
      if (ended.text.trim() !== '') yield { text: ended.text, lineNo };
    }
    line.add(text.slice(from));
  }
  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      yield* scan(typeof chunk === 'string' ? chunk : decoder.write(chunk));
    }
    // The last line need not end in LF: it ends here, as if it did.
    const tail = decoder.end();
    if (tail !== '' || !line.empty) yield* scan(`${tail}\n`);
  } finally {
    if (typeof source === 'string') input.destroy();
  }
}

/**
 * Reads a JSON Lines export (a file path or a stream) for verifyChain. A line that is not JSON is
 * reported as a ChainDefect naming the line, so verification names it instead of crashing.
 */
export async function* readJsonl(source: string | Readable): AsyncGenerator<AuditRecord> {
  for await (const { text, lineNo } of textLines(source)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ChainDefect('edited', `line ${lineNo} of the export is not valid JSON (${(err as Error).message}): it was edited or truncated.`);
    }
    if (!isCanonicalText(text, parsed)) {
      const r = parsed as Partial<AuditRecord> | null;
      const seq = Number.isSafeInteger(r?.seq) ? r!.seq : undefined;
      throw new ChainDefect('edited', `line ${lineNo} of the export${seq === undefined ? '' : ` (record ${seq})`} was edited: ${NOT_CANONICAL}.`, seq, typeof r?.id === 'string' ? r.id : '');
    }
    yield parsed as AuditRecord;
  }
}
