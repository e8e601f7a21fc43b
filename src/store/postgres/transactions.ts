/**
 * Writes to PostgreSQL: each one a transaction of its own, committed durably (synchronous_commit on).
 * A write that carries audit events appends them last, under a transaction advisory lock: every
 * instance appending to the chain waits for it, reads the committed head, inserts the next records
 * and commits, which releases the lock. So seq grows by one across all instances, each record names
 * the hash of the one before, and a reader never sees seq n+1 committed before seq n.
 */
import { CommitOutcomeUnknownError } from '../../app/ports';
import type pg from 'pg';
import type { ChainHead } from '../../domain/audit';
import { sealRecord } from '../../audit/chain/chain';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';

/** The chain's lock (per database): taken by every append, in every instance. */
export const CHAIN_LOCK = 4_771_034_112_002;

class StoreClosedError extends Error {
  constructor(name: string) {
    super(`the store ${name} is closed`);
    this.name = 'StoreClosedError';
  }
}

/** What a write can do inside its transaction. */
export interface PgTx {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Chains and inserts the events after the committed head; call it last (it takes the chain lock). */
  appendEvents(drafts: readonly AuditEventDraft[]): Promise<AuditRecord[]>;
  /**
   * Several callers' appends in one statement, each group sealed on its own: a group that cannot be
   * sealed (a value JSON cannot hold) fails alone and takes no place in the chain.
   */
  appendGroups(groups: readonly (readonly AuditEventDraft[])[]): Promise<(AuditRecord[] | { error: unknown })[]>;
}

const INSERT_RECORDS = 'INSERT INTO audit_log (seq, id, time, type, request_id, actor_id, prev_hash, hash, record) VALUES ';

/**
 * A value as an SQL literal. The E'' form doubles backslashes, so it reads the same whatever
 * standard_conforming_strings says; text holding a NUL is refused by PostgreSQL either way.
 */
function literal(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  const text = String(value);
  return /[\\']/.test(text) ? `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${text}'`;
}

/**
 * The insert of sealed rows as SQL text with literal values, no parameters: so it can go to the
 * server in one simple query together with COMMIT, and the chain lock is held for one round trip
 * (the insert, the durable commit) after the head was read, not two.
 */
function insertText(rows: readonly unknown[][]): string {
  return INSERT_RECORDS + rows.map((row) => `(${row.map(literal).join(',')})`).join(',');
}

export const READ_HEAD = 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1';

/** The chain lock and then the head, in one round trip (see countersign_lock_chain in the migrations). */
const LOCK_AND_READ_HEAD = 'SELECT seq, hash FROM countersign_lock_chain()';

const BEGIN = 'BEGIN; SET LOCAL synchronous_commit = on';

/** Seals the drafts after `head` into rows of one insert; returns the records. */
function sealInto(rows: unknown[][], drafts: readonly AuditEventDraft[], head: ChainHead | undefined, newId: () => string): AuditRecord[] {
  const records: AuditRecord[] = [];
  const sealed: unknown[][] = [];
  let prev = head;
  for (const draft of drafts) {
    const { record, text } = sealRecord(draft, prev, newId());
    sealed.push([record.seq, record.id, record.time, record.type, record.request?.id ?? null, record.actor?.aadObjectId ?? null, record.prevHash, record.hash, text]);
    prev = { seq: record.seq, hash: record.hash };
    records.push(record);
  }
  // Only once every draft sealed: a group that fails leaves nothing in the rows.
  rows.push(...sealed);
  return records;
}

/** The commit was sent but its answer never came: the change may or may not be saved. */

const CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);

/** The connection broke (server restart, failover, network, a terminated backend), not the statement. */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  return !!e && (CONNECTION_CODES.has(e.code ?? '') || /Connection terminated|connection is closed|not queryable/i.test(e.message ?? ''));
}

class CommitFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('commit failed');
  }
}

export class PgWriter {
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    readonly pool: pg.Pool,
    readonly name: string,
    private readonly newId: () => string,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs `work` in a transaction and commits it; rejects (nothing committed) if any part fails. */
  transaction<T>(work: (tx: PgTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreClosedError(this.name));
    return this.track(this.run(work));
  }

  /**
   * Group commit of plain appends: an append arriving while another runs waits for it, then goes
   * with every append that arrived meanwhile in one transaction (one lock, one insert, one commit).
   * Each caller's promise settles with its own records once that transaction committed.
   */
  append(drafts: AuditEventDraft[]): Promise<AuditRecord[]> {
    if (this.closed) return Promise.reject(new StoreClosedError(this.name));
    if (drafts.length === 0) return Promise.resolve([]);
    return new Promise<AuditRecord[]>((resolve, reject) => {
      this.appends.push({ drafts, resolve, reject });
      if (!this.draining) this.track(this.drainAppends());
    });
  }

  private appends: { drafts: AuditEventDraft[]; resolve: (r: AuditRecord[]) => void; reject: (e: unknown) => void }[] = [];
  private draining = false;

  private async drainAppends(): Promise<void> {
    this.draining = true;
    try {
      for (;;) {
        // Let every append of this turn of the event loop arrive first: the callers whose appends
        // just committed append again in the continuations of their promises, and without this
        // the first of them would go alone and the rest in the next transaction.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!this.appends.length) break;
        const batch = this.appends.splice(0, 200);
        try {
          const results = await this.run((tx) => tx.appendGroups(batch.map((b) => b.drafts)), true);
          results.forEach((r, i) => ('error' in r ? batch[i].reject(r.error) : batch[i].resolve(r)));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private track<T>(run: Promise<T>): Promise<T> {
    this.inFlight.add(run);
    const done = () => this.inFlight.delete(run);
    run.then(done, done);
    return run;
  }

  /**
   * A connection that breaks before COMMIT was sent leaves nothing behind (the server rolls the
   * transaction back), so the write is run once more on a new connection. One that breaks during
   * COMMIT leaves the outcome unknown, which the caller is told as such.
   */
  private async run<T>(work: (tx: PgTx) => Promise<T>, lockChainFirst = false): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(work, lockChainFirst);
      } catch (err) {
        if (err instanceof CommitFailed) throw isConnectionError(err.cause) ? new CommitOutcomeUnknownError(err.cause) : err.cause;
        if (attempt >= 2 || !isConnectionError(err)) throw err;
      }
    }
  }

  private async attempt<T>(work: (tx: PgTx) => Promise<T>, lockChainFirst: boolean): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      let appended = false;
      let lockedHead: ChainHead | undefined;
      /** Sealed rows not sent yet: they go with the next statement, at the latest with COMMIT. */
      let staged: unknown[][] = [];
      const flush = async () => {
        if (!staged.length) return;
        const rows = staged;
        staged = [];
        await client.query(insertText(rows));
      };
      /** The chain's head under its lock (taking it on the first append of the transaction). */
      const chainHead = async () => {
        if (lockedHead) {
          const head = lockedHead;
          lockedHead = undefined;
          return head;
        }
        await flush();
        const head = (await client.query<ChainHead>(appended ? READ_HEAD : LOCK_AND_READ_HEAD)).rows[0];
        appended = true;
        return head;
      };
      if (lockChainFirst) {
        // Plain appends: begin, lock the chain and read its head in one round trip.
        const results = (await client.query(`${BEGIN}; ${LOCK_AND_READ_HEAD}`)) as unknown as pg.QueryResult<ChainHead>[];
        lockedHead = results[results.length - 1].rows[0];
        appended = true;
      } else {
        await client.query(BEGIN);
      }
      const tx: PgTx = {
        query: async (sql, params) => {
          await flush();
          return client.query(sql, params);
        },
        appendEvents: async (drafts) => {
          if (drafts.length === 0) return [];
          return sealInto(staged, drafts, await chainHead(), this.newId);
        },
        appendGroups: async (groups) => {
          let head = await chainHead();
          return groups.map((drafts) => {
            try {
              const records = sealInto(staged, drafts, head, this.newId);
              const last = records.at(-1);
              if (last) head = { seq: last.seq, hash: last.hash };
              return records;
            } catch (error) {
              return { error };
            }
          });
        },
      };
      const value = await work(tx);
      try {
        // The staged insert and COMMIT in one round trip: the server runs COMMIT only if the
        // insert succeeded. A statement's error left nothing committed (rolled back below); a
        // broken connection leaves the outcome unknown.
        await client.query(staged.length ? `${insertText(staged)}; COMMIT` : 'COMMIT');
      } catch (err) {
        if (isConnectionError(err)) {
          broken = err as Error;
          throw new CommitFailed(err);
        }
        throw err;
      }
      return value;
    } catch (err) {
      if (err instanceof CommitFailed) throw err;
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        // The connection itself is gone: the pool must not hand it out again.
        broken = rollbackErr as Error;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Waits for the writes already submitted; later ones are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
