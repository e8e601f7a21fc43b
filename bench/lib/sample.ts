/**
 * Realistic data for the benchmarks: a pending request like the ones the load approves, and the
 * audit events a request's life produces (created, approval, approved, started, succeeded, and
 * the occasional refused click), with the sizes real ones have.
 */
import { operationHash } from '../../src/domain/canonical';
import { requestEvent, type AuditEventDraft } from '../../src/domain/audit';
import { targetOf, type ChangeOperation } from '../../src/domain/operation';
import type { Actor, ApprovalRequest, Source } from '../../src/domain/request';
import { SANDBOX_SUBSCRIPTION_ID } from '../../src/sandbox';
import { actorOf } from '../../test/support/people';
import { CHANNEL, alice, bob } from './activities';

const requester: Actor = actorOf(alice);
const approver: Actor = actorOf(bob);

function source(i: number): Source {
  return { channelId: 'msteams', conversationId: CHANNEL.id, conversationType: 'channel', activityId: `1700000000${String(i).padStart(6, '0')}` };
}

export function sampleRequest(i = 0, at = new Date('2026-03-02T09:00:00.000Z')): ApprovalRequest {
  const operation: ChangeOperation = { kind: 'deleteResourceGroup', subscriptionId: SANDBOX_SUBSCRIPTION_ID, resourceGroup: `staging-old-${i % 1000}` };
  const command = 'delete resource group';
  const parameters = { name: `staging-old-${i % 1000}` };
  const target = targetOf(operation);
  return {
    id: `CS-B${String(i).padStart(7, '0')}`,
    version: 1,
    state: 'pending',
    command,
    parameters,
    reason: 'incident 4711 cleanup',
    operation,
    operationHash: operationHash({ command, parameters, target, operation }),
    target,
    requester,
    source: source(i),
    policy: { approvals: 1, approverRoles: ['platform-approvers'], ttlSeconds: 3600, version: 'c'.repeat(64) },
    approvals: [],
    createdAt: at.toISOString(),
    expiresAt: new Date(at.getTime() + 3600_000).toISOString(),
    updatedAt: at.toISOString(),
    sandbox: true,
  };
}

/** The i-th event of a stream of request lives: six events per request, one in ten a refused click. */
export function sampleDraft(i: number, base = Date.parse('2024-01-01T00:00:00.000Z')): AuditEventDraft {
  const n = Math.floor(i / 6);
  const r = sampleRequest(n);
  const time = new Date(base + i * 1000).toISOString();
  switch (i % 6) {
    case 0:
      return requestEvent(r, 'request.created', time, { result: 'ok', detail: 'needs 1 approval(s) from platform-approvers' }, { actor: requester, source: source(i) });
    case 1:
      return n % 10 === 0
        ? requestEvent(r, 'click.refused', time, { result: 'refused', reason: 'self-approval', detail: `You asked for request ${r.id}; someone else has to approve it.` }, { actor: requester, source: source(i), data: { verb: 'approve', requestId: r.id } })
        : requestEvent(r, 'approval.granted', time, { result: 'ok', detail: '1 of 1 approval(s)' }, { actor: approver, source: source(i) });
    case 2:
      return requestEvent(r, 'request.approved', time, { result: 'ok', detail: 'all approvals given' });
    case 3:
      return requestEvent(r, 'execution.started', time, { result: 'ok' }, { execution: { correlationId: `0b6a7d2e-${String(n).padStart(4, '0')}-4c1f-9a55-3e2f1d0c9b8a`, status: 'Running' } });
    case 4:
      return requestEvent(r, 'execution.progressed', time, { result: 'ok', detail: 'Deleting' }, { execution: { correlationId: `0b6a7d2e-${String(n).padStart(4, '0')}-4c1f-9a55-3e2f1d0c9b8a`, status: 'Running' } });
    default:
      return requestEvent(r, 'execution.succeeded', time, { result: 'ok', detail: `Deleted resource group staging-old-${n % 1000}` }, {
        execution: {
          correlationId: `0b6a7d2e-${String(n).padStart(4, '0')}-4c1f-9a55-3e2f1d0c9b8a`,
          operationIds: [`/subscriptions/${SANDBOX_SUBSCRIPTION_ID}/resourceGroups/staging-old-${n % 1000}`],
          status: 'Succeeded',
        },
      });
  }
}
