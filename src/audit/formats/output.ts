/**
 * Writing export text to a stream with backpressure, so an export of millions of records holds only
 * one batch in memory at a time. The bytes are hashed as they go out, so the manifest of an export
 * names the SHA-256 of exactly what was written, without reading it back.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { GENESIS_HASH } from '../../domain/audit';
import type { AuditRecord } from '../../domain/audit';
import { EncodeWorker } from './encode-worker';
import type { RecordEncoder, StoredRecordPages, StoredRecordText } from './encoder';

export interface ExportSummary {
  count: number;
  /** 0 when nothing was exported. */
  firstSeq: number;
  lastSeq: number;
  /** Hash of the last record written (GENESIS_HASH when none). */
  headHash: string;
  /** True when every record follows the one before it in the chain (seq + 1), so links can be checked. */
  contiguous: boolean;
  /** SHA-256 (hex) of the bytes written. */
  sha256: string;
  bytes: number;
}

/** What an export reads: parsed records, or the stored text of each (read without parsing). */
export type ExportSource = AsyncIterable<AuditRecord> | { stored: AsyncIterable<StoredRecordText> };

export interface WriteOptions {
  /**
   * Batches encoded on the main thread before a worker is started (encoders with `storedWorker`
   * only), so small exports never pay for starting one. Default 32 (8192 records).
   */
  workerAfterBatches?: number;
}

/** Records per encode call: amortises per-call setup, holds one batch in memory. */
const BATCH = 256;

const WORKER_AFTER_BATCHES = 32;

/** Batches a worker may have in hand (encoding, or encoded and waiting to be written). */
const WORKER_DEPTH = 4;

async function writeChunk(out: Writable, chunk: string | Uint8Array): Promise<void> {
  if (out.destroyed) throw new Error('the export output was closed before the export finished');
  if (!out.write(chunk)) {
    // 'error' rejects the once() promise, so a broken pipe or a full disk fails the export.
    await once(out, 'drain');
  }
}

/** Streams the records through the encoder to `out`; `progress` is called after each batch. */
export async function writeRecords(
  source: ExportSource,
  encoder: RecordEncoder,
  out: Writable,
  progress?: (summary: Readonly<ExportSummary>) => void,
  options: WriteOptions = {},
): Promise<ExportSummary> {
  const digest = createHash('sha256');
  const summary: ExportSummary = { count: 0, firstSeq: 0, lastSeq: 0, headHash: GENESIS_HASH, contiguous: true, sha256: '', bytes: 0 };
  const emit = async (text: string | Uint8Array) => {
    if (!text.length) return;
    // Encoded once: the same bytes are hashed, counted and written.
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    digest.update(bytes);
    summary.bytes += bytes.length;
    await writeChunk(out, bytes);
  };
  if (encoder.header) await emit(encoder.header);
  if ('stored' in source) {
    await writeStored(source.stored, encoder, summary, emit, progress, options);
    summary.sha256 = digest.digest('hex');
    return summary;
  }
  const records = source;
  let batch: AuditRecord[] = [];
  const flush = async () => {
    await emit(encoder.encode(batch));
    batch = [];
    progress?.(summary);
  };
  for await (const record of records) {
    batch.push(record);
    tally(summary, record);
    if (batch.length === BATCH) await flush();
  }
  if (batch.length) await flush();
  summary.sha256 = digest.digest('hex');
  return summary;
}

async function writeStored(
  rows: AsyncIterable<StoredRecordText>,
  encoder: RecordEncoder,
  summary: ExportSummary,
  emit: (text: string | Uint8Array) => Promise<void>,
  progress: ((summary: Readonly<ExportSummary>) => void) | undefined,
  options: WriteOptions,
): Promise<void> {
  const encode: (batch: readonly StoredRecordText[]) => string | Uint8Array = encoder.encodeStoredBytes
    ? encoder.encodeStoredBytes.bind(encoder)
    : encoder.encodeStored
      ? encoder.encodeStored.bind(encoder)
      : (batch) => encoder.encode(batch.map((row) => JSON.parse(row.text) as AuditRecord));
  const workerAfter = encoder.storedWorker ? (options.workerAfterBatches ?? WORKER_AFTER_BATCHES) : Infinity;
  let worker: EncodeWorker | undefined;
  let batches = 0;
  /** Batches read, in order, with their text: encoded here at once, or on its way from the worker. */
  const queue: { rows: StoredRecordText[]; text: string | Uint8Array | Promise<Uint8Array | undefined> }[] = [];
  const writeNext = async () => {
    const next = queue.shift()!;
    // A batch the worker could not encode is encoded here: an error then is the one it would be anyway.
    const text = next.text instanceof Promise ? ((await next.text) ?? encode(next.rows)) : next.text;
    for (const row of next.rows) tally(summary, row);
    await emit(text);
    progress?.(summary);
  };
  const enqueue = async (batch: StoredRecordText[]) => {
    if (!worker && batches++ >= workerAfter) worker = new EncodeWorker(encoder.storedWorker!);
    queue.push({ rows: batch, text: worker ? worker.encode(batch) : encode(batch) });
    while (queue.length > (worker ? WORKER_DEPTH : 0)) await writeNext();
  };
  try {
    let batch: StoredRecordText[] = [];
    const pages = 'pages' in rows && typeof rows.pages === 'function' ? (rows as StoredRecordPages).pages() : undefined;
    if (pages) {
      for await (const page of pages) {
        for (const row of page) {
          batch.push(row);
          if (batch.length === BATCH) {
            await enqueue(batch);
            batch = [];
          }
        }
      }
    } else {
      for await (const row of rows) {
        batch.push(row);
        if (batch.length === BATCH) {
          await enqueue(batch);
          batch = [];
        }
      }
    }
    if (batch.length) await enqueue(batch);
    while (queue.length) await writeNext();
  } finally {
    worker?.close();
  }
}

function tally(summary: ExportSummary, record: { seq: number; hash: string }): void {
  if (summary.count === 0) summary.firstSeq = record.seq;
  else if (record.seq !== summary.lastSeq + 1) summary.contiguous = false;
  summary.lastSeq = record.seq;
  summary.headHash = record.hash;
  summary.count += 1;
}
