/**
 * Verifying an audit hash chain from any source (the database, a JSON Lines or CSV export).
 * Verification stops at the first bad record and names it in words a compliance reviewer can act on.
 */
import { hash as digest } from 'node:crypto';
import { GENESIS_HASH } from '../../domain/audit';
import type { AuditRecord } from '../../domain/audit';
import { fastCanonicalJson } from '../chain/seal-json-fast';
import { ChainDefect, type ChainProblemKind } from '../chain/record-text';


export interface ChainProblem {
  /** Where the chain first goes wrong: the bad record's seq, or for `deleted` the first missing seq. */
  seq: number;
  /** The id of the record found at that place (for `deleted`: the record that follows the gap). */
  recordId: string;
  kind: ChainProblemKind;
  message: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Records verified as intact (up to, not including, the first bad one). */
  count: number;
  /** Seq of the first and last intact record; 0 when there is none. */
  firstSeq: number;
  lastSeq: number;
  /** Hash of the last intact record; GENESIS_HASH when there is none. */
  headHash: string;
  problem?: ChainProblem;
}

export interface VerifyOptions {
  /**
   * `genesis` (default): the records must start the chain (seq 1, previous hash GENESIS_HASH).
   * `anywhere`: a window of the chain (an export with --from); the first record's link backwards
   * cannot be checked, everything after it is.
   */
  start?: 'genesis' | 'anywhere';
  /**
   * True (default): each record must follow the one before it (seq + 1, previous hash). False: the
   * records are a selection (an export filtered by request, actor or type): each must match its
   * own hash and come after the one before it, and a signed manifest vouches for what is missing.
   */
  links?: boolean;
}

type Next = { record: AuditRecord } | { defect: ChainDefect } | undefined;

class LookaheadReader {
  private buffered: Next | null = null;
  constructor(private readonly it: AsyncIterator<AuditRecord>) {}

  async next(): Promise<Next> {
    if (this.buffered !== null) {
      const b = this.buffered;
      this.buffered = null;
      return b;
    }
    return this.pull();
  }

  async peek(): Promise<Next> {
    if (this.buffered === null) this.buffered = await this.pull();
    return this.buffered;
  }

  private async pull(): Promise<Next> {
    try {
      const r = await this.it.next();
      return r.done ? undefined : { record: r.value };
    } catch (err) {
      if (err instanceof ChainDefect) return { defect: err };
      throw err;
    }
  }
}

/**
 * auditRecordHash, on the fast canonical path (a record read from canonical text needs no sorted
 * copy: see isCanonicalOrder), hashed one-shot.
 */
export function recordHash(r: AuditRecord): string {
  return digest('sha256', fastCanonicalJson({ ...r, hash: undefined }), 'hex');
}

function describe(r: AuditRecord): string {
  return `record ${r.seq} (id ${r.id}, ${r.type} at ${r.time})`;
}

function short(hash: string): string {
  return typeof hash === 'string' ? `${hash.slice(0, 12)}…` : String(hash);
}

/** What is wrong with the shape of a parsed record, if anything. */
export function shapeProblem(r: unknown): string | undefined {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return 'it is not a JSON object';
  const rec = r as Record<string, unknown>;
  if (!Number.isSafeInteger(rec.seq) || (rec.seq as number) < 1) return 'its seq is missing or not a positive integer';
  for (const field of ['id', 'hash', 'prevHash', 'type', 'time']) {
    if (typeof rec[field] !== 'string') return `its ${field} is missing or not text`;
  }
  return undefined;
}

interface Verified {
  seq: number;
  hash: string;
}

/**
 * Recomputes each record's hash, checks that each names its predecessor's hash and that seq goes up
 * by exactly one. Resolves with the first problem found; rejects only when the source itself fails
 * (an I/O error), never for damage.
 */
export async function verifyChain(records: AsyncIterable<AuditRecord>, options: VerifyOptions = {}): Promise<ChainVerification> {
  const start = options.start ?? 'genesis';
  const it = records[Symbol.asyncIterator]();
  const reader = new LookaheadReader(it);
  let count = 0;
  let firstSeq = 0;
  let prev: Verified | undefined;
  const result = (problem?: ChainProblem): ChainVerification => ({
    ok: !problem,
    count,
    firstSeq,
    lastSeq: prev?.seq ?? 0,
    headHash: prev?.hash ?? GENESIS_HASH,
    ...(problem ? { problem } : {}),
  });
  try {
    for (;;) {
      const next = await reader.next();
      if (!next) return result();
      const expected = prev ? prev.seq + 1 : 1;
      if ('defect' in next) {
        const d = next.defect;
        return result({ seq: d.seq ?? expected, recordId: d.recordId, kind: d.kind, message: d.message });
      }
      const problem = options.links === false ? selectionProblem(next.record, prev) : await checkRecord(next.record, prev, start, reader);
      if (problem) return result(problem);
      count += 1;
      if (!prev) firstSeq = next.record.seq;
      prev = { seq: next.record.seq, hash: next.record.hash };
    }
  } finally {
    await it.return?.();
  }
}

/** A record of a selection: intact in itself, and after the previous one. */
function selectionProblem(r: AuditRecord, prev: Verified | undefined): ChainProblem | undefined {
  const own = ownProblem(r, prev ? prev.seq + 1 : 0);
  if (own || !prev || r.seq > prev.seq) return own;
  if (r.seq === prev.seq && r.hash === prev.hash) {
    return { seq: r.seq, recordId: r.id, kind: 'duplicated', message: `${describe(r)} appears twice in a row.` };
  }
  return { seq: r.seq, recordId: r.id, kind: 'reordered', message: `${describe(r)} is out of order: it comes after record ${prev.seq}.` };
}

/** A record that is not well formed, or whose content does not match its hash. */
function ownProblem(r: AuditRecord, expected: number): ChainProblem | undefined {
  const shape = shapeProblem(r);
  if (shape) {
    const rec = r as unknown as Record<string, unknown>;
    const seq = Number.isSafeInteger(rec?.seq) ? (rec.seq as number) : expected;
    const id = typeof rec?.id === 'string' ? rec.id : '';
    return { seq, recordId: id, kind: 'edited', message: `record ${seq} is not a valid audit record: ${shape}.` };
  }
  if (recordHash(r) !== r.hash) {
    return {
      seq: r.seq,
      recordId: r.id,
      kind: 'edited',
      message: `${describe(r)} was altered after it was written: its content no longer matches its hash.`,
    };
  }
  return undefined;
}

async function checkRecord(
  r: AuditRecord,
  prev: Verified | undefined,
  start: 'genesis' | 'anywhere',
  reader: LookaheadReader,
): Promise<ChainProblem | undefined> {
  const expected = prev ? prev.seq + 1 : start === 'genesis' ? 1 : undefined;
  const own = ownProblem(r, expected ?? 0);
  if (own) return own;
  if (expected === undefined || r.seq === expected) return linkProblem(r, prev, start);
  if (prev && r.seq === prev.seq && r.hash === prev.hash) {
    return { seq: r.seq, recordId: r.id, kind: 'duplicated', message: `${describe(r)} appears twice in a row.` };
  }
  if (r.seq < expected) {
    return {
      seq: r.seq,
      recordId: r.id,
      kind: 'reordered',
      message: `${describe(r)} is out of order: it comes after record ${prev?.seq ?? 0}, where record ${expected} should be.`,
    };
  }
  // A jump forward: either records are missing, or this one was moved up from later in the chain
  // (then the stream goes backwards right after it).
  const after = await reader.peek();
  if (after && 'record' in after && Number.isSafeInteger(after.record.seq) && after.record.seq < r.seq) {
    return {
      seq: r.seq,
      recordId: r.id,
      kind: 'reordered',
      message: `${describe(r)} is out of order: it stands where record ${expected} should be, and record ${after.record.seq} follows it.`,
    };
  }
  const missing = r.seq - 1 === expected ? `record ${expected} is` : `records ${expected} to ${r.seq - 1} are`;
  const before = prev ? `record ${prev.seq}` : 'the start of the chain';
  return {
    seq: expected,
    recordId: r.id,
    kind: 'deleted',
    message: `${missing} missing (deleted): ${describe(r)} directly follows ${before}.`,
  };
}

function linkProblem(r: AuditRecord, prev: Verified | undefined, start: 'genesis' | 'anywhere'): ChainProblem | undefined {
  if (!prev) {
    if (start === 'anywhere' || r.prevHash === GENESIS_HASH) return undefined;
    return {
      seq: r.seq,
      recordId: r.id,
      kind: 'broken-link',
      message: `${describe(r)} should start the chain (previous hash ${short(GENESIS_HASH)}) but names ${short(r.prevHash)}: records before it were removed and the chain renumbered, or it was inserted.`,
    };
  }
  if (r.prevHash === prev.hash) return undefined;
  return {
    seq: r.seq,
    recordId: r.id,
    kind: 'broken-link',
    message: `${describe(r)} does not follow on from record ${prev.seq}: it names ${short(r.prevHash)} as the previous hash, but record ${prev.seq} hashes to ${short(prev.hash)}. Record ${prev.seq} was replaced and re-hashed, or record ${r.seq} was inserted.`,
  };
}
