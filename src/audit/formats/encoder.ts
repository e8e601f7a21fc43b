/**
 * What an export format is to the writer and to the worker thread that may run it: the encoder, the
 * stored record text it reads, and where a worker finds it. Kept apart from both so neither imports
 * the other.
 */
import type { AuditRecord } from '../../domain/audit';

/**
 * A record as the store keeps it: its RFC 8785 canonical JSON text (hash included), with its seq and
 * hash from the columns that copy them (database verification holds the columns to the text).
 */
export interface StoredRecordText {
  seq: number;
  hash: string;
  text: string;
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

/** Stored records that can also be read a page at a time. */
export interface StoredRecordPages extends AsyncIterable<StoredRecordText> {
  pages(): AsyncIterable<readonly StoredRecordText[]>;
}

/** How one export format turns records into text. */
export interface RecordEncoder {
  /** Written once before the records (a CSV header). */
  header?: string;
  /** The text of a batch of records, in order. */
  encode(batch: readonly AuditRecord[]): string;
  /**
   * The same text from the stored canonical text of each record, when the format can use it as it
   * is; without it, stored records are parsed and go through `encode`. The seq of each record whose
   * stored text is not the canonical form it was sealed in (edited in the database, its hash still
   * good) is pushed to `altered` when it is given, found with the work the encoding does anyway where it can.
   */
  encodeStored?(batch: readonly StoredRecordText[], altered?: number[]): string;
  /**
   * encodeStored's text as UTF-8 bytes, when the encoder can write them more cheaply than the text
   * and its conversion: a view at offset 0 of an ArrayBuffer of its own (a worker hands it over).
   */
  encodeStoredBytes?(batch: readonly StoredRecordText[], altered?: number[]): Uint8Array;
  /**
   * encodeStoredBytes for a batch as packRows packed it, read from its bytes as they are, when the
   * encoder can do without a string of each record (a worker thread is sent batches packed).
   */
  encodePackedBytes?(batch: PackedRows, altered?: number[]): Uint8Array;
  /**
   * Where a worker thread finds this encoder (its module and export name): a large export then has
   * its stored batches encoded there, beside the reading, hashing and writing here. For encoders
   * whose per-record work outweighs copying a batch to another thread.
   */
  storedWorker?: EncoderModule;
}

/** Where the worker finds the encoder: a module file and the name of the RecordEncoder it exports. */
export interface EncoderModule {
  module: string;
  name: string;
}
