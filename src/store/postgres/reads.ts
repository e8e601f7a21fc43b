/**
 * Reads through the store's pool (`pool.query`) wait for locks no longer in all than writes do.
 * Every connection's lock_timeout is COUNTERSIGN_STORE_LOCK_WAIT, but while another session holds a
 * lock, reads of that table hold every connection of the pool for that long, and the reads queued
 * behind them would wait their turn and then the whole wait again (answers after 5, 10, 15 s with a
 * 5 s wait, then pg-pool's connection timeout). So a read's time in line for a connection counts
 * against its wait, as a write's does (transactions.ts): one that waited longer than a moment runs
 * with lock_timeout set to what is left. A full pool's timeout is told as StorePoolBusyError.
 */
import type pg from 'pg';
import { turnDeadline } from '../../app/ports';
import { isLockTimeout, lockHolders, StoreLockWaitError } from './lock-wait';
import { connectBy, dropAt, lockWaitBy } from './turn-deadline';
import { CHAIN_LOCK } from './chain-append';
import { missingFromSchema } from './writer-stops';
import { isConnectionError } from './tx';

/** Time in line for a connection below which a read keeps the connection's own lock_timeout (ms). */
const LINE_SLACK_MS = 50;

/**
 * Makes `pool.query` (the promise forms: every read of the store uses them) take a connection,
 * bound its lock waits to what is left of `lockWaitMs` since it was called, and give it back. A
 * failed statement does not end the connection (pg-pool's own query drops it on any error); a
 * broken connection does.
 */
export function boundReads(pool: pg.Pool, target: string, lockWaitMs: number, schemaGone?: (missing: string, err: unknown) => Promise<Error>): void {
  const plain = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const bounded = async (config: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> => {
    const since = performance.now();
    // Within a person's turn: no longer than its deadline, for the connection, a lock and the answer.
    const deadline = turnDeadline();
    const client = await connectBy(pool, target, deadline, since);
    let broken: Error | undefined;
    let limited = false;
    let sentAt = performance.now();
    const undrop = dropAt(client, target, deadline, since);
    try {
      const waited = Math.round(performance.now() - since);
      const left = lockWaitBy(lockWaitMs - waited, deadline);
      if (waited > LINE_SLACK_MS || left < lockWaitMs - LINE_SLACK_MS) {
        limited = true;
        await client.query(`SET lock_timeout = '${Math.max(1, Math.ceil(left))}ms'`);
      }
      sentAt = performance.now();
      return await client.query(config, values);
    } catch (err) {
      if (isConnectionError(err)) broken = err as Error;
      // A table or function gone under the running instance (dropped): it stops, as its next write would.
      const missing = missingFromSchema(err);
      if (missing && schemaGone) throw await schemaGone(missing, err);
      // A read that gave up on a lock says what holds it, as a write does (pg_locks, pg_stat_activity).
      if (isLockTimeout(err)) {
        const holders = await lockHolders(client, CHAIN_LOCK, performance.now() - sentAt).catch(() => []);
        throw new StoreLockWaitError(target, Math.round(performance.now() - since), lockWaitMs, holders, err, 'read');
      }
      throw err;
    } finally {
      // Back to the connection's own lock_timeout (its startup setting) for whoever takes it next.
      if (limited && !broken) await client.query('RESET lock_timeout').catch((err: unknown) => (broken = err as Error));
      undrop();
      client.release(broken);
    }
  };
  pool.query = ((...args: unknown[]) =>
    typeof args[args.length - 1] === 'function' || (typeof args[0] === 'object' && args[0] !== null && 'submit' in args[0])
      ? plain(...args) // a callback or a stream: not used by the store, left to pg
      : bounded(args[0] as string | pg.QueryConfig, args[1] as unknown[] | undefined)) as typeof pool.query;
}
