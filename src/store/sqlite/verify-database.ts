/**
 * Verifying the audit log as it lies in the file, trusting nothing but the stored record text:
 * each hash is recomputed from the record JSON, and the indexed columns must agree with it. This
 * catches tampering done straight in the file (after dropping the append-only triggers): edited,
 * deleted, reordered or duplicated rows, and columns changed to mislead filtered exports.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { GENESIS_HASH } from '../../domain/audit';
import type { AuditRecord } from '../../domain/audit';
import { ChainDefect, verifyChain } from '../../audit/verify/verify';
import type { ChainVerification, VerifyOptions } from '../../audit/verify/verify';
import { startModuleWorker } from '../../module-worker';
import { openSqliteAuditReader } from './audit-reader';
import { AUDIT_TRIGGERS } from './migrations';
import { checkRange } from './verify-range';
import type { RangeCheck } from './verify-range';

export interface DatabaseVerification extends ChainVerification {
  file: string;
  /** Signs of interference that do not break the chain itself (missing append-only triggers). */
  warnings: string[];
}

interface RawRow {
  seq: number;
  id: string;
  time: string;
  type: string;
  request_id: string | null;
  actor_id: string | null;
  prev_hash: string;
  hash: string;
  record: string;
}

const PAGE = 1000;

function columnsDisagree(row: RawRow, r: AuditRecord): string | undefined {
  const expected: [keyof RawRow, unknown][] = [
    ['id', r.id],
    ['time', r.time],
    ['type', r.type],
    ['request_id', r.request?.id ?? null],
    ['actor_id', r.actor?.aadObjectId ?? null],
    ['prev_hash', r.prevHash],
    ['hash', r.hash],
  ];
  for (const [column, value] of expected) {
    if (row[column] !== value) {
      return `its ${column} column says ${JSON.stringify(row[column])} but the record itself says ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}

async function* rawRecords(db: Database.Database): AsyncGenerator<AuditRecord> {
  const page = db.prepare(
    'SELECT seq, id, time, type, request_id, actor_id, prev_hash, hash, record FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  let after = Number.MIN_SAFE_INTEGER;
  let prevRecordSeq = 0;
  for (;;) {
    const rows = page.all(after, PAGE) as RawRow[];
    for (const row of rows) {
      let r: AuditRecord;
      try {
        r = JSON.parse(row.record) as AuditRecord;
      } catch {
        throw new ChainDefect('edited', `record ${row.seq} (id ${row.id}) was edited in the database: its stored text is not valid JSON.`, row.seq, row.id);
      }
      if (r && typeof r === 'object') {
        const disagreement = columnsDisagree(row, r);
        if (disagreement) {
          throw new ChainDefect('edited', `record ${row.seq} (id ${row.id}) was edited in the database: ${disagreement}.`, row.seq, row.id);
        }
        if (r.seq === prevRecordSeq + 1 && row.seq !== r.seq) {
          // In chain order but filed under another seq: the rows were renumbered.
          throw new ChainDefect('edited', `record ${r.seq} (id ${r.id}) was moved in the database: it is filed under seq ${row.seq}.`, r.seq, r.id);
        }
        prevRecordSeq = r.seq;
      }
      yield r;
    }
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1].seq;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
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

const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The worker's code: check one range of the file and post the result (undefined when it failed). */
const WORKER_SOURCE = `
require(workerData.module)
  .checkRangeOfFile(workerData.file, workerData.after, workerData.until)
  .then((result) => parentPort.postMessage(result), () => parentPort.postMessage(undefined));
`;

export function checkRangeInWorker(file: string, after: number, until: number | undefined): Promise<RangeCheck | undefined> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = startModuleWorker(WORKER_SOURCE, require.resolve('./verify-range'), { file, after, until });
    } catch {
      resolve(undefined);
      return;
    }
    worker.once('message', (result: RangeCheck | undefined) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined));
  });
}

/**
 * The fast path: the log split into seq ranges checked side by side (the first on this thread),
 * then stitched: each range must start where the one before it ended (next seq, previous hash),
 * the first at record 1 and the genesis hash. The result when all is intact; undefined as soon as
 * anything is not, and then the full verification runs and names it.
 */
async function verifyIntact(db: Database.Database, file: string, tuning: VerifyTuning): Promise<ChainVerification | undefined> {
  // Both are read off the ends of the rowid tree: no scan.
  const bounds = db.prepare('SELECT MIN(seq) AS low, MAX(seq) AS high FROM audit_log').get() as { low: number | null; high: number | null };
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const rows = bounds.low === null || bounds.high === null ? 0 : bounds.high - bounds.low + 1;
  const threads = Math.max(1, Math.min(tuning.threads ?? Math.min(cores, 4), Math.floor(rows / (tuning.minRowsPerThread ?? MIN_ROWS_PER_THREAD))));
  // Ranges: (after, until], the first from the lowest seq, the last without an upper bound.
  const cuts: number[] = [];
  for (let k = 1; k < threads; k++) cuts.push(bounds.low! - 1 + Math.floor((rows * k) / threads));
  const ranges = [Number.MIN_SAFE_INTEGER, ...cuts].map((after, k) => ({ after, until: k < cuts.length ? cuts[k] : undefined }));
  const others = ranges.slice(1).map((r) => checkRangeInWorker(file, r.after, r.until));
  const checks = [await checkRange(db, ranges[0].after, ranges[0].until, pause), ...(await Promise.all(others))];
  let count = 0;
  let last: RangeCheck['last'];
  let firstSeq = 0;
  for (const check of checks) {
    if (!check || !check.intact) return undefined;
    if (!check.first || !check.last) continue;
    if (last ? check.first.seq !== last.seq + 1 || check.first.prevHash !== last.hash : check.first.seq !== 1 || check.first.prevHash !== GENESIS_HASH) return undefined;
    if (!last) firstSeq = check.first.seq;
    count += check.count;
    last = check.last;
  }
  return { ok: true, count, firstSeq, lastSeq: last?.seq ?? 0, headHash: last?.hash ?? GENESIS_HASH };
}

export async function verifySqliteAuditLog(file: string, options: VerifyOptions = {}, tuning: VerifyTuning = {}): Promise<DatabaseVerification> {
  const reader = openSqliteAuditReader(file);
  try {
    const present = new Set(
      reader.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'").pluck().all() as string[],
    );
    const missing = AUDIT_TRIGGERS.filter((t) => !present.has(t));
    const warnings = missing.length
      ? [`the append-only protection of the audit log was removed (missing triggers: ${missing.join(', ')}): someone changed the database schema by hand`]
      : [];
    // An intact log (the usual case) is confirmed on the fast path; anything else, and verifying
    // a window or a selection, takes the full verification, which names what is wrong.
    const whole = (options.start ?? 'genesis') === 'genesis' && options.links !== false && tuning.fast !== false;
    const result = (whole ? await verifyIntact(reader.db, file, tuning) : undefined) ?? (await verifyChain(rawRecords(reader.db), options));
    return { ...result, file, warnings };
  } finally {
    reader.close();
  }
}
