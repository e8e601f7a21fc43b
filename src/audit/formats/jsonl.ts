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
import { ChainDefect, isCanonicalText, NOT_CANONICAL } from '../verify/verify';

export const JSONL_ENCODER: RecordEncoder = {
  encode: (batch) => {
    let text = '';
    for (const record of batch) text += `${fastCanonicalJson(record)}\n`;
    return text;
  },
  // The stored text is already the record's canonical JSON: written as it is, not parsed and re-serialised.
  encodeStored: (batch) => {
    let text = '';
    for (const row of batch) text += `${row.text}\n`;
    return text;
  },
  // The same bytes, each line written straight into one buffer: no rope of the batch to flatten
  // into a string of its own (hundreds of kB on the heap per batch) before it is encoded.
  encodeStoredBytes: (batch) => {
    let size = 0;
    for (const row of batch) size += Buffer.byteLength(row.text, 'utf8') + 1;
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
 * The non-blank lines of a file or stream, with their line numbers (for naming a bad one). Lines end
 * at LF (a CRLF's CR is dropped) and nowhere else: node:readline also ends lines at U+2028 and U+2029
 * since Node 24, characters that JSON keeps unescaped inside strings, so a record quoting them would
 * be cut in two and the export would no longer verify.
 */
export async function* textLines(source: string | Readable): AsyncGenerator<{ text: string; lineNo: number }> {
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const decoder = new StringDecoder('utf8');
  let lineNo = 0;
  let pending = '';
  function* complete(final: boolean): Generator<{ text: string; lineNo: number }> {
    const parts = pending.split('\n');
    pending = final ? '' : (parts.pop() ?? '');
    for (const part of parts) {
      const text = part.endsWith('\r') ? part.slice(0, -1) : part;
      lineNo += 1;
      if (text.trim() !== '') yield { text, lineNo };
    }
  }
  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      yield* complete(false);
    }
    pending += decoder.end();
    if (pending !== '') yield* complete(true);
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
