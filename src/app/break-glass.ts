/**
 * Break-glass, off by default: a command whose policy allows it may be run at once, without approval,
 * by a member of its break-glass roles who gives a reason. Every other check runs as for any request
 * (requester roles, conversation, parameters, drift right before execution). It is loud (the approvers
 * in personal chats, unless the policy says `approvers: none`, and the policy's notice channels and
 * approval channels get the card with a BREAK-GLASS line) and
 * reviewed after the fact: an approver, never the requester, ratifies or flags it within the policy's
 * reviewWithin; an overdue review is audited and escalated (to the escalation role when the policy
 * has one, else the approvers and notice channels again), once across instances.
 */
import { neutralise, requestRef } from '../domain/audit';
import { listedAs } from '../domain/conversation-ids';
import { describeUntil, zoneOrUtc } from '../domain/delegation-time';
import { breakGlassLimitRefusal, breakGlassRefusal, breakGlassUsesAfter, markReviewOverdue, peopleToDecide, reviewOverdue } from '../domain/lifecycle';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import { withDistinctNames } from '../domain/display-names';
import { ENDED_STATES, type Actor, type ApprovalRequest, type Source } from '../domain/request';
import type { AuditEventDraft } from '../domain/audit';
import { BreakGlassLimitError, DuplicateRequestError } from './ports';
import { transact, type AppDeps } from './context';
import { announcingAfter, notifyPolicy, reach, recordNobodySent, roundAudience, type Audience } from './notifications';
import { auditRefused, type RequestAttempt } from './request-gate';
import { accessWithGroups } from './group-access';
import { eachRequest } from './sweep-each';

/** The break-glass checks before the usual request checks: allowed for the command, by this person, with a reason (refusals audited). */
export async function breakGlassGate(deps: AppDeps, attempt: RequestAttempt): Promise<Refusal | undefined> {
  const scheduled = attempt.runAt ? refusal(RefusalReason.RunTimeRefused, 'Break-glass runs at once: it cannot wait for a time (drop "at ..."), and a change that can wait can be approved. Nothing was run.') : undefined;
  // A break-glass role that lists an Entra group (an on-call rota): the person's membership is looked up first, as for any role.
  const resolved = scheduled ? undefined : await accessWithGroups(deps, [attempt.actor], attempt.command.policy?.breakGlass?.roles ?? []);
  const roleRefusal = resolved && !resolved.ok ? resolved.refusal : breakGlassRefusal(attempt.command, attempt.actor, (resolved?.access ?? deps.config.access).roles, attempt.reason);
  const refused = scheduled ?? roleRefusal ?? (await overLimit(deps, attempt));
  return refused ? auditRefused(deps, attempt, refused, { breakGlass: true }) : undefined;
}

/** The start of the window the policy's maxUses counts uses in, ending `now`. */
function limitWindow(attempt: RequestAttempt, now: Date): { count: number; since: string } | undefined {
  const limit = attempt.command.policy?.breakGlass?.maxUses;
  return limit ? { count: limit.count, since: new Date(now.getTime() - limit.perSeconds * 1000).toISOString() } : undefined;
}

/**
 * The policy's maxUses, counted from the store (so across instances and restarts): this person's
 * uses of the command within its window. Asked first, so that a use past the limit is refused before
 * Azure is read for it; storeBreakGlassUse counts again as the use is stored.
 */
async function overLimit(deps: AppDeps, attempt: RequestAttempt): Promise<Refusal | undefined> {
  const now = deps.clock.now();
  const window = limitWindow(attempt, now);
  if (!window) return undefined;
  const changed = await deps.store.requests.list({ updatedSince: window.since });
  return breakGlassLimitRefusal(attempt.command, breakGlassUsesAfter(changed, attempt.actor.aadObjectId, attempt.command.name, window.since), now, zoneOrUtc(attempt.timeZone));
}

/**
 * Stores a break-glass use with its events, counting the policy's maxUses again inside the write
 * (one at a time for a person and a command, across instances): of uses sent at the same moment,
 * those past the limit are refused and audited, nothing stored or run for them.
 */
export async function storeBreakGlassUse(deps: AppDeps, attempt: RequestAttempt, use: ApprovalRequest, events: AuditEventDraft[]): Promise<Refusal | undefined> {
  const now = deps.clock.now();
  try {
    // As any request: stored only while no open request of the requester does the same (requests.ts).
    await deps.store.requests.insert(use, events, limitWindow(attempt, now), { at: now.toISOString() });
    return undefined;
  } catch (err) {
    if (!(err instanceof BreakGlassLimitError)) throw err;
    // The same message sent twice at once: the first stored the use that reached the limit. The stores
    // check the limit before the id, so the second meets the limit; it is the first's, not a refusal.
    if (attempt.answering && (await deps.store.requests.get(use.id))) throw new DuplicateRequestError(use.id);
    const refused =
      breakGlassLimitRefusal(attempt.command, err.usedAt, now, zoneOrUtc(attempt.timeZone)) ??
      refusal(RefusalReason.BreakGlassLimit, `You used break-glass for "${attempt.command.name}" as often as its policy allows (breakGlass.maxUses): ask for approval instead. Nothing was run.`);
    return auditRefused(deps, attempt, refused, { breakGlass: true });
  }
}

export function breakGlassEvent(r: ApprovalRequest, actor: Actor, source: Source) {
  return neutralise({
    type: 'breakglass.used' as const,
    time: r.breakGlass?.usedAt ?? r.createdAt,
    actor,
    source,
    request: requestRef(r),
    target: r.target,
    outcome: { result: 'ok' as const, detail: `BREAK-GLASS: run without approval; review due by ${r.breakGlass?.reviewDueAt}` },
    data: { reason: r.breakGlass?.reason ?? '', reviewDueAt: r.breakGlass?.reviewDueAt ?? '', notify: r.policy.breakGlass?.notify ?? [] },
  });
}

type BreakGlassOccasion = 'break-glass' | 'review-overdue';

/** The channels a break-glass use is announced in: the policy's notice channels and the approval channels. */
export function breakGlassChannels(r: ApprovalRequest): string[] {
  return [...new Set([...(r.policy.breakGlass?.notify ?? []), ...notifyPolicy(r).channels])];
}

/**
 * Whom a break-glass use, or its overdue review, is announced to: everyone who may review it (the
 * requester never; after escalation, the escalation role) in personal chats unless the policy says
 * `approvers: none` (then, as for reminders, the channels alone: but a use is never announced to
 * nobody, so with no channel at all, in personal chats all the same), and the channels: the use's
 * own card is in the conversation it was used in (any thread of a channel listed), which is not sent
 * a second one; its overdue review, news there too, is.
 */
export function breakGlassAudience(deps: AppDeps, r: ApprovalRequest, occasion: BreakGlassOccasion): Audience {
  const escalated = occasion === 'review-overdue' && r.escalation ? r.escalation.role : undefined;
  const channels = breakGlassChannels(r);
  const personal = notifyPolicy(r).approvers === 'personal' || channels.length === 0;
  const posted = occasion === 'break-glass' ? channels.filter((c) => !listedAs(c, r.source.conversationId)) : channels;
  return { people: personal ? peopleToDecide(r, deps.config.access.roles, escalated) : [], channels: posted };
}

/** The line above the card announcing a break-glass use, or its overdue review, naming the due time in `zone` (UTC in a channel). */
export function breakGlassText(request: ApprovalRequest, occasion: BreakGlassOccasion, zone = 'UTC'): string {
  // Namesakes on the request are told apart as on its card (display-names.ts).
  const r = withDistinctNames(request);
  return occasion === 'break-glass'
    ? `BREAK-GLASS: ${r.requester.name} ran request ${r.id} (${r.command}) without approval. Reason: ${sentence(r.breakGlass?.reason ?? '')} An approver must ratify or flag it on the card by ${dueText(r, zone)}.`
    : `BREAK-GLASS REVIEW OVERDUE: nobody ratified or flagged request ${r.id} (${r.command}, run by ${r.requester.name} without approval) by ${dueText(r, zone)}. Review it on the card below.`;
}

/**
 * The loud notice: every approver in a personal chat, the notice channels and approval channels, with
 * the card. Its round is recorded on the request with the change that calls for it (the use, the
 * overdue review), so one a stop or a crash cuts short is taken up again (round-resume.ts).
 */
export async function tellBreakGlass(deps: AppDeps, r: ApprovalRequest, occasion: BreakGlassOccasion): Promise<void> {
  const audience = roundAudience(r, occasion) ?? breakGlassAudience(deps, r, occasion);
  if (audience.people.length === 0 && audience.channels.length === 0) {
    // Used in its own notice or approval channel: its card is there. Else its reviewers are only
    // Entra groups, and there is no channel to post in: the card says nobody was told.
    return deps.messenger && breakGlassChannels(r).length === 0 ? recordNobodySent(deps, r, occasion) : undefined;
  }
  await reach(deps, r, occasion, audience, (zone) => breakGlassText(r, occasion, zone));
}

/** Escalates every break-glass review past due; returns the request ids. */
export async function sweepBreakGlassReviews(deps: AppDeps): Promise<string[]> {
  const now = deps.clock.now();
  // Only the requests whose review is waiting and due: not every request that ever ended. Every
  // ended state, as needsReview takes it: a use that expired unstarted, or drifted and was rejected, waits for review too.
  const due = await deps.store.requests.list({ states: [...ENDED_STATES], reviewDueBy: now.toISOString() });
  const overdue: string[] = [];
  try {
    await eachRequest(deps, 'break-glass review sweep', due.filter((x) => reviewOverdue(x, now)), async (r) => {
      const outcome = await transact(deps, r.id, (current) =>
        announcingAfter(deps, markReviewOverdue(current, now), 'review-overdue', now, (x) => breakGlassAudience(deps, x, 'review-overdue')),
        { readBackUnknownCommit: true },
      );
      if (!outcome?.result.ok) return;
      overdue.push(r.id);
      await tellBreakGlass(deps, outcome.result.request, 'review-overdue');
    });
  } finally {
    if (overdue.length > 0) deps.log.warn({ overdue }, 'break-glass reviews overdue, escalated');
  }
  return overdue;
}

/** The reason as a sentence: a full stop after it unless it ends with one of its own ("INC-42 outage." reads once). */
function sentence(text: string): string {
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

/** When a break-glass review is due, in the reader's zone with the UTC instant (UTC alone in a channel, read in any zone). */
function dueText(r: ApprovalRequest, zone: string): string {
  return r.breakGlass ? describeUntil(new Date(r.breakGlass.reviewDueAt), zone) : '(unknown)';
}
