/**
 * Approve now, run later:
 *
 *   (last approval) → scheduled, when the time asked for or the command's maintenance window is later
 *   scheduled → executing (due: execution.ts startExecution) | cancelled | expired (decision.ts)
 *
 * While scheduled, the approval stays valid for the policy's maxScheduleAhead from the moment it was
 * given (expiresAt); the drift check and the approvers' role re-check run right before it starts,
 * as for any execution.
 */
import { type AuditEventDraft, requestEvent } from '../audit';
import type { ApprovalRequest } from '../request';
import { DEFAULT_MAX_AHEAD_SECONDS, nextWindowMoment, plannedRun } from '../schedule';
import { RefusalReason } from '../refusal';
import { runsOnBreakGlass } from './break-glass';
import { next, refuse, type Transition } from './transition';

/** The just-approved request, scheduled, when it may not run at once; undefined when it runs now. */
export function scheduleIfLater(approved: ApprovalRequest, now: Date): { request: ApprovalRequest; event: AuditEventDraft } | undefined {
  const runAt = plannedRun(approved.policy.schedule, approved.requestedRunAt, now);
  if (runAt.getTime() <= now.getTime()) return undefined;
  const validity = approved.policy.schedule?.maxAheadSeconds ?? DEFAULT_MAX_AHEAD_SECONDS;
  // A run the validity cannot reach still waits: it expires unstarted, and says so.
  const expiresAt = new Date(now.getTime() + validity * 1000).toISOString();
  const request = { ...approved, state: 'scheduled' as const, runAt: runAt.toISOString(), expiresAt };
  const why = approved.policy.schedule?.windows.length ? 'in its maintenance window' : 'at the time asked for';
  const detail = `approved; runs ${why} at ${request.runAt}; the approval is valid until ${expiresAt}`;
  return { request, event: requestEvent(request, 'request.scheduled', now.toISOString(), { result: 'ok', detail }, { data: { runAt: request.runAt, validUntil: expiresAt } }) };
}

/**
 * Whether the command's maintenance windows (as the request recorded them) let it run now: always,
 * without any; and always for a break-glass use that never drifted, which runs at once or not at all
 * (deferred to a window, it would run days later on no approval, when nobody could yet review it).
 */
export function windowOpen(r: Pick<ApprovalRequest, 'policy'> & Partial<Pick<ApprovalRequest, 'breakGlass' | 'drift'>>, now: Date): boolean {
  if (runsOnBreakGlass(r)) return true;
  const windows = r.policy.schedule?.windows ?? [];
  return windows.length === 0 || nextWindowMoment(windows, now)?.getTime() === now.getTime();
}

/**
 * A scheduled request whose time has come, inside one of its maintenance windows when its command
 * has any (the sweep starts it; the claim makes it run once). A window that closed before anyone
 * started it (no instance was running) is never run late: see missedWindow.
 */
export function scheduleDue(r: Pick<ApprovalRequest, 'state' | 'runAt' | 'policy'> & Partial<Pick<ApprovalRequest, 'breakGlass' | 'drift'>>, now: Date): boolean {
  return r.state === 'scheduled' && r.runAt !== undefined && Date.parse(r.runAt) <= now.getTime() && windowOpen(r, now);
}

/**
 * A request whose maintenance window closed before it was started (Countersign was not running then,
 * or its start could not be written): scheduled for a time now past, or approved inside its window.
 */
export function missedWindow(r: Pick<ApprovalRequest, 'state' | 'runAt' | 'policy'> & Partial<Pick<ApprovalRequest, 'breakGlass' | 'drift'>>, now: Date): boolean {
  if (windowOpen(r, now)) return false;
  return r.state === 'approved' || (r.state === 'scheduled' && r.runAt !== undefined && Date.parse(r.runAt) <= now.getTime());
}

/**
 * A request that missed its window, moved to the window's next opening and recorded as
 * request.scheduled again, so that card, records and requester say when it runs. An opening after
 * the approval's validity is not reached: the request then expires unstarted at expiresAt.
 */
export function moveToNextOpening(r: ApprovalRequest, now: Date): Transition {
  if (!missedWindow(r, now)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} did not miss its maintenance window.`);
  const opening = nextWindowMoment(r.policy.schedule?.windows ?? [], now);
  // An approved one was due when it was approved: its approval holds maxScheduleAhead from then, as a scheduled one's does.
  const approvedAt = r.approvals.map((a) => a.at).sort().at(-1) ?? r.updatedAt;
  const validUntil = r.state === 'scheduled' ? r.expiresAt : new Date(Date.parse(approvedAt) + (r.policy.schedule?.maxAheadSeconds ?? DEFAULT_MAX_AHEAD_SECONDS) * 1000).toISOString();
  const due = r.state === 'scheduled' ? r.runAt! : approvedAt;
  const runAt = (opening ?? new Date(validUntil)).toISOString();
  const updated = next(r, now, { state: 'scheduled', runAt, expiresAt: validUntil });
  const then = opening && opening.getTime() < Date.parse(validUntil) ? `runs in the next opening, at ${runAt}` : `no opening comes before its approval ends at ${validUntil}, so it will expire unstarted`;
  const detail = `missed its maintenance window: it was due at ${due}, and the window closed before Countersign could start it (no instance was running, or its start could not be recorded); ${then}`;
  return {
    ok: true,
    request: updated,
    events: [requestEvent(updated, 'request.scheduled', now.toISOString(), { result: 'ok', detail }, { data: { runAt, validUntil, missed: due } })],
  };
}
