/**
 * Break-glass, off by default: a command whose policy allows it may be run at once, without approval,
 * by a member of its break-glass roles who gives a reason. Every other check runs as for any request
 * (requester roles, conversation, parameters, drift right before execution). It is loud (the approvers
 * in personal chats and the policy's notice channels get the card with a BREAK-GLASS line) and
 * reviewed after the fact: an approver, never the requester, ratifies or flags it within the policy's
 * reviewWithin; an overdue review is audited and escalated (to the escalation role when the policy
 * has one, else the approvers and notice channels again), once across instances.
 */
import { neutralise, requestRef } from '../domain/audit';
import { breakGlassRefusal, markReviewOverdue, peopleToDecide, reviewOverdue } from '../domain/lifecycle';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import type { Actor, ApprovalRequest, Source } from '../domain/request';
import { transact, type AppDeps } from './context';
import { notifyPolicy, reach } from './notifications';
import { auditRefused, type RequestAttempt } from './request-gate';

/** The break-glass checks before the usual request checks: allowed for the command, by this person, with a reason (refusals audited). */
export async function breakGlassGate(deps: AppDeps, attempt: RequestAttempt): Promise<Refusal | undefined> {
  const scheduled = attempt.runAt ? refusal(RefusalReason.RunTimeRefused, 'Break-glass runs at once: it cannot wait for a time (drop "at ..."), and a change that can wait can be approved. Nothing was run.') : undefined;
  const refused = scheduled ?? breakGlassRefusal(attempt.command, attempt.actor, deps.config.access.roles, attempt.reason);
  return refused ? auditRefused(deps, attempt, refused, { breakGlass: true }) : undefined;
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

/** The loud notice: every approver in a personal chat, the notice channels and approval channels, with the card. */
export async function tellBreakGlass(deps: AppDeps, r: ApprovalRequest, occasion: 'break-glass' | 'review-overdue'): Promise<void> {
  const roles = deps.config.access.roles;
  const escalated = occasion === 'review-overdue' && r.escalation ? r.escalation.role : undefined;
  // Everyone who may review (the requester never): after escalation, the escalation role.
  const people = peopleToDecide(r, roles, escalated);
  const channels = [...new Set([...(r.policy.breakGlass?.notify ?? []), ...notifyPolicy(r).channels])];
  const text =
    occasion === 'break-glass'
      ? `BREAK-GLASS: ${r.requester.name} ran request ${r.id} (${r.command}) without approval. Reason: ${r.breakGlass?.reason}. An approver must ratify or flag it on the card by ${r.breakGlass?.reviewDueAt}.`
      : `BREAK-GLASS REVIEW OVERDUE: nobody ratified or flagged request ${r.id} (${r.command}, run by ${r.requester.name} without approval) by ${r.breakGlass?.reviewDueAt}. Review it on the card below.`;
  await reach(deps, r, occasion, { people, channels }, text);
}

/** Escalates every break-glass review past due; returns the request ids. */
export async function sweepBreakGlassReviews(deps: AppDeps): Promise<string[]> {
  const now = deps.clock.now();
  // Only the requests whose review is waiting and due: not every request that ever ended.
  const due = await deps.store.requests.list({ states: ['succeeded', 'failed', 'unknown', 'cancelled'], reviewDueBy: now.toISOString() });
  const overdue: string[] = [];
  for (const r of due.filter((x) => reviewOverdue(x, now))) {
    const outcome = await transact(deps, r.id, (current) => markReviewOverdue(current, now));
    if (!outcome?.result.ok) continue;
    overdue.push(r.id);
    await tellBreakGlass(deps, outcome.result.request, 'review-overdue');
  }
  if (overdue.length > 0) deps.log.warn({ overdue }, 'break-glass reviews overdue, escalated');
  return overdue;
}
