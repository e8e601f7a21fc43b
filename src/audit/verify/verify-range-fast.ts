/**
 * The fast path of database verification (its reference is `verifyChain` in verify.ts): one
 * optimistic pass over a range of seq that only answers "every row here is intact" or "something is
 * off". It checks everything the full verification checks (the JSON, the shape, the columns against
 * the record, the seq the row is filed under, the hash, the links inside the range) but stops at the
 * first doubt without saying what is wrong: the caller then runs the full verification, which names
 * the problem in its words. Ranges are checked side by side on worker threads and their ends
 * stitched together by the caller.
 *
 * A row whose stored text is in the sealer's exact canonical form (stored-text-scan.ts says so in
 * one scan, without JSON.parse or a record object) is checked on the stored bytes: its columns are
 * compared with the characters of the members the scan found, and its hash is taken over the text
 * minus its top-level `"hash":"<hash>",` member, which for a canonical text is exactly the text the
 * reference hashes (fastCanonicalJson of the parsed record without its hash). Any other text (with
 * escapes, fractions, keys out of order, whitespace...) is checked the reference way: JSON.parse,
 * the shape, the columns, recordHash. Either way a row passes exactly when the full verification
 * would pass it.
 */
import { hash as digest } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import type { AuditEventType, AuditRecord } from '../../domain/audit';
import { startModuleWorker } from '../../module-worker';
import type { ClosableStoredAuditRows, StoredAuditRows, StoredRow, StoredRowsOpener } from './stored-rows';
import { scanStoredText, storedTextFields } from './stored-text-scan';
import { recordHash, shapeProblem } from './verify';
import { isCanonicalText } from '../chain/record-text';

export interface RangeCheck {
  /** True when every row is intact, agrees with its columns and follows the one before it. */
  intact: boolean;
  count: number;
  /** The range's first record (its seq and previous hash), when it has any. */
  first?: { seq: number; prevHash: string };
  /** The range's last record. */
  last?: { seq: number; hash: string };
  /** Seqs of the range's `audit.checkpoint` records (by their type column, checked against the record). */
  checkpointSeqs: number[];
  /** Seqs of the range's `audit.loss_accepted` records (by their type column, checked against the record). */
  lossSeqs: number[];
  /** How many of its records name a request, and an actor (by their columns, checked against the record): what the indexes must hold. */
  requests: number;
  actors: number;
}

const PAGE = 1000;

/** The record before a row, as far as the row's checks need it. */
interface Prev {
  seq: number;
  hash: string;
}

/** One row, fully checked the reference way (JSON.parse) against itself and the record before it. */
function rowIntactParsed(row: StoredRow, prev: Prev | undefined): boolean {
  let r: AuditRecord;
  try {
    r = JSON.parse(row[8]) as AuditRecord;
  } catch {
    return false;
  }
  if (shapeProblem(r) !== undefined) return false;
  if (!isCanonicalText(row[8], r)) return false;
  if (
    row[0] !== r.seq ||
    row[1] !== r.id ||
    row[2] !== r.time ||
    row[3] !== r.type ||
    row[4] !== (r.request?.id ?? null) ||
    row[5] !== (r.actor?.aadObjectId ?? null) ||
    row[6] !== r.prevHash ||
    row[7] !== r.hash
  ) {
    return false;
  }
  if (prev && (r.seq !== prev.seq + 1 || r.prevHash !== prev.hash)) return false;
  // The reference hash (of the record's canonical form): a text that is not in canonical form
  // must not pass on the hash of its own bytes, or the fast path would accept what the full one does not.
  return recordHash(r) === r.hash;
}

/** The column holds exactly the text's characters [start, end). */
function columnIs(column: unknown, text: string, start: number, end: number): boolean {
  // indexOf at the start answers as startsWith there (the lengths are equal), at two thirds of its cost.
  return typeof column === 'string' && column.length === end - start && text.indexOf(column, start) === start;
}

/** A nullable column: null when the text has no such member (start -1). */
function nullableColumnIs(column: unknown, text: string, start: number, end: number): boolean {
  return start === -1 ? column === null : columnIs(column, text, start, end);
}

const fields = storedTextFields();

const CHECKPOINT: AuditEventType = 'audit.checkpoint';
const LOSS_ACCEPTED: AuditEventType = 'audit.loss_accepted';

/**
 * One row, fully checked against itself and the record before it: on a text in the sealer's
 * canonical form, from the positions scanStoredText finds (no JSON.parse, no record object), and the
 * hash over the stored bytes minus the hash member; on any other text, the reference way.
 */
function rowIntact(row: StoredRow, prev: Prev | undefined): boolean {
  const text = row[8];
  if (typeof text !== 'string' || !scanStoredText(text, fields)) return rowIntactParsed(row, prev);
  const f = fields;
  if (
    row[0] !== f.seq ||
    !columnIs(row[1], text, f.idStart, f.idEnd) ||
    !columnIs(row[2], text, f.timeStart, f.timeEnd) ||
    !columnIs(row[3], text, f.typeStart, f.typeEnd) ||
    !nullableColumnIs(row[4], text, f.requestIdStart, f.requestIdEnd) ||
    !nullableColumnIs(row[5], text, f.actorIdStart, f.actorIdEnd) ||
    !columnIs(row[6], text, f.prevHashStart, f.prevHashEnd) ||
    !columnIs(row[7], text, f.hashStart, f.hashEnd)
  ) {
    return false;
  }
  if (prev && (f.seq !== prev.seq + 1 || row[6] !== prev.hash)) return false;
  // The text the sealer hashed: the stored text without `"hash":"<hash>",` (see stored-text-scan.ts).
  return digest('sha256', text.slice(0, f.hashMember) + text.slice(f.hashEnd + 2), 'hex') === row[7];
}

/**
 * Checks the rows with after < seq <= until (no upper bound when until is undefined), a page at a
 * time; `pause` runs between pages (the main thread lets other work in).
 */
export async function checkRange(rows: StoredAuditRows, after: number, until: number | undefined, pause?: () => Promise<void>): Promise<RangeCheck> {
  const result: RangeCheck = { intact: true, count: 0, checkpointSeqs: [], lossSeqs: [], requests: 0, actors: 0 };
  const prev: Prev = { seq: 0, hash: '' };
  let any = false;
  for (;;) {
    const page = await rows.page(after, until, PAGE);
    for (let i = 0; i < page.length; i++) {
      const row = page[i];
      if (!rowIntact(row, any ? prev : undefined)) return { ...result, intact: false };
      if (!any) result.first = { seq: row[0], prevHash: row[6] };
      any = true;
      prev.seq = row[0];
      prev.hash = row[7];
      if (row[3] === CHECKPOINT) result.checkpointSeqs.push(row[0]);
      else if (row[3] === LOSS_ACCEPTED) result.lossSeqs.push(row[0]);
      if (row[4] !== null) result.requests++;
      if (row[5] !== null) result.actors++;
    }
    result.count += page.length;
    if (any) result.last = { seq: prev.seq, hash: prev.hash };
    if (page.length < PAGE) return result;
    after = page[page.length - 1][0];
    if (pause) await pause();
  }
}

/** A range of seq: after < seq <= until (no upper bound when until is undefined). */
export interface SeqRange {
  after: number;
  until: number | undefined;
}

/** The ranges a thread checked: [index in the list of ranges, its check]. */
export type RangeChecks = [index: number, check: RangeCheck][];

/**
 * Checks ranges taken one at a time from a counter shared by every thread of the verification
 * (`next[0]`, the index of the next range nobody has taken), until none is left; a range that is not
 * intact stops all threads from taking more. The threads share the work by how fast each one goes,
 * so a worker that starts late or gets less of the CPU leaves more ranges to the others.
 */
export async function checkRanges(rows: StoredAuditRows, ranges: readonly SeqRange[], next: Int32Array, pause?: () => Promise<void>): Promise<RangeChecks> {
  const out: RangeChecks = [];
  for (;;) {
    const k = Atomics.add(next, 0, 1);
    if (k >= ranges.length) return out;
    const check = await checkRange(rows, ranges[k].after, ranges[k].until, pause);
    out.push([k, check]);
    if (!check.intact) {
      Atomics.store(next, 0, ranges.length);
      return out;
    }
    if (pause) await pause();
  }
}

/** The rows of a reader of its own, opened as `opener` says (in a worker thread). */
async function openRows(opener: StoredRowsOpener): Promise<ClosableStoredAuditRows> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const backend = require(opener.module) as Record<string, (...args: unknown[]) => ClosableStoredAuditRows | Promise<ClosableStoredAuditRows>>;
  return backend[opener.open](...opener.args);
}

/** checkRange on a reader of its own, opened as `opener` says. */
export async function checkRangeOpened(opener: StoredRowsOpener, after: number, until: number | undefined): Promise<RangeCheck> {
  const rows = await openRows(opener);
  try {
    return await checkRange(rows, after, until);
  } finally {
    await rows.close();
  }
}

/** checkRanges on a reader of its own (what a worker thread runs). */
export async function checkRangesOpened(opener: StoredRowsOpener, ranges: readonly SeqRange[], shared: SharedArrayBuffer): Promise<RangeChecks> {
  const rows = await openRows(opener);
  try {
    return await checkRanges(rows, ranges, new Int32Array(shared));
  } finally {
    await rows.close();
  }
}

/** The worker's code: check ranges and post what it checked (undefined when that failed). */
const WORKER_SOURCE = `
require(workerData.module)
  .checkRangesOpened(workerData.opener, workerData.ranges, workerData.shared)
  .then((result) => parentPort.postMessage(result), () => parentPort.postMessage(undefined));
`;

/**
 * checkRanges on a worker thread, sharing `shared` (the counter) with the other threads; undefined
 * when no thread could be started or the worker failed (the ranges it had taken are then unchecked).
 */
export function checkRangesInWorker(opener: StoredRowsOpener, ranges: readonly SeqRange[], shared: SharedArrayBuffer): Promise<RangeChecks | undefined> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = startModuleWorker(WORKER_SOURCE, __filename, { opener, ranges, shared });
    } catch {
      resolve(undefined);
      return;
    }
    worker.once('message', (result: RangeChecks | undefined) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined));
  });
}

/** checkRange on a worker thread; undefined when no thread could be started or the check failed. */
export async function checkRangeInWorker(opener: StoredRowsOpener, after: number, until: number | undefined): Promise<RangeCheck | undefined> {
  const checks = await checkRangesInWorker(opener, [{ after, until }], new SharedArrayBuffer(4));
  return checks?.[0]?.[1];
}
