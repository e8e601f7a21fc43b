/**
 * Waiting for a lock another session holds (an operator's `LOCK TABLE`, a long transaction, a
 * migration): every connection of the pool has `lock_timeout` set to COUNTERSIGN_STORE_LOCK_WAIT, and
 * a write sets its own transaction's to what is left of that wait, so no write waits longer in all,
 * however long it stood in line behind others. A write that runs out fails with StoreLockWaitError
 * and nothing of it is committed, like SQLite's StoreBusyError.
 */
import type pg from 'pg';
import type { PgTx } from './tx';

/** How long a write waits, in all, for locks held by other sessions (ms). */
export const DEFAULT_LOCK_WAIT_MS = 5000;

/** SQLSTATE 55P03 lock_not_available: lock_timeout ran out, or NOWAIT found the lock taken. */
export function isLockTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '55P03';
}

/** A lock another session holds on one of our tables or the audit chain, in words. */
export interface LockHolder {
  lock: string;
  mode: string;
  pid: number;
  application?: string;
  /** How long its transaction has been open (ms), when this role may see it. */
  heldMs?: number;
  /**
   * How long the session has been idle, in a transaction or not (ms), when this role may see it:
   * it took the lock no later than that, so the lock has been held at least that long.
   */
  idleMs?: number;
  /** Its transaction's start as the server wrote it (which transaction holds the lock), when visible. */
  transaction?: string;
}

export function describeHolder(h: LockHolder): string {
  const app = h.application ? ` (${h.application})` : '';
  const held = h.heldMs !== undefined ? ` for ${h.heldMs} ms` : '';
  return `${h.lock} held in ${h.mode} by PostgreSQL process ${h.pid}${app}${held}`;
}

/** A write waited COUNTERSIGN_STORE_LOCK_WAIT for a lock held by another session and gave up: nothing was written. */
export class StoreLockWaitError extends Error {
  readonly code: unknown;
  constructor(
    readonly target: string,
    readonly waitedMs: number,
    readonly limitMs: number,
    readonly holders: readonly LockHolder[],
    override readonly cause: unknown,
    /** What gave up waiting: a write (nothing was written) or a read (nothing was read). */
    readonly action: 'write' | 'read' = 'write',
  ) {
    const what = holders.length ? holders.map(describeHolder).join('; ') : 'a lock held by another session (a row, a table or the audit chain lock)';
    super(`the store ${target} is locked by another session: ${what}; waited ${waitedMs} ms for it (COUNTERSIGN_STORE_LOCK_WAIT ${limitMs} ms), nothing was ${action === 'write' ? 'written' : 'read'}`);
    // PostgreSQL's SQLSTATE of the wait given up (55P03 lock_not_available), for whoever tells errors apart by it.
    this.code = (cause as { code?: unknown } | null)?.code;
    this.name = 'StoreLockWaitError';
  }
}

/** pg-pool's answer when no connection of a full pool came free within its connection timeout. */
export function isPoolTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'timeout exceeded when trying to connect';
}

/**
 * No connection of the pool came free in time: every one is lent out (to statements waiting for a
 * lock another session holds, or to long ones). Told as the store being busy, as a lock wait is.
 */
export class StorePoolBusyError extends Error {
  constructor(
    readonly target: string,
    readonly waitedMs: number,
    readonly poolSize: number,
    override readonly cause: unknown,
  ) {
    super(`the store ${target} is busy: no connection of its pool (${poolSize}) came free within ${waitedMs} ms (each is held by a statement waiting for a lock or a long one), nothing was done`);
    this.name = 'StorePoolBusyError';
  }
}

/** pool.connect(), a full pool's timeout thrown as StorePoolBusyError. */
export async function connectOrBusy(pool: pg.Pool, target: string): Promise<pg.PoolClient> {
  const since = performance.now();
  try {
    return await pool.connect();
  } catch (err) {
    throw isPoolTimeout(err) ? new StorePoolBusyError(target, Math.round(performance.now() - since), pool.options.max ?? 10, err) : err;
  }
}

/**
 * Table locks that keep writers out (SHARE mode or stronger, granted to another session) on the
 * tables of this schema, and the audit chain's advisory lock when another session holds it. With
 * $2 (the time a statement waited before it gave up), also the sessions that may hold a *row* it
 * waited for: PostgreSQL keeps row locks in the rows, not in pg_locks, so a `SELECT ... FOR UPDATE`
 * left open shows there only as its transaction's ROW SHARE (or an UPDATE's ROW EXCLUSIVE) lock on
 * the table. Only a transaction open at least as long as the wait can have held the row throughout
 * it, which leaves out this instance's own short writes.
 */
const HOLDERS = `
  SELECT DISTINCT ON (l.pid, lock)
         CASE WHEN c.relname IS NULL THEN 'the audit chain lock'
              WHEN l.mode IN ('RowShareLock', 'RowExclusiveLock') THEN 'rows of the table ' || c.relname
              ELSE 'the table ' || c.relname END AS lock,
         l.mode, l.pid, a.application_name AS application,
         floor(extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::bigint AS held_ms,
         CASE WHEN a.state LIKE 'idle%' THEN floor(extract(epoch FROM clock_timestamp() - a.state_change) * 1000)::bigint END AS idle_ms,
         a.xact_start::text AS xact
  FROM pg_locks l
  LEFT JOIN pg_class c ON l.locktype = 'relation' AND c.oid = l.relation
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.granted AND l.pid <> pg_backend_pid()
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND ((l.locktype = 'relation' AND c.relnamespace = quote_ident(current_schema())::regnamespace
          AND (l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
            OR ($2::bigint IS NOT NULL AND l.mode IN ('RowShareLock', 'RowExclusiveLock') AND c.relkind IN ('r', 'p')
                AND a.xact_start IS NOT NULL AND clock_timestamp() - a.xact_start >= make_interval(secs => $2::bigint / 1000.0))))
      OR (l.locktype = 'advisory' AND ((l.classid::bigint << 32) | l.objid::bigint) = $1))
  ORDER BY l.pid, lock, CASE l.mode WHEN 'RowExclusiveLock' THEN 0 ELSE 1 END`;

/** The chain's advisory lock as lockHolders names it. */
export const CHAIN_LOCK_NAME = 'the audit chain lock';

/**
 * Who holds the locks writes need, as far as this role can see (empty when it cannot tell), longest
 * held first. `waitedMs`, for a statement that gave up on a lock: also who may hold a row it waited for.
 */
export async function lockHolders(client: Pick<PgTx, 'query'>, chainLock: number, waitedMs?: number): Promise<LockHolder[]> {
  const r = await client.query<{ lock: string; mode: string; pid: number; application: string | null; held_ms: number | null; idle_ms: number | null; xact: string | null }>(
    HOLDERS,
    [chainLock, waitedMs === undefined ? null : Math.max(0, Math.floor(waitedMs))],
  );
  const holders = r.rows.map((row) => ({
    lock: row.lock,
    mode: row.mode,
    pid: row.pid,
    ...(row.application ? { application: row.application } : {}),
    ...(row.held_ms !== null ? { heldMs: Number(row.held_ms) } : {}),
    ...(row.idle_ms !== null ? { idleMs: Number(row.idle_ms) } : {}),
    ...(row.xact !== null ? { transaction: row.xact } : {}),
  }));
  return holders.sort((a, b) => (b.heldMs ?? -1) - (a.heldMs ?? -1) || a.pid - b.pid);
}
