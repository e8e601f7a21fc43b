/**
 * How many new requests one person may make: a sliding window per person (by Entra object id),
 * counted when a request passes its checks (a slot taken then, in the same step as the check, so
 * requests sent at once cannot all pass it) and given back if the request is then not created. People are tracked only while they have requests in the
 * window, and at most `maxPeople` of them (the least recently active dropped first), so the
 * limiter itself stays small. The limit is a setting (COUNTERSIGN_REQUESTS_PER_HOUR, docs/limits.md).
 */
export interface RequestRatePolicy {
  max: number;
  perMs: number;
}

/** One person's request times within the window, oldest first, from `head` on. */
interface Recent {
  times: number[];
  head: number;
}

export class RequestRate {
  private readonly people = new Map<string, Recent>();

  constructor(
    readonly policy: RequestRatePolicy,
    private readonly maxPeople = 10_000,
  ) {}

  /** Milliseconds until this person may make another request; 0 when they may now. */
  waitFor(person: string, now: number): number {
    const recent = this.recent(person, now);
    if (!recent || recent.times.length - recent.head < this.policy.max) return 0;
    return recent.times[recent.head] + this.policy.perMs - now;
  }

  /** Counts one request of the person now; returns the time it is counted at (what `release` takes). */
  record(person: string, now: number): number {
    const recent = this.recent(person, now) ?? { times: [], head: 0 };
    // Kept in order, so the oldest leave from the front: a clock set back counts from the last time.
    const at = Math.max(now, recent.times[recent.times.length - 1] ?? now);
    recent.times.push(at);
    this.people.delete(person);
    this.people.set(person, recent);
    while (this.people.size > this.maxPeople) this.people.delete(this.people.keys().next().value as string);
    return at;
  }

  /** Gives back a request counted at `at` (it was not created after all). */
  release(person: string, at: number): void {
    const recent = this.people.get(person);
    if (!recent) return;
    const i = recent.times.lastIndexOf(at);
    if (i >= recent.head) recent.times.splice(i, 1);
    if (recent.head === recent.times.length) this.people.delete(person);
  }

  /** How the limit reads to a person. */
  describe(): string {
    const hours = this.policy.perMs / 3_600_000;
    return `at most ${this.policy.max} new request(s) per ${hours === 1 ? 'hour' : `${this.policy.perMs / 60_000} minutes`}`;
  }

  /**
   * The person's times still in the window; those that left it are dropped from the front, so a
   * check costs what left, not the whole window (with a high limit a busy person has thousands).
   */
  private recent(person: string, now: number): Recent | undefined {
    const recent = this.people.get(person);
    if (!recent) return undefined;
    const { times } = recent;
    const from = now - this.policy.perMs;
    while (recent.head < times.length && times[recent.head] <= from) recent.head++;
    if (recent.head === times.length) {
      this.people.delete(person);
      return undefined;
    }
    if (recent.head > 1024 && recent.head * 2 > times.length) {
      recent.times = times.slice(recent.head);
      recent.head = 0;
    }
    return recent;
  }
}
