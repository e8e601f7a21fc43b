/**
 * Activities the Bot Framework adapter refused (its JWT check failed: no token, a bad signature, the
 * wrong audience or service URL, an expired token). Nothing in such a request is authenticated, so
 * the record keeps what it claimed apart from the trusted fields (no actor, no source) and never
 * the token itself: only whether there was one.
 */
import { neutralise } from '../domain/audit';
import type { AuditEventDraft } from '../domain/audit';
import type { AppDeps } from './context';

export interface RefusedActivity {
  /** The adapter's answer, 401 (authentication failed). */
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
      reason: r.status === 503 ? 'auth-unavailable' : r.hasAuthorization ? 'invalid-token' : 'missing-token',
      detail: `Bot Framework authentication failed (HTTP ${r.status}): ${scrub(r.reason || 'no reason given')}`,
    },
    data: {
      channel: 'bot-framework',
      hasAuthorization: r.hasAuthorization,
      ...(r.remoteAddress ? { remoteAddress: r.remoteAddress.slice(0, 100) } : {}),
      unverified,
    },
  });
}

/** Records an activity the Bot Framework adapter refused (the HTTP edge reports it here). */
export async function recordAuthRefused(deps: Pick<AppDeps, 'store' | 'clock'>, attempt: RefusedActivity): Promise<void> {
  await deps.store.audit.append([botAuthRefusedEvent(attempt, deps.clock.now().toISOString())]);
}
