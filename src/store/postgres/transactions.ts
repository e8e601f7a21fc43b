/**
 * Writes to PostgreSQL: each one a transaction of its own, committed durably (synchronous_commit on).
 * A write that carries audit events appends them last, under a transaction advisory lock: every
 * instance appending to the chain waits for it; the database reads the committed head, seals and
 * inserts the next records (chain-append.ts) and the commit, sent with them, releases the lock. So
 * seq grows by one across all instances, each record names the hash of the one before, and a
 * reader never sees seq n+1 committed before seq n. A write waits for locks other sessions hold
 * at most the store's lock wait in all (lock-wait.ts), counting its time in line.
 *
 * This module is the writer (PgWriter): the writes in line, grouped, each tried and told apart by
 * how it failed, and the log's head watched. One write's transaction on its connection is
 * write-transaction.ts; why the writer stops for good, writer-stops.ts.
 */
import { CommitOutcomeUnknownError, turnDeadline, TurnDeadlineError } from '../../app/ports';
import type pg from 'pg';
import type { AuditEventDraft, AuditRecord, ChainHead } from '../../domain/audit';
import { AuditLogRewrittenError } from '../audit-rewritten';
import { StoreAnswerTimeoutError } from './answer-wait';
import { CHAIN_LOCK, type AppendedRow } from './chain-append';
import { runWriteGroup, type GroupedWrite } from './grouped-writes';
import { GroupQueue } from './group-queue';
import { DEFAULT_LOCK_WAIT_MS, isLockTimeout, lockHolders, StoreLockWaitError } from './lock-wait';
import { connectBy, dropAt, lockWaitBy } from './turn-deadline';
import { isConnectionError, type PgTx } from './tx';
import { begin, CommitFailed, commitWith, LockBudget, StagedAppend, statementWaitedMs, transactionOn } from './write-transaction';
import { AuditLogRewoundError, missingFromSchema, StoreClockSkewError, StoreSchemaGoneError, type WriterStop } from './writer-stops';

/** Writes in one group: each savepoint's subtransaction counts, and PostgreSQL caches 64 per backend. */
const MAX_GROUPED_WRITES = 32;

class StoreClosedError extends Error {
  constructor(name: string) {
    super(`the store ${name} is closed`);
    this.name = 'StoreClosedError';
  }
}

/**
 * A statement cancelled (57014 statement_timeout), the server short of a resource (class 53: disk
 * full, temp_file_limit, memory, connections), failing I/O (class 58) or failing itself (class XX:
 * an internal error, data or an index corrupted).
 */
function isServerFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === '57014' || isHeldFault(code));
}

/** A fault of the server's own that a moment does not end (class 53, 58 or XX): readiness holds it until a write commits. */
function isHeldFault(code: string): boolean {
  return code.startsWith('53') || code.startsWith('58') || code.startsWith('XX');
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
   * 58; an internal error or corruption, class XX), which no probe of readiness sees: readiness
   * reads it, as SQLite's does its last write's.
   */
  lastFault: { at: number; error: Error } | undefined;
  /**
   * The last of those that was the server's own fault (class 53, 58 or XX), kept whatever milder
   * fault comes after it: a statement_timeout (57014) after a full disk replaced lastFault and cut
   * readiness's 60 s hold of the disk to the 2 s of the timeout (serverFaultProblem).
   */
  lastServerFault: { at: number; error: Error } | undefined;
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
    const back = this.wentBack(seq, floor, kind);
    if (back) return back;
    this.highestSeq = Math.max(this.highestSeq, seq);
    return undefined;
  }

  /** noteHead's check alone: for records not committed yet, which count as seen only once they are. */
  private wentBack(seq: number, floor: number, kind: 'head' | 'first'): WriterStop | undefined {
    if (this.rewound) return this.rewound;
    if (kind === 'head' ? seq < floor : seq <= floor) return this.stop(new AuditLogRewoundError(this.name, floor, kind === 'head' ? seq : seq - 1));
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

  /**
   * A checkpoint signed outside the database (the checkpoint file the instances share) names record
   * `c`: a head (`headSeq`, read now) below it means the log went back, restored from an earlier dump
   * say, though this instance never saw that far; `found` is the hash the log holds at `c.seq` now.
   * Returns the error then; else the log must go on holding `c` (a commit or readiness checks it).
   */
  noteCheckpoint(c: ChainHead, headSeq: number, found: string | undefined): WriterStop | undefined {
    if (this.rewound) return this.rewound;
    if (headSeq < c.seq) return this.stop(new AuditLogRewoundError(this.name, c.seq, headSeq, true));
    if (found !== c.hash) return this.stop(new AuditLogRewrittenError(this.name, c, found, true));
    this.highestSeq = Math.max(this.highestSeq, headSeq);
    this.advance(c);
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
   * For a table or function not found (`err`): undefined when it is gone from the catalog (dropped),
   * else the error to tell: the schema's USAGE taken from this role (a privilege to give back), or, on
   * a session that looked its search path up while it was, `err` itself (that connection is not
   * pooled again: connection.ts). Set by the store, which knows the schema.
   */
  schemaHidden: ((err: unknown) => Promise<Error | undefined>) | undefined;

  /**
   * What a table or function not found (42P01, 42883) means. PostgreSQL answers so both for one
   * dropped and for every table of a schema the role may no longer use: the writer stops only for the
   * first; the second is a privilege taken away, told as one, and writes go on once it is given back
   * (before, every instance stopped, its log saying to restore the database from a backup). When the
   * schema's usability cannot be asked, `err` itself, nothing decided.
   */
  async schemaMissing(missing: string, err: unknown): Promise<Error> {
    if (this.rewound) return this.rewound;
    try {
      const hidden = await this.schemaHidden?.(err);
      if (hidden) return hidden;
    } catch {
      return err as Error;
    }
    return this.schemaGone(missing);
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
    return this.track(this.run(work, performance.now(), undefined, turnDeadline()));
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
    async (batch, since, deadline) => (await this.run((tx) => tx.appendGroups(batch), since, undefined, deadline)).map((r) => ('error' in r ? r : { value: r })),
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

  private readonly writes = new GroupQueue<GroupedWrite, unknown>((batch, since, deadline) => this.run((tx) => runWriteGroup(tx, batch, this.newId, (err) => this.groupLockWaitError(tx, since, err)), since, (outcomes) => this.noteGroup(outcomes), deadline), {
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
   * `deadline`: the earliest of the people's turns it was submitted in (the app's turnDeadline),
   * which every wait of it keeps.
   */
  private async run<T>(work: (tx: PgTx) => Promise<T>, since: number, wrote: (value: T) => boolean = () => true, deadline?: number): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await this.attempt(work, since, deadline);
        if (wrote(value)) this.lastCommitAt = performance.now();
        return value;
      } catch (err) {
        // A table or function of the schema dropped under the running instance: it stops writing.
        const missing = missingFromSchema(err instanceof CommitFailed ? err.cause : err);
        if (missing) throw await this.schemaMissing(missing, err instanceof CommitFailed ? err.cause : err);
        if (err instanceof StoreLockWaitError) this.lastLockRefusal = { at: performance.now(), error: err };
        const cause = err instanceof CommitFailed ? err.cause : err;
        if (isServerFault(cause)) this.noteFault(cause as Error);
        if (err instanceof CommitFailed) throw isConnectionError(err.cause) ? new CommitOutcomeUnknownError(err.cause) : err.cause;
        // A connection whose answer never came (a stalled network) is not tried again: the next would stall too.
        // Nor one dropped at the turn's deadline: its person is told now.
        if (attempt >= 2 || !isConnectionError(err) || err instanceof StoreAnswerTimeoutError || err instanceof TurnDeadlineError) throw err;
      }
    }
  }

  /**
   * A group's transaction committed: whether a write of it did (each failed alone in its savepoint,
   * and then nothing was written), noting a write the server cancelled or had no resources for.
   */
  private noteGroup(outcomes: readonly ({ value: unknown } | { error: unknown })[]): boolean {
    const fault = outcomes.find((o): o is { error: unknown } => 'error' in o && isServerFault(o.error));
    if (fault) this.noteFault(fault.error as Error);
    const locked = outcomes.find((o): o is { error: StoreLockWaitError } => 'error' in o && o.error instanceof StoreLockWaitError);
    if (locked) this.lastLockRefusal = { at: performance.now(), error: locked.error };
    return outcomes.some((o) => 'value' in o);
  }

  /** A write the server refused (isServerFault): the last one, and the last of the server's own faults. */
  private noteFault(error: Error): void {
    this.lastFault = { at: performance.now(), error };
    if (isHeldFault(String((error as { code?: unknown }).code))) this.lastServerFault = this.lastFault;
  }

  private async attempt<T>(work: (tx: PgTx) => Promise<T>, since: number, deadline: number | undefined): Promise<T> {
    const client = await connectBy(this.pool, this.name, deadline, since);
    let broken: Error | undefined;
    const staged = new StagedAppend();
    const left = () => lockWaitBy(this.lockWaitMs - (performance.now() - since), deadline);
    // Past the deadline the connection is dropped: the write fails, as not written until its COMMIT was sent.
    let committing = false;
    const undrop = dropAt(client, this.name, deadline, since, () => committing);
    // Every commit that finished before this one began has lower seqs than this one's records.
    const floor = this.highestSeq;
    const began = performance.now();
    let budget: LockBudget | undefined;
    try {
      await client.query(begin(left(), this.lockWaitMs));
      budget = new LockBudget(left);
      // Records appended before COMMIT (a checkpoint's, appendEventsNow): checked now, so that a log that
      // went back fails this transaction, but seen only once it committed. Rolled back (its next
      // statement refused, its connection ended), they never were: counted as seen, the next record
      // in their place read as the log going back, and the instance stopped as if emptied.
      const appendedNow: AppendedRow[] = [];
      const checkFirst = (appended: AppendedRow[]) => {
        const rewound = this.wentBack(Number(appended[0].appended_seq), floor, 'first') ?? this.noteLink(appended[0]);
        if (rewound) throw rewound;
        appendedNow.push(...appended);
      };
      const done = work(transactionOn(client, staged, this.newId, budget, checkFirst)).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      // The work either ends, or stages its appends and waits for the commit that carries them.
      const first = await Promise.race([done, staged.ready.then(() => undefined)]);
      if (first && 'error' in first) throw first.error;
      committing = true;
      budget.statementAt = performance.now();
      const rows = await commitWith(client, staged, left());
      const lastNow = appendedNow.at(-1);
      if (lastNow) {
        this.advance({ seq: Number(lastNow.appended_seq), hash: lastNow.appended_hash });
        this.highestSeq = Math.max(this.highestSeq, Number(lastNow.appended_seq));
      }
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
      const failure = isLockTimeout(err) && !broken ? await this.lockWaitError(client, since, err, performance.now() - (budget?.statementAt ?? began)) : err;
      staged.failed(failure);
      throw failure;
    } finally {
      undrop();
      client.release(broken);
    }
  }

  /** A lock timeout of one write of a group, in words (asked in the group's transaction, after its savepoint's rollback). */
  private async groupLockWaitError(tx: PgTx, since: number, err: unknown): Promise<StoreLockWaitError> {
    const holders = await lockHolders(tx, CHAIN_LOCK, statementWaitedMs(tx)).catch(() => []);
    return new StoreLockWaitError(this.name, Math.round(performance.now() - since), this.lockWaitMs, holders, err);
  }

  /** A lock timeout in words: who holds what (asked on the same connection, after the rollback). */
  private async lockWaitError(client: pg.PoolClient, since: number, err: unknown, statementMs: number): Promise<StoreLockWaitError> {
    const holders = await lockHolders(client, CHAIN_LOCK, statementMs).catch(() => []);
    return new StoreLockWaitError(this.name, Math.round(performance.now() - since), this.lockWaitMs, holders, err);
  }

  /** Waits for the writes already submitted; later ones are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
