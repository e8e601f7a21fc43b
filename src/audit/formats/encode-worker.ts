/**
 * Encoding export batches on a second thread. A large export reads pages from the store, hashes and
 * writes on the main thread; an encoder whose per-record work is heavy (CSV) can have its batches
 * encoded by a worker thread meanwhile, so the two halves run on two cores. The worker runs the very
 * same encoder object (loaded from its module), so the bytes are the same; a batch the worker could
 * not encode (an error, or the worker gone) is encoded on the main thread instead, which then fails
 * exactly as it would have without the worker.
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../module-worker';
import type { EncoderModule, StoredRecordText } from './encoder';

/**
 * The worker's code: load the encoder, then encode each batch it is sent to UTF-8 bytes (transferred
 * back), with the seqs of the records whose stored text it found not canonical.
 */
const WORKER_SOURCE = `
const encoder = require(workerData.module)[workerData.name];
const { unpackRows } = require(workerData.packing);
parentPort.on('message', ({ id, packed }) => {
  let bytes;
  const altered = [];
  try {
    const rows = unpackRows(packed);
    // encodeStoredBytes gives a view of a buffer of its own; Buffer.from may share a pool: copied then.
    bytes = encoder.encodeStoredBytes ? encoder.encodeStoredBytes(rows, altered) : Buffer.from(encoder.encodeStored(rows, altered), 'utf8');
  } catch {
    parentPort.postMessage({ id, failed: true });
    return;
  }
  const own = encoder.encodeStoredBytes || (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) ? bytes : Uint8Array.prototype.slice.call(bytes);
  parentPort.postMessage({ id, bytes: own, altered }, [own.buffer]);
});
`;

/**
 * The worker's heap: a young generation of 16 MB (smaller ones made CSV encoding GC-bound: 9.9 s
 * instead of 7.3 s for 1M records at 8 MB) and a cap on the old one, so the process stays within its
 * memory budget; a worker over it is stopped and the main thread takes over.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 64 };

interface Reply {
  id: number;
  bytes?: Uint8Array;
  altered?: number[];
  failed?: boolean;
}

/** A batch the worker encoded: its bytes, and the seqs of its records whose stored text is not canonical. */
export interface EncodedBatch {
  bytes: Uint8Array;
  altered: number[];
}

export class EncodeWorker {
  private readonly worker: Worker | undefined;
  private readonly waiting = new Map<number, (batch: EncodedBatch | undefined) => void>();
  private nextId = 0;
  private gone = false;

  constructor(encoder: EncoderModule) {
    try {
      this.worker = startModuleWorker(WORKER_SOURCE, encoder.module, { name: encoder.name, packing: __filename }, WORKER_LIMITS);
    } catch {
      // No thread to be had: every batch is encoded on the main thread.
      this.gone = true;
      return;
    }
    this.worker.on('message', (reply: Reply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      resolve?.(reply.failed || !reply.bytes ? undefined : { bytes: reply.bytes, altered: reply.altered ?? [] });
    });
    const fail = () => {
      this.gone = true;
      for (const resolve of this.waiting.values()) resolve(undefined);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', fail);
  }

  /** The batch's bytes and findings, or undefined when the worker could not encode it (the caller encodes it then). */
  encode(rows: readonly StoredRecordText[]): Promise<EncodedBatch | undefined> {
    return this.encodePacked(packRows(rows));
  }

  /** The same for a batch packed by packRows (a copy goes to the worker; the caller may keep it). */
  encodePacked(packed: PackedRows): Promise<EncodedBatch | undefined> {
    const worker = this.worker;
    if (this.gone || !worker) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, packed });
    });
  }

  close(): void {
    this.gone = true;
    void this.worker?.terminate();
  }
}

/**
 * A batch as the worker receives it and as the main thread keeps it in case the worker cannot encode
 * it: its strings in one buffer outside the JavaScript heap, exactly (an ASCII string as its bytes,
 * any other as UTF-16 code units, lone surrogates included), with their seqs. Kept as rows, their
 * record text survived every scavenge while the worker had them, and on Node 24 V8 grows the young
 * generation with what survives (to 2 x 64 MB semi-spaces): most of a CSV export's peak RSS. Sent
 * packed, the batch is copied to the worker as a few buffers instead of hundreds of strings.
 */
export interface PackedRows {
  seqs: Float64Array;
  /** Where each string ends in bytes: hash i at ends[2i], text i at ends[2i + 1]. */
  ends: Uint32Array;
  /** 1 where the string is stored as UTF-16 code units, 0 where as ASCII bytes. */
  wide: Uint8Array;
  bytes: Uint8Array;
}

export function packRows(rows: readonly StoredRecordText[]): PackedRows {
  const n = rows.length * 2;
  const seqs = new Float64Array(rows.length);
  const ends = new Uint32Array(n);
  const wide = new Uint8Array(n);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const row = rows[i >> 1];
    const str = i & 1 ? row.text : row.hash;
    if (!(i & 1)) seqs[i >> 1] = row.seq;
    // As many UTF-8 bytes as characters: every character is ASCII, one byte each.
    if (Buffer.byteLength(str, 'utf8') === str.length) size += str.length;
    else {
      wide[i] = 1;
      size += str.length * 2;
    }
    ends[i] = size;
  }
  const bytes = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const row = rows[i >> 1];
    at += bytes.write(i & 1 ? row.text : row.hash, at, wide[i] ? 'utf16le' : 'latin1');
  }
  return { seqs, ends, wide, bytes };
}

export function unpackRows(packed: PackedRows): StoredRecordText[] {
  const { seqs, ends, wide } = packed;
  const bytes = Buffer.from(packed.bytes.buffer, packed.bytes.byteOffset, packed.bytes.byteLength);
  const rows = new Array<StoredRecordText>(seqs.length);
  let start = 0;
  const next = (i: number) => {
    const str = bytes.toString(wide[i] ? 'utf16le' : 'latin1', start, ends[i]);
    start = ends[i];
    return str;
  };
  for (let r = 0; r < seqs.length; r++) {
    const hash = next(2 * r);
    rows[r] = { seq: seqs[r], hash, text: next(2 * r + 1) };
  }
  return rows;
}
