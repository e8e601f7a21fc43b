/**
 * The request lifecycle as pure transitions:
 *
 *   pending → approved → executing → succeeded | failed | unknown
 *   pending → rejected | cancelled | expired
 *   approved → failed (an approver lost the role before execution)
 *
 * Each transition returns the next request (version + 1) and the audit events that must be
 * committed with it, or a typed refusal. Nothing here does I/O or reads a clock.
 */
import { type AuditEventDraft, requestEvent } from './audit';
import type { ArmOperationRef, ExecutionOutcome, OperationProgress } from './operation';
import { type Refusal, RefusalReason, refusal } from './refusal';
import type { Actor, ApprovalRequest, Source } from './request';

export type Transition =
  | { ok: true; request: ApprovalRequest; events: AuditEventDraft[] }
  | { ok: false; refusal: Refusal };

export interface DecisionContext {
  now: Date;
  actor: Actor;
  source?: Source;
  /** Does this person hold one of the request's approver roles (tenant included)? */
  isApprover(actor: Actor): boolean;
  /** The operation hash the clicked card showed; a different one means the card is stale. */
  cardHash?: string;
}

function next(r: ApprovalRequest, now: Date, changes: Partial<ApprovalRequest>): ApprovalRequest {
  return { ...r, ...changes, version: r.version + 1, updatedAt: now.toISOString() };
}

function refuse(r: ApprovalRequest, reason: RefusalReason, message: string): Transition {
  return { ok: false, refusal: refusal(reason, message, r.id) };
}

export function isPastExpiry(r: ApprovalRequest, now: Date): boolean {
  return now.getTime() >= Date.parse(r.expiresAt);
}

/** Checks shared by approve and reject: state, expiry, stale card, self, role. */
function checkDecider(r: ApprovalRequest, ctx: DecisionContext, verb: 'approve' | 'reject'): Transition | undefined {
  if (r.state !== 'pending') {
    return refuse(r, r.state === 'expired' ? RefusalReason.Expired : RefusalReason.AlreadyDecided, `Request ${r.id} is already ${r.state}; it can no longer be ${verb === 'approve' ? 'approved' : 'rejected'}.`);
  }
  if (isPastExpiry(r, ctx.now)) {
    return refuse(r, RefusalReason.Expired, `Request ${r.id} expired at ${r.expiresAt}; ask for it again if it is still needed.`);
  }
  if (ctx.cardHash !== undefined && ctx.cardHash !== r.operationHash) {
    return refuse(r, RefusalReason.StaleCard, `This card for request ${r.id} is out of date; the operation it shows is not the one pending. Use the latest card.`);
  }
  if (ctx.actor.aadObjectId.toLowerCase() === r.requester.aadObjectId.toLowerCase()) {
    return refuse(
      r,
      RefusalReason.SelfApproval,
      verb === 'approve'
        ? `You asked for request ${r.id}, so you cannot approve it: a second person must.`
        : `You asked for request ${r.id}; use Cancel to withdraw it.`,
    );
  }
  if (!ctx.isApprover(ctx.actor)) {
    return refuse(r, RefusalReason.NotAnApprover, `You cannot ${verb} request ${r.id}: it needs one of the roles ${r.policy.approverRoles.join(', ')}.`);
  }
  return undefined;
}

export function approve(r: ApprovalRequest, ctx: DecisionContext): Transition {
  const denied = checkDecider(r, ctx, 'approve');
  if (denied) return denied;
  const actorId = ctx.actor.aadObjectId.toLowerCase();
  if (r.approvals.some((a) => a.approver.aadObjectId.toLowerCase() === actorId)) {
    return refuse(r, RefusalReason.AlreadyApprovedByYou, `You already approved request ${r.id}; it needs ${r.policy.approvals} approval(s) from different people.`);
  }
  const at = ctx.now.toISOString();
  const approvals = [...r.approvals, { approver: ctx.actor, at, operationHash: r.operationHash }];
  const complete = approvals.length >= r.policy.approvals;
  const updated = next(r, ctx.now, { approvals, state: complete ? 'approved' : 'pending' });
  const extra = { actor: ctx.actor, ...(ctx.source ? { source: ctx.source } : {}) };
  const events = [
    requestEvent(updated, 'approval.granted', at, { result: 'ok', detail: `approval ${approvals.length} of ${r.policy.approvals}` }, extra),
  ];
  if (complete) events.push(requestEvent(updated, 'request.approved', at, { result: 'ok' }, extra));
  return { ok: true, request: updated, events };
}

export function reject(r: ApprovalRequest, ctx: DecisionContext, comment: string | undefined): Transition {
  const denied = checkDecider(r, ctx, 'reject');
  if (denied) return denied;
  const at = ctx.now.toISOString();
  const text = comment?.trim() ? comment.trim().slice(0, 1000) : undefined;
  const updated = next(r, ctx.now, { state: 'rejected', rejection: { by: ctx.actor, at, ...(text ? { comment: text } : {}) } });
  const event = requestEvent(updated, 'request.rejected', at, { result: 'ok', ...(text ? { detail: text } : {}) }, {
    actor: ctx.actor,
    ...(ctx.source ? { source: ctx.source } : {}),
  });
  return { ok: true, request: updated, events: [event] };
}

export function cancel(r: ApprovalRequest, ctx: Omit<DecisionContext, 'isApprover'>): Transition {
  if (ctx.actor.aadObjectId.toLowerCase() !== r.requester.aadObjectId.toLowerCase()) {
    return refuse(r, RefusalReason.NotRequester, `Only ${r.requester.name}, who asked for request ${r.id}, can cancel it.`);
  }
  if (r.state !== 'pending') {
    return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is already ${r.state}; it can no longer be cancelled.`);
  }
  if (isPastExpiry(r, ctx.now)) {
    return refuse(r, RefusalReason.Expired, `Request ${r.id} expired at ${r.expiresAt}.`);
  }
  const at = ctx.now.toISOString();
  const updated = next(r, ctx.now, { state: 'cancelled', cancellation: { by: ctx.actor, at } });
  const event = requestEvent(updated, 'request.cancelled', at, { result: 'ok' }, {
    actor: ctx.actor,
    ...(ctx.source ? { source: ctx.source } : {}),
  });
  return { ok: true, request: updated, events: [event] };
}

export function expire(r: ApprovalRequest, now: Date): Transition {
  if (r.state !== 'pending') return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${r.state}, not pending.`);
  if (!isPastExpiry(r, now)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has not expired yet.`);
  const at = now.toISOString();
  const detail = `No decision before ${r.expiresAt}.`;
  const updated = next(r, now, { state: 'expired', outcomeDetail: detail });
  return { ok: true, request: updated, events: [requestEvent(updated, 'request.expired', at, { result: 'ok', detail })] };
}

/**
 * Claims an approved request for execution. Approvers' roles are checked again here (the
 * configuration may have changed since they clicked); approvals that no longer count can leave
 * the request short, and then it fails without touching Azure.
 */
export function startExecution(r: ApprovalRequest, now: Date, stillApprover: (actor: Actor) => boolean): Transition {
  if (r.state !== 'approved') return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${r.state}, not approved.`);
  const at = now.toISOString();
  const valid = r.approvals.filter((a) => a.operationHash === r.operationHash && stillApprover(a.approver));
  if (valid.length < r.policy.approvals) {
    const lost = r.approvals.filter((a) => !valid.includes(a)).map((a) => a.approver.name);
    const detail = `Not executed: ${lost.join(', ')} no longer hold(s) the approver role; ${valid.length} of ${r.policy.approvals} approval(s) still count.`;
    const updated = next(r, now, { state: 'failed', outcomeDetail: detail });
    return {
      ok: true,
      request: updated,
      events: [requestEvent(updated, 'approval.revoked', at, { result: 'refused', reason: RefusalReason.ApproverLostRole, detail })],
    };
  }
  const updated = next(r, now, { state: 'executing', execution: { startedAt: at, ref: { resourceIds: [] } } });
  return {
    ok: true,
    request: updated,
    events: [requestEvent(updated, 'execution.started', at, { result: 'ok' }, { execution: { status: 'started' } })],
  };
}

/** ARM accepted the operation: its ids are recorded before polling starts. */
export function recordStarted(r: ApprovalRequest, ref: ArmOperationRef, now: Date): Transition {
  if (r.state !== 'executing' || !r.execution) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${r.state}, not executing.`);
  const updated = next(r, now, { execution: { ...r.execution, ref } });
  const event = requestEvent(updated, 'execution.progressed', now.toISOString(), { result: 'ok', detail: 'accepted by Azure Resource Manager' }, {
    execution: executionRef(ref, 'accepted'),
  });
  return { ok: true, request: updated, events: [event] };
}

export function recordProgress(r: ApprovalRequest, progress: OperationProgress, now: Date): Transition {
  if (r.state !== 'executing' || !r.execution) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${r.state}, not executing.`);
  const updated = next(r, now, { execution: { ...r.execution, progress } });
  const detail = progress.total ? `${progress.state}: ${progress.done ?? 0} of ${progress.total} operation(s) done` : progress.state;
  const event = requestEvent(updated, 'execution.progressed', now.toISOString(), { result: 'ok', detail }, {
    execution: executionRef(r.execution.ref, progress.state),
  });
  return { ok: true, request: updated, events: [event] };
}

export function finishExecution(r: ApprovalRequest, outcome: ExecutionOutcome, now: Date): Transition {
  if (r.state !== 'executing' || !r.execution) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${r.state}, not executing.`);
  const at = now.toISOString();
  const ref = mergeRefs(r.execution.ref, outcome.ref);
  const execution = { ...r.execution, ref, finishedAt: at };
  if (outcome.status === 'succeeded') {
    const updated = next(r, now, {
      state: 'succeeded',
      execution: { ...execution, ...(outcome.outputs ? { outputs: outcome.outputs } : {}), ...(outcome.summary ? { summary: outcome.summary } : {}) },
      ...(outcome.summary ? { outcomeDetail: outcome.summary } : {}),
    });
    const event = requestEvent(updated, 'execution.succeeded', at, { result: 'ok', ...(outcome.summary ? { detail: outcome.summary } : {}) }, {
      execution: executionRef(ref, 'succeeded'),
    });
    return { ok: true, request: updated, events: [event] };
  }
  const state = outcome.status;
  const detail = `${outcome.error.code}: ${outcome.error.message}`;
  const updated = next(r, now, { state, execution: { ...execution, error: outcome.error }, outcomeDetail: detail });
  const event = requestEvent(
    updated,
    state === 'failed' ? 'execution.failed' : 'execution.unknown',
    at,
    { result: state === 'failed' ? 'error' : 'unknown', reason: outcome.error.code, detail },
    { execution: executionRef(ref, state) },
  );
  return { ok: true, request: updated, events: [event] };
}

function mergeRefs(a: ArmOperationRef, b: ArmOperationRef): ArmOperationRef {
  return { ...a, ...b, resourceIds: [...new Set([...a.resourceIds, ...b.resourceIds])] };
}

function executionRef(ref: ArmOperationRef, status: string) {
  return {
    ...(ref.correlationId ? { correlationId: ref.correlationId } : {}),
    // The poll URL's query can carry signed parameters: only its path is recorded.
    operationIds: [...ref.resourceIds, ...(ref.pollUrl ? [ref.pollUrl.split('?')[0]] : [])],
    status,
  };
}
