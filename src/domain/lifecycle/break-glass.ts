/**
 * Break-glass: the one exception to the two-person rule, and how it is made loud and reviewed.
 *
 *   (asked with `break-glass`) → approved, with no approval, marked breakGlass → executing → …
 *   after it ran: review needed → ratified | flagged (an approver, never the requester)
 *   review past its due time: review_overdue (escalated, still reviewable)
 *
 * Whether the command allows it and the requester may use it is checked in breakGlassRefusal; every
 * other check (requester roles, conversation, parameters, drift) runs as for any request.
 */
import { requestEvent } from '../audit';
import type { CommandSpec } from '../catalog';
import { describeUntil, zonedText } from '../delegation-time';
import { distinctNamer } from '../display-names';
import { formatDuration } from '../duration-text';
import { decidingRoles, rolesText, type Roles } from '../policy';
import { RefusalReason, refusal, type Refusal } from '../refusal';
import { OPEN_STATES, standing, type Actor, type ApprovalRequest, type RoundOccasion } from '../request';
import { type DecisionContext, next, refuse, type Transition } from './transition';

/** Why this person cannot use break-glass for this command now, or undefined. */
export function breakGlassRefusal(command: CommandSpec, actor: Actor, roles: Roles, reason: string | undefined): Refusal | undefined {
  if (!command.sensitive) {
    return refusal(RefusalReason.BreakGlassNotAllowed, `"${command.name}" is read-only: it needs no approval, so no break-glass either; type it without "break-glass". Nothing was run.`);
  }
  const policy = command.policy?.breakGlass;
  if (!policy) return refusal(RefusalReason.BreakGlassNotAllowed, `"${command.name}" does not allow break-glass: its policy has no breakGlass block, so it always needs approval. Nothing was run.`);
  if (!roles.holdsAny(policy.roles, actor.aadObjectId)) {
    return refusal(RefusalReason.NotAllowedToBreakGlass, `You cannot use break-glass for "${command.name}": it needs ${rolesText(policy.roles)}. Nothing was run.`);
  }
  if (!reason?.trim()) return refusal(RefusalReason.BreakGlassReasonMissing, `Break-glass needs a reason: end the message with "reason: <why this cannot wait for approval>". Nothing was run.`);
  return undefined;
}

/**
 * When `who` (an Entra object id) used break-glass for `command` after `since` (ISO-8601 UTC), among
 * these requests: the uses `breakGlass.maxUses` counts. A use changed its request at or after it was
 * made, so the requests updated since `since` hold every one of them.
 */
export function breakGlassUsesAfter(requests: Iterable<Pick<ApprovalRequest, 'breakGlass' | 'command' | 'requester'>>, who: string, command: string, since: string): string[] {
  const person = who.toLowerCase();
  const used: string[] = [];
  for (const r of requests) {
    if (r.breakGlass && r.command === command && r.requester.aadObjectId.toLowerCase() === person && r.breakGlass.usedAt > since) used.push(r.breakGlass.usedAt);
  }
  return used;
}

/**
 * Why this person may not use break-glass for the command again yet: its policy's maxUses, against
 * the times of their earlier uses of it (`usedAt`, any order). Undefined when they may.
 */
export function breakGlassLimitRefusal(command: CommandSpec, usedAt: readonly string[], now: Date, zone = 'UTC'): Refusal | undefined {
  const limit = command.policy?.breakGlass?.maxUses;
  if (!limit) return undefined;
  const windowMs = limit.perSeconds * 1000;
  const recent = usedAt.filter((t) => Date.parse(t) > now.getTime() - windowMs).sort();
  if (recent.length < limit.count) return undefined;
  // Said to the minute, rounded up: at the minute named, a use goes through.
  const again = describeUntil(new Date(Math.ceil((Date.parse(recent[recent.length - limit.count]) + windowMs) / 60_000) * 60_000), zone);
  return refusal(
    RefusalReason.BreakGlassLimit,
    `You used break-glass for "${command.name}" ${recent.length} time(s) in the last ${formatDuration(limit.perSeconds)}, as often as its policy allows (breakGlass.maxUses): ask for approval instead, or wait until ${again}. Nothing was run.`,
  );
}

/** A new request, run at once: approved without approval, marked as break-glass, its review due later. */
export function breakGlassUse(r: ApprovalRequest, now: Date, reason: string): ApprovalRequest {
  const reviewWithin = r.policy.breakGlass?.reviewWithinSeconds ?? 0;
  const usedAt = now.toISOString();
  return { ...r, state: 'approved', breakGlass: { reason, usedAt, reviewDueAt: new Date(now.getTime() + reviewWithin * 1000).toISOString() } };
}

/** Ran (or ended before running), not yet reviewed: a second person must look at it. */
export function needsReview(r: Pick<ApprovalRequest, 'breakGlass' | 'state'>): boolean {
  // Only once it has ended: a use that drifted waits for approval (or its window) like any request,
  // and a review then would vouch for a run that has not happened.
  return !!r.breakGlass && !r.breakGlass.review && !OPEN_STATES.includes(r.state);
}

/**
 * Whether the request runs on its break-glass use alone, without approval: only a use that never
 * drifted. Once what it would do changed, it needs approving again, and from then on it runs only on
 * approvals that still count, checked as for any request.
 */
export function runsOnBreakGlass(r: Partial<Pick<ApprovalRequest, 'breakGlass' | 'drift'>>): boolean {
  return !!r.breakGlass && !r.drift;
}

export function reviewBreakGlass(r: ApprovalRequest, ctx: DecisionContext, verdict: 'ratified' | 'flagged', comment?: string): Transition {
  const use = r.breakGlass;
  if (!use) return refuse(r, RefusalReason.NotReviewable, `Request ${r.id} was not a break-glass use; there is nothing to ratify or flag.`);
  // A namesake of the reviewer clicking is told it was someone else (display-names.ts).
  if (use.review) return refuse(r, RefusalReason.NotReviewable, `${distinctNamer(r, [ctx.actor])(use.review.by).name} already ${use.review.verdict} break-glass request ${r.id} at ${zonedText(use.review.at, ctx.zone)}.`);
  if (!needsReview(r)) return refuse(r, RefusalReason.NotReviewable, `Break-glass request ${r.id} ${standing(r.state)}; review it once it has ended.`);
  if (ctx.actor.aadObjectId.toLowerCase() === r.requester.aadObjectId.toLowerCase()) {
    return refuse(r, RefusalReason.SelfReview, `You used break-glass for request ${r.id}, so you cannot review it: a second person must.`);
  }
  if (!ctx.isApprover(ctx.actor)) {
    return refuse(r, RefusalReason.NotAnApprover, `You cannot review break-glass request ${r.id}: it needs ${rolesText(decidingRoles(r))}.`);
  }
  const at = ctx.now.toISOString();
  const text = comment?.trim() ? comment.trim().slice(0, 1000) : undefined;
  const review = { verdict, by: ctx.actor, at, ...(text ? { comment: text } : {}) };
  const updated = next(r, ctx.now, { breakGlass: { ...use, review } });
  const late = Date.parse(use.reviewDueAt) < ctx.now.getTime() ? ' (after its review was due)' : '';
  const event = requestEvent(updated, verdict === 'ratified' ? 'breakglass.ratified' : 'breakglass.flagged', at, { result: 'ok', detail: `${verdict} by ${distinctNamer(updated)(ctx.actor).name}${late}${text ? `: ${text}` : ''}` }, {
    actor: ctx.actor,
    ...(ctx.source ? { source: ctx.source } : {}),
  });
  return { ok: true, request: updated, events: [event] };
}

/** Whether a round of messages is one announcing a break-glass use, or its overdue review. */
export function breakGlassRound(occasion: RoundOccasion): occasion is 'break-glass' | 'review-overdue' {
  return occasion === 'break-glass' || occasion === 'review-overdue';
}

/** A break-glass use nobody has ratified or flagged yet (running or ended): its announcements still stand. */
export function reviewOpen(r: Pick<ApprovalRequest, 'breakGlass'>): boolean {
  return !!r.breakGlass && !r.breakGlass.review;
}

/**
 * When something about a break-glass use falls due, undefined when nothing does: its review, while
 * it waits for one not yet escalated; and a round of messages announcing it (or its overdue review)
 * still under way, from when that round began, so that one a crash cut short is found and taken up
 * again. The stores keep it as a column, so the overdue sweep and the round sweep read only these.
 */
export function breakGlassDueAt(r: ApprovalRequest): string | undefined {
  const review = needsReview(r) && !r.breakGlass?.overdueAt ? r.breakGlass?.reviewDueAt : undefined;
  const round = r.round && breakGlassRound(r.round.occasion) && reviewOpen(r) ? r.round.at : undefined;
  if (review === undefined || round === undefined) return review ?? round;
  return Date.parse(round) < Date.parse(review) ? round : review;
}

/** The review is past due and was not escalated yet. */
export function reviewOverdue(r: ApprovalRequest, now: Date): boolean {
  return needsReview(r) && !r.breakGlass?.overdueAt && Date.parse(r.breakGlass?.reviewDueAt ?? '') <= now.getTime();
}

/** Records that the review is overdue (once across instances: a compare-and-swap); the app escalates it. */
export function markReviewOverdue(r: ApprovalRequest, now: Date): Transition {
  if (!reviewOverdue(r, now)) return refuse(r, RefusalReason.NotReviewable, `Break-glass request ${r.id} has no overdue review.`);
  const at = now.toISOString();
  // The escalation role (when the policy has one) may review from now on, like an escalated request's deciders.
  const escalation = r.policy.escalation ? { escalation: { role: r.policy.escalation.role, at } } : {};
  const updated = next(r, now, { breakGlass: { ...r.breakGlass!, overdueAt: at }, ...escalation });
  const to = r.policy.escalation ? `escalated to ${r.policy.escalation.role}` : 'the approvers and the notice channels told again';
  const detail = `No one ratified or flagged break-glass request ${r.id} by ${r.breakGlass!.reviewDueAt}; ${to}.`;
  return { ok: true, request: updated, events: [requestEvent(updated, 'breakglass.review_overdue', at, { result: 'ok', detail })] };
}
