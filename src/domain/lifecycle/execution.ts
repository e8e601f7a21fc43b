/**
 * Executing an approved request, held under a lease:
 *
 *   executing → succeeded | failed | unknown | cancelled (a deployment stopped in Azure)
 *
 * How an approved request becomes executing (the claim), or is found drifted, is claim.ts.
 *
 * The lease (owner, expiry) is renewed while the operation runs; a run of Countersign whose lease
 * expired (it died) is taken over by another, which resumes the same ARM operation.
 */
import { leaseLapsed } from '../lease-time';
import { requestEvent, type AuditEventDraft } from '../audit';
import type { ArmOperationRef, ExecutionOutcome, OperationProgress } from '../operation';
import { decidingRoles, rolesText } from '../policy';
import { RefusalReason } from '../refusal';
import { deciderText } from '../delegation';
import { distinctNamer } from '../display-names';
import { standing, type ApprovalRequest, type Execution, type ExecutionLease } from '../request';
import { bookkeeping, type DecisionContext, next, refuse, type Transition } from './transition';
import { utcText, zonedText } from '../delegation-time';
import type { ExecutionClaim } from './claim';

function checkExecuting(r: ApprovalRequest, owner?: string): Transition | undefined {
  if (r.state !== 'executing' || !r.execution) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${r.state}, not executing.`);
  const lease = r.execution.lease;
  if (owner !== undefined && lease && lease.owner !== owner) {
    return refuse(r, RefusalReason.LeaseLost, `Request ${r.id} is being executed by ${lease.owner} now, not by ${owner}.`);
  }
  return undefined;
}

/** The owner keeps its lease for longer while the operation runs. No audit event: nothing happened in Azure. */
export function renewLease(r: ApprovalRequest, owner: string, until: Date, now: Date): Transition {
  const denied = checkExecuting(r, owner);
  if (denied) return denied;
  const execution = r.execution as Execution;
  return { ok: true, request: next(r, now, { execution: { ...execution, lease: { owner, expiresAt: until.toISOString() } } }), events: [] };
}

/**
 * The owner stops (a graceful shutdown) and lets another run take the execution over at once: its
 * lease ends at `leaseNow`, the time on the clock leases are judged by (default `now`).
 */
export function releaseLease(r: ApprovalRequest, owner: string, now: Date, leaseNow: Date = now): Transition {
  const released = renewLease(r, owner, leaseNow, now);
  if (!released.ok) return released;
  const execution = released.request.execution as Execution;
  return { ...released, request: { ...released.request, execution: { ...execution, lease: { ...(execution.lease as ExecutionLease), releasedAt: now.toISOString() } } } };
}

/**
 * Another run of Countersign takes over an execution whose lease expired (its owner died or stopped).
 * It resumes following the same ARM operation; it never starts it again.
 */
export function resumeExecution(r: ApprovalRequest, claim: ExecutionClaim, now: Date): Transition {
  const denied = checkExecuting(r);
  if (denied) return denied;
  const execution = r.execution as Execution;
  const previous = execution.lease;
  // The claim's own period tells how far ahead a lease can be when the clock did not step (lease-time.ts).
  const judgedAt = claim.at ?? now;
  if (previous && !leaseLapsed(previous.expiresAt, judgedAt, claim.leaseUntil.getTime() - judgedAt.getTime()) && previous.owner !== claim.owner) {
    return refuse(r, RefusalReason.LeaseHeld, `Request ${r.id} is being executed by ${previous.owner} until ${utcText(previous.expiresAt)}.`);
  }
  const at = now.toISOString();
  const updated = next(r, now, {
    execution: {
      ...execution,
      lease: { owner: claim.owner, expiresAt: claim.leaseUntil.toISOString() },
      resumedAt: [...(execution.resumedAt ?? []), at],
    },
  });
  const following = execution.ref.pollUrl || execution.ref.resumeState ? 'following the ARM operation it had started' : 'reconciling from the target\'s state (no ARM answer had been recorded)';
  const before = !previous ? 'No run held the execution' : previous.releasedAt ? `${previous.owner} let its lease go at ${previous.releasedAt}` : `The lease of ${previous.owner} expired at ${previous.expiresAt}`;
  const detail = `${before}; ${claim.owner} resumed it, ${following}.`;
  const event = requestEvent(updated, 'execution.resumed', at, { result: 'ok', detail }, { execution: executionRef(execution.ref, 'resumed') });
  return { ok: true, request: updated, events: [event] };
}

/** ARM accepted the operation: its ids are recorded before polling starts. */
export function recordStarted(r: ApprovalRequest, ref: ArmOperationRef, now: Date, owner?: string): Transition {
  const denied = checkExecuting(r, owner);
  if (denied) return denied;
  const execution = r.execution as Execution;
  const updated = next(r, now, { execution: { ...execution, ref } });
  const event = requestEvent(updated, 'execution.progressed', now.toISOString(), { result: 'ok', detail: 'accepted by Azure Resource Manager' }, {
    execution: executionRef(ref, 'accepted'),
  });
  return { ok: true, request: updated, events: [event] };
}

export function recordProgress(r: ApprovalRequest, progress: OperationProgress, now: Date, owner?: string): Transition {
  const denied = checkExecuting(r, owner);
  if (denied) return denied;
  const execution = r.execution as Execution;
  const updated = next(r, now, { execution: { ...execution, progress } });
  const detail = progress.total ? `${progress.state}: ${progress.done ?? 0} of ${progress.total} operation(s) done` : progress.state;
  const event = requestEvent(updated, 'execution.progressed', now.toISOString(), { result: 'ok', detail }, {
    execution: executionRef(execution.ref, progress.state),
  });
  return { ok: true, request: updated, events: [event] };
}

/**
 * Whether a running request's operation can be asked to stop: a deployment (Azure cancels nothing
 * else once started), not asked already. What a card shows its Stop button for; `requestCancellation`
 * decides who, and refuses the rest in words.
 */
export function stoppable(r: ApprovalRequest): boolean {
  return r.state === 'executing' && r.operation.kind === 'deployTemplate' && !r.execution?.cancellation;
}

/**
 * The requester or an approver asks Azure to stop a running deployment. The request keeps executing
 * until Azure reports how the deployment ended; only deployments can be cancelled in ARM.
 */
export function requestCancellation(r: ApprovalRequest, ctx: DecisionContext): Transition {
  const denied = checkExecuting(r);
  if (denied) {
    return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} ${standing(r.state)}; there is no running operation to cancel.`);
  }
  const execution = r.execution as Execution;
  const isRequester = ctx.actor.aadObjectId.toLowerCase() === r.requester.aadObjectId.toLowerCase();
  // An approver's delegate may stop it on their behalf, as they may reject or cancel before it runs.
  if (!isRequester && !ctx.isApprover(ctx.onBehalfOf ?? ctx.actor)) {
    return refuse(
      r,
      RefusalReason.NotAllowedToCancel,
      `Only ${distinctNamer(r, [ctx.actor])(r.requester).name}, who asked for request ${r.id}, or someone with ${rolesText(decidingRoles(r))} can cancel it.`,
    );
  }
  if (r.operation.kind !== 'deployTemplate') {
    return refuse(r, RefusalReason.NotCancellable, `Request ${r.id} runs a ${r.operation.kind} operation, which Azure cannot cancel once started; only deployments can be cancelled.`);
  }
  if (execution.cancellation) {
    return refuse(r, RefusalReason.AlreadyDecided, `${distinctNamer(r, [ctx.actor])(execution.cancellation.by).name} already asked to cancel request ${r.id} at ${zonedText(execution.cancellation.at, ctx.zone)}.`);
  }
  const at = ctx.now.toISOString();
  const onBehalfOf = !isRequester && ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf, ...(ctx.delegationId ? { delegationId: ctx.delegationId } : {}) } : {};
  const updated = next(r, ctx.now, { execution: { ...execution, cancellation: { by: ctx.actor, at, ...onBehalfOf } } });
  const by = 'onBehalfOf' in onBehalfOf ? ` by ${deciderText({ by: ctx.actor, onBehalfOf: ctx.onBehalfOf }, distinctNamer(updated))}` : '';
  const event = requestEvent(updated, 'execution.cancel_requested', at, { result: 'ok', detail: `cancellation of deployment ${r.operation.deploymentName} requested${by}` }, {
    actor: ctx.actor,
    ...(ctx.source ? { source: ctx.source } : {}),
    execution: executionRef(execution.ref, 'cancel-requested'),
    ...('onBehalfOf' in onBehalfOf ? { data: onBehalfOf } : {}),
  });
  return { ok: true, request: updated, events: [event] };
}

/**
 * Azure refused to stop the deployment a cancellation was asked for (it had ended already, the
 * caller lacks the right), audited (`execution.cancel_requested`, CancelRefused). A write no card
 * shows (bookkeeping): the app owes the requester the refusal in the same write
 * (outcome-message.ts), so a run killed before Teams took the message leaves it owed, not lost. The
 * request may have ended meanwhile (Azure refused because it had).
 */
export function cancelRefused(r: ApprovalRequest, now: Date, detail: string): Transition {
  if (!r.execution?.cancellation) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has no cancellation asked for.`);
  const updated = bookkeeping(r, now, {});
  return { ok: true, request: updated, events: [requestEvent(updated, 'execution.cancel_requested', now.toISOString(), { result: 'error', reason: 'CancelRefused', detail })] };
}

export function finishExecution(r: ApprovalRequest, outcome: ExecutionOutcome, now: Date, owner?: string): Transition {
  const denied = checkExecuting(r, owner);
  if (denied) return denied;
  const current = r.execution as Execution;
  const at = now.toISOString();
  const ref = mergeRefs(current.ref, outcome.ref);
  const { lease: _done, ...rest } = current;
  const execution = { ...rest, ref, finishedAt: at };
  if (outcome.status === 'succeeded') {
    const updated = next(r, now, {
      state: 'succeeded',
      execution: { ...execution, ...(outcome.outputs ? { outputs: outcome.outputs } : {}), ...(outcome.withheldOutputs?.length ? { withheldOutputs: outcome.withheldOutputs } : {}), ...(outcome.summary ? { summary: outcome.summary } : {}) },
      ...(outcome.summary ? { outcomeDetail: outcome.summary } : {}),
    });
    const event = requestEvent(updated, 'execution.succeeded', at, { result: 'ok', ...(outcome.summary ? { detail: outcome.summary } : {}) }, {
      execution: executionRef(ref, 'succeeded'),
    });
    return { ok: true, request: updated, events: [event] };
  }
  const detail = `${outcome.error.code}: ${outcome.error.message}`;
  if (outcome.status === 'failed' && outcome.error.code === 'DeploymentCanceled' && current.cancellation) {
    const by = current.cancellation;
    const said = `Cancelled by ${distinctNamer(r)(by.by).name} while running; Azure stopped the deployment. ${progressText(current.progress)}`.trim();
    const updated = next(r, now, { state: 'cancelled', cancellation: by, execution: { ...execution, error: outcome.error }, outcomeDetail: said });
    const event = requestEvent(updated, 'execution.cancelled', at, { result: 'ok', reason: outcome.error.code, detail: said }, {
      actor: by.by,
      execution: executionRef(ref, 'cancelled'),
    });
    return { ok: true, request: updated, events: [event] };
  }
  const state = outcome.status;
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

function progressText(p: OperationProgress | undefined): string {
  return p?.total ? `${p.done ?? 0} of ${p.total} deployment operation(s) had finished; what they deployed stays.` : '';
}

function mergeRefs(a: ArmOperationRef, b: ArmOperationRef): ArmOperationRef {
  return { ...a, ...b, resourceIds: [...new Set([...a.resourceIds, ...b.resourceIds])] };
}

/**
 * What a run that no longer holds an execution did: it withheld a send because its lease may have
 * passed (`withheld`), or Azure gave it an outcome it could not record (`outcome`), the request
 * being another run's now, or ended. Nothing on the request changes; the record keeps both views:
 * this run's (`owner`, what it sent, Azure's answer) and the row's (its state, who holds it).
 */
export type LostRun = { owner: string; sent: boolean; ref: ArmOperationRef } & ({ withheld: string } | { outcome: ExecutionOutcome });

export function leaseLostEvent(current: ApprovalRequest, run: LostRun, now: Date): AuditEventDraft {
  const holder = current.state === 'executing' ? current.execution?.lease : undefined;
  const row = `the request is ${current.state}${holder ? `, executed by ${holder.owner} until ${holder.expiresAt}` : ''}`;
  const ref = 'outcome' in run ? mergeRefs(run.ref, run.outcome.ref) : run.ref;
  const sent = run.sent ? 'it had sent a write of the operation before' : 'nothing of the operation had been sent by it';
  const detail =
    'withheld' in run
      ? `${run.owner} did not send the operation: ${run.withheld}; ${sent}. ${row[0].toUpperCase()}${row.slice(1)}.`
      : `${run.owner} could not record how the operation ended for it (${run.outcome.status}${run.outcome.status === 'succeeded' ? '' : `, ${run.outcome.error.code}: ${run.outcome.error.message}`}): it no longer held the execution, and ${row}.`;
  return requestEvent(current, 'execution.lease_lost', now.toISOString(), { result: 'withheld' in run ? 'refused' : 'error', reason: RefusalReason.LeaseLost, detail }, {
    execution: executionRef(ref, 'withheld' in run ? 'not-sent' : run.outcome.status),
    data: {
      owner: run.owner,
      sent: run.sent,
      state: current.state,
      ...(holder ? { heldBy: holder.owner, heldUntil: holder.expiresAt } : {}),
      ...('outcome' in run ? { outcome: run.outcome.status, ...(run.outcome.status === 'succeeded' ? {} : { errorCode: run.outcome.error.code }) } : {}),
    },
  });
}

function executionRef(ref: ArmOperationRef, status: string) {
  return {
    ...(ref.correlationId ? { correlationId: ref.correlationId } : {}),
    // The poll URL's query can carry signed parameters: only its path is recorded.
    operationIds: [...ref.resourceIds, ...(ref.pollUrl ? [ref.pollUrl.split('?')[0]] : [])],
    status,
  };
}
