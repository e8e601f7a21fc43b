/**
 * Verifying the audit log as it lies in the database, trusting nothing but the stored record text:
 * each hash is recomputed from the record JSON, and the indexed columns must agree with it. This
 * catches tampering done straight in the database (after dropping the append-only triggers): edited,
 * deleted, reordered or duplicated rows, and columns changed to mislead filtered exports. The rows
 * come through the `StoredAuditRows` port, which each store implements.
 */
import os from 'node:os';
import { GENESIS_HASH } from '../../domain/audit';
import type { AuditRecord } from '../../domain/audit';
import type { StoredAuditRows, StoredRow, StoredRowsOpener } from './stored-rows';
import { checkRange, checkRanges, checkRangesInWorker, type RangeCheck, type SeqRange } from './verify-range-fast';
import { verifyChain } from './verify';
import { ChainDefect, isCanonicalText, NOT_CANONICAL } from '../chain/record-text';
import type { ChainVerification, VerifyOptions } from './verify';

const PAGE = 1000;

function columnsDisagree(row: StoredRow, r: AuditRecord): string | undefined {
  const expected: [number, string, unknown][] = [
    [1, 'id', r.id],
    [2, 'time', r.time],
    [3, 'type', r.type],
    [4, 'request_id', r.request?.id ?? null],
    [5, 'actor_id', r.actor?.aadObjectId ?? null],
    [6, 'prev_hash', r.prevHash],
    [7, 'hash', r.hash],
  ];
  for (const [index, column, value] of expected) {
    if (row[index] !== value) {
      return `its ${column} column says ${JSON.stringify(row[index])} but the record itself says ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}

/** What the full verification notes of the rows on its way, for when the whole log turns out intact. */
interface Seen {
  checkpointSeqs: number[];
  lossSeqs: number[];
  requests: number;
  actors: number;
}

async function* storedRecords(rows: StoredAuditRows, seen: Seen): AsyncGenerator<AuditRecord> {
  let after = Number.MIN_SAFE_INTEGER;
  let prevRecordSeq = 0;
  for (;;) {
    const page = await rows.page(after, undefined, PAGE);
    for (const row of page) {
      const [seq, id] = row;
      let r: AuditRecord;
      try {
        r = JSON.parse(row[8]) as AuditRecord;
      } catch {
        throw new ChainDefect('edited', `record ${seq} (id ${id}) was edited in the database: its stored text is not valid JSON.`, seq, id);
      }
      if (r && typeof r === 'object') {
        const disagreement = columnsDisagree(row, r);
        if (disagreement) {
          throw new ChainDefect('edited', `record ${seq} (id ${id}) was edited in the database: ${disagreement}.`, seq, id);
        }
        if (!isCanonicalText(row[8], r)) {
          throw new ChainDefect('edited', `record ${seq} (id ${id}) was edited in the database: ${NOT_CANONICAL}.`, seq, id);
        }
        if (r.seq === prevRecordSeq + 1 && seq !== r.seq) {
          // In chain order but filed under another seq: the rows were renumbered.
          throw new ChainDefect('edited', `record ${r.seq} (id ${r.id}) was moved in the database: it is filed under seq ${seq}.`, r.seq, r.id);
        }
        prevRecordSeq = r.seq;
        if (r.type === 'audit.checkpoint') seen.checkpointSeqs.push(seq);
        if (r.type === 'audit.loss_accepted') seen.lossSeqs.push(seq);
        if (row[4] !== null) seen.requests++;
        if (row[5] !== null) seen.actors++;
      }
      yield r;
    }
    if (page.length < PAGE) return;
    after = page[page.length - 1][0];
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export interface StoredLogVerification extends ChainVerification {
  /**
   * When the whole log verified intact: the seqs of its `audit.checkpoint` records, noted on the way
   * (each row's type column was checked against its record), so checkpoint verification can read
   * them by seq instead of scanning the log a second time.
   */
  checkpointSeqs?: number[];
  /**
   * When the whole log verified intact: the seqs of its `audit.loss_accepted` records, each a loss of
   * records an operator accepted (`countersign audit accept-loss`): the log is intact as recorded
   * since, not whole, and the report says so.
   */
  lossSeqs?: number[];
  /**
   * When the whole log verified intact: how many of its records name a request, and an actor (each
   * row's columns were checked against its record). The audit log's indexes by request and by actor
   * must hold exactly one entry for each (src/audit/verify/schema-findings.ts counts them).
   */
  named?: { requests: number; actors: number };
}

export interface VerifyTuning {
  /** Threads that check ranges of the log side by side (default: the cores, at most 4). */
  threads?: number;
  /** Fewer rows than this per thread and the log is checked on the calling thread alone. */
  minRowsPerThread?: number;
  /** False: the full verification alone, as for a damaged log (the tests compare the two). */
  fast?: boolean;
}

const MIN_ROWS_PER_THREAD = 100_000;
/** Ranges per thread: small enough that a thread that is slower (or starts later) is not waited for long. */
const RANGES_PER_THREAD = 8;

const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The fast path: the log split into seq ranges checked side by side (on this thread and on worker
 * threads with readers of their own, each taking the next range left as it finishes one), then
 * stitched in seq order: each range must start where
 * the one before it ended (next seq, previous hash), the first at record 1 and the genesis hash. The
 * result when all is intact; undefined as soon as anything is not, and then the full verification
 * runs and names it.
 */
async function verifyIntact(rows: StoredAuditRows, opener: StoredRowsOpener | undefined, tuning: VerifyTuning): Promise<StoredLogVerification | undefined> {
  const bounds = await rows.bounds();
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const count0 = bounds.low === null || bounds.high === null ? 0 : bounds.high - bounds.low + 1;
  const wanted = opener ? (tuning.threads ?? Math.min(cores, 4)) : 1;
  const threads = Math.max(1, Math.min(wanted, Math.floor(count0 / (tuning.minRowsPerThread ?? MIN_ROWS_PER_THREAD))));
  let checks: (RangeCheck | undefined)[];
  if (threads === 1) {
    checks = [await checkRange(rows, Number.MIN_SAFE_INTEGER, undefined, pause)];
  } else {
    // Ranges: (after, until], the first from the lowest seq, the last without an upper bound; several
    // per thread, taken by whichever thread is free (checkRanges).
    const parts = threads * RANGES_PER_THREAD;
    const cuts: number[] = [];
    for (let k = 1; k < parts; k++) cuts.push(bounds.low! - 1 + Math.floor((count0 * k) / parts));
    const ranges: SeqRange[] = [Number.MIN_SAFE_INTEGER, ...cuts].map((after, k) => ({ after, until: k < cuts.length ? cuts[k] : undefined }));
    const shared = new SharedArrayBuffer(4);
    const others = Array.from({ length: threads - 1 }, () => checkRangesInWorker(opener!, ranges, shared));
    const done = [await checkRanges(rows, ranges, new Int32Array(shared), pause), ...(await Promise.all(others))];
    checks = new Array<RangeCheck | undefined>(ranges.length);
    for (const list of done) for (const [k, check] of list ?? []) checks[k] = check;
  }
  let count = 0;
  let last: RangeCheck['last'];
  let firstSeq = 0;
  const checkpointSeqs: number[] = [];
  const lossSeqs: number[] = [];
  const named = { requests: 0, actors: 0 };
  for (let k = 0; k < checks.length; k++) {
    const check = checks[k];
    // A range not checked (a worker that failed), or not intact: the full verification says what.
    if (!check || !check.intact) return undefined;
    if (!check.first || !check.last) continue;
    if (last ? check.first.seq !== last.seq + 1 || check.first.prevHash !== last.hash : check.first.seq !== 1 || check.first.prevHash !== GENESIS_HASH) return undefined;
    if (!last) firstSeq = check.first.seq;
    count += check.count;
    last = check.last;
    for (const seq of check.checkpointSeqs) checkpointSeqs.push(seq);
    for (const seq of check.lossSeqs) lossSeqs.push(seq);
    named.requests += check.requests;
    named.actors += check.actors;
  }
  return { ok: true, count, firstSeq, lastSeq: last?.seq ?? 0, headHash: last?.hash ?? GENESIS_HASH, checkpointSeqs, lossSeqs, named };
}

/**
 * Verifies a store's audit log from its stored rows. An intact log (the usual case) is confirmed on
 * the fast path; anything else, and verifying a window or a selection, takes the full verification,
 * which names what is wrong. `opener` lets worker threads read ranges side by side.
 */
export async function verifyStoredLog(rows: StoredAuditRows, options: VerifyOptions = {}, tuning: VerifyTuning = {}, opener?: StoredRowsOpener): Promise<StoredLogVerification> {
  const whole = (options.start ?? 'genesis') === 'genesis' && options.links !== false;
  const fast = whole && tuning.fast !== false ? await verifyIntact(rows, opener, tuning) : undefined;
  if (fast) return fast;
  const seen: Seen = { checkpointSeqs: [], lossSeqs: [], requests: 0, actors: 0 };
  const full = await verifyChain(storedRecords(rows, seen), options);
  // Only a whole log verified intact says where every checkpoint record is, and what the indexes hold.
  return whole && full.ok ? { ...full, checkpointSeqs: seen.checkpointSeqs, lossSeqs: seen.lossSeqs, named: { requests: seen.requests, actors: seen.actors } } : full;
}
