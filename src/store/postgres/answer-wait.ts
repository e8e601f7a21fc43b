/**
 * How long a running instance waits for PostgreSQL's answer to a statement it sent. A network that
 * stalls (packets dropped, the connection left open: a firewall's state lost, a failover that moved
 * the address, a cable) leaves a statement already sent unanswered until the operating system gives
 * up its TCP connection, about 15 minutes on Linux: the click that sent it hung, and its person was
 * never told. TCP keepalive does not help there (it probes only an idle connection), so every
 * connection the store lends out is watched: while a statement of it is waiting, a connection that
 * receives nothing for the answer wait is dropped, and its statement fails as on a broken connection.
 * A write that was not yet committing is then told "nothing was changed", one whose COMMIT had left
 * "not known whether it was saved" (transactions.ts). The wait is the store's lock wait
 * (COUNTERSIGN_STORE_LOCK_WAIT, which bounds how long any statement waits for a lock) plus
 * ANSWER_MARGIN_MS, so a slow but healthy server, a statement waiting out its lock, is never cut
 * short; an answer that arrives in parts (a long read) keeps the connection.
 */
import type net from 'node:net';
import type pg from 'pg';

/** What a statement may take beyond its lock wait before its connection counts as stalled (ms). */
const ANSWER_MARGIN_MS = 10_000;

/** The answer wait for a store whose statements wait `lockWaitMs` at most for locks. */
export const answerWait = (lockWaitMs: number): number => lockWaitMs + ANSWER_MARGIN_MS;

/** No byte of an answer came within the answer wait: the connection was dropped, nothing more is known. */
export class StoreAnswerTimeoutError extends Error {
  /** connection_failure: a broken connection for every check of one (tx.ts). */
  readonly code = '08006';
  constructor(target: string, waitMs: number) {
    super(
      `PostgreSQL at ${target} sent no answer for ${waitMs} ms to a statement sent to it (the lock wait, COUNTERSIGN_STORE_LOCK_WAIT, plus ${ANSWER_MARGIN_MS} ms): the network to it, or the server, is stalled; the connection was dropped`,
    );
    this.name = 'StoreAnswerTimeoutError';
  }
}

const watched = new WeakSet<pg.PoolClient>();

/** Every connection `pool` lends out from now on drops itself when an answer is `waitMs` late. */
export function boundAnswers(pool: pg.Pool, target: string, waitMs: number): void {
  const connect = pool.connect.bind(pool) as (callback?: (err: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void) => unknown;
  pool.connect = ((callback?: (err: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void) => {
    if (callback) {
      return connect((err, client, done) => {
        if (client) watch(client, target, waitMs);
        callback(err, client, done);
      });
    }
    return (connect() as Promise<pg.PoolClient>).then((client) => {
      watch(client, target, waitMs);
      return client;
    });
  }) as typeof pool.connect;
}

const socketOf = (client: pg.ClientBase) => (client as unknown as { connection?: { stream?: net.Socket } }).connection?.stream;

/** Drops `client`'s connection: the statement waiting on it fails with `err`, as on a broken connection. */
export function dropConnection(client: pg.ClientBase, err: Error): void {
  const s = socketOf(client);
  if (s && !s.destroyed) s.destroy(err);
}

function watch(client: pg.PoolClient, target: string, waitMs: number): void {
  if (watched.has(client)) return;
  watched.add(client);
  const socket = () => socketOf(client);
  let waiting = 0;
  socket()?.on('timeout', () => {
    const s = socket();
    // Answered meanwhile, or nothing asked: the timer only runs while a statement waits.
    if (waiting > 0 && s && !s.destroyed) s.destroy(new StoreAnswerTimeoutError(target, waitMs));
  });
  const settled = () => {
    waiting--;
    if (waiting === 0) socket()?.setTimeout(0);
  };
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const result = query(...args);
    // A callback or a stream (not used by the store): left unwatched.
    if (!(result instanceof Promise)) return result;
    // Node's socket timeout counts inactivity: the statement's own sending, then every byte of its answer, start it again.
    if (waiting++ === 0) socket()?.setTimeout(waitMs);
    result.then(settled, settled);
    return result;
  }) as typeof client.query;
}
