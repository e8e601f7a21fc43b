/**
 * Reaching the people who may decide a request: who they are, when a reminder or the escalation is
 * due, and the transitions that record them. Reminders and escalation are recorded on the request
 * (compare-and-swap) before anyone is told, so of several instances only the one whose write won
 * tells, and a restart neither repeats nor loses them.
 */
import { type AuditEventDraft, requestEvent } from '../audit';
import { formatDuration } from '../duration-text';
import { decidingRoles, type Roles } from '../policy';
import { RefusalReason } from '../refusal';
import { type ApprovalRequest, isDecidable, type Unreachable } from '../request';
import { next, refuse, type Transition } from './transition';

/** Why people are being told of the request. */
export type ReachOccasion = 'created' | 'reapproval' | 'escalated' | 'reminder' | 'break-glass' | 'review-overdue';

/** Whom a round of messages reached, and whom it could not. */
export interface ReachOutcome {
  occasion: ReachOccasion;
  reached: { id: string; name?: string }[];
  unreachable: Unreachable[];
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Everyone who may still decide the request (lowercase object ids): members of its deciding roles
 * (only the escalation role's when `onlyRole` names it), never the requester, nobody who approved it.
 */
export function peopleToDecide(r: ApprovalRequest, roles: Roles, onlyRole?: string): string[] {
  const ids = new Set<string>();
  for (const role of onlyRole ? [onlyRole] : decidingRoles(r)) for (const id of roles.membersOf(role)) ids.add(id.toLowerCase());
  ids.delete(r.requester.aadObjectId.toLowerCase());
  for (const a of r.approvals) ids.delete(a.approver.aadObjectId.toLowerCase());
  return [...ids];
}

/** The reminder point due now (the latest one passed and not yet handled), if a reminder is due. */
export function dueReminder(r: ApprovalRequest, now: Date): Date | undefined {
  const policy = r.policy.reminders;
  if (!policy || !isDecidable(r) || (r.reminders?.sent ?? 0) >= policy.max) return undefined;
  const expires = Date.parse(r.expiresAt);
  const opened = expires - r.policy.ttlSeconds * 1000;
  const last = r.reminders ? Date.parse(r.reminders.lastPointAt) : opened;
  const t = now.getTime();
  if (t >= expires) return undefined;
  const passed = policy.beforeExpirySeconds.map((s) => expires - s * 1000).filter((p) => p > opened && p > last && p <= t);
  // Several points passed at once (the bot was down): one reminder, not a burst.
  return passed.length > 0 ? new Date(Math.max(...passed)) : undefined;
}

/** Records that a reminder is being sent to `to` (before it is sent): audited, counted toward the maximum. */
export function remind(r: ApprovalRequest, now: Date, to: string[]): Transition {
  const point = dueReminder(r, now);
  if (!point) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has no reminder due.`);
  const sent = (r.reminders?.sent ?? 0) + 1;
  const updated = next(r, now, { reminders: { sent, lastPointAt: point.toISOString() } });
  const detail = `reminder ${sent} of at most ${r.policy.reminders!.max}; expires ${r.expiresAt}`;
  return { ok: true, request: updated, events: [requestEvent(updated, 'request.reminded', now.toISOString(), { result: 'ok', detail }, { data: { to } })] };
}

export function escalationDue(r: ApprovalRequest, now: Date): boolean {
  const e = r.policy.escalation;
  if (!e || r.escalation || !isDecidable(r)) return false;
  const t = now.getTime();
  return t >= Date.parse(r.createdAt) + e.afterSeconds * 1000 && t < Date.parse(r.expiresAt);
}

/** The request waited past the escalation delay: from now on the escalation role may decide it too. */
export function escalate(r: ApprovalRequest, now: Date): Transition {
  if (!escalationDue(r, now)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is not due for escalation.`);
  const e = r.policy.escalation!;
  const at = now.toISOString();
  const updated = next(r, now, { escalation: { role: e.role, at } });
  const detail = `No decision within ${formatDuration(e.afterSeconds)}: ${e.role} may decide it too.`;
  return { ok: true, request: updated, events: [requestEvent(updated, 'request.escalated', at, { result: 'ok', detail }, { data: { role: e.role } })] };
}

/** The audit records of a round of messages: who was reached, and one record per person who was not. */
export function reachEvents(r: ApprovalRequest, at: string, o: ReachOutcome): AuditEventDraft[] {
  const events: AuditEventDraft[] = [];
  if (o.reached.length > 0) {
    events.push(requestEvent(r, 'approvers.notified', at, { result: 'ok', detail: `${o.occasion}: ${o.reached.length} reached` }, { data: { occasion: o.occasion, reached: o.reached.map((p) => p.id) } }));
  }
  for (const u of o.unreachable) {
    events.push(requestEvent(r, 'approver.unreachable', at, { result: 'error', reason: 'unreachable', detail: u.why }, { data: { occasion: o.occasion, who: u.id, ...(u.name ? { name: u.name } : {}) } }));
  }
  return events;
}

/** Who cannot be reached after this round: those it could not reach replace older entries, those it reached leave the list. */
export function unreachableAfter(r: ApprovalRequest, o: ReachOutcome): Unreachable[] {
  const touched = [...o.reached.map((p) => p.id), ...o.unreachable.map((u) => u.id)];
  return [...(r.unreachable ?? []).filter((u) => !touched.some((id) => same(id, u.id))), ...o.unreachable];
}

/** Records a round of messages on the request (the card shows who could not be reached) with its audit records. */
export function recordReach(r: ApprovalRequest, now: Date, o: ReachOutcome): Transition {
  const unreachable = unreachableAfter(r, o);
  const updated = next(r, now, unreachable.length > 0 ? { unreachable } : {});
  if (unreachable.length === 0) delete updated.unreachable;
  return { ok: true, request: updated, events: reachEvents(updated, now.toISOString(), o) };
}
