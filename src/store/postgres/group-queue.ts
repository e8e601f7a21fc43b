/**
 * Group commit's queue: what is submitted while a batch runs waits for it, then goes with all that
 * was submitted meanwhile in the next batch (one transaction). Each caller's promise settles with
 * its own outcome once the batch did. A batch is told when its oldest job was submitted, so time
 * spent in line counts against the job's wait for locks, and the earliest deadline of the people's
 * turns its jobs were submitted in (turnDeadline), which the batch keeps.
 */
import { turnDeadline } from '../../app/ports';

export type Outcome<R> = { value: R } | { error: unknown };

export class GroupQueue<J, R> {
  private queue: { job: J; at: number; deadline: number | undefined; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private draining = false;

  constructor(
    private readonly runBatch: (jobs: J[], since: number, deadline: number | undefined) => Promise<Outcome<R>[]>,
    private readonly options: { maxBatch: number; track: (drain: Promise<void>) => void; order?: (a: J, b: J) => number },
  ) {}

  submit(job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ job, at: performance.now(), deadline: turnDeadline(), resolve, reject });
      if (!this.draining) this.options.track(this.drain());
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (;;) {
        // Let every job of this turn of the event loop arrive first: the callers whose jobs just
        // committed submit again in the continuations of their promises, and without this the
        // first of them would go alone and the rest in the next batch.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!this.queue.length) break;
        const batch = this.queue.splice(0, this.options.maxBatch);
        const since = Math.min(...batch.map((b) => b.at));
        const deadlines = batch.flatMap((b) => (b.deadline === undefined ? [] : [b.deadline]));
        const deadline = deadlines.length ? Math.min(...deadlines) : undefined;
        const order = this.options.order;
        if (order) batch.sort((a, b) => order(a.job, b.job));
        try {
          const outcomes = await this.runBatch(batch.map((b) => b.job), since, deadline);
          outcomes.forEach((o, i) => ('error' in o ? batch[i].reject(o.error) : batch[i].resolve(o.value)));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
