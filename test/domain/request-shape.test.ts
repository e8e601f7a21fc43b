/** A stored row that does not read as a request is named as such, with the field, before anything reads it. */
import assert from 'node:assert/strict';
import { requestShapeProblem } from '../../src/domain/request-shape';
import { refuseUnaudited } from '../../src/domain/lifecycle';
import { RefusalReason } from '../../src/domain/refusal';
import type { ApprovalRequest } from '../../src/domain/request';
import { aRequest, bob } from '../store/fixtures';

const approved = aRequest('CS-SHAPE001', {
  state: 'approved',
  approvals: [{ approver: bob, at: '2026-11-02T09:01:00.000Z', operationHash: 'a'.repeat(64), requirement: 0 }],
  execution: { startedAt: '2026-11-02T09:02:00.000Z', ref: { correlationId: 'c-1', resourceIds: [] }, lease: { owner: 'run-a', expiresAt: '2026-11-02T09:03:00.000Z' } },
});

const edited = (changes: Record<string, unknown>) => ({ ...approved, ...changes }) as unknown as ApprovalRequest;

describe('domain: whether a stored row reads as a request', () => {
  it('reads a request as one, older ones without the later optional fields included', () => {
    assert.equal(requestShapeProblem(approved), undefined);
    assert.equal(requestShapeProblem(aRequest('CS-SHAPE002')), undefined);
  });

  it('names the first field that is not of its shape', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ approvals: [{ approverId: bob.aadObjectId, approverName: 'bob', at: approved.updatedAt, operationHash: approved.operationHash }] }, 'approvals[0].approver is missing'],
      [{ approvals: [{ ...approved.approvals[0], approver: { aadObjectId: 7, tenantId: 't', name: 'n' } }] }, 'approvals[0].approver.aadObjectId is the number 7, not text'],
      [{ approvals: {} }, 'approvals is an object, not a list'],
      [{ policy: null }, 'policy is null, not an object'],
      [{ policy: { ...approved.policy, approverRoles: 'approver' } }, 'policy.approverRoles is text, not a list'],
      [{ requester: 'alice' }, 'requester is text, not a person (aadObjectId, tenantId, name)'],
      [{ execution: { ...approved.execution, lease: { owner: 'run-a' } } }, 'execution.lease.expiresAt is missing'],
      [{ version: '3' }, 'version is text, not a whole number'],
    ];
    for (const [changes, problem] of cases) assert.equal(requestShapeProblem(edited(changes)), `its stored row does not read as a request (${problem})`, JSON.stringify(changes));
    assert.equal(requestShapeProblem('text'), 'its stored row does not read as a request (the row is text, not an object)');
  });

  it('is refused as a row its audit trail does not back, recorded even without a policy to name', () => {
    const row = edited({ policy: null });
    const refused = refuseUnaudited(row, new Date('2026-11-02T09:05:00.000Z'), requestShapeProblem(row)!);
    assert.ok(refused.ok);
    assert.equal(refused.request.state, 'failed');
    assert.equal(refused.events[0].outcome.reason, RefusalReason.NotInAudit);
    assert.equal(refused.events[0].request?.policyVersion, '');
  });
});
