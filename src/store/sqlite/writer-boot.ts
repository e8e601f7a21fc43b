/**
 * Starting the SQLite store's writer thread (writer-thread.ts). Apart from it so that the entry point
 * can start the thread before it loads anything else of Countersign.
 */
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../module-worker';

// The thread loads its modules as soon as it is started, then waits to be told which database to open:
// it can boot while the main thread is still loading its own (WriterThreadBoot).
const THREAD_SOURCE = `const writer = require(workerData.module); parentPort.once('message', (open) => writer.runWriterThread(parentPort, open));`;

/**
 * A writer thread started ahead of its store: Node boots the thread and its modules (about 0.1–0.2 s)
 * while the caller goes on, and `openSqliteStore` hands it the database. The entry point starts one
 * before it loads the rest of Countersign, so a start does not wait for it.
 */
export class WriterThreadBoot {
  readonly worker: Worker;
  private failure: Error | undefined;
  private exitCode: number | undefined;
  private taken = false;

  constructor() {
    const module = path.join(__dirname, `writer-thread${path.extname(__filename)}`);
    this.worker = startModuleWorker(THREAD_SOURCE, module, {});
    // Kept until the store takes the thread: an 'error' event with no listener would end the process.
    this.worker.on('error', (err) => (this.failure ??= err));
    this.worker.once('exit', (code) => (this.exitCode = code));
  }

  /** The thread, for one store; why it cannot be used, if it failed or exited while booting. */
  take(): { worker: Worker; failed?: Error } {
    if (this.taken) throw new Error('this writer thread was already given to a store');
    this.taken = true;
    const failed = this.failure ?? (this.exitCode !== undefined ? new WriterThreadError(`the store's writer thread exited (code ${this.exitCode}) while it booted`) : undefined);
    return { worker: this.worker, ...(failed ? { failed } : {}) };
  }

  /** Ends a thread no store took (the start failed before the store opened). */
  async discard(): Promise<void> {
    if (!this.taken) await this.worker.terminate();
  }
}

/** The writer thread did not start, or stopped: what it said, in words. */
export class WriterThreadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WriterThreadError';
  }
}

