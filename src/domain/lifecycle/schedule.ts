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
import { DEFAULT_MAX_AHEAD_SECONDS, plannedRun } from '../schedule';

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

/** A scheduled request whose time has come (the sweep starts it; the claim makes it run once). */
export function scheduleDue(r: Pick<ApprovalRequest, 'state' | 'runAt'>, now: Date): boolean {
  return r.state === 'scheduled' && r.runAt !== undefined && Date.parse(r.runAt) <= now.getTime();
}
