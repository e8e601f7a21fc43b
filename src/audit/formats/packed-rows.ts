/**
 * A batch of stored records packed into a few buffers: how the main thread hands a batch to an
 * encoding worker (encode-worker.ts) and keeps it meanwhile, and what an encoder that works on bytes
 * (the CSV one) reads without making a string of each record.
 */
import type { PackedRows, StoredRecordText } from './encoder';

/** This module's file, which a worker thread requires to unpack a batch. */
export const PACKED_ROWS_MODULE = __filename;

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
