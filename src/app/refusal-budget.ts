/**
 * Refusals of callers nobody has authenticated (an activity whose Bot Framework token failed, an
 * audit download link or API call that does not check out) are recorded one by one up to a budget
 * a minute; past it they are counted, and the count goes into one record when the minute is over
 * (or at a stop): how many, which reasons, from which addresses. Anyone who can reach the endpoint
 * could otherwise grow the append-only audit log without bound (the outside review wrote 3,000
 * records in 2 s, about 16 GB an hour), each one a durable commit on the writer approvals use.
 * Activities from a tenant or channel Countersign does not serve pass the same budget (access.ts):
 * their token is valid, but nothing else about their sender is known, and any tenant can send them.
 * So do two refusals of people of the tenants served that carry no decision and that one script
 * could repeat without end (person-refusals.ts): a `status` of a request they may not see, and an
 * answer to a form that is not theirs; those are counted per person, and each person has an
 * allowance of their own, so one person probing cannot use up the minute for everyone and silence
 * the records of other people's refusals. Refused card clicks pass a budget of the same kind: a
 * summary of them is written per request the clicks named (at most MAX_REQUESTS_SUMMARISED a minute,
 * the rest together), so that each request's trail (its evidence bundle, an export by request) still
 * counts the clicks on its cards.
 */
import type { RepeatedRefusals } from '../domain/repeated-refusals';
import type { Clock } from './ports';

/** How many such refusals a minute are recorded one by one, per kind (tests lower it). */
export const REFUSAL_BUDGET = { perMinute: 30, windowMs: 60_000 };

/** At most this many addresses (or tenants) are named in a summary; the rest are counted together. */
const MAX_ADDRESSES = 20;
/** Addresses tracked in a minute before the rest are only counted (a bound on the budget's own memory). */
const MAX_TRACKED_ADDRESSES = 1_000;
/**
 * People with an allowance of their own in a minute (a bound on the budget's memory, and on how many
 * records a flood of distinct ids writes). Those who first come past it in that minute share one
 * allowance of `perMinute` among themselves; those who came before it keep their own.
 */
export const MAX_PEOPLE_WITH_OWN_ALLOWANCE = 100;
/** Requests with a summary of their own in a minute; refusals naming any other are summarised with those naming none. */
const MAX_REQUESTS_SUMMARISED = 20;

/** What a minute counted past the budget, of one request's refusals (or of those naming none). */
interface Held {
  count: number;
  from: string;
  to: string;
  reasons: Map<string, number>;
  addresses: Map<string, number>;
  untracked: number;
  /** Of those naming none here: how many named a request past MAX_REQUESTS_SUMMARISED. */
  otherRequests: number;
}

interface Window {
  start: number;
  /** Recorded one by one this minute: in all, or (counted per person) by those sharing the allowance past the bound. */
  recorded: number;
  /** Counted per person: how many each person with an allowance of their own had recorded this minute. */
  perPerson?: Map<string, number>;
  /** By the request the refusals named ('' for none, or past MAX_REQUESTS_SUMMARISED). */
  held?: Map<string, Held>;
}

export class RefusalBudget {
  private window: Window = { start: Number.NEGATIVE_INFINITY, recorded: 0 };
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    /** Records the summary of a minute (one audit record). */
    private readonly summarise: (repeated: RepeatedRefusals) => Promise<void>,
    /** Told when a summary could not be recorded. */
    private readonly failed: (err: unknown) => void,
    /**
     * What a refusal is counted by: the caller's address, (for activities the Bot Connector
     * signed, whose address is the connector's) the tenant the activity claims, or (for people of
     * the tenants served) the person's Entra object id.
     */
    private readonly countedBy: 'address' | 'tenant' | 'person' = 'address',
  ) {}

  /**
   * True: record this refusal one by one. False: it is counted into the minute's summary (of
   * `request`, the request it names when one exists, if given: its summary is then its own).
   */
  admit(reason: string, remoteAddress: string | undefined, request?: string): boolean {
    const now = this.clock.now();
    const t = now.getTime();
    if (t - this.window.start >= REFUSAL_BUDGET.windowMs || t < this.window.start) {
      this.flush();
      this.window = { start: t, recorded: 0 };
    }
    const address = (remoteAddress ?? 'unknown').slice(0, 100);
    if (this.spend(address)) return true;
    const at = now.toISOString();
    const byRequest = (this.window.held ??= new Map());
    const own = request !== undefined && (byRequest.has(request) || byRequest.size - (byRequest.has('') ? 1 : 0) < MAX_REQUESTS_SUMMARISED);
    const key = own ? request : '';
    let held = byRequest.get(key);
    if (!held) byRequest.set(key, (held = { count: 0, from: at, to: at, reasons: new Map(), addresses: new Map(), untracked: 0, otherRequests: 0 }));
    if (request !== undefined && !own) held.otherRequests++;
    held.count++;
    held.to = at;
    held.reasons.set(reason, (held.reasons.get(reason) ?? 0) + 1);
    if (held.addresses.has(address) || held.addresses.size < MAX_TRACKED_ADDRESSES) held.addresses.set(address, (held.addresses.get(address) ?? 0) + 1);
    else held.untracked++;
    // The summary is recorded when the minute is over, even if nothing else comes; unreferenced, so
    // it never keeps the process alive (a stop records it through flush).
    if (!this.timer) this.timer = setTimeout(() => this.flush(), Math.max(0, this.window.start + REFUSAL_BUDGET.windowMs - t)).unref();
    return false;
  }

  /** True when the allowance this refusal draws on (the minute's, or its person's) has room left, which it then uses. */
  private spend(key: string): boolean {
    const w = this.window;
    if (this.countedBy === 'person') {
      const perPerson = (w.perPerson ??= new Map());
      const own = perPerson.get(key);
      if (own !== undefined || perPerson.size < MAX_PEOPLE_WITH_OWN_ALLOWANCE) {
        if ((own ?? 0) >= REFUSAL_BUDGET.perMinute) return false;
        perPerson.set(key, (own ?? 0) + 1);
        return true;
      }
    }
    if (w.recorded >= REFUSAL_BUDGET.perMinute) return false;
    w.recorded++;
    return true;
  }

  /** Records what the current minute counted, now; resolves once every summary so far is recorded. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const byRequest = this.window.held ?? new Map<string, Held>();
    this.window.held = undefined;
    for (const [request, held] of byRequest) {
      const named = [...held.addresses].sort((a, b) => b[1] - a[1]);
      const rest = named.slice(MAX_ADDRESSES).reduce((n, [, c]) => n + c, 0) + held.untracked;
      const busiest = Object.fromEntries(named.slice(0, MAX_ADDRESSES));
      const repeated: RepeatedRefusals = {
        count: held.count,
        from: held.from,
        to: held.to,
        reasons: Object.fromEntries([...held.reasons].sort((a, b) => b[1] - a[1])),
        ...(this.countedBy === 'tenant'
          ? { tenants: busiest, ...(rest ? { otherTenants: rest } : {}) }
          : this.countedBy === 'person'
            ? { people: busiest, ...(rest ? { otherPeople: rest } : {}) }
            : { remoteAddresses: busiest, ...(rest ? { otherAddresses: rest } : {}) }),
        ...(request ? { request } : {}),
        ...(held.otherRequests ? { otherRequests: held.otherRequests } : {}),
        perMinute: REFUSAL_BUDGET.perMinute,
      };
      this.writing = this.writing.then(() => this.summarise(repeated).catch((err: unknown) => this.failed(err)));
    }
    return this.writing;
  }
}
