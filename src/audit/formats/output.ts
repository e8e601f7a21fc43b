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
import type { EncodedBatch } from './encode-worker';
import { packRows, unpackRows } from './packed-rows';
import type { PackedRows } from './encoder';
import { isCanonicalText } from '../chain/record-text';
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
  /**
   * Records read as stored text that is not the canonical form they were sealed in (edited in the
   * database, their hash still good): how many, and the seqs of the first MAX_ALTERED_NAMED. Absent
   * when none was found (or the export read parsed records, which have no stored text to judge).
   */
  altered?: { count: number; seqs: number[] };
}

/** The seqs of altered records an export names; the rest are counted. */
const MAX_ALTERED_NAMED = 20;

/** What an export reads: parsed records, or the stored text of each (read without parsing). */
export type ExportSource = AsyncIterable<AuditRecord> | { stored: AsyncIterable<StoredRecordText> };

export interface WriteOptions {
  /**
   * Batches encoded on the main thread before a worker is started (encoders with `storedWorker`
   * only), so small exports never pay for starting one. Default 32 (8192 records).
   */
  workerAfterBatches?: number;
  /**
   * Called as each batch's bytes are handed to the output, the summary counting them already: if
   * the output then fails (its reader went away), these records are the most that went out.
   */
  writing?: (summary: Readonly<ExportSummary>) => void;
}

/** Records per encode call: amortises per-call setup, holds one batch in memory. */
const BATCH = 256;

const WORKER_AFTER_BATCHES = 32;

/** Batches a worker may have in hand (encoding, or encoded and waiting to be written). */
const WORKER_DEPTH = 4;

function closedEarly(out: Writable): Error {
  return out.errored ?? new Error('the output was closed before the export was complete');
}

/**
 * Writes a chunk, waiting for the output to drain when it asks to: settles when it drains, and fails
 * when it errs or closes first (a reader gone away while its answer was backed up never drains).
 */
export async function writeChunk(out: Writable, chunk: string | Uint8Array): Promise<void> {
  if (out.destroyed || out.writableEnded) throw closedEarly(out);
  if (!out.write(chunk)) {
    // 'error' rejects the once() promise, so a broken pipe or a full disk fails the export; so does
    // an output closed without one (a reader gone away), which would never drain.
    const waiting = new AbortController();
    const drained = once(out, 'drain', { signal: waiting.signal });
    const closed = once(out, 'close', { signal: waiting.signal }).then(() => {
      throw closedEarly(out);
    });
    drained.catch(() => undefined);
    closed.catch(() => undefined);
    try {
      await Promise.race([drained, closed]);
    } finally {
      waiting.abort();
    }
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
    // A batch that never reached an output closed already is not counted as going out.
    if (out.destroyed) throw new Error('the export output was closed before the export finished');
    options.writing?.(summary);
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
  // Every stored text is judged: one not canonical is named in the summary (the encoder says which).
  const encode: (batch: readonly StoredRecordText[], altered: number[]) => string | Uint8Array = encoder.encodeStoredBytes
    ? encoder.encodeStoredBytes.bind(encoder)
    : encoder.encodeStored
      ? encoder.encodeStored.bind(encoder)
      : (batch, altered) => {
          const records = batch.map((row) => JSON.parse(row.text) as AuditRecord);
          records.forEach((r, i) => isCanonicalText(batch[i].text, r) || altered.push(batch[i].seq));
          return encoder.encode(records);
        };
  const workerAfter = encoder.storedWorker ? (options.workerAfterBatches ?? WORKER_AFTER_BATCHES) : Infinity;
  let worker: EncodeWorker | undefined;
  let batches = 0;
  /**
   * Batches read, in order: their text (encoded here at once, or on its way from the worker) and
   * their records' seq and hash for the summary. While a worker has a batch, its rows are kept
   * packed outside the heap (a batch it cannot encode is encoded here).
   */
  const queue: { packed: PackedRows | undefined; tally: BatchTally; encoded: Encoded | Promise<EncodedBatch | undefined> }[] = [];
  const here = (batch: readonly StoredRecordText[]): Encoded => {
    const altered: number[] = [];
    return { bytes: encode(batch, altered), altered };
  };
  const writeNext = async () => {
    const next = queue.shift()!;
    // A batch the worker could not encode is encoded here: an error then is the one it would be anyway.
    const { bytes: text, altered } = next.encoded instanceof Promise ? ((await next.encoded) ?? here(unpackRows(next.packed!))) : next.encoded;
    next.packed = undefined;
    addTally(summary, next.tally);
    addAltered(summary, altered);
    await emit(text);
    progress?.(summary);
  };
  /** Encodes the batch here or hands it to the worker, without waiting. */
  const enqueue = (batch: StoredRecordText[]) => {
    if (!worker && batches++ >= workerAfter) worker = new EncodeWorker(encoder.storedWorker!);
    const tally = batchTally(batch);
    if (!worker) {
      queue.push({ packed: undefined, tally, encoded: here(batch) });
      return;
    }
    // Sent packed, and kept so, outside the heap, in case the worker cannot encode it.
    const packed = packRows(batch);
    queue.push({ packed, tally, encoded: worker.encodePacked(packed) });
  };
  /**
   * Each page in batches of its own (the bytes do not depend on where a batch ends), all encoded or
   * handed over before the first wait; false at the end.
   */
  const enqueuePage = (next: IteratorResult<readonly StoredRecordText[]>): boolean => {
    if (next.done) return false;
    const page = next.value;
    for (let i = 0; i < page.length; i += BATCH) enqueue(page.slice(i, i + BATCH));
    return true;
  };
  /**
   * Writes what is queued beyond what the worker may have in hand. Called only between pages, when
   * no record text of the page is referenced any more except by the queue: on Node 24, whose young
   * generation grows to 64 MB semi-spaces when scavenges keep finding survivors, a page held across
   * the wait for the disk made the heap (and the resident set) grow by over 100 MB.
   */
  const settle = async () => {
    while (queue.length > (worker ? WORKER_DEPTH : 0)) await writeNext();
  };
  try {
    const pages = 'pages' in rows && typeof rows.pages === 'function' ? (rows as StoredRecordPages).pages() : undefined;
    if (pages) {
      // Not for await: its loop keeps each page referenced until the next one, waits included.
      const iterator = pages[Symbol.asyncIterator]();
      try {
        while (enqueuePage(await iterator.next())) await settle();
      } finally {
        await iterator.return?.();
      }
    } else {
      let batch: StoredRecordText[] = [];
      for await (const row of rows) {
        batch.push(row);
        if (batch.length === BATCH) {
          enqueue(batch);
          batch = [];
          await settle();
        }
      }
      if (batch.length) enqueue(batch);
    }
    while (queue.length) await writeNext();
  } finally {
    worker?.close();
  }
}

/** A batch encoded here: its text, and the seqs of its records whose stored text is not canonical. */
type Encoded = { bytes: string | Uint8Array; altered: number[] };

/** What a batch adds to the summary, taken when it is read so that its rows need not be kept. */
interface BatchTally {
  count: number;
  firstSeq: number;
  lastSeq: number;
  headHash: string;
  contiguous: boolean;
}

function batchTally(batch: readonly StoredRecordText[]): BatchTally {
  let contiguous = true;
  for (let i = 1; i < batch.length; i++) if (batch[i].seq !== batch[i - 1].seq + 1) contiguous = false;
  const last = batch[batch.length - 1];
  return { count: batch.length, firstSeq: batch[0].seq, lastSeq: last.seq, headHash: last.hash, contiguous };
}

function addTally(summary: ExportSummary, batch: BatchTally): void {
  if (batch.count === 0) return;
  if (summary.count === 0) summary.firstSeq = batch.firstSeq;
  else if (batch.firstSeq !== summary.lastSeq + 1) summary.contiguous = false;
  if (!batch.contiguous) summary.contiguous = false;
  summary.lastSeq = batch.lastSeq;
  summary.headHash = batch.headHash;
  summary.count += batch.count;
}

function addAltered(summary: ExportSummary, seqs: readonly number[]): void {
  if (seqs.length === 0) return;
  const altered = (summary.altered ??= { count: 0, seqs: [] });
  altered.count += seqs.length;
  for (const seq of seqs) if (altered.seqs.length < MAX_ALTERED_NAMED) altered.seqs.push(seq);
}

function tally(summary: ExportSummary, record: { seq: number; hash: string }): void {
  if (summary.count === 0) summary.firstSeq = record.seq;
  else if (record.seq !== summary.lastSeq + 1) summary.contiguous = false;
  summary.lastSeq = record.seq;
  summary.headHash = record.hash;
  summary.count += 1;
}
