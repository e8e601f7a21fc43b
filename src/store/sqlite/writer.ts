/**
 * Who writes to the SQLite file. The store's classes read on their own connection and hand every
 * write to a StoreWriter as a named operation (write-ops.ts). Two writers keep the same promise
 * (a write resolves only after the COMMIT that holds it returned, synchronous=FULL: on disk):
 *
 * - InlineWriter runs the group committer on the calling thread (the CLI's one-shot commands).
 * - ThreadWriter (thread-writer.ts) runs an InlineWriter on a worker thread, so that a slow fsync,
 *   a long group commit or a sealing burst never holds up the event loop (the bot).
 */
import type Database from 'better-sqlite3';
import { BreakGlassLimitError, DelegationConflictError, DuplicateRequestError, OpenRequestExistsError, turnDeadline, VersionConflictError } from '../../app/ports';
import type { SealPlaceholders } from '../../audit/chain/chain';
import { DuplicateDownloadLinkError } from '../../audit/ports';
import type { AuditEventDraft, AuditRecord, ChainHead } from '../../domain/audit';
import { GroupCommitWriter } from './group-commit';
import type { SealedWire, WireTemplate, WriteTx } from './transaction-chain';
import { WriteReadiness, type Readiness, type ReadinessOptions } from './readiness';
import { RequestNotFoundError, writeOps, type WriteContext, type WriteOpArgs, type WriteOpName, type WriteOpResult, type WriteOps } from './write-ops';
import { StoreBusyError } from './write-lock';

/** What a write resolves to: the operation's own result and the audit records its events became. */
export interface Written<T> {
  value: T;
  records: AuditRecord[];
}

export interface WriteOptions {
  /** The write is one statement, which SQLite undoes alone when it fails: no savepoint needed. */
  singleStatement?: boolean;
  /**
   * What was left, when it was submitted, of the deadline of the person's turn it belongs to (ms,
   * src/app/turn-deadline.ts): it waits for the write lock no longer than a moment before that.
   */
  leftMs?: number;
}

/** `options` with what is left of the current turn's deadline, when there is one. */
function withTurnLeft(options: WriteOptions = {}): WriteOptions {
  const deadline = turnDeadline();
  return deadline === undefined || options.leftMs !== undefined ? options : { ...options, leftMs: deadline - performance.now() };
}

export interface StoreWriter {
  /**
   * Runs `op` in the next group commit, with `events` appended where the operation says (its
   * `append()`); resolves once that commit is on disk, rejects if the op or the commit failed.
   */
  submit<K extends WriteOpName>(op: K, args: WriteOpArgs<K>, events?: readonly AuditEventDraft[], options?: WriteOptions): Promise<Written<WriteOpResult<K>>>;
  /** Can the store take a durable write now (readiness.ts)? `again`: probe now, not the answer kept for a second. */
  readiness(again?: boolean): Promise<Readiness>;
  /** Runs a PRAGMA on the write connection (fault tests limit max_page_count there) and returns its value. */
  pragma(text: string): Promise<unknown>;
  /**
   * Fault injection: every commit from now on first stalls its thread for `ms` (0: none), as a disk
   * whose fsync takes that long would. Tests show what keeps answering meanwhile.
   */
  stallCommits(ms: number): Promise<void>;
  /**
   * The highest record this process committed (or, writing inline, saw): what a log found cut short
   * while the bot runs must still hold, signed into the checkpoint file as the bot stops.
   */
  lastWitnessed(): ChainHead | undefined;
  /** Commits what was submitted, then closes the write connection; later submissions are refused. */
  close(): Promise<void>;
}

/** Blocks the calling thread for `ms`, as a slow fsync blocks the thread that commits. */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export class InlineWriter implements StoreWriter {
  readonly group: GroupCommitWriter;
  private readonly ops: WriteOps;
  private readonly check: WriteReadiness;

  constructor(
    private readonly db: Database.Database,
    file: string,
    newId: () => string,
    lockWaitLimitMs: number | undefined,
    readiness: ReadinessOptions | undefined,
  ) {
    this.group = new GroupCommitWriter(db, file, newId, lockWaitLimitMs);
    this.ops = writeOps(db);
    this.check = new WriteReadiness(db, file, this.group, readiness);
  }

  submit<K extends WriteOpName>(op: K, args: WriteOpArgs<K>, events: readonly AuditEventDraft[] = [], options?: WriteOptions): Promise<Written<WriteOpResult<K>>> {
    return this.group.submit((tx) => {
      let records: AuditRecord[] = [];
      const value = this.run(op, args, events.length, () => (records = tx.appendEvents(events)));
      return { value, records };
    }, withTurnLeft(options));
  }

  /** The writer thread's way in: the events come as templates made on the main thread (thread-writer.ts). */
  submitTemplates<K extends WriteOpName>(
    op: K,
    args: WriteOpArgs<K>,
    templates: readonly WireTemplate[],
    placeholders: SealPlaceholders,
    options?: WriteOptions,
  ): Promise<{ value: WriteOpResult<K>; sealed: SealedWire[] }> {
    return this.group.submit((tx: WriteTx) => {
      let sealed: SealedWire[] = [];
      const value = this.run(op, args, templates.length, () => {
        sealed = tx.appendTemplates(templates, placeholders);
        return sealed.map((s) => ({ seq: typeof s === 'string' ? (JSON.parse(s) as { seq: number }).seq : s[0] }));
      });
      return { value, sealed };
    }, options);
  }

  /** Runs the operation; its events must be appended exactly once (by the operation) when there are any. */
  private run<K extends WriteOpName>(op: K, args: WriteOpArgs<K>, events: number, append: () => readonly { seq: number }[]): WriteOpResult<K> {
    let appended = false;
    const w: WriteContext = {
      append: () => {
        if (appended) throw new Error(`the ${op} write appended its events twice`);
        appended = true;
        return append();
      },
    };
    const value = (this.ops[op] as (w: WriteContext, ...a: unknown[]) => WriteOpResult<K>)(w, ...args);
    if (events > 0 && !appended) throw new Error(`the ${op} write does not record audit events, but ${events} were given`);
    return value;
  }

  head(): ChainHead | undefined {
    return this.group.head();
  }

  lastWitnessed(): ChainHead | undefined {
    return this.group.lastWitnessed();
  }

  async readiness(again = false): Promise<Readiness> {
    return this.check.check(performance.now(), again);
  }

  async pragma(text: string): Promise<unknown> {
    return this.db.pragma(text, { simple: true });
  }

  async stallCommits(ms: number): Promise<void> {
    this.group.beforeCommit = ms > 0 ? () => stall(ms) : undefined;
  }

  async close(): Promise<void> {
    this.group.close();
  }
}

/** An error as it crosses from the writer thread: its name, message and own plain fields. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, string | number | boolean | null | string[]>;
}

export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} };
  const fields: WireError['fields'] = {};
  for (const [k, v] of Object.entries(err)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v as string | number | boolean | null;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) fields[k] = [...(v as string[])];
  }
  return { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}), fields };
}

/** The errors callers tell apart by class, rebuilt as themselves; any other keeps name, message and fields (code). */
const REBUILT: Record<string, (f: WireError['fields']) => Error> = {
  VersionConflictError: (f) => new VersionConflictError(String(f.requestId), Number(f.expectedVersion)),
  DuplicateRequestError: (f) => new DuplicateRequestError(String(f.requestId)),
  OpenRequestExistsError: (f) => new OpenRequestExistsError(String(f.requestId), String(f.openRequestId)),
  DelegationConflictError: (f) => new DelegationConflictError(String(f.delegatorId)),
  DuplicateDownloadLinkError: (f) => new DuplicateDownloadLinkError(String(f.linkId)),
  BreakGlassLimitError: (f) => new BreakGlassLimitError(String(f.requestId), Array.isArray(f.usedAt) ? f.usedAt : []),
  RequestNotFoundError: (f) => new RequestNotFoundError(String(f.requestId)),
  StoreBusyError: (f) => new StoreBusyError(String(f.file), Number(f.waitedMs)),
};

export function errorFromWire(wire: WireError): Error {
  const rebuild = REBUILT[wire.name];
  const err = rebuild ? rebuild(wire.fields) : Object.assign(new Error(wire.message), wire.fields);
  if (!rebuild) err.name = wire.name;
  if (wire.stack) err.stack = `${wire.stack}\n    (on the store's writer thread)`;
  return err;
}
