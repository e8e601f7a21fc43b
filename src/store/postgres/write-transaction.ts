/**
 * One write's transaction on its connection: BEGIN, durable, with what is left of the write's lock
 * wait as its lock_timeout (LockBudget keeps it so); the statements its work sends; the audit
 * records it appends, staged (StagedAppend) and sent with the COMMIT in one round trip under the
 * chain lock (commitWith). The writer (transactions.ts) runs each write through these.
 */
import type pg from 'pg';
import type { SealTemplate } from '../../audit/chain/chain';
import type { AuditRecord } from '../../domain/audit';
import { appendedRecords, appendQuery, appendText, CHAIN_LOCK, templatesOf, type AppendedRow } from './chain-append';
import { isConnectionError, type PgTx } from './tx';

/** The transaction's lock_timeout: what is left of the write's wait (0 would mean no limit). */
const lockTimeout = (ms: number) => `SET LOCAL lock_timeout = '${Math.max(1, Math.ceil(ms))}ms'`;
/**
 * How long a write's transaction may sit idle between two statements before the server ends it,
 * releasing its row locks: twice the writes' wait (COUNTERSIGN_STORE_LOCK_WAIT), at least 5 s (a
 * garbage collection or a loaded host's stall is not mistaken for it). By
 * then every other write waiting for those locks has given up; without it, an instance frozen
 * mid-transaction (a VM paused, SIGSTOP) held a request's row, and every instance's clicks on it
 * failed, until it woke or its TCP connection timed out, hours later. The write itself, if its
 * process wakes, finds its session ended and runs again on a new connection (nothing committed).
 */
const idleLimit = (lockWaitMs: number) => `SET LOCAL idle_in_transaction_session_timeout = '${Math.max(5000, Math.ceil(2 * lockWaitMs))}ms'`;
export const begin = (leftMs: number, lockWaitMs: number) => `BEGIN; SET LOCAL synchronous_commit = on; ${idleLimit(lockWaitMs)}; ${lockTimeout(leftMs)}`;

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
export class StagedAppend {
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
export class LockBudget {
  private setAt = performance.now();
  /** When the transaction's latest statement was sent: one that gave up on a lock waited since then. */
  statementAt = performance.now();

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

const budgets = new WeakMap<PgTx, LockBudget>();

/**
 * How long the latest statement of `tx` (a transactionOn) has run: for one that gave up on a lock,
 * about how long it waited, so whoever held the lock had held it at least that long.
 */
export function statementWaitedMs(tx: PgTx): number | undefined {
  const budget = budgets.get(tx);
  return budget && performance.now() - budget.statementAt;
}

/** What a write's work sees of its transaction on `client`. */
export function transactionOn(client: pg.PoolClient, staged: StagedAppend, newId: () => string, budget: LockBudget, appendedNow: (rows: AppendedRow[]) => void): PgTx {
  const tx: PgTx = {
    query: async (sql, params) => {
      if (staged.templates.length) throw new Error('appendEvents must be the last statement of a write');
      const set = budget.refresh();
      if (set) await client.query(set);
      budget.statementAt = performance.now();
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
      budget.statementAt = performance.now();
      await client.query(budget.lockChain());
      budget.statementAt = performance.now();
      const rows = (await client.query<AppendedRow>(q.text, q.values)).rows;
      // Before COMMIT: a log that went back fails this transaction, so nothing lands in it.
      if (rows.length > 0) appendedNow(rows);
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
  budgets.set(tx, budget);
  return tx;
}

/** The commit was sent but its answer never came: the change may or may not be saved. */
export class CommitFailed extends Error {
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
export async function commitWith(client: pg.PoolClient, staged: StagedAppend, leftMs: number): Promise<AppendedRow[]> {
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
