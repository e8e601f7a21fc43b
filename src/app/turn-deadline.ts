/**
 * One deadline for the store work of a person's turn (a click, a typed command). Teams waits about
 * 15 s for a click's answer and for a message's turn, then shows its own error (or sends the message
 * again); each of the store's bounds alone (a lock wait, a statement's answer wait, a connection's
 * wait) fits in that, but a turn makes several reads and writes one after another, and on a stalled
 * network a click waited about 25 s (its write's answer, then a new connection for the read that
 * says what the request shows). So the Teams layer runs each turn under a deadline, and the stores
 * hold every read and write begun under it to it: a lock wait ends before it (the server answers
 * "locked", nothing written), a write still waiting for its answer then is given up (its connection
 * dropped: nothing written when its COMMIT had not left, not known when it had), and a read or write
 * begun after it fails at once. The deadline ends with the turn: work the turn started in the
 * background (an execution, messages to approvers) is not held to it once the answer went.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * How long after a turn began its store work may go on (ms): with the time to answer, within the
 * ~15 s Teams waits, and above the default lock wait (COUNTERSIGN_STORE_LOCK_WAIT, 5 s) with room
 * for a read before it.
 */
export const TURN_STORE_DEADLINE_MS = 10_000;

interface Turn {
  /** performance.now() by which the turn's store work ends (moved on by the time spent waiting for Azure). */
  at: number;
  open: boolean;
}

const turns = new AsyncLocalStorage<Turn>();

/** Runs `work` (a turn) with its store work held to `budgetMs` from `startedAt` (performance.now()). */
export async function withTurnDeadline<T>(work: () => Promise<T>, startedAt = performance.now(), budgetMs = TURN_STORE_DEADLINE_MS): Promise<T> {
  const turn: Turn = { at: startedAt + budgetMs, open: true };
  try {
    return await turns.run(turn, work);
  } finally {
    turn.open = false;
  }
}

/** The performance.now() by which the current turn's store work must end; undefined outside a turn or once it was answered. */
export function turnDeadline(): number | undefined {
  const turn = turns.getStore();
  return turn?.open ? turn.at : undefined;
}

/**
 * What a turn keeps of its time for its store work after the calls it makes to other services before
 * it (Microsoft Graph's membership checks, before a click is decided) (ms).
 */
const STORE_RESERVE_MS = 3000;

/**
 * By when (performance.now()) a call to another service made in the current turn must end, so that
 * the store work after it still fits before the turn's deadline; undefined outside a turn. A click
 * checking the memberships of the clicker and of each person they stand in for, then again for the
 * card it answers with, gave each check its own 5 s, and a slow Graph held the click past Teams' window.
 */
export function callDeadline(): number | undefined {
  const at = turnDeadline();
  return at === undefined ? undefined : at - STORE_RESERVE_MS;
}

/**
 * Runs `work`, a call to Azure Resource Manager or a message's reply to Teams made in the current
 * turn, without counting the time it takes against the turn's store work: a new request's what-if
 * may take 15 s and more, and a slow Bot Connector may take its time with the request's card (Teams
 * then sends the message again, and the second sending is answered from what the first did); the
 * request must still be saved, and its card recorded, after them, not refused at once for a deadline
 * their store work never had a chance at. Each such call is bounded on its own (callDeadline and
 * src/azure/clients.ts for ARM, COUNTERSIGN_TEAMS_SEND_TIMEOUT for Teams). A click's answer goes
 * back in the invoke's HTTP answer, not through the connector: its deadline is not moved by this.
 */
export async function notCountingTowardsTurn<T>(work: () => Promise<T>): Promise<T> {
  const turn = turns.getStore();
  const since = performance.now();
  try {
    return await work();
  } finally {
    if (turn?.open) turn.at += performance.now() - since;
  }
}

/** Runs `fn` outside any turn: background work a turn starts (an execution) is not held to its deadline. */
export function outsideTurn<T>(fn: () => T): T {
  return turns.exit(fn);
}

/**
 * The store work of a turn ran past its deadline: given up, what was known said. `committing`: the
 * write's COMMIT had been sent (it may be saved); else nothing was written. SQLSTATE 08006 (a broken
 * connection) for whoever tells errors apart by it: the connection it waited on was dropped.
 */
export class TurnDeadlineError extends Error {
  readonly code = '08006';
  constructor(
    /** What was waited for: "PostgreSQL at postgres://…", "the database file …". */
    readonly store: string,
    readonly waitedMs: number,
    readonly committing: boolean,
  ) {
    super(
      `${store} did not answer before the turn's deadline (its store work may take ${TURN_STORE_DEADLINE_MS} ms of the ~15 s Teams waits for an answer); gave up after ${waitedMs} ms: ${committing ? 'its COMMIT had been sent, so whether the change was saved is not known' : 'nothing was written'}`,
    );
    this.name = 'TurnDeadlineError';
  }
}
