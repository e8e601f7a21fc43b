/**
 * The SQLite store's writer thread, as the main thread uses it (writer-thread.ts is the thread's
 * side): each write is sent as a named operation with its audit events as sealing templates, the
 * writes of one turn in one message, and each caller's promise settles with its result once the
 * thread's group commit is on disk. A thread that stops rejects what it had not answered.
 */
import type { Worker } from 'node:worker_threads';
import { CommitOutcomeUnknownError, turnDeadline, TurnDeadlineError } from '../../app/ports';
import { completeSealed, SEAL_PLACEHOLDERS, sealTemplate, type SealPlaceholders, type SealTemplate } from '../../audit/chain/chain';
import type { AuditEventDraft, AuditRecord, ChainHead } from '../../domain/audit';
import { uuidv7 } from '../ids';
import type { Readiness, ReadinessOptions } from './readiness';
import { StoreClosedError } from './group-commit';
import type { SealedWire, WireTemplate } from './transaction-chain';
import { InFlight } from './in-flight';
import { errorFromWire, errorToWire, type StoreWriter, type WriteOptions, type Written } from './writer';
import type { WriteOpArgs, WriteOpName, WriteOpResult } from './write-ops';
import { WriterThreadBoot, WriterThreadError } from './writer-boot';
import type { Reply, Request, Result, ThreadData, WireWrite } from './writer-thread-messages';

interface ThreadOptions extends ThreadData {
  /** The thread stopped without close() (a crash): told once, after the waiting writes were rejected. */
  onStopped?: (err: Error) => void;
}

function wireTemplate(t: SealTemplate): WireTemplate {
  const r = t.record as { id: string; time: string; type: string; request?: { id?: string }; actor?: { aadObjectId?: string } };
  return [t.template, r.id, r.time, r.type, r.request?.id ?? null, r.actor?.aadObjectId ?? null];
}

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** The templates of the write's events, completed into its records when it committed. */
  templates?: SealTemplate[];
}

/** The records the thread sealed the templates into. */
function recordsOf(templates: readonly SealTemplate[], sealed: readonly SealedWire[] = []): AuditRecord[] {
  if (sealed.length !== templates.length) throw new Error(`the writer thread sealed ${sealed.length} audit records of ${templates.length}`);
  return templates.map((t, i) => {
    const s = sealed[i];
    return typeof s === 'string' ? (JSON.parse(s) as AuditRecord) : completeSealed(t, s[0], s[1], s[2]);
  });
}

/** How long readiness waits for the writer thread before it answers "not ready" (ms). */
const DEFAULT_WRITER_ANSWER_MS = 1000;

/** The main thread's side: sends writes to the thread, settles each caller's promise with its result. */
export class ThreadWriter implements StoreWriter {
  private readonly waiting = new InFlight<Waiting>();
  private outbox: WireWrite[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private nextId = 1;
  /** Set once the thread stopped, or close() began: every later call is refused with it. */
  private stopped: Error | undefined;
  private readonly closed: Promise<void>;
  private readonly answerMs: number;
  /** The highest record a commit of this process returned. */
  private witnessed: ChainHead | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly file: string,
    readiness: ReadinessOptions | undefined,
    private readonly onStopped: ((err: Error) => void) | undefined,
  ) {
    this.answerMs = readiness?.writerAnswerMs ?? DEFAULT_WRITER_ANSWER_MS;
    worker.on('message', (m: Reply) => this.receive(m));
    this.closed = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.stop(new WriterThreadError(`the store's writer thread for ${file} stopped (exit code ${code})`));
        resolve();
      });
    });
    worker.on('error', (err) => this.stop(new WriterThreadError(`the store's writer thread for ${file} failed: ${err.message}`)));
  }

  /** Starts the thread; resolves once it has opened the write connection, rejects with why it could not. */
  static async start(options: ThreadOptions, boot: WriterThreadBoot = new WriterThreadBoot()): Promise<ThreadWriter> {
    const { onStopped, ...data } = options;
    const { worker, failed } = boot.take();
    if (failed) {
      await worker.terminate();
      throw failed;
    }
    const first = await new Promise<Reply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new WriterThreadError(`the store's writer thread for ${data.file} exited (code ${code}) before it opened the database`)));
      worker.postMessage({ ...data, placeholders: { ...SEAL_PLACEHOLDERS } } satisfies ThreadData & { placeholders: SealPlaceholders });
    });
    if (first.type === 'opened') return new ThreadWriter(worker, data.file, data.readiness, onStopped);
    await worker.terminate();
    throw first.type === 'failed' ? errorFromWire(first.error) : new WriterThreadError(`the store's writer thread said ${first.type} first`);
  }

  submit<K extends WriteOpName>(op: K, args: WriteOpArgs<K>, events: readonly AuditEventDraft[] = [], options: WriteOptions = {}): Promise<Written<WriteOpResult<K>>> {
    if (this.stopped) return Promise.reject(this.stopped);
    let templates: SealTemplate[];
    try {
      // Refuses what cannot be recorded (functions, non-finite numbers ...) before anything is sent.
      templates = events.map((draft) => sealTemplate(draft, uuidv7()));
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.nextId++;
    const since = performance.now();
    const deadline = turnDeadline();
    this.outbox.push({ id, op, args, events: templates.map(wireTemplate), single: options.singleStatement ?? false, ...(deadline !== undefined ? { left: deadline - since } : {}) });
    this.scheduled ??= setImmediate(() => this.send());
    const written = new Promise<Written<WriteOpResult<K>>>((resolve, reject) => this.waiting.add(id, { resolve: resolve as (v: unknown) => void, reject, templates }));
    return deadline === undefined ? written : this.byDeadline(written, deadline, since);
  }

  /**
   * A person's write not answered by its turn's deadline: the thread waits for the write lock no
   * longer (it answers "busy" before), so it is committing or behind a commit that is, a stalled
   * fsync: whether it will be saved is not known, and the person is told so while Teams still
   * waits. (Its answer, when it comes, is taken as any other: the records it witnessed count.)
   */
  private async byDeadline<T>(written: Promise<T>, deadline: number, since: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CommitOutcomeUnknownError(new TurnDeadlineError(`the database file ${this.file}`, Math.round(performance.now() - since), true))), Math.max(0, deadline - performance.now()));
    });
    written.catch(() => undefined);
    try {
      return await Promise.race([written, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async readiness(again = false): Promise<Readiness> {
    if (this.stopped) return { ok: false, problem: this.stopped.message };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Readiness>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, problem: `the store's writer thread has not answered for ${this.answerMs} ms: a commit is taking that long (a slow disk, or a stalled fsync)` }),
        this.answerMs,
      );
    });
    try {
      return await Promise.race([this.ask<Readiness>({ type: 'readiness', again }), late]);
    } catch (err) {
      // The thread stopped before it answered.
      return { ok: false, problem: (this.stopped ?? (err as Error)).message };
    } finally {
      clearTimeout(timer);
    }
  }

  pragma(text: string): Promise<unknown> {
    return this.ask({ type: 'pragma', text });
  }

  async stallCommits(ms: number): Promise<void> {
    await this.ask({ type: 'stall', ms });
  }

  async close(): Promise<void> {
    if (!this.stopped) {
      this.send();
      this.stopped = new StoreClosedError(this.file);
      this.worker.postMessage({ type: 'close' } satisfies Request);
    }
    await this.closed;
  }

  private ask<T>(request: { type: 'readiness'; again?: boolean } | { type: 'pragma'; text: string } | { type: 'stall'; ms: number }): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    this.send();
    this.worker.postMessage({ ...request, id } satisfies Request);
    return new Promise<T>((resolve, reject) => this.waiting.add(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  private send(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.outbox.length === 0) return;
    const writes = this.outbox;
    this.outbox = [];
    try {
      this.worker.postMessage({ type: 'writes', writes } satisfies Request);
    } catch {
      // One write holds what cannot be copied to another thread (a function, a symbol): that one
      // is refused, the others go one by one, in their order.
      for (const w of writes) {
        try {
          this.worker.postMessage({ type: 'writes', writes: [w] } satisfies Request);
        } catch (err) {
          this.settle({ id: w.id, ok: false, error: errorToWire(new TypeError(`the ${w.op} write holds data that cannot be stored: ${(err as Error).message}`)) });
        }
      }
    }
  }

  private receive(m: Reply): void {
    if (m.type === 'done') for (const r of m.results) this.settle(r);
    else if (m.type === 'answer') this.settle(m.result);
    else if (m.type === 'fatal') {
      this.stop(errorFromWire(m.error));
      // The thread is still there: it closes its connection and ends, and close() waits for that.
      this.worker.postMessage({ type: 'close' } satisfies Request);
    }
  }

  private settle(r: Result): void {
    const w = this.waiting.take(r.id);
    if (!w) return;
    if (!r.ok) w.reject(errorFromWire(r.error));
    else if (!w.templates) w.resolve(r.value);
    else {
      let records: AuditRecord[];
      try {
        records = recordsOf(w.templates, r.sealed);
      } catch (err) {
        w.reject(err as Error);
        return;
      }
      const last = records.at(-1);
      if (last && (!this.witnessed || last.seq > this.witnessed.seq)) this.witnessed = { seq: last.seq, hash: last.hash };
      w.resolve({ value: r.value, records } satisfies Written<unknown>);
    }
  }

  lastWitnessed(): ChainHead | undefined {
    return this.witnessed;
  }

  /** The thread is gone: whatever it had not answered is rejected (it was not committed). */
  private stop(reason: Error): void {
    if (!this.stopped) {
      this.stopped = reason;
      // Not a close(): the thread died. Told after the writes below were rejected.
      queueMicrotask(() => this.onStopped?.(reason));
    }
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    // Never sent: not saved. Sent and not answered: the thread may have committed them before it stopped.
    const unsent = new Set(this.outbox.map((w) => w.id));
    this.outbox = [];
    for (const [id, w] of this.waiting.takeAll()) {
      w.reject(unsent.has(id) ? reason : new CommitOutcomeUnknownError(reason));
    }
  }
}
