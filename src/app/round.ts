/**
 * One round of messages (notifications.ts `reach`), as it is recorded: whom it reached and whom it
 * could not, each noted as soon as it is known rather than once the slowest message of the round
 * answered. What is known in the round's first moments (ROUND.recordAfterMs) is recorded together,
 * so a round whose messages all went quickly has one `approvers.notified` record as it always had;
 * past that, each outcome is recorded as it comes. The writes of a round go one after another, in
 * the order the outcomes were known.
 *
 * A graceful stop ends the rounds under way (RoundsUnderWay): no message not yet started goes, and
 * everyone the round has no answer for is recorded as not reached, with why, before the store closes.
 */
import type { ReachOccasion, ReachOutcome } from '../domain/lifecycle';
import type { RoundMissed, Unreachable } from '../domain/request';

/** How a round sends (tests shorten the wait). */
export const ROUND = {
  /**
   * A round recorded on its request that still has people without an outcome is taken up again by
   * the sweep: at once when a stop cut it short, or when only those Countersign's database kept from
   * being reached are left of it (Reached `missed`), after `resumeAfterMs` otherwise (its instance
   * died during it), at most `maxResumes` times. A live round records every outcome within that: a send
   * Teams keeps answering 429 with Retry-After is tried 6 times at most a minute apart, each call
   * bounded by COUNTERSIGN_TEAMS_SEND_TIMEOUT (about 7 minutes at the very worst), then its binding
   * 20 s; another instance cannot see a round under way elsewhere, so it waits longer than that.
   */
  resumeAfterMs: 600_000,
  maxResumes: 3,
  /**
   * How long to wait between further tries of a round's outcome (ms) once its write's own retries
   * (notifications.ts ROUND_WRITE_RETRY_MS) failed with the database: tried again while the round
   * stands as it was and until `resumeAfterMs` after it began, so that whom it reached is recorded,
   * and whom the database kept from it taken up, soon after the database works again.
   */
  recordRetryMs: 15_000,
  /** How many of a round's messages are on their way at once: one person's hung send holds up nobody else. */
  concurrency: 8,
  /** How long after a round starts the outcomes known by then are recorded together (ms); later ones are recorded as each is known. */
  recordAfterMs: 2_000,
  /**
   * At a stop's cut, how long a card's binding already being written may still finish (ms), so that
   * the record says what the card is: bound and reached, or not. Within the stop's last second.
   */
  cutBindingWaitMs: 500,
};

/**
 * What one message of the round came to (`cut`: not reached only because Countersign stopped;
 * `missed`: only because its database failed, with the card Teams took that could not be recorded;
 * either way the round keeps them, to be taken up again).
 */
export type Reached = { reached: { id: string; name?: string } } | { unreachable: Unreachable; cut?: true; missed?: Omit<RoundMissed, 'id'> };

/** Why someone the round had not sent to yet, or had no answer for, is recorded as not reached at a stop. */
const NOT_SENT_STOPPING = 'not sent: Countersign was stopping';
const UNANSWERED_STOPPING = 'Countersign stopped before Teams answered';
const UNBOUND_STOPPING = 'the card was sent, but Countersign stopped before it was recorded, so its buttons may be refused';

export class Round {
  /** Indexes of the audience whose outcome is not known yet. */
  private readonly open: Set<number>;
  /** Indexes whose message was started. */
  private readonly started = new Set<number>();
  /** Indexes whose card went out and is being bound (its binding write is under way or waits to be tried again). */
  private readonly binding = new Set<number>();
  /** Aborted by the cut: a binding waiting to be tried again is not (the person is recorded as not reached). */
  private readonly cutting = new AbortController();
  private unrecorded: { index: number; result: Reached }[] = [];
  private writes: Promise<void> = Promise.resolve();
  private failure: { err: unknown } | undefined;
  /** While true, outcomes wait to be recorded together (the round's first moments). */
  private gathering = true;
  private stopping = false;
  private readonly timer: NodeJS.Timeout;
  private allKnown!: () => void;
  private readonly known = new Promise<void>((resolve) => (this.allKnown = resolve));
  /** Every outcome recorded so far (or being recorded). */
  private all: ReachOutcome;

  constructor(
    /** The audience, people then channels (object ids and conversation ids). */
    private readonly ids: readonly string[],
    private readonly occasion: ReachOccasion,
    /**
     * Records a part of the round (the audit records, and who cannot be reached on the request);
     * `cut` is aborted when a stop cuts the round (no write is tried again after it).
     */
    private readonly write: (part: ReachOutcome, cut: AbortSignal) => Promise<void>,
    /** The round as recorded on the request (RoundDue.at), when it is. */
    readonly roundAt?: string,
  ) {
    this.open = new Set(ids.keys());
    this.all = { occasion, reached: [], unreachable: [] };
    // Unreferenced: a round's wait never keeps the process alive.
    this.timer = setTimeout(() => this.recordAsKnown(), ROUND.recordAfterMs).unref();
    if (this.open.size === 0) this.allKnown();
  }

  /** Whether the message at `index` may be started now: false once Countersign is stopping (it is then recorded as not sent). */
  begin(index: number): boolean {
    if (this.stopping) {
      this.note(index, { unreachable: { id: this.ids[index], why: NOT_SENT_STOPPING }, cut: true });
      return false;
    }
    this.started.add(index);
    return true;
  }

  /** Whether the round still waits for this message's outcome (not cut short by a stop). */
  waitsFor(index: number): boolean {
    return this.open.has(index);
  }

  /**
   * The card of the message at `index` went out and is being bound. Returns the signal that says
   * the round was cut: no write of the binding starts after it (one under way may still finish).
   */
  binds(index: number): AbortSignal {
    this.binding.add(index);
    return this.cutting.signal;
  }

  /** Notes the outcome of the message at `index` (ignored once the round recorded it otherwise). */
  note(index: number, result: Reached): void {
    if (!this.open.delete(index)) return;
    this.unrecorded.push({ index, result });
    if (!this.gathering || this.open.size === 0) this.flush();
    if (this.open.size === 0) {
      clearTimeout(this.timer);
      this.allKnown();
    }
  }

  /**
   * The message at `index` is not sent, and nothing is recorded of it: what the round tells no longer
   * stands (a reminder of a request decided while the round was going out).
   */
  drop(index: number): void {
    if (!this.open.delete(index)) return;
    if (this.open.size === 0) {
      this.flush();
      clearTimeout(this.timer);
      this.allKnown();
    }
  }

  /** Resolves once every message's outcome is known and recorded; rejects with the first write that failed. */
  async finished(): Promise<ReachOutcome> {
    await this.known;
    await this.writes;
    if (this.failure) throw this.failure.err;
    return this.all;
  }

  /** Countersign is stopping: no message not yet started goes (each is recorded as not sent), and every outcome is recorded at once. */
  stop(): void {
    this.stopping = true;
    for (const index of [...this.open]) if (!this.started.has(index)) this.note(index, { unreachable: { id: this.ids[index], why: NOT_SENT_STOPPING }, cut: true });
    this.recordAsKnown();
  }

  /**
   * The last moment of a stop: the messages still without an answer are recorded as not reached.
   * A card already sent whose binding is being written gets a short while (ROUND.cutBindingWaitMs)
   * for that write, so that a card bound is recorded as reached; a binding waiting to be tried again
   * is not tried. Resolves once recorded.
   */
  async cut(): Promise<void> {
    this.stop();
    this.cutting.abort();
    for (const index of [...this.open]) if (!this.binding.has(index)) this.note(index, { unreachable: { id: this.ids[index], why: UNANSWERED_STOPPING }, cut: true });
    if (this.open.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.known, new Promise<void>((resolve) => (timer = setTimeout(resolve, ROUND.cutBindingWaitMs).unref()))]);
      clearTimeout(timer);
    }
    for (const index of [...this.open]) this.note(index, { unreachable: { id: this.ids[index], why: UNBOUND_STOPPING }, cut: true });
    await this.writes;
  }

  private recordAsKnown(): void {
    this.gathering = false;
    this.flush();
  }

  private flush(): void {
    if (this.unrecorded.length === 0) return;
    const part = outcomeOf(this.occasion, this.unrecorded.sort((a, b) => a.index - b.index), this.roundAt);
    this.unrecorded = [];
    this.all = { ...this.all, reached: [...this.all.reached, ...part.reached], unreachable: [...this.all.unreachable, ...part.unreachable] };
    this.writes = this.writes.then(() =>
      this.write(part, this.cutting.signal).catch((err: unknown) => {
        this.failure ??= { err };
      }),
    );
  }
}

function outcomeOf(occasion: ReachOccasion, results: { result: Reached }[], roundAt: string | undefined): ReachOutcome {
  const outcome: ReachOutcome = { occasion, reached: [], unreachable: [], ...(roundAt ? { round: roundAt } : {}) };
  const cut: string[] = [];
  const missed: RoundMissed[] = [];
  for (const { result } of results) {
    if ('reached' in result) outcome.reached.push(result.reached);
    else {
      outcome.unreachable.push(result.unreachable);
      if (result.cut) cut.push(result.unreachable.id);
      if (result.missed) missed.push({ id: result.unreachable.id, ...result.missed });
    }
  }
  return { ...outcome, ...(cut.length > 0 ? { cut } : {}), ...(missed.length > 0 ? { missed } : {}) };
}

/** The rounds under way on this instance, so that a graceful stop can end them. */
export class RoundsUnderWay {
  private readonly rounds = new Set<Round>();
  private stopping = false;

  add(round: Round): void {
    this.rounds.add(round);
    // A round a sweep starts while Countersign stops sends nothing.
    if (this.stopping) round.stop();
  }

  delete(round: Round): void {
    this.rounds.delete(round);
  }

  /** Whether the round recorded on a request as `roundAt` is under way here (a slow one is not taken up again beside itself). */
  has(roundAt: string): boolean {
    return [...this.rounds].some((round) => round.roundAt === roundAt);
  }

  /** No round starts another message; what they know is recorded at once. */
  stop(): void {
    this.stopping = true;
    for (const round of this.rounds) round.stop();
  }

  /** Records everyone the rounds have no answer for as not reached; resolves once recorded. */
  async cut(): Promise<void> {
    await Promise.allSettled([...this.rounds].map((round) => round.cut()));
  }
}

/** Runs `work` for each index of `count`, at most `limit` at once, in order of index. */
export function eachAtMost(count: number, limit: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  return Promise.all(Array.from({ length: Math.min(limit, count) }, worker)).then(() => undefined);
}
