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

export class ConversationRateLimiter {
  private readonly sent = new Map<string, number[]>();
  private readonly longest: number;

  constructor(
    private readonly windows: readonly RateWindow[] = TEAMS_CONVERSATION_LIMITS,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    /** Told each time a send must wait for room (telemetry counts throttling with it). */
    private readonly onWait?: (conversationId: string, waitMs: number) => void,
  ) {
    this.longest = Math.max(...windows.map((w) => w.perMs));
  }

  /** Resolves when a message may go to the conversation now, and counts it. */
  async acquire(conversationId: string): Promise<void> {
    for (;;) {
      const wait = this.waitFor(conversationId);
      if (wait <= 0) return;
      this.onWait?.(conversationId, wait);
      await this.sleep(wait);
    }
  }

  /** Milliseconds until a message may go; 0 means it was counted and may go now. */
  private waitFor(conversationId: string): number {
    const now = this.now();
    const times = (this.sent.get(conversationId) ?? []).filter((t) => now - t < this.longest);
    let wait = 0;
    for (const w of this.windows) {
      const inWindow = times.filter((t) => now - t < w.perMs);
      if (inWindow.length >= w.max) wait = Math.max(wait, inWindow[inWindow.length - w.max] + w.perMs - now);
    }
    if (wait <= 0) times.push(now);
    if (times.length) this.sent.set(conversationId, times);
    else this.sent.delete(conversationId);
    return wait;
  }
}
