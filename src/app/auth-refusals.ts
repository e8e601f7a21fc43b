/**
 * Activities the Bot Framework adapter refused (its JWT check failed: no token, a bad signature, the
 * wrong audience or service URL, an expired token). Nothing in such a request is authenticated, so
 * the record keeps what it claimed apart from the trusted fields (no actor, no source) and never
 * the token itself: only whether there was one.
 */
import { neutralise } from '../domain/audit';
import type { AuditEventDraft } from '../domain/audit';
import { repeatedText, type RepeatedRefusals } from '../domain/repeated-refusals';
import type { AppDeps } from './context';
import { RefusalBudget } from './refusal-budget';

export interface RefusedActivity {
  /** The answer: 401 (authentication failed), 503 (it could not be checked), 403 (authentication off and not from this machine). */
  status: number;
  /** The adapter's reason, in its words. */
  reason: string;
  /** The parsed request body: untrusted. */
  body: unknown;
  hasAuthorization: boolean;
  remoteAddress?: string;
}

const JWT_LIKE = /[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*/g;

function claimed(v: unknown, max = 200): string | undefined {
  return typeof v === 'string' && v ? v.slice(0, max) : undefined;
}

/** Text from the adapter, with anything shaped like a token taken out. */
function scrub(text: string): string {
  return text.replace(/Bearer\s+\S+/gi, 'Bearer [redacted]').replace(JWT_LIKE, '[redacted]').slice(0, 300);
}

function reasonOf(r: RefusedActivity): string {
  if (r.status === 403) return 'not-local';
  return r.status === 503 ? 'auth-unavailable' : r.hasAuthorization ? 'invalid-token' : 'missing-token';
}

function detailOf(r: RefusedActivity): string {
  if (r.status === 403) return `Authentication is off (no MicrosoftAppId), and the activity may not have come from this machine: ${scrub(r.reason)}`;
  return `Bot Framework authentication failed (HTTP ${r.status}): ${scrub(r.reason || 'no reason given')}`;
}

function botAuthRefusedEvent(r: RefusedActivity, time: string): AuditEventDraft {
  const a = (r.body && typeof r.body === 'object' ? r.body : {}) as Record<string, unknown>;
  const from = (a.from ?? {}) as Record<string, unknown>;
  const conversation = (a.conversation ?? {}) as Record<string, unknown>;
  const serviceUrl = claimed(a.serviceUrl);
  let serviceOrigin: string | undefined;
  try {
    serviceOrigin = serviceUrl ? new URL(serviceUrl).origin : undefined;
  } catch {
    serviceOrigin = serviceUrl ? '(not a URL)' : undefined;
  }
  const unverified = Object.fromEntries(
    Object.entries({
      type: claimed(a.type, 40),
      channelId: claimed(a.channelId, 40),
      activityId: claimed(a.id),
      conversationId: claimed(conversation.id),
      fromId: claimed(from.id),
      fromAadObjectId: claimed(from.aadObjectId, 64),
      serviceUrl: serviceOrigin,
    }).filter(([, v]) => v !== undefined),
  );
  return neutralise({
    type: 'auth.refused' as const,
    time,
    outcome: {
      result: 'refused' as const,
      reason: reasonOf(r),
      detail: detailOf(r),
    },
    data: {
      channel: 'bot-framework',
      hasAuthorization: r.hasAuthorization,
      ...(r.remoteAddress ? { remoteAddress: r.remoteAddress.slice(0, 100) } : {}),
      unverified,
    },
  });
}

/** The record of a minute's refusals past the budget: how many, why, from where. */
function repeatedAuthRefusedEvent(r: RepeatedRefusals, time: string): AuditEventDraft {
  return neutralise({
    type: 'auth.refused' as const,
    time,
    outcome: { result: 'refused' as const, reason: 'repeated', detail: `Bot Framework authentication failed: ${repeatedText(r)}` },
    data: { channel: 'bot-framework', repeated: r },
  });
}

/**
 * Records the activities the Bot Framework adapter refused (the HTTP edge reports each one here):
 * one by one up to the budget a minute, then counted into one record (refusal-budget.ts).
 */
export class AuthRefusals {
  private readonly budget: RefusalBudget;

  constructor(private readonly deps: Pick<AppDeps, 'store' | 'clock' | 'log'>) {
    this.budget = new RefusalBudget(
      deps.clock,
      async (repeated) => {
        await deps.store.audit.append([repeatedAuthRefusedEvent(repeated, deps.clock.now().toISOString())]);
      },
      (err) => deps.log.error({ err: String(err) }, 'could not record the count of refused authentications'),
    );
  }

  async record(attempt: RefusedActivity): Promise<void> {
    if (!this.budget.admit(reasonOf(attempt), attempt.remoteAddress)) return;
    await this.deps.store.audit.append([botAuthRefusedEvent(attempt, this.deps.clock.now().toISOString())]);
  }

  /** Records what was counted so far (at a stop). */
  flush(): Promise<void> {
    return this.budget.flush();
  }
}
