/**
 * Entra group membership through Microsoft Graph, with the bot's own identity (the same credential as
 * for Azure Resource Manager): `POST /v1.0/users/{id}/checkMemberGroups` answers which of up to 20
 * groups the person is a member of, transitively (through nested groups). The identity needs the
 * application permissions User.Read.All and GroupMember.Read.All, with admin consent: Microsoft's
 * least privilege for an app asking about another user (GroupMember.Read.All alone is refused).
 *
 * Each answer, member or not, is kept for the cache lifetime; a failure is never kept (the next check
 * asks again). Graph's throttling (429) is waited out when its Retry-After fits in the time left; a
 * lookup takes at most `timeoutMs` in all, because a person is waiting on a card click.
 */
import type { TokenCredential } from '@azure/identity';
import { callDeadline, DirectoryError, type Directory } from '../app/ports';
import { retryAfterMs } from '../retry-after';

const GRAPH_ENDPOINT = 'https://graph.microsoft.com';
/** checkMemberGroups takes at most 20 group ids per call. */
const GROUPS_PER_CALL = 20;
const MAX_THROTTLED_ATTEMPTS = 3;
/** Answers kept at most (person and group pairs): expired ones go first, then the oldest. */
const MAX_CACHED_ANSWERS = 20_000;

export interface GraphDirectoryOptions {
  credential: TokenCredential;
  /** Microsoft Graph's base URL (sovereign clouds, or a local fake in tests). */
  endpoint?: string;
  /** How long an answer is kept (directory.cacheLifetime). */
  cacheLifetimeMs: number;
  /** The longest one lookup may take, throttling included (default 5 s: it runs inside a card click). */
  timeoutMs?: number;
  /** A monotonic clock in ms (default performance.now): an answer's age and a lookup's time, never a wall time. */
  now?: () => number;
  /** Answers kept at most (default 20,000). */
  maxCachedAnswers?: number;
}

interface Cached {
  member: boolean;
  until: number;
}

export class GraphDirectory implements Directory {
  private readonly endpoint: string;
  private readonly scope: string;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, Cached>();

  constructor(private readonly options: GraphDirectoryOptions) {
    this.endpoint = (options.endpoint ?? GRAPH_ENDPOINT).replace(/\/+$/, '');
    this.scope = `${new URL(this.endpoint).origin}/.default`;
    this.timeoutMs = options.timeoutMs ?? 5000;
    // Whole milliseconds: what is left of a lookup's time becomes AbortSignal.timeout's delay.
    this.now = options.now ?? (() => Math.floor(performance.now()));
  }

  async groupsOf(aadObjectId: string, candidateGroupIds: readonly string[]): Promise<Set<string>> {
    const person = aadObjectId.toLowerCase();
    const groups = [...new Set(candidateGroupIds.map((g) => g.toLowerCase()))];
    const now = this.now();
    const unknown = groups.filter((g) => !((this.cache.get(`${person}|${g}`)?.until ?? 0) > now));
    if (unknown.length > 0) {
      // Within a person's turn, no later than the turn leaves for it: every check of the turn shares that time.
      const turn = callDeadline();
      const deadline = turn === undefined ? now + this.timeoutMs : Math.min(now + this.timeoutMs, Math.floor(turn));
      if (deadline <= now) throw new DirectoryError(unknown, 'Microsoft Graph was not asked: the click or message had no time left for it (Teams waits about 15 s for its answer, and the checks before this one took it)');
      for (let i = 0; i < unknown.length; i += GROUPS_PER_CALL) {
        const batch = unknown.slice(i, i + GROUPS_PER_CALL);
        const members = await this.checkMemberGroups(person, batch, deadline, deadline - now);
        const until = this.now() + this.options.cacheLifetimeMs;
        for (const g of batch) this.remember(`${person}|${g}`, { member: members.has(g), until });
      }
    }
    return new Set(groups.filter((g) => this.cache.get(`${person}|${g}`)?.member));
  }

  private remember(key: string, answer: Cached): void {
    this.cache.delete(key); // re-inserted last: the Map's order is the order answers were given
    this.cache.set(key, answer);
    const max = this.options.maxCachedAnswers ?? MAX_CACHED_ANSWERS;
    if (this.cache.size <= max) return;
    const now = this.now();
    for (const [k, v] of this.cache) if (v.until <= now) this.cache.delete(k);
    for (const k of this.cache.keys()) {
      if (this.cache.size <= max) break;
      this.cache.delete(k);
    }
  }

  private async checkMemberGroups(person: string, groupIds: string[], deadline: number, budgetMs: number): Promise<Set<string>> {
    const fail = (detail: string) => new DirectoryError(groupIds, detail);
    // Getting the token is a call too (Entra ID, the managed identity endpoint): it gets what is left of the lookup's time.
    const left = Math.max(1, deadline - this.now());
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(budgetMs / 100) / 10}s`)), left);
    });
    const token = await Promise.race([this.options.credential.getToken(this.scope, { abortSignal: AbortSignal.timeout(left) }), late])
      .catch((err: unknown) => {
        throw fail(`the bot's identity got no token for Microsoft Graph (${this.scope}): ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => clearTimeout(timer));
    if (!token) throw fail(`the bot's identity got no token for Microsoft Graph (${this.scope})`);
    const url = `${this.endpoint}/v1.0/users/${encodeURIComponent(person)}/checkMemberGroups`;
    for (let attempt = 1; ; attempt++) {
      const left = deadline - this.now();
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ groupIds }),
          signal: AbortSignal.timeout(Math.max(1, left)),
        });
      } catch (err) {
        const name = (err as Error)?.name;
        if (name === 'TimeoutError' || name === 'AbortError') throw fail(`Microsoft Graph did not answer within ${Math.round(budgetMs / 100) / 10}s`);
        throw fail(`Microsoft Graph at ${this.endpoint} could not be reached (${(err as Error)?.cause instanceof Error ? ((err as Error).cause as Error).message : String(err)})`);
      }
      if (response.ok) return this.members(response, fail);
      const text = await response.text().catch(() => '');
      // A person the directory does not know is a member of no group.
      if (response.status === 404) return new Set();
      if (response.status === 429) {
        const wait = retryAfterMs(response.headers.get('retry-after')) ?? 1000; // 1 s when Graph names no wait
        if (attempt < MAX_THROTTLED_ATTEMPTS && this.now() + wait < deadline) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
        throw fail(`Microsoft Graph is throttling Countersign (429, Retry-After ${response.headers.get('retry-after') ?? 'not given'})`);
      }
      if (response.status === 401 || response.status === 403) {
        throw fail(`Microsoft Graph refused (${response.status} ${graphCode(text)}): the bot's identity needs the application permissions User.Read.All and GroupMember.Read.All, with admin consent (docs/entra-groups.md)`);
      }
      throw fail(`Microsoft Graph answered ${response.status} ${graphCode(text)}`.trimEnd());
    }
  }

  private async members(response: Response, fail: (detail: string) => DirectoryError): Promise<Set<string>> {
    const body = (await response.json().catch(() => undefined)) as { value?: unknown } | undefined;
    if (!body || !Array.isArray(body.value) || !body.value.every((v) => typeof v === 'string')) {
      throw fail('Microsoft Graph answered without a list of group ids');
    }
    return new Set((body.value as string[]).map((g) => g.toLowerCase()));
  }
}

/** Graph's error code (`Authorization_RequestDenied`), when the body names one. */
function graphCode(text: string): string {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code.slice(0, 80) : '';
  } catch {
    return '';
  }
}
