/**
 * Writes to PostgreSQL: each one a transaction of its own, committed durably (synchronous_commit on).
 * A write that carries audit events appends them last, under a transaction advisory lock: every
 * instance appending to the chain waits for it; the database reads the committed head, seals and
 * inserts the next records (chain-append.ts) and the commit, sent with them, releases the lock. So
 * seq grows by one across all instances, each record names the hash of the one before, and a
 * reader never sees seq n+1 committed before seq n. A write waits for locks other sessions hold
 * at most the store's lock wait in all (lock-wait.ts), counting its time in line.
 */
import { CommitOutcomeUnknownError } from '../../app/ports';
import type pg from 'pg';
import type { SealTemplate } from '../../audit/chain/chain';
import type { AuditEventDraft, AuditRecord, ChainHead } from '../../domain/audit';
import { AuditLogRewrittenError } from '../audit-rewritten';
import { appendedRecords, appendQuery, appendText, templatesOf, type AppendedRow } from './chain-append';
import { runWriteGroup, type GroupedWrite } from './grouped-writes';
import { GroupQueue } from './group-queue';
import { connectOrBusy, DEFAULT_LOCK_WAIT_MS, isLockTimeout, lockHolders, StoreLockWaitError } from './lock-wait';
import { isConnectionError, type PgTx } from './tx';

/** Writes in one group: each savepoint's subtransaction counts, and PostgreSQL caches 64 per backend. */
const MAX_GROUPED_WRITES = 32;

/** The chain's lock (per database): taken by every append, in every instance. */
export const CHAIN_LOCK = 4_771_034_112_002;

class StoreClosedError extends Error {
  constructor(name: string) {
    super(`the store ${name} is closed`);
    this.name = 'StoreClosedError';
  }
}

export const READ_HEAD = 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1';

/** The transaction's lock_timeout: what is left of the write's wait (0 would mean no limit). */
const lockTimeout = (ms: number) => `SET LOCAL lock_timeout = '${Math.max(1, Math.ceil(ms))}ms'`;
const begin = (leftMs: number) => `BEGIN; SET LOCAL synchronous_commit = on; ${lockTimeout(leftMs)}`;

/**
 * Takes the chain lock in a statement of its own, waiting at most `leftMs`, then sets the
 * transaction's lock_timeout to what is left of that once it is granted: PostgreSQL applies
 * lock_timeout to each lock wait alone, and the append after it may wait again (for audit_log).
 * What is left is counted by the server from the receipt of the query (statement_timestamp() is
 * the same for every statement of one simple query), so this goes in the same round trip as the
 * append and COMMIT, and the chain lock is still never held across a round trip to the application.
 * The append function takes the lock again: it is held already, so that never waits.
 */
const lockChain = (leftMs: number) => {
  const left = Math.max(1, Math.ceil(leftMs));
  return (
    `${lockTimeout(left)}; SELECT pg_advisory_xact_lock(${CHAIN_LOCK}); ` +
    `SELECT set_config('lock_timeout', greatest(1, ${left} - floor(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000))::bigint || 'ms', true)`
  );
};
/** The statements lockChain sends, whose results come before the append's. */
const LOCK_CHAIN_STATEMENTS = 3;

/** Templates staged for the commit, and who waits for which of them. */
class StagedAppend {
  readonly templates: SealTemplate[] = [];
  private readonly waiters: { from: number; to: number; resolve: (r: AuditRecord[]) => void; reject: (e: unknown) => void }[] = [];
  private markReady!: () => void;
  /** Settles when the write staged appends (it then waits for the commit to get its records). */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  /** Stages the templates; the promise settles once the commit carrying them did. */
  add(templates: readonly SealTemplate[]): Promise<AuditRecord[]> {
    if (!templates.length) return Promise.resolve([]);
    this.markReady();
    const from = this.templates.length;
    this.templates.push(...templates);
    return new Promise((resolve, reject) => this.waiters.push({ from, to: this.templates.length, resolve, reject }));
  }

  committed(rows: readonly AppendedRow[]): void {
    const records = appendedRecords(this.templates, rows);
    for (const w of this.waiters) w.resolve(records.slice(w.from, w.to));
  }

  failed(err: unknown): void {
    for (const w of this.waiters) w.reject(err);
  }
}

/** Time a transaction may spend before its lock_timeout is set again to what is left (ms). */
const LOCK_TIMEOUT_SLACK_MS = 50;

/**
 * The transaction's lock_timeout, kept to what is left of the write's wait: set at BEGIN, and again
 * before a statement once the earlier ones took longer than the slack (so two waits in one
 * transaction add up to the wait, not twice it), and with the COMMIT.
 */
class LockBudget {
  private setAt = performance.now();

  constructor(readonly left: () => number) {}

  /** The SET to send before the next statement, when the one in force is out of date. */
  refresh(): string | undefined {
    if (performance.now() - this.setAt < LOCK_TIMEOUT_SLACK_MS) return undefined;
    this.setAt = performance.now();
    return lockTimeout(this.left());
  }

  /** The SET of what is left, sent now whatever the one in force (a rollback to a savepoint undid it). */
  reset(): string {
    this.setAt = performance.now();
    return lockTimeout(this.left());
  }

  /** lockChain with what is left: the lock_timeout it leaves in force is up to date. */
  lockChain(): string {
    this.setAt = performance.now();
    return lockChain(this.left());
  }
}

/** What a write's work sees of its transaction on `client`. */
function transactionOn(client: pg.PoolClient, staged: StagedAppend, newId: () => string, budget: LockBudget, firstAppended: (row: AppendedRow) => void): PgTx {
  return {
    query: async (sql, params) => {
      if (staged.templates.length) throw new Error('appendEvents must be the last statement of a write');
      const set = budget.refresh();
      if (set) await client.query(set);
      return client.query(sql, params);
    },
    appendEvents: async (drafts) => staged.add(templatesOf(drafts, newId)),
    stage: async (templates) => staged.add(templates),
    rollbackTo: async (savepoint) => {
      if (staged.templates.length) throw new Error('appendEvents must be the last statement of a write');
      await client.query(`ROLLBACK TO SAVEPOINT ${savepoint}; ${budget.reset()}`);
    },
    appendEventsNow: async (drafts) => {
      const templates = templatesOf(drafts, newId);
      if (!templates.length) return [];
      const q = appendQuery(templates);
      // The chain lock first, alone: the append then waits for audit_log only what is left.
      await client.query(budget.lockChain());
      const rows = (await client.query<AppendedRow>(q.text, q.values)).rows;
      // Before COMMIT: a log that went back fails this transaction, so nothing lands in it.
      if (rows.length > 0) firstAppended(rows[0]);
      return appendedRecords(templates, rows);
    },
    appendGroups: async (groups) => {
      const out = groups.map((drafts) => {
        try {
          return templatesOf(drafts, newId);
        } catch (error) {
          return { error };
        }
      });
      const records = await staged.add(out.flatMap((o) => ('error' in o ? [] : o)));
      let at = 0;
      return out.map((o) => ('error' in o ? o : records.slice(at, (at += o.length))));
    },
  };
}

/** The commit was sent but its answer never came: the change may or may not be saved. */

class CommitFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('commit failed');
  }
}

/**
 * The staged appends and COMMIT in one round trip: the server commits only if the appends
 * succeeded; answers the appended rows. A statement's error leaves nothing committed (thrown as it
 * is, to be rolled back); a broken connection leaves the outcome unknown (CommitFailed). The chain
 * lock and audit_log's are taken here, one after the other: together they may wait only what is
 * left of the write's wait (lockChain).
 */
async function commitWith(client: pg.PoolClient, staged: StagedAppend, leftMs: number): Promise<AppendedRow[]> {
  try {
    if (!staged.templates.length) {
      await client.query('COMMIT');
      return [];
    }
    const results = (await client.query(`${lockChain(leftMs)}; ${appendText(staged.templates)}; COMMIT`)) as unknown as pg.QueryResult<AppendedRow>[];
    return results[LOCK_CHAIN_STATEMENTS].rows;
  } catch (err) {
    // The COMMIT never left: the connection broke before it was sent (pg refuses a query on a client
    // that already saw its connection fail, as when the server ended the session for idling in this
    // transaction, idle_in_transaction_session_timeout), or the server said it ended the session for
    // that (25P03) before the COMMIT reached it. Nothing was committed, so the write may run again.
    if (commitNeverRan(err)) throw err;
    throw isConnectionError(err) ? new CommitFailed(err) : err;
  }
}

/** pg's refusal to send a query on a broken client, or the server's having ended the session idle in the transaction. */
function commitNeverRan(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === '25P03' || (typeof e?.message === 'string' && /^Client has encountered a connection error and is not queryable$/.test(e.message));
}

/**
 * The audit log went back below a record this instance committed or saw: the tables were emptied,
 * truncated or replaced under the running instances. Nothing more is written (the next start's
 * continuity check names what is missing).
 */
export class AuditLogRewoundError extends Error {
  constructor(target: string, readonly highestSeq: number, readonly nowSeq: number) {
    super(`the audit log of ${target} went back: this instance had seen it reach record ${highestSeq}, and it went back to record ${nowSeq} (its tables were emptied, truncated or replaced while Countersign ran); nothing more is written: Countersign must be restarted`);
    this.name = 'AuditLogRewoundError';
  }
}

/**
 * A table or function of Countersign's schema is gone from the database under the running instances
 * (dropped or renamed): nothing more is written, as when the log went back.
 */
export class StoreSchemaGoneError extends Error {
  constructor(target: string, readonly missing: string) {
    super(`${missing} is gone from ${target} (dropped or renamed while Countersign ran): nothing more is written. Countersign must be restarted once the database is restored from a backup (docs/faults.md)`);
    this.name = 'StoreSchemaGoneError';
  }
}

/** This host's clock is too far from the database's to decide anything by it (readiness.ts). */
export class StoreClockSkewError extends Error {
  constructor(target: string, problem: string) {
    super(`${target}: ${problem}. Nothing more is written by this instance: restart it once its clock is right (docs/faults.md)`);
    this.name = 'StoreClockSkewError';
  }
}

/** Why a writer stopped writing for good. */
export type WriterStop = AuditLogRewoundError | AuditLogRewrittenError | StoreSchemaGoneError | StoreClockSkewError;

/** What of the schema an error says is missing (SQLSTATE 42P01 undefined_table, 42883 undefined_function), in words. */
export function missingFromSchema(err: unknown): string | undefined {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (code === '42P01') return `the table ${/relation "([^"]+)"/.exec(text)?.[1] ?? '(unnamed)'}`;
  if (code === '42883') return `the function ${/function (\S+\(.*?\))/.exec(text)?.[1] ?? '(unnamed)'}`;
  return undefined;
}

/** A statement cancelled (57014 statement_timeout), the server short of a resource (class 53) or failing I/O (class 58). */
function isServerShortOf(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === '57014' || code.startsWith('53') || code.startsWith('58'));
}

export class PgWriter {
  private closed = false;
  /** The highest record this instance saw in the log (at open, and each commit of its own): the log never goes below it. */
  private highestSeq = 0;
  /**
   * The highest record this instance committed or saw, with its hash: the log must go on holding it
   * as it was (a record appended right after it links to that hash; readiness looks it up).
   */
  private witness: ChainHead | undefined;
  /** Set once the log went back below highestSeq, or was rewritten: every later write is refused with it. */
  private rewound: WriterStop | undefined;
  /** Told once when the log went back or was rewritten (the bot then stops: see onWriterStopped). */
  onRewound: ((err: WriterStop) => void) | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The last write that gave up waiting for a lock, and the last that committed (readiness reads them). */
  lastLockRefusal: { at: number; error: StoreLockWaitError } | undefined;
  /**
   * The last write the server refused for want of something other than a lock (a statement it
   * cancelled, 57014; no connection slot, memory or other resource, class 53; an I/O error, class
   * 58), which no probe of readiness sees: readiness reads it, as SQLite's does its last write's.
   */
  lastFault: { at: number; error: Error } | undefined;
  lastCommitAt: number | undefined;

  constructor(
    readonly pool: pg.Pool,
    readonly name: string,
    private readonly newId: () => string,
    /** How long a write waits, in all, for locks other sessions hold (COUNTERSIGN_STORE_LOCK_WAIT). */
    readonly lockWaitMs = DEFAULT_LOCK_WAIT_MS,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Why writes are refused for good, if they are. */
  get stopped(): WriterStop | undefined {
    return this.rewound;
  }

  /**
   * The highest record seen so far. Take it before reading the log: a head read after it, or the
   * first record of a commit begun after it, must not be below it (this instance's own commits
   * finishing meanwhile only raise it, which is why it is taken first).
   */
  get seen(): number {
    return this.highestSeq;
  }

  /**
   * Checks the log's head as read now (`head`, at open and by readiness) or the first record a
   * transaction appended (`first`) against `floor` (seen, taken before): a head below it, or a first
   * new record not above it, means the log went back. Returns the error then.
   */
  noteHead(seq: number, floor: number, kind: 'head' | 'first'): WriterStop | undefined {
    if (this.rewound) return this.rewound;
    if (kind === 'head' ? seq < floor : seq <= floor) return this.stop(new AuditLogRewoundError(this.name, floor, kind === 'head' ? seq : seq - 1));
    this.highestSeq = Math.max(this.highestSeq, seq);
    return undefined;
  }

  /** The record the log must still hold as it was (undefined before the log has one). */
  get witnessed(): ChainHead | undefined {
    return this.witness;
  }

  /**
   * Checks what the log holds now at `witness`'s seq (`found`: its hash, undefined when it is gone;
   * `witness` as taken before the log was read), then witnesses `head` (the head as read now) when it
   * is higher. Returns the error when the record is not as it was.
   */
  noteWitness(witness: ChainHead | undefined, found: string | undefined, head: ChainHead | undefined): WriterStop | undefined {
    if (this.rewound) return this.rewound;
    if (witness && found !== witness.hash) return this.stop(new AuditLogRewrittenError(this.name, witness, found));
    if (head) this.advance(head);
    return undefined;
  }

  /** Witnesses `head` when it is higher than the record witnessed so far. */
  private advance(head: ChainHead): void {
    if (!this.witness || head.seq > this.witness.seq) this.witness = { seq: head.seq, hash: head.hash };
  }

  /**
   * The first record a transaction appended: when it comes right after the witnessed one, it must link
   * to that record's hash (a record between them was appended by another instance: readiness checks).
   */
  private noteLink(first: AppendedRow): WriterStop | undefined {
    const witness = this.witness;
    if (!witness || Number(first.appended_seq) !== witness.seq + 1) return this.rewound;
    return this.noteWitness(witness, first.appended_prev_hash, undefined);
  }

  /**
   * A read (or the readiness probe) found a table or function of the schema gone: the writer stops
   * as a write that met it would (once; a writer already stopped keeps its first reason).
   */
  schemaGone(missing: string): WriterStop {
    return this.rewound ?? this.stop(new StoreSchemaGoneError(this.name, missing));
  }

  /**
   * This host's clock was found too far from the database's: every instance decides expiry, approvals
   * and break-glass windows by its own clock, so this one stops writing (its sweeps and clicks fail
   * with this error) and the bot stops, as for a dropped table; a restart is refused until it is right.
   */
  clockWrong(problem: string): WriterStop {
    return this.rewound ?? this.stop(new StoreClockSkewError(this.name, problem));
  }

  private stop(err: WriterStop): WriterStop {
    this.rewound = err;
    const tell = this.onRewound;
    if (tell) setImmediate(() => tell(err));
    return err;
  }

  /** Runs `work` in a transaction and commits it; rejects (nothing committed) if any part fails. */
  transaction<T>(work: (tx: PgTx) => Promise<T>): Promise<T> {
    if (this.rewound) return Promise.reject(this.rewound);
    if (this.closed) return Promise.reject(new StoreClosedError(this.name));
    return this.track(this.run(work, performance.now()));
  }

  /**
   * Group commit of plain appends: an append arriving while another runs waits for it, then goes
   * with every append that arrived meanwhile in one transaction (one lock, one statement, one commit).
   * Each caller's promise settles with its own records once that transaction committed.
   */
  append(drafts: AuditEventDraft[]): Promise<AuditRecord[]> {
    if (this.rewound) return Promise.reject(this.rewound);
    if (this.closed) return Promise.reject(new StoreClosedError(this.name));
    if (drafts.length === 0) return Promise.resolve([]);
    return this.appends.submit(drafts);
  }

  private readonly appends = new GroupQueue<AuditEventDraft[], AuditRecord[]>(
    async (batch, since) => (await this.run((tx) => tx.appendGroups(batch), since)).map((r) => ('error' in r ? r : { value: r })),
    { maxBatch: 200, track: (drain) => void this.track(drain) },
  );

  /**
   * Group commit of request writes (compare-and-swap updates): a write arriving while another group
   * runs waits for it, then goes with every write that arrived meanwhile in one transaction, each in
   * a savepoint of its own so that one refused (a version conflict) is undone alone, and the audit
   * records of all appended with one COMMIT: one chain-lock hold and one WAL flush for the group.
   * Writes run in the order of `key` (the request id), so two groups never wait for each other's rows.
   */
  write<T>(key: string, work: (tx: PgTx) => Promise<T>): Promise<T> {
    if (this.rewound) return Promise.reject(this.rewound);
    if (this.closed) return Promise.reject(new StoreClosedError(this.name));
    return this.writes.submit({ key, work }) as Promise<T>;
  }

  private readonly writes = new GroupQueue<GroupedWrite, unknown>((batch, since) => this.run((tx) => runWriteGroup(tx, batch, this.newId), since, (outcomes) => this.noteGroup(outcomes)), {
    maxBatch: MAX_GROUPED_WRITES,
    track: (drain) => void this.track(drain),
    order: (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  });

  private track<T>(run: Promise<T>): Promise<T> {
    this.inFlight.add(run);
    const done = () => this.inFlight.delete(run);
    run.then(done, done);
    return run;
  }

  /**
   * A connection that breaks before COMMIT was sent leaves nothing behind (the server rolls the
   * transaction back), so the write is run once more on a new connection. One that breaks during
   * COMMIT leaves the outcome unknown, which the caller is told as such. The retry waits for locks
   * only what is left since `since` (the write's submission): a lock timeout is never retried.
   */
  private async run<T>(work: (tx: PgTx) => Promise<T>, since: number, wrote: (value: T) => boolean = () => true): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await this.attempt(work, since);
        if (wrote(value)) this.lastCommitAt = performance.now();
        return value;
      } catch (err) {
        // A table or function of the schema dropped under the running instance: it stops writing.
        const missing = missingFromSchema(err instanceof CommitFailed ? err.cause : err);
        if (missing) throw this.stop(new StoreSchemaGoneError(this.name, missing));
        if (err instanceof StoreLockWaitError) this.lastLockRefusal = { at: performance.now(), error: err };
        const cause = err instanceof CommitFailed ? err.cause : err;
        if (isServerShortOf(cause)) this.lastFault = { at: performance.now(), error: cause as Error };
        if (err instanceof CommitFailed) throw isConnectionError(err.cause) ? new CommitOutcomeUnknownError(err.cause) : err.cause;
        if (attempt >= 2 || !isConnectionError(err)) throw err;
      }
    }
  }

  /**
   * A group's transaction committed: whether a write of it did (each failed alone in its savepoint,
   * and then nothing was written), noting a write the server cancelled or had no resources for.
   */
  private noteGroup(outcomes: readonly ({ value: unknown } | { error: unknown })[]): boolean {
    const fault = outcomes.find((o): o is { error: unknown } => 'error' in o && isServerShortOf(o.error));
    if (fault) this.lastFault = { at: performance.now(), error: fault.error as Error };
    return outcomes.some((o) => 'value' in o);
  }

  private async attempt<T>(work: (tx: PgTx) => Promise<T>, since: number): Promise<T> {
    const client = await connectOrBusy(this.pool, this.name);
    let broken: Error | undefined;
    const staged = new StagedAppend();
    const left = () => this.lockWaitMs - (performance.now() - since);
    // Every commit that finished before this one began has lower seqs than this one's records.
    const floor = this.highestSeq;
    try {
      await client.query(begin(left()));
      const budget = new LockBudget(left);
      const checkFirst = (row: AppendedRow) => {
        const rewound = this.noteHead(Number(row.appended_seq), floor, 'first') ?? this.noteLink(row);
        if (rewound) throw rewound;
      };
      const done = work(transactionOn(client, staged, this.newId, budget, checkFirst)).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      // The work either ends, or stages its appends and waits for the commit that carries them.
      const first = await Promise.race([done, staged.ready.then(() => undefined)]);
      if (first && 'error' in first) throw first.error;
      const rows = await commitWith(client, staged, left());
      if (rows.length > 0) {
        // Committed already; if the log went back or was rewritten under us, the writes after this one are refused.
        if (!this.noteHead(Number(rows[0].appended_seq), floor, 'first') && !this.noteLink(rows[0])) {
          const last = rows[rows.length - 1];
          this.advance({ seq: Number(last.appended_seq), hash: last.appended_hash });
        }
        this.highestSeq = Math.max(this.highestSeq, Number(rows[rows.length - 1].appended_seq));
      }
      if (staged.templates.length) staged.committed(rows);
      const outcome = await done;
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    } catch (err) {
      if (err instanceof CommitFailed) {
        staged.failed(err.cause);
        broken = err.cause as Error;
        throw err;
      }
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        // The connection itself is gone: the pool must not hand it out again.
        broken = rollbackErr as Error;
      }
      const failure = isLockTimeout(err) && !broken ? await this.lockWaitError(client, since, err) : err;
      staged.failed(failure);
      throw failure;
    } finally {
      client.release(broken);
    }
  }

  /** A lock timeout in words: who holds what (asked on the same connection, after the rollback). */
  private async lockWaitError(client: pg.PoolClient, since: number, err: unknown): Promise<StoreLockWaitError> {
    const holders = await lockHolders(client, CHAIN_LOCK).catch(() => []);
    return new StoreLockWaitError(this.name, Math.round(performance.now() - since), this.lockWaitMs, holders, err);
  }

  /** Waits for the writes already submitted; later ones are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
