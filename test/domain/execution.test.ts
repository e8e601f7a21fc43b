import assert from 'node:assert/strict';
import { finishExecution, recordProgress, recordStarted, startExecution } from '../../src/domain/lifecycle';
import type { ArmOperationRef } from '../../src/domain/operation';
import { RefusalReason } from '../../src/domain/refusal';
import type { Actor, RequestState } from '../../src/domain/request';
import { accepted, holdsApproverRole, refused } from './lifecycle-helpers';
import { approvalBy, bob, buildRequest, frank, minutesIn, requestIn } from '../support/requests';

const ALL_BUT = (...keep: RequestState[]): RequestState[] =>
  (['pending', 'needs_reapproval', 'approved', 'executing', 'succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'] as RequestState[]).filter((s) => !keep.includes(s));

const deploymentId = '/subscriptions/00000000-0000-4000-8000-00000000abcd/resourceGroups/staging-old';
const accepted202: ArmOperationRef = {
  correlationId: 'corr-1',
  pollUrl: 'https://management.azure.com/subscriptions/x/operationresults/op-1?api-version=2021-04-01&sig=SECRET',
  resumeState: '{"state":"poller"}',
  resourceIds: [deploymentId],
};

function twoApprovalRequest() {
  const r = buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
  return { ...r, state: 'approved' as const, version: 3, approvals: [approvalBy(bob, r), approvalBy(frank, r, minutesIn(6))] };
}

describe('starting execution', () => {
  it('claims an approved request whose approvers still hold the role', () => {
    const { request, events } = accepted(startExecution(requestIn('approved'), minutesIn(7), holdsApproverRole));
    assert.equal(request.state, 'executing');
    assert.deepEqual(request.execution, { startedAt: minutesIn(7).toISOString(), ref: { resourceIds: [] } });
    assert.deepEqual(events.map((e) => [e.type, e.outcome, e.execution]), [['execution.started', { result: 'ok' }, { status: 'started' }]]);
  });

  it('asks about each approver again, not about the requester', () => {
    const asked: string[] = [];
    accepted(startExecution(twoApprovalRequest(), minutesIn(7), (a: Actor) => (asked.push(a.name), true)));
    assert.deepEqual(asked, ['Bob Approver', 'Frank Approver']);
  });

  it('fails without touching Azure when the only approver lost the role, and says who', () => {
    const { request, events } = accepted(startExecution(requestIn('approved'), minutesIn(7), () => false));
    const detail = 'Not executed: Bob Approver no longer hold(s) the approver role; 0 of 1 approval(s) still count.';
    assert.equal(request.state, 'failed');
    assert.equal(request.execution, undefined);
    assert.equal(request.outcomeDetail, detail);
    assert.deepEqual(events.map((e) => [e.type, e.outcome]), [['approval.revoked', { result: 'refused', reason: RefusalReason.ApproverLostRole, detail }]]);
  });

  it('fails a two-approval request when one of the two approvers lost the role, naming only that one', () => {
    const { request } = accepted(startExecution(twoApprovalRequest(), minutesIn(7), (a) => a.name !== 'Frank Approver'));
    assert.equal(request.state, 'failed');
    assert.equal(request.outcomeDetail, 'Not executed: Frank Approver no longer hold(s) the approver role; 1 of 2 approval(s) still count.');
  });

  it('fails without touching Azure when the command\'s policy now asks for more than the approvals give, saying what it needs', () => {
    const r = requestIn('approved');
    const roles = r.policy.approverRoles;
    const stricter = { requirements: [{ roles, count: 2 }], mayFill: () => true, requesterMay: true };
    const { request, events } = accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, stricter));
    assert.equal(request.state, 'failed');
    assert.equal(request.execution, undefined);
    const detail = `Not executed: the policy of "${r.command}" changed after it was approved and now needs 2 from ${roles.join(' or ')}; the 1 approval(s) it has give 1 of 2 from ${roles.join(' or ')}. Nothing was sent to Azure: ask again, to have it approved under the current policy.`;
    assert.deepEqual(events.map((e) => [e.type, e.outcome]), [['approval.revoked', { result: 'refused', reason: RefusalReason.PolicyTightened, detail }]]);

    // A second requirement its approver does not hold the role of: unmet too.
    const security = { requirements: [{ roles, count: 1 }, { roles: ['security'], count: 1 }], mayFill: (_a: Actor, req: { roles: string[] }) => !req.roles.includes('security'), requesterMay: true };
    assert.match(accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, security)).request.outcomeDetail ?? '', /now needs 1 from .* and 1 from security; the 1 approval\(s\) it has give 0 of 1 from security\./);
    // The same or a looser policy: it runs.
    assert.equal(accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, { requirements: [{ roles, count: 1 }], mayFill: () => true, requesterMay: true })).request.state, 'executing');
    assert.equal(accepted(startExecution(twoApprovalRequest(), minutesIn(7), holdsApproverRole, undefined, { requirements: [{ roles, count: 1 }], mayFill: () => true, requesterMay: true })).request.state, 'executing');
  });

  it('fails without touching Azure when the requester no longer holds a role that may ask for the command', () => {
    const r = requestIn('approved');
    const current = { requirements: [{ roles: r.policy.approverRoles, count: 1 }], mayFill: () => true, requesterMay: false };
    const { request, events } = accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, current));
    assert.equal(request.state, 'failed');
    assert.equal(request.execution, undefined);
    const detail = `Not executed: ${r.requester.name}, who asked for it, no longer holds a role that may ask for "${r.command}". Nothing was sent to Azure.`;
    assert.deepEqual(events.map((e) => [e.type, e.outcome]), [['approval.revoked', { result: 'refused', reason: RefusalReason.RequesterLostRole, detail }]]);
  });

  it('fails a break-glass use without touching Azure when the current config no longer lets its requester use break-glass', () => {
    const use = { ...requestIn('approved'), approvals: [], breakGlass: { reason: 'outage', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() } };
    const current = { requirements: [{ roles: use.policy.approverRoles, count: 1 }], mayFill: () => true, requesterMay: true };
    assert.equal(accepted(startExecution(use, minutesIn(7), holdsApproverRole, undefined, current)).request.state, 'executing', 'still allowed: it runs on the use alone');
    const { request, events } = accepted(startExecution(use, minutesIn(7), holdsApproverRole, undefined, { ...current, breakGlassWithdrawn: `"${use.command}" no longer allows break-glass` }));
    assert.equal(request.state, 'failed');
    assert.deepEqual(events.map((e) => [e.type, e.outcome?.reason, e.outcome?.detail]), [
      ['approval.revoked', RefusalReason.BreakGlassWithdrawn, `Not executed: it was a break-glass use, and "${use.command}" no longer allows break-glass. Nothing was sent to Azure.`],
    ]);
  });

  it('fails without touching Azure when its reason no longer meets the command\'s reason rule as configured now, naming the rule', () => {
    const r = requestIn('approved'); // reason: "cleanup after the migration" (27 characters)
    const base = { requirements: [{ roles: r.policy.approverRoles, count: 1 }], mayFill: () => true, requesterMay: true };
    assert.equal(accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, { ...base, reason: { required: true, minLength: 20 } })).request.state, 'executing', 'it still meets the rule: it runs');
    const { request, events } = accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, { ...base, reason: { required: true, minLength: 40 } }));
    assert.equal(request.state, 'failed');
    assert.equal(request.execution, undefined);
    const detail = 'Not executed: the reason rule of "delete resource group" (policy.reason) changed after it was asked for, and its reason no longer meets it: The reason is 27 characters; this command needs at least 40. Nothing was sent to Azure: ask again, with a reason the rule now takes (required, at least 40 characters, saying something (no placeholders or repeats)).';
    assert.deepEqual(events.map((e) => [e.type, e.outcome]), [['approval.revoked', { result: 'refused', reason: RefusalReason.ReasonRuleTightened, detail }]]);
    // None given when it was optional, required now: the same.
    const without = { ...r, reason: undefined };
    assert.match(accepted(startExecution(without, minutesIn(7), holdsApproverRole, undefined, { ...base, reason: { required: true, minLength: 10 } })).request.outcomeDetail ?? '', /its reason no longer meets it: This command needs a reason \(at least 10 characters\)\. Nothing was sent/);
    // A break-glass use's reason is held to it as well.
    const use = { ...r, reason: 'outage', approvals: [], breakGlass: { reason: 'outage', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() } };
    assert.equal(accepted(startExecution(use, minutesIn(7), holdsApproverRole, undefined, { ...base, reason: { required: true, minLength: 10 } })).events[0].outcome?.reason, RefusalReason.ReasonRuleTightened);
  });

  it('fails without touching Azure when the conversation it was asked from is no longer one the command allows, naming the rule', () => {
    const r = requestIn('approved'); // asked in a channel
    const base = { requirements: [{ roles: r.policy.approverRoles, count: 1 }], mayFill: () => true, requesterMay: true };
    const everywhere = { conversationTypes: ['personal', 'groupChat', 'channel'] as const, conversationIds: [] };
    assert.equal(accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, { ...base, conversations: { ...everywhere, conversationTypes: [...everywhere.conversationTypes] } })).request.state, 'executing');
    const { request, events } = accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, { ...base, conversations: { conversationTypes: ['personal', 'groupChat'], conversationIds: [] } }));
    assert.equal(request.state, 'failed');
    const detail = 'Not executed: the conversations rule of "delete resource group" changed after it was asked for: it may now be asked for only in a personal chat or group chat (policy.conversations.types), and it was asked for in a channel. Nothing was sent to Azure: ask again, from a conversation the rule now allows.';
    assert.deepEqual(events.map((e) => [e.type, e.outcome]), [['approval.revoked', { result: 'refused', reason: RefusalReason.ConversationRuleTightened, detail }]]);
    // Limited to listed conversations since, not its own: refused; its own channel listed: it runs.
    const listed = (ids: string[]) => ({ ...base, conversations: { conversationTypes: [...everywhere.conversationTypes], conversationIds: ids } });
    assert.match(accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, listed(['19:other@thread.tacv2']))).request.outcomeDetail ?? '', /it may now be asked for only in 1 listed conversation \(policy\.conversations\.ids\), not the one it was asked for in\./);
    assert.equal(accepted(startExecution(r, minutesIn(7), holdsApproverRole, undefined, listed([r.source.conversationId]))).request.state, 'executing');
  });

  it('does not count an approval that was given for a different operation hash', () => {
    const r = requestIn('approved');
    const forOtherOperation = { ...r, approvals: [{ ...r.approvals[0], operationHash: 'b'.repeat(64) }] };
    assert.equal(accepted(startExecution(forOtherOperation, minutesIn(7), holdsApproverRole)).request.state, 'failed');
  });

  for (const state of ALL_BUT('approved')) {
    it(`refuses to start a request that is ${state}`, () => {
      const no = refused(startExecution(requestIn(state), minutesIn(7), holdsApproverRole));
      assert.equal(no.reason, RefusalReason.AlreadyDecided);
      assert.equal(no.message, `Request req-0001 is ${state}, not approved.`);
    });
  }
});

describe('recording what Azure reports', () => {
  it('records the ARM ids once the operation is accepted, keeping the poll URL query out of the audit trail', () => {
    const { request, events } = accepted(recordStarted(requestIn('executing'), accepted202, minutesIn(7)));
    assert.equal(request.state, 'executing');
    assert.deepEqual(request.execution?.ref, accepted202);
    assert.equal(request.execution?.startedAt, minutesIn(6).toISOString());
    assert.deepEqual(events.map((e) => [e.type, e.outcome, e.execution]), [
      [
        'execution.progressed',
        { result: 'ok', detail: 'accepted by Azure Resource Manager' },
        {
          correlationId: 'corr-1',
          operationIds: [deploymentId, 'https://management.azure.com/subscriptions/x/operationresults/op-1'],
          status: 'accepted',
        },
      ],
    ]);
    assert.doesNotMatch(JSON.stringify(events), /SECRET/);
  });

  it('records progress with counts when Azure gives them', () => {
    const started = accepted(recordStarted(requestIn('executing'), accepted202, minutesIn(7))).request;
    const { request, events } = accepted(recordProgress(started, { state: 'Running', done: 2, total: 5 }, minutesIn(8)));
    assert.deepEqual(request.execution?.progress, { state: 'Running', done: 2, total: 5 });
    assert.deepEqual(request.execution?.ref, accepted202);
    assert.equal(events[0].type, 'execution.progressed');
    assert.equal(events[0].outcome.detail, 'Running: 2 of 5 operation(s) done');
    assert.equal(events[0].execution?.status, 'Running');
    assert.deepEqual(events[0].execution?.operationIds, [deploymentId, 'https://management.azure.com/subscriptions/x/operationresults/op-1']);
  });

  it('records progress as the bare state when Azure gives no counts', () => {
    const { events } = accepted(recordProgress(requestIn('executing'), { state: 'Accepted' }, minutesIn(8)));
    assert.equal(events[0].outcome.detail, 'Accepted');
  });

  for (const state of ALL_BUT('executing')) {
    it(`refuses to record a start or progress for a request that is ${state}`, () => {
      assert.equal(refused(recordStarted(requestIn(state), accepted202, minutesIn(7))).message, `Request req-0001 is ${state}, not executing.`);
      assert.equal(refused(recordProgress(requestIn(state), { state: 'Running' }, minutesIn(7))).reason, RefusalReason.AlreadyDecided);
    });
  }
});

describe('finishing execution', () => {
  const finishedRef: ArmOperationRef = { correlationId: 'corr-2', resourceIds: [deploymentId, `${deploymentId}/providers/Microsoft.Web/sites/api`] };

  it('records success with its outputs and summary, merging the ARM ids without duplicates', () => {
    const started = accepted(recordStarted(requestIn('executing'), accepted202, minutesIn(7))).request;
    const outcome = { status: 'succeeded' as const, ref: finishedRef, outputs: { siteName: 'api' }, summary: 'Deleted staging-old' };
    const { request, events } = accepted(finishExecution(started, outcome, minutesIn(9)));
    assert.equal(request.state, 'succeeded');
    assert.equal(request.outcomeDetail, 'Deleted staging-old');
    assert.equal(request.execution?.finishedAt, minutesIn(9).toISOString());
    assert.deepEqual(request.execution?.outputs, { siteName: 'api' });
    assert.deepEqual(request.execution?.ref.resourceIds, [deploymentId, `${deploymentId}/providers/Microsoft.Web/sites/api`]);
    assert.equal(request.execution?.ref.correlationId, 'corr-2');
    assert.equal(request.execution?.ref.resumeState, '{"state":"poller"}');
    assert.deepEqual(events.map((e) => [e.type, e.outcome, e.execution?.status]), [['execution.succeeded', { result: 'ok', detail: 'Deleted staging-old' }, 'succeeded']]);
  });

  it('records success without a summary as no outcome detail', () => {
    const { request, events } = accepted(finishExecution(requestIn('executing'), { status: 'succeeded', ref: { resourceIds: [] } }, minutesIn(9)));
    assert.equal(request.state, 'succeeded');
    assert.equal(request.outcomeDetail, undefined);
    assert.deepEqual(events[0].outcome, { result: 'ok' });
  });

  it('records a failure with the ARM error code and message', () => {
    const error = { code: 'ScopeLocked', message: 'The scope is locked.', httpStatus: 409 };
    const { request, events } = accepted(finishExecution(requestIn('executing'), { status: 'failed', ref: finishedRef, error }, minutesIn(9)));
    assert.equal(request.state, 'failed');
    assert.deepEqual(request.execution?.error, error);
    assert.equal(request.outcomeDetail, 'ScopeLocked: The scope is locked.');
    assert.deepEqual(events.map((e) => [e.type, e.outcome]), [['execution.failed', { result: 'error', reason: 'ScopeLocked', detail: 'ScopeLocked: The scope is locked.' }]]);
  });

  it('records an outcome Azure never confirmed as unknown, not as failed', () => {
    const error = { code: 'PollTimeout', message: 'No final status after 2h.' };
    const { request, events } = accepted(finishExecution(requestIn('executing'), { status: 'unknown', ref: finishedRef, error }, minutesIn(9)));
    assert.equal(request.state, 'unknown');
    assert.deepEqual(events.map((e) => [e.type, e.outcome.result, e.execution?.status]), [['execution.unknown', 'unknown', 'unknown']]);
  });

  for (const state of ALL_BUT('executing')) {
    it(`refuses to finish a request that is ${state}`, () => {
      const no = refused(finishExecution(requestIn(state), { status: 'succeeded', ref: finishedRef }, minutesIn(9)));
      assert.equal(no.reason, RefusalReason.AlreadyDecided);
    });
  }
});
