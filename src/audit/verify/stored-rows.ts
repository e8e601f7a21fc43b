/**
 * What verification reads from a store: the audit rows as stored (the indexed columns and the record
 * text), a page at a time. A backend implements this port; the checks themselves live beside it.
 */

/** One stored row: seq, id, time, type, request id, actor id, previous hash, hash, the record text. */
export type StoredRow = [seq: number, id: string, time: string, type: string, requestId: string | null, actorId: string | null, prevHash: string, hash: string, record: string];

export interface StoredAuditRows {
  /** Rows with after < seq <= until (no upper bound when until is undefined), by seq, at most `limit`. */
  page(after: number, until: number | undefined, limit: number): StoredRow[] | Promise<StoredRow[]>;
  /** The lowest and highest seq stored (null when the log is empty). */
  bounds(): SeqBounds | Promise<SeqBounds>;
}

export interface SeqBounds {
  low: number | null;
  high: number | null;
}

/**
 * How a worker thread opens its own reader of the same database: `module` exports a function named
 * `open` that takes `args` and returns a reader with a `close()`.
 */
export interface StoredRowsOpener {
  module: string;
  open: string;
  args: unknown[];
}

/** A reader opened in a worker thread. */
export interface ClosableStoredAuditRows extends StoredAuditRows {
  close(): void | Promise<void>;
}
