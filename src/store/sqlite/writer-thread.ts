/**
 * The SQLite store's writer thread. A worker thread owns the write connection and runs the group
 * committer there (sealing, savepoints, COMMIT with synchronous=FULL, the wait for another process's
 * write lock, the readiness probe); the main thread keeps its own connection for reads and sends
 * each write as a named operation (write-ops.ts) with plain-data arguments.
 *
 * - Writes submitted in one turn of the main thread travel as one message; the thread answers each
 *   group commit with one message, sent only after COMMIT returned: a caller's promise settles when
 *   its records are on disk.
 * - Readers never see a record before it is durable: in WAL mode SQLite makes a commit visible to
 *   other connections only after its frames were synced (the wal-index header is written after the
 *   sync), and the main thread reads on another connection.
 * - A slow fsync, a long commit or a held lock stalls this thread only; the event loop goes on
 *   answering /healthz, /readyz and reads. Readiness asks the thread and says "not ready" when it has
 *   not answered in time.
 *
 * This module is the thread's side (writer-boot.ts loads it on the thread by its path); the main
 * thread's side is ThreadWriter (thread-writer.ts), and the messages between them are
 * writer-thread-messages.ts.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SealPlaceholders } from '../../audit/chain/chain';
import { uuidv7 } from '../ids';
import { openWritable } from './connection';
import { errorToWire, InlineWriter } from './writer';
import type { Reply, Request, Result, ThreadData } from './writer-thread-messages';

/**
 * The thread's side: opens the write connection, then runs what it is sent. Called by name from the
 * thread's code (THREAD_SOURCE), not imported.
 * @public
 */
export function runWriterThread(port: MessagePort, data: ThreadData & { placeholders: SealPlaceholders }): void {
  let writer: InlineWriter;
  let db: ReturnType<typeof openWritable>;
  try {
    db = openWritable(data.file, data.busyTimeoutMs);
    db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
    writer = new InlineWriter(db, data.file, () => uuidv7(), data.lockWaitLimitMs, data.readiness);
    writer.group.onFileGone = (err) => port.postMessage({ type: 'fatal', error: errorToWire(err) } satisfies Reply);
  } catch (err) {
    port.postMessage({ type: 'failed', error: errorToWire(err) } satisfies Reply);
    return;
  }
  // The results of one group commit settle together (after its COMMIT); they go back as one message.
  let done: Result[] = [];
  const settled = (result: Result) => {
    if (done.length === 0) queueMicrotask(() => {
      port.postMessage({ type: 'done', results: done } satisfies Reply);
      done = [];
    });
    done.push(result);
  };
  const answer = (id: number, work: () => Promise<unknown>) => {
    work().then(
      (value) => port.postMessage({ type: 'answer', result: { id, ok: true, value } } satisfies Reply),
      (err: unknown) => port.postMessage({ type: 'answer', result: { id, ok: false, error: errorToWire(err) } } satisfies Reply),
    );
  };
  port.on('message', (m: Request) => {
    switch (m.type) {
      case 'writes':
        for (const w of m.writes) {
          writer.submitTemplates(w.op, w.args as never, w.events, data.placeholders, { singleStatement: w.single, ...(w.left !== undefined ? { leftMs: w.left } : {}) }).then(
            ({ value, sealed }) => settled({ id: w.id, ok: true, value, ...(sealed.length > 0 ? { sealed } : {}) }),
            (err: unknown) => settled({ id: w.id, ok: false, error: errorToWire(err) }),
          );
        }
        return;
      case 'readiness':
        return answer(m.id, () => writer.readiness(m.again));
      case 'pragma':
        return answer(m.id, () => writer.pragma(m.text));
      case 'stall':
        return answer(m.id, () => writer.stallCommits(m.ms));
      case 'close':
        void writer.close().finally(() => {
          // The last group commit's results go out before the thread says it closed.
          queueMicrotask(() => {
            db.close();
            port.postMessage({ type: 'closed' } satisfies Reply);
            port.close();
          });
        });
        return;
    }
  });
  port.postMessage({ type: 'opened' } satisfies Reply);
}
