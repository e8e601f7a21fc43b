import assert from 'node:assert/strict';
import { approve, startExecution } from '../../src/domain/lifecycle';
import type { DecisionContext } from '../../src/domain/lifecycle';
import { assign, progressText, requirementsOf } from '../../src/domain/quorum';
import { RefusalReason } from '../../src/domain/refusal';
import type { Actor, ApprovalRequest } from '../../src/domain/request';
import { deciderText } from '../../src/domain/delegation';
import { accepted, refused } from './lifecycle-helpers';
import { bob, buildRequest, dave, erin, frank, minutesIn, quorumRequest, TENANT } from '../support/requests';
import { carol } from '../support/people';

/** Bob: platform only. Erin: security only. Dave: both. Frank: platform only. */
const HOLDERS: Record<string, Actor[]> = { 'platform-approvers': [bob, dave, frank], security: [erin, dave], 'incident-leads': [carol] };

function holds(role: string, a: Actor): boolean {
  return a.tenantId === TENANT && (HOLDERS[role] ?? []).some((p) => p.aadObjectId === a.aadObjectId);
}

function by(actor: Actor, r: ApprovalRequest, now = minutesIn(10)): DecisionContext {
  const holdsAny = (roles: readonly string[], a: Actor) => roles.some((role) => holds(role, a));
  const deciding = [...r.policy.approverRoles, ...(r.escalation ? [r.escalation.role] : [])];
  return { now, actor, isApprover: (a) => holdsAny(deciding, a), holdsAny };
}

const progressOf = (r: ApprovalRequest) => progressText(r, (a) => deciderText(a));

describe('quorum: assigning approvals to requirements', () => {
  it('moves an approver who holds both roles to where they are needed', () => {
    // Dave (both) came first and took requirement 0; Bob (only 0) comes next: Dave moves to 1.
    assert.deepEqual(assign([[0, 1], [0]], [1, 1]), [1, 0]);
  });

  it('leaves an approval unplaced when every requirement it could fill is full', () => {
    assert.deepEqual(assign([[0], [0], [1]], [1, 1]), [0, undefined, 1]);
  });

  it('fills a requirement of two with two people and no more', () => {
    assert.deepEqual(assign([[0], [0], [0]], [2]), [0, 0, undefined]);
  });

  it('reads a request without requirements as one requirement of its approver roles', () => {
    assert.deepEqual(requirementsOf(buildRequest().policy), [{ roles: ['platform-approvers'], count: 1 }]);
  });
});

describe('quorum: approving a request that needs two roles', () => {
  it('stays pending after platform approves, and shows who met what', () => {
    const r = quorumRequest();
    const { request, events } = accepted(approve(r, by(bob, r)));
    assert.equal(request.state, 'pending');
    assert.equal(progressOf(request), 'platform-approvers: 1 of 1 — Bob Approver; security: 0 of 1');
    assert.equal(events[0].outcome.detail, 'approval 1 of 2, for platform-approvers');
    assert.deepEqual(events[0].data, { requirement: 'platform-approvers', requirementIndex: 0 });
  });

  it('refuses a second platform approver while security is still missing, naming what is needed', () => {
    const r = accepted(approve(quorumRequest(), by(bob, quorumRequest()))).request;
    const no = refused(approve(r, by(frank, r)));
    assert.equal(no.reason, RefusalReason.FillsNoRequirement);
    assert.match(no.message, /Still needed: security \(0 of 1\)/);
  });

  it('approves once security approves too, and records each requirement and who filled it', () => {
    const first = accepted(approve(quorumRequest(), by(bob, quorumRequest()))).request;
    const { request, events } = accepted(approve(first, by(erin, first)));
    assert.equal(request.state, 'approved');
    assert.equal(progressOf(request), 'platform-approvers: 1 of 1 — Bob Approver; security: 1 of 1 — Erin Auditor');
    const approved = events.find((e) => e.type === 'request.approved')!;
    assert.deepEqual((approved.data as { requirements: { filledBy: { approver: string }[] }[] }).requirements.map((x) => x.filledBy.map((p) => p.approver)), [[bob.aadObjectId], [erin.aadObjectId]]);
  });

  it('counts a person holding both roles once, where they are needed', () => {
    const first = accepted(approve(quorumRequest(), by(dave, quorumRequest()))).request;
    assert.equal(first.state, 'pending');
    const { request } = accepted(approve(first, by(bob, first)));
    assert.equal(request.state, 'approved');
    assert.equal(progressOf(request), 'platform-approvers: 1 of 1 — Bob Approver; security: 1 of 1 — Dave Lead');
  });

  it('never lets the requester count, even holding a required role', () => {
    const r = quorumRequest({ requester: erin });
    assert.equal(refused(approve(r, by(erin, r))).reason, RefusalReason.SelfApproval);
  });

  it('lets the escalation role fill the requirement still open once escalated', () => {
    const escalated = quorumRequest({
      policy: { ...quorumRequest().policy, escalation: { role: 'incident-leads', afterSeconds: 60 } },
      escalation: { role: 'incident-leads', at: minutesIn(5).toISOString() },
    });
    const first = accepted(approve(escalated, by(bob, escalated))).request;
    const { request } = accepted(approve(first, by(carol, first)));
    assert.equal(request.state, 'approved');
    assert.equal(progressOf(request), 'platform-approvers: 1 of 1 — Bob Approver; security: 1 of 1 — Carol NoRole');
  });

  it('lets a delegate fill a requirement with the delegator\'s roles', () => {
    const r = quorumRequest();
    const ctx = { ...by(frank, r), actor: frank, onBehalfOf: erin, delegationId: 'd-1' };
    const { request } = accepted(approve(r, ctx));
    assert.equal(request.approvals[0].requirement, 1);
  });
});

describe('quorum: the role re-check at execution', () => {
  it('checks each approval against the requirement it filled', () => {
    const first = accepted(approve(quorumRequest(), by(bob, quorumRequest()))).request;
    const approved = accepted(approve(first, by(erin, first))).request;
    const asked: string[] = [];
    const started = accepted(startExecution(approved, minutesIn(12), (a, _approval, req) => (asked.push(`${a.name}:${req.roles.join()}`), true))).request;
    assert.equal(started.state, 'executing');
    assert.deepEqual(asked, ['Bob Approver:platform-approvers', 'Erin Auditor:security']);
  });

  it('fails without touching Azure when the security approver lost the role, naming the requirement', () => {
    const first = accepted(approve(quorumRequest(), by(bob, quorumRequest()))).request;
    const approved = accepted(approve(first, by(erin, first))).request;
    const { request } = accepted(startExecution(approved, minutesIn(12), (a) => a.aadObjectId !== erin.aadObjectId));
    assert.equal(request.state, 'failed');
    assert.match(request.outcomeDetail ?? '', /Erin Auditor no longer hold\(s\) the approver role; 1 of 2 approval\(s\) still count \(security 0 of 1\)/);
  });
});

describe('quorum: an approval that would fill nothing, on a request the current config would not let run', () => {
  it('is refused as filling nothing and ends nothing: only an approval that would otherwise count ends the request', () => {
    const r = accepted(approve(quorumRequest(), by(bob, quorumRequest()))).request;
    for (const askingRules of [{ commandGone: 'the command "delete resource group" is no longer in the config' }, { requesterMay: false }, { reason: { required: true, minLength: 200 } }]) {
      assert.equal(refused(approve(r, { ...by(frank, r), askingRules })).reason, RefusalReason.FillsNoRequirement);
      assert.equal(accepted(approve(r, { ...by(erin, r), askingRules })).request.state, 'failed', 'an approval that fills one still ends it');
    }
  });
});
