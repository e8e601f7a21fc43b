/**
 * How many new requests one person may make: a sliding window per person (by Entra object id),
 * counted when a request is created. People are tracked only while they have requests in the
 * window, and at most `maxPeople` of them (the least recently active dropped first), so the
 * limiter itself stays small. The limit is a setting (COUNTERSIGN_REQUESTS_PER_HOUR, docs/limits.md).
 */
export interface RequestRatePolicy {
  max: number;
  perMs: number;
}

export class RequestRate {
  private readonly times = new Map<string, number[]>();

  constructor(
    readonly policy: RequestRatePolicy,
    private readonly maxPeople = 10_000,
  ) {}

  /** Milliseconds until this person may make another request; 0 when they may now. */
  waitFor(person: string, now: number): number {
    const recent = this.recent(person, now);
    return recent.length < this.policy.max ? 0 : recent[0] + this.policy.perMs - now;
  }

  record(person: string, now: number): void {
    const recent = this.recent(person, now);
    recent.push(now);
    this.times.delete(person);
    this.times.set(person, recent);
    while (this.times.size > this.maxPeople) this.times.delete(this.times.keys().next().value as string);
  }

  /** How the limit reads to a person. */
  describe(): string {
    const hours = this.policy.perMs / 3_600_000;
    return `at most ${this.policy.max} new request(s) per ${hours === 1 ? 'hour' : `${this.policy.perMs / 60_000} minutes`}`;
  }

  private recent(person: string, now: number): number[] {
    const kept = (this.times.get(person) ?? []).filter((t) => t > now - this.policy.perMs);
    if (kept.length === 0) this.times.delete(person);
    return kept;
  }
}
