/**
 * Builds ApprovalRequest objects for tests: a consistent pending request by default (its hash is
 * computed from its operation, exactly as createRequest does), and requests already in any state.
 * Times are fixed so assertions can name them; the people are those of people.ts.
 */
import { requestEvent, type AuditEventDraft } from '../../src/domain/audit';
import { operationHash } from '../../src/domain/canonical';
import { targetOf, type ChangeOperation } from '../../src/domain/operation';
import type { Actor, Approval, ApprovalRequest, RequestState, Source } from '../../src/domain/request';
import { alice, bob, opsChannel, sourceIn } from './people';

export { alice, bob, dave, erin, frank, mallory, OTHER_TENANT, TENANT } from './people';

export const SUBSCRIPTION = '00000000-0000-4000-8000-00000000abcd';

/** The operations channel, where the default request was asked for. */
export const channel: Source = sourceIn(opsChannel, 'activity-1');

const CREATED_AT = new Date('2026-03-02T09:00:00.000Z');
export const TTL_SECONDS = 3600;
export const EXPIRES_AT = new Date(CREATED_AT.getTime() + TTL_SECONDS * 1000);
export const POLICY_VERSION = 'a'.repeat(64);

/** An instant some minutes after the default request was created (its TTL is 60 minutes). */
export function minutesIn(minutes: number): Date {
  return new Date(CREATED_AT.getTime() + minutes * 60_000);
}

const deleteStagingOld: ChangeOperation = {
  kind: 'deleteResourceGroup',
  subscriptionId: SUBSCRIPTION,
  resourceGroup: 'staging-old',
};

/**
 * A pending "delete resource group staging-old" request by Alice needing one approval from
 * platform-approvers. Overrides replace fields as given; when the operation, command, parameters or
 * target are overridden and operationHash is not, the hash is recomputed so the request stays
 * consistent.
 */
export function buildRequest(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const operation = overrides.operation ?? deleteStagingOld;
  const command = overrides.command ?? 'delete resource group';
  const parameters = overrides.parameters ?? { name: 'staging-old' };
  const target = overrides.target ?? targetOf(operation);
  return {
    id: 'req-0001',
    version: 1,
    state: 'pending',
    command,
    parameters,
    reason: 'cleanup after the migration',
    operation,
    operationHash: operationHash({ command, parameters, target, operation }),
    target,
    requester: alice,
    source: channel,
    policy: { approvals: 1, approverRoles: ['platform-approvers'], ttlSeconds: TTL_SECONDS, version: POLICY_VERSION },
    approvals: [],
    createdAt: CREATED_AT.toISOString(),
    expiresAt: EXPIRES_AT.toISOString(),
    updatedAt: CREATED_AT.toISOString(),
    sandbox: true,
    ...overrides,
  };
}

/** A pending request needing one approval from platform-approvers AND one from security. */
export function quorumRequest(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const policy = {
    ...buildRequest().policy,
    approvals: 2,
    approverRoles: ['platform-approvers', 'security'],
    requirements: [
      { roles: ['platform-approvers'], count: 1 },
      { roles: ['security'], count: 1 },
    ],
  };
  return buildRequest({ policy, ...overrides });
}

/** An approval of the request as it stands (bound to its operation hash). */
export function approvalBy(approver: Actor, request: Pick<ApprovalRequest, 'operationHash'>, at = minutesIn(5)): Approval {
  return { approver, at: at.toISOString(), operationHash: request.operationHash };
}

/**
 * A request that has reached `state` the way the lifecycle would get it there: approved and later
 * states carry Bob's approval, executing and later carry an execution, decisions carry who made them.
 */
export function requestIn(state: RequestState, overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const base = buildRequest(overrides);
  const approved = { approvals: [approvalBy(bob, base)] };
  const started = { startedAt: minutesIn(6).toISOString(), ref: { resourceIds: [] } };
  const finished = { ...started, finishedAt: minutesIn(9).toISOString() };
  const byState: Record<RequestState, Partial<ApprovalRequest>> = {
    pending: {},
    needs_reapproval: {
      version: 3,
      drift: { detectedAt: minutesIn(6).toISOString(), changes: ['tags.owner: "platform-team" → "someone-else"'], previousOperationHash: base.operationHash },
    },
    approved: { ...approved, version: 2 },
    scheduled: { ...approved, version: 2, runAt: minutesIn(60).toISOString(), requestedRunAt: minutesIn(60).toISOString() },
    executing: { ...approved, version: 3, execution: started },
    succeeded: { ...approved, version: 4, execution: finished },
    failed: { ...approved, version: 4, execution: finished, outcomeDetail: 'ResourceGroupNotFound: gone' },
    unknown: { ...approved, version: 4, execution: finished, outcomeDetail: 'PollTimeout: no answer' },
    rejected: { version: 2, rejection: { by: bob, at: minutesIn(5).toISOString() } },
    cancelled: { version: 2, cancellation: { by: alice, at: minutesIn(5).toISOString() } },
    expired: { version: 2, outcomeDetail: `No decision before ${EXPIRES_AT.toISOString()}.` },
  };
  return { ...base, ...byState[state], state, ...overrides };
}

/**
 * The audit records a stored row in a later state stands on (its creation, each approval, the
 * approval that completed it, an execution started), for tests that store such a row directly: the
 * executor runs nothing its audit records do not back (src/domain/lifecycle/evidence.ts).
 */
export function auditTrailOf(r: ApprovalRequest): AuditEventDraft[] {
  const ok = { result: 'ok' as const };
  const events = [requestEvent(r, 'request.created', r.createdAt, ok, { actor: r.requester })];
  if (r.breakGlass) events.push(requestEvent(r, 'breakglass.used', r.breakGlass.usedAt, ok, { actor: r.requester }));
  for (const a of r.approvals) events.push(requestEvent(r, 'approval.granted', a.at, ok, { actor: a.approver }));
  const last = r.approvals.at(-1);
  if (last) events.push(requestEvent(r, 'request.approved', last.at, ok, { actor: last.approver }));
  if (r.execution) events.push(requestEvent(r, 'execution.started', r.execution.startedAt, ok));
  return events;
}
