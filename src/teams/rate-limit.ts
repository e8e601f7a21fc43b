/**
 * Teams' limits per bot per conversation: 7 messages a second, 60 in 30 seconds. Proactive sends and
 * card updates into one conversation wait for room in every window instead of drawing 429s; what
 * Teams still answers 429 is retried by withTeamsRetry.
 */

export interface RateWindow {
  max: number;
  perMs: number;
}

export const TEAMS_CONVERSATION_LIMITS: readonly RateWindow[] = [
  { max: 7, perMs: 1000 },
  { max: 60, perMs: 30_000 },
];

/**
 * One instance's share of the limits when `instances` processes send into the same conversations:
 * each window's count divided among them (rounded down, at least one message). Together they stay
 * within Teams' limits, so none of them draws the 429s the others' sends would otherwise cause;
 * a 429 that still comes (Teams counts other things too) is retried after its Retry-After.
 */
export function shareOfLimits(instances: number, windows: readonly RateWindow[] = TEAMS_CONVERSATION_LIMITS): RateWindow[] {
  const n = Math.max(1, Math.floor(instances));
  return windows.map((w) => ({ max: Math.max(1, Math.floor(w.max / n)), perMs: w.perMs }));
}

/** A send that was still waiting for room when the limiter was closed (Countersign is stopping): it was not sent. */
export class SendAbandonedError extends Error {
  constructor(reason: string) {
    super(`not sent: ${reason}`);
    this.name = 'SendAbandonedError';
  }
}

/** One conversation: when its last messages went, and the sends waiting for room, oldest first. */
interface Lane {
  /** Send times within the longest window, oldest first. */
  sent: number[];
  waiting: { go: () => void; fail: (err: Error) => void; since: number; ahead: boolean }[];
  /** Set while one loop lets the waiting sends go as room opens (a single timer per conversation). */
  draining: boolean;
}

/**
 * Holds sends to each conversation within its windows. Sends that must wait queue in the order they
 * came, and one loop per conversation lets them go as room opens, so a busy conversation costs a
 * timer, not a wake-up of every waiting send for every message that goes (with a few hundred card
 * updates waiting on one channel, that herd was most of the bot's work).
 */
/** How many conversations' lanes are held before the idle ones are let go (then twice as many as are left, at least this). */
const LANES_BEFORE_PRUNING = 1000;

export class ConversationRateLimiter {
  private readonly lanes = new Map<string, Lane>();
  private readonly longest: number;
  private pruneAt = LANES_BEFORE_PRUNING;
  /** Set by close(): every send still waiting, and every later one, fails with it. */
  private closed: SendAbandonedError | undefined;

  constructor(
    private readonly windows: readonly RateWindow[] = TEAMS_CONVERSATION_LIMITS,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    /** Told once for each send that had to wait for room, when it may go, with how long it waited (telemetry counts throttling with it). */
    private readonly onWait?: (conversationId: string, waitMs: number) => void,
  ) {
    this.longest = Math.max(...windows.map((w) => w.perMs));
  }

  /**
   * Resolves when a message may go to the conversation now, and counts it. `ahead`: a reply to
   * someone who just wrote (a turn's answer) waits behind other replies only, not behind the
   * proactive sends and card updates queued before it: a person is not kept waiting for an incident's
   * backlog of card updates. Every send still counts in the same windows. `maxWaitMs`: the longest it
   * waits; then it goes all the same, counted (a turn's answer must not be held past the time Bot
   * Framework gives a turn; a 429 Teams may then give is retried by withTeamsRetry).
   */
  acquire(conversationId: string, ahead = false, maxWaitMs?: number): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    let lane = this.lanes.get(conversationId);
    if (!lane) {
      if (this.lanes.size >= this.pruneAt) this.prune();
      lane = { sent: [], waiting: [], draining: false };
      this.lanes.set(conversationId, lane);
    }
    // Nobody ahead and room now: it goes at once.
    if (lane.waiting.length === 0 && this.take(lane) <= 0) return Promise.resolve();
    const queued = lane;
    return new Promise<void>((go, fail) => {
      const entry = { go, fail, since: this.now(), ahead };
      const behind = ahead ? queued.waiting.findIndex((w) => !w.ahead) : -1;
      if (behind >= 0) queued.waiting.splice(behind, 0, entry);
      else queued.waiting.push(entry);
      if (maxWaitMs !== undefined) {
        void this.sleep(maxWaitMs).then(() => {
          const at = queued.waiting.indexOf(entry);
          if (at < 0 || this.closed) return;
          queued.waiting.splice(at, 1);
          queued.sent.push(this.now());
          this.onWait?.(conversationId, this.now() - entry.since);
          go();
        });
      }
      if (!queued.draining) void this.drain(conversationId, queued);
    });
  }

  /** Lets the conversation's waiting sends go, oldest first, each as soon as there is room. */
  private async drain(conversationId: string, lane: Lane): Promise<void> {
    lane.draining = true;
    try {
      while (lane.waiting.length > 0 && !this.closed) {
        const wait = this.take(lane);
        if (wait > 0) {
          await this.sleep(wait);
          continue;
        }
        const next = lane.waiting.shift()!;
        this.onWait?.(conversationId, this.now() - next.since);
        next.go();
      }
    } finally {
      lane.draining = false;
    }
  }

  /**
   * Fails every send still waiting for room, and every later one, with `reason` (a stop that cannot
   * wait for a busy conversation's budget); answers how many were waiting.
   */
  close(reason: string): number {
    this.closed ??= new SendAbandonedError(reason);
    let dropped = 0;
    for (const lane of this.lanes.values()) {
      for (const w of lane.waiting.splice(0)) {
        w.fail(this.closed);
        dropped++;
      }
    }
    return dropped;
  }

  /** How many conversations the limiter holds a lane for. */
  get conversations(): number {
    return this.lanes.size;
  }

  /**
   * Lets go of the lanes of conversations with nothing waiting and nothing sent within the longest
   * window (they would start empty again): each personal chat, group chat and channel thread
   * Countersign ever wrote to had its lane kept for the life of the process. Run when the lanes reach
   * a threshold, which then becomes twice what is left, so a busy set costs a scan now and then.
   */
  private prune(): void {
    const now = this.now();
    for (const [id, lane] of this.lanes) {
      const last = lane.sent.at(-1);
      if (!lane.draining && lane.waiting.length === 0 && (last === undefined || now - last >= this.longest)) this.lanes.delete(id);
    }
    this.pruneAt = Math.max(LANES_BEFORE_PRUNING, this.lanes.size * 2);
  }

  /** Milliseconds until a message may go; 0 means it was counted and may go now. */
  private take(lane: Lane): number {
    const now = this.now();
    const { sent } = lane;
    let old = 0;
    while (old < sent.length && now - sent[old] >= this.longest) old++;
    if (old > 0) sent.splice(0, old);
    let wait = 0;
    for (const w of this.windows) {
      // The sends within this window are the newest ones: count them from the end.
      let inWindow = 0;
      for (let i = sent.length - 1; i >= 0 && now - sent[i] < w.perMs; i--) inWindow++;
      if (inWindow >= w.max) wait = Math.max(wait, sent[sent.length - w.max] + w.perMs - now);
    }
    if (wait <= 0) sent.push(now);
    return wait;
  }
}
