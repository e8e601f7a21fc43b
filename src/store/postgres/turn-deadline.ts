/**
 * A person's turn's deadline (src/app/turn-deadline.ts) as PostgreSQL reads and writes keep it: a
 * connection is waited for no longer than it; a lock no longer than a moment before it (the server
 * then answers 55P03, "locked", in time, nothing written); and a statement still waiting for its
 * answer when it comes has its connection dropped (TurnDeadlineError: nothing written when the
 * COMMIT had not been sent, not known when it had). Without a deadline (a sweep, an execution, the
 * CLI) each keeps the store's own bounds.
 */
import type pg from 'pg';
import { TurnDeadlineError } from '../../app/ports';
import { dropConnection } from './answer-wait';
import { connectOrBusy } from './lock-wait';

/** How long before the deadline a lock wait ends, so that the server's "locked" comes back in time (ms). */
const LOCK_ANSWER_MARGIN_MS = 1000;

/** A connection of `pool`, waited for no longer than `deadline` (performance.now()); one that comes later goes back to the pool. */
export async function connectBy(pool: pg.Pool, target: string, deadline: number | undefined, since = performance.now()): Promise<pg.PoolClient> {
  if (deadline === undefined) return connectOrBusy(pool, target);
  const left = deadline - performance.now();
  if (left <= 0) throw new TurnDeadlineError(`PostgreSQL at ${target}`, Math.round(performance.now() - since), false);
  const connecting = connectOrBusy(pool, target);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), left)));
  const first = await Promise.race([connecting, late]).finally(() => clearTimeout(timer));
  if (first !== 'late') return first;
  connecting.then((client) => client.release(), () => undefined);
  throw new TurnDeadlineError(`PostgreSQL at ${target}`, Math.round(performance.now() - since), false);
}

/** What is left of a lock wait (`lockLeftMs`) once it must end before `deadline` as well. */
export function lockWaitBy(lockLeftMs: number, deadline: number | undefined): number {
  return deadline === undefined ? lockLeftMs : Math.min(lockLeftMs, deadline - LOCK_ANSWER_MARGIN_MS - performance.now());
}

/**
 * Drops `client`'s connection at `deadline` unless the returned function was called first (the
 * work on it ended). `committing` says, when it comes, whether a COMMIT had been sent.
 */
export function dropAt(client: pg.PoolClient, target: string, deadline: number | undefined, since: number, committing: () => boolean = () => false): () => void {
  if (deadline === undefined) return () => undefined;
  const timer = setTimeout(() => dropConnection(client, new TurnDeadlineError(`PostgreSQL at ${target}`, Math.round(performance.now() - since), committing())), Math.max(0, deadline - performance.now()));
  return () => clearTimeout(timer);
}
