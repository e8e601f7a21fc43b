/**
 * The fast path of database verification (its reference is `verifyChain` in verify.ts): one
 * optimistic pass over a range of seq that only answers "every row here is intact" or "something is
 * off". It checks everything the full verification checks (the JSON, the shape, the columns against
 * the record, the seq the row is filed under, the hash, the links inside the range) but stops at the
 * first doubt without saying what is wrong: the caller then runs the full verification, which names
 * the problem in its words. Ranges are checked side by side on worker threads and their ends
 * stitched together by the caller.
 *
 * The hash is checked on the stored bytes: the sealer hashed the record's canonical JSON without
 * its hash, and stored that text with the member `"hash":"<hash>",` spliced in (chain.ts), so the
 * stored text minus that member must hash to the record's hash. Finding the member by its text is
 * sound: if the text minus some occurrence of it hashes to the hash, that remainder is the text the
 * sealer hashed (SHA-256 is collision resistant), which has no top-level hash member, so the
 * occurrence removed is the record's own top-level one and the record parsed from the stored text
 * is the sealed record. A text for which this fails (an edit, or a stored text that is not the
 * sealer's canonical form) is checked the reference way (recordHash of the parsed record).
 */
import { hash as digest } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import type { AuditRecord } from '../../domain/audit';
import { startModuleWorker } from '../../module-worker';
import type { ClosableStoredAuditRows, StoredAuditRows, StoredRow, StoredRowsOpener } from './stored-rows';
import { recordHash, shapeProblem } from './verify';

export interface RangeCheck {
  /** True when every row is intact, agrees with its columns and follows the one before it. */
  intact: boolean;
  count: number;
  /** The range's first record (its seq and previous hash), when it has any. */
  first?: { seq: number; prevHash: string };
  /** The range's last record. */
  last?: { seq: number; hash: string };
}

const PAGE = 1000;

/** True when the stored text, minus its `"hash":"<hash>",` member, hashes to `hash`. */
export function storedTextMatchesHash(text: string, hash: string): boolean {
  const member = `"hash":"${hash}"`;
  const at = text.indexOf(member);
  const end = at + member.length;
  if (at === -1 || text.charCodeAt(end) !== 44) return false;
  return digest('sha256', text.slice(0, at) + text.slice(end + 1), 'hex') === hash;
}

/** One row, fully checked against itself and the record before it (undefined for the range's first). */
function rowIntact(row: StoredRow, prev: AuditRecord | undefined): AuditRecord | undefined {
  let r: AuditRecord;
  try {
    r = JSON.parse(row[8]) as AuditRecord;
  } catch {
    return undefined;
  }
  if (shapeProblem(r) !== undefined) return undefined;
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
    return undefined;
  }
  if (prev && (r.seq !== prev.seq + 1 || r.prevHash !== prev.hash)) return undefined;
  if (!storedTextMatchesHash(row[8], r.hash) && recordHash(r) !== r.hash) return undefined;
  return r;
}

/**
 * Checks the rows with after < seq <= until (no upper bound when until is undefined), a page at a
 * time; `pause` runs between pages (the main thread lets other work in).
 */
export async function checkRange(rows: StoredAuditRows, after: number, until: number | undefined, pause?: () => Promise<void>): Promise<RangeCheck> {
  const result: RangeCheck = { intact: true, count: 0 };
  let prev: AuditRecord | undefined;
  for (;;) {
    const page = await rows.page(after, until, PAGE);
    for (const row of page) {
      const r = rowIntact(row, prev);
      if (!r) return { ...result, intact: false };
      if (!prev) result.first = { seq: r.seq, prevHash: r.prevHash };
      prev = r;
      result.count += 1;
    }
    if (prev) result.last = { seq: prev.seq, hash: prev.hash };
    if (page.length < PAGE) return result;
    after = page[page.length - 1][0];
    if (pause) await pause();
  }
}

/** checkRange on a reader of its own, opened as `opener` says (what a worker thread runs). */
export async function checkRangeOpened(opener: StoredRowsOpener, after: number, until: number | undefined): Promise<RangeCheck> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const backend = require(opener.module) as Record<string, (...args: unknown[]) => ClosableStoredAuditRows | Promise<ClosableStoredAuditRows>>;
  const rows = await backend[opener.open](...opener.args);
  try {
    return await checkRange(rows, after, until);
  } finally {
    await rows.close();
  }
}

/** The worker's code: check one range and post the result (undefined when it failed). */
const WORKER_SOURCE = `
require(workerData.module)
  .checkRangeOpened(workerData.opener, workerData.after, workerData.until)
  .then((result) => parentPort.postMessage(result), () => parentPort.postMessage(undefined));
`;

/** checkRange on a worker thread; undefined when no thread could be started or the check failed. */
export function checkRangeInWorker(opener: StoredRowsOpener, after: number, until: number | undefined): Promise<RangeCheck | undefined> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = startModuleWorker(WORKER_SOURCE, __filename, { opener, after, until });
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
