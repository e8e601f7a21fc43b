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
import { utcText } from '../delegation-time';
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
 * When the request was last approved; a break-glass use approved by nobody: when it was used. Never
 * the row's last change: a later write that decides nothing (the round of notices announcing the use,
 * taken up again after a restart) would make a use days old count as just made, and run; nor would
 * it put off the start of an approved request nobody runs (app/execution.ts runStranded).
 */
export function lastApprovedAt(r: Pick<ApprovalRequest, 'approvals' | 'updatedAt'> & Partial<Pick<ApprovalRequest, 'breakGlass'>>): string {
  return r.approvals.map((a) => a.at).sort().at(-1) ?? r.breakGlass?.usedAt ?? r.updatedAt;
}

/**
 * Until when the approval of an `approved` request holds: an approved one was due when it was
 * approved, so its approval holds maxScheduleAhead from its last approval, as a scheduled one's does.
 */
function approvalValidUntil(r: Pick<ApprovalRequest, 'approvals' | 'updatedAt' | 'policy'> & Partial<Pick<ApprovalRequest, 'breakGlass'>>): Date {
  return new Date(Date.parse(lastApprovedAt(r)) + (r.policy.schedule?.maxAheadSeconds ?? DEFAULT_MAX_AHEAD_SECONDS) * 1000);
}

/**
 * An approved request its approval no longer covers: nothing started it in time (no instance was
 * running for that long, its start kept failing, or the database was restored from an old copy). It
 * must not run on an approval given so long ago, whatever still matches: it expires unstarted.
 */
export function approvalLapsed(r: Pick<ApprovalRequest, 'state' | 'approvals' | 'updatedAt' | 'policy'> & Partial<Pick<ApprovalRequest, 'breakGlass'>>, now: Date): boolean {
  return r.state === 'approved' && now.getTime() >= approvalValidUntil(r).getTime();
}

/**
 * Until when the approval an executing request was claimed on holds: a scheduled run's until the
 * expiresAt its schedule set, any other's maxScheduleAhead after its last approval (or break-glass
 * use). A resumed execution that has not sent its operation yet (its run died after the claim) sends
 * it no later: days after the claim, the approval no longer covers it, as it would not an unstarted one.
 */
export function claimedApprovalValidUntil(r: Pick<ApprovalRequest, 'approvals' | 'updatedAt' | 'policy' | 'expiresAt'> & Partial<Pick<ApprovalRequest, 'breakGlass' | 'runAt'>>): Date {
  return r.runAt !== undefined ? new Date(r.expiresAt) : approvalValidUntil(r);
}

/**
 * Why an approved request (as it stood, approved) expired unstarted, its times as `at` writes them:
 * in UTC in the stored detail and the `request.expired` record; in the reader's zone in the message
 * its requester is told (execution-start.ts).
 */
export function approvalLapsedText(r: Pick<ApprovalRequest, 'approvals' | 'updatedAt' | 'policy'> & Partial<Pick<ApprovalRequest, 'breakGlass'>>, at: (iso: string) => string = utcText): string {
  return `Not executed: it was approved at ${at(lastApprovedAt(r))} but had not started when its approval stopped being valid at ${at(approvalValidUntil(r).toISOString())} (maxScheduleAhead after the last approval; Countersign was not running, or could not start it, in that time). Ask again.`;
}

/** approved → expired: its approval lapsed before anything started it (approvalLapsed). */
export function expireUnstarted(r: ApprovalRequest, now: Date): Transition {
  if (!approvalLapsed(r, now)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${r.state === 'approved' ? 'still validly approved' : 'not approved'}.`);
  const validUntil = approvalValidUntil(r).toISOString();
  const detail = approvalLapsedText(r);
  const updated = next(r, now, { state: 'expired', outcomeDetail: detail });
  return { ok: true, request: updated, events: [requestEvent(updated, 'request.expired', now.toISOString(), { result: 'ok', detail }, { data: { validUntil } })] };
}

/** The states a loss of audit records expires a request in (expireAfterAuditLoss): still open, not yet claimed. */
export const OPEN_AT_AUDIT_LOSS = ['pending', 'needs_reapproval', 'approved', 'scheduled'] as const;

const WAS_AT_AUDIT_LOSS: Record<(typeof OPEN_AT_AUDIT_LOSS)[number], string> = {
  pending: 'waiting for approval',
  needs_reapproval: 'waiting for approval again',
  approved: 'approved',
  scheduled: 'scheduled',
};

/**
 * pending, needs_reapproval, approved or scheduled → expired: an operator accepted a loss of audit
 * records (countersign audit accept-loss) while it was still open. What was lost may hold its
 * execution (a claim, Azure's answer) or, for one waiting for approval, its approval and execution,
 * or its rejection or cancellation: whether it already ran, or was refused, is not known, so it must
 * not run again on its own, nor be offered to approvers again as if nothing had happened (a second
 * approval would run it twice, or overturn a rejection). `head` is where the log ended when the loss
 * was accepted.
 */
export function expireAfterAuditLoss(r: ApprovalRequest, now: Date, head: number | undefined): Transition {
  const state = OPEN_AT_AUDIT_LOSS.find((s) => s === r.state);
  if (!state) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${r.state}, no longer open.`);
  const log = head === undefined ? 'the log was then empty' : `the log then ended at record ${head}`;
  const lost =
    state === 'pending' || state === 'needs_reapproval'
      ? 'what was lost may show it was approved and already ran (or was rejected or cancelled), so it is not offered for approval again'
      : 'what was lost may show it already ran, so it does not run again on its own';
  const detail = `Not executed: it was ${WAS_AT_AUDIT_LOSS[state]} when a loss of audit records was accepted (countersign audit accept-loss; ${log}), and ${lost}. Check the target in Azure; ask again if it is still needed.`;
  const updated = next(r, now, { state: 'expired', outcomeDetail: detail, expiredAtAuditLoss: { at: now.toISOString(), head: head ?? null } });
  return { ok: true, request: updated, events: [requestEvent(updated, 'request.expired', now.toISOString(), { result: 'ok', detail }, { data: { afterAuditLoss: head ?? null } })] };
}

/** What a `request.scheduled` record of a missed window keeps in `data`. */
export interface MissedWindow {
  runAt: string;
  validUntil: string;
  /** When it was due. */
  missed: string;
}

/**
 * Why a request did not run in its window and when it runs now, its times as `at` writes them: the
 * `request.scheduled` record's detail keeps the ISO instants (as it always has); the message its
 * requester is told renders them in the requester's zone (app/schedule.ts). It runs at the next
 * opening when that comes before its approval ends (moveToNextOpening then puts it at validUntil or
 * later otherwise).
 */
export function missedWindowText(w: MissedWindow, at: (iso: string) => string = (iso) => iso): string {
  const then = Date.parse(w.runAt) < Date.parse(w.validUntil) ? `runs in the next opening, at ${at(w.runAt)}` : `no opening comes before its approval ends at ${at(w.validUntil)}, so it will expire unstarted`;
  return `missed its maintenance window: it was due at ${at(w.missed)}, and the window closed before Countersign could start it (no instance was running, or its start could not be recorded); ${then}`;
}

/**
 * A request that missed its window, moved to the window's next opening and recorded as
 * request.scheduled again, so that card, records and requester say when it runs. An opening after
 * the approval's validity is not reached: the request then expires unstarted at expiresAt.
 */
export function moveToNextOpening(r: ApprovalRequest, now: Date): Transition {
  if (!missedWindow(r, now)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} did not miss its maintenance window.`);
  const opening = nextWindowMoment(r.policy.schedule?.windows ?? [], now);
  const approvedAt = lastApprovedAt(r);
  const validUntil = r.state === 'scheduled' ? r.expiresAt : approvalValidUntil(r).toISOString();
  const due = r.state === 'scheduled' ? r.runAt! : approvedAt;
  const runAt = (opening ?? new Date(validUntil)).toISOString();
  const updated = next(r, now, { state: 'scheduled', runAt, expiresAt: validUntil });
  const detail = missedWindowText({ runAt, validUntil, missed: due });
  return {
    ok: true,
    request: updated,
    events: [requestEvent(updated, 'request.scheduled', now.toISOString(), { result: 'ok', detail }, { data: { runAt, validUntil, missed: due } })],
  };
}
