import { utcText } from '../../src/domain/delegation-time';
import assert from 'node:assert/strict';
import { finishExecution, recordProgress, requestCancellation } from '../../src/domain/lifecycle';
import type { ChangeOperation } from '../../src/domain/operation';
import { RefusalReason } from '../../src/domain/refusal';
import { standing, type ApprovalRequest, type RequestState } from '../../src/domain/request';
import { deepFreeze } from './deep-freeze';
import { accepted, decisionBy, refused } from './lifecycle-helpers';
import { alice, bob, channel, dave, erin, minutesIn, requestIn, SUBSCRIPTION } from '../support/requests';

const deploy: ChangeOperation = {
  kind: 'deployTemplate',
  subscriptionId: SUBSCRIPTION,
  resourceGroup: 'production-api-service',
  deploymentName: 'countersign-req-0001',
  template: { resources: [] },
  parameters: {},
  mode: 'Incremental',
};

function runningDeployment(state: RequestState = 'executing'): ApprovalRequest {
  return requestIn(state, { operation: deploy, command: 'deploy', parameters: { environment: 'production', service: 'api-service' } });
}

const canceled = { status: 'failed' as const, ref: { resourceIds: [] }, error: { code: 'DeploymentCanceled', message: 'Deployment countersign-req-0001 ended Canceled.' } };

describe('cancelling a running deployment', () => {
  it('records who asked, keeps the request executing until Azure says how it ended, and audits the request', () => {
    const r = runningDeployment();
    const { request, events } = accepted(requestCancellation(deepFreeze(r), decisionBy(alice, { source: channel })));
    assert.equal(request.state, 'executing');
    assert.deepEqual(request.execution?.cancellation, { by: alice, at: minutesIn(10).toISOString() });
    assert.deepEqual(events.map((e) => [e.type, e.actor, e.source, e.outcome]), [
      ['execution.cancel_requested', alice, channel, { result: 'ok', detail: 'cancellation of deployment countersign-req-0001 requested' }],
    ]);
  });

  it('lets an approver cancel, whether or not they approved this request', () => {
    assert.equal(accepted(requestCancellation(runningDeployment(), decisionBy(bob))).request.execution?.cancellation?.by, bob);
    assert.equal(accepted(requestCancellation(runningDeployment(), decisionBy(dave))).request.execution?.cancellation?.by, dave);
  });

  it('refuses anyone else and names who can', () => {
    const no = refused(requestCancellation(runningDeployment(), decisionBy(erin)));
    assert.equal(no.reason, RefusalReason.NotAllowedToCancel);
    assert.equal(no.message, 'Only Alice Requester, who asked for request req-0001, or someone with the role "platform-approvers" can cancel it.');
  });

  it('refuses an operation Azure cannot cancel', () => {
    const no = refused(requestCancellation(requestIn('executing'), decisionBy(alice)));
    assert.equal(no.reason, RefusalReason.NotCancellable);
    assert.match(no.message, /deleteResourceGroup operation, which Azure cannot cancel once started/);
  });

  it('refuses a second cancellation, naming the first', () => {
    const once = accepted(requestCancellation(runningDeployment(), decisionBy(alice))).request;
    const no = refused(requestCancellation(once, decisionBy(bob)));
    assert.equal(no.message, `Alice Requester already asked to cancel request req-0001 at ${utcText(minutesIn(10).toISOString())}.`);
  });

  for (const state of ['pending', 'needs_reapproval', 'approved', 'succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'] as RequestState[]) {
    it(`refuses to cancel the execution of a request that is ${state}`, () => {
      const no = refused(requestCancellation(runningDeployment(state), decisionBy(alice)));
      assert.equal(no.reason, RefusalReason.AlreadyDecided);
      assert.equal(no.message, `Request req-0001 ${standing(state)}; there is no running operation to cancel.`);
    });
  }

  it('ends cancelled, by whom, with what had already run, once Azure reports the deployment Canceled', () => {
    let r = accepted(recordProgress(runningDeployment(), { state: 'Running', done: 1, total: 3 }, minutesIn(9))).request;
    r = accepted(requestCancellation(r, decisionBy(bob))).request;
    const { request, events } = accepted(finishExecution(r, canceled, minutesIn(11)));
    assert.equal(request.state, 'cancelled');
    assert.deepEqual(request.cancellation, { by: bob, at: minutesIn(10).toISOString() });
    const detail = 'Cancelled by Bob Approver while running; Azure stopped the deployment. 1 of 3 deployment operation(s) had finished; what they deployed stays.';
    assert.equal(request.outcomeDetail, detail);
    assert.deepEqual(events.map((e) => [e.type, e.actor, e.outcome]), [['execution.cancelled', bob, { result: 'ok', reason: 'DeploymentCanceled', detail }]]);
  });

  it('tells apart a namesake of the requester, by the start of each object id, in who cancelled it and in who may', () => {
    const namesake = { ...bob, name: 'Alice Requester' };
    const r = accepted(requestCancellation(runningDeployment(), decisionBy(namesake))).request;
    const ended = accepted(finishExecution(r, canceled, minutesIn(11))).request;
    assert.match(ended.outcomeDetail ?? '', /^Cancelled by Alice Requester \(22222222\) while running;/, 'not as if the requester cancelled it');
    assert.equal(refused(requestCancellation(r, decisionBy(dave))).message, `Alice Requester (22222222) already asked to cancel request req-0001 at ${utcText(minutesIn(10).toISOString())}.`);
    const outsider = { ...erin, name: 'Alice Requester' };
    assert.equal(refused(requestCancellation(runningDeployment(), decisionBy(outsider))).message, 'Only Alice Requester (11111111), who asked for request req-0001, or someone with the role "platform-approvers" can cancel it.');
  });

  it('ends as Azure says when the deployment finished before the cancellation reached it', () => {
    const r = accepted(requestCancellation(runningDeployment(), decisionBy(bob))).request;
    assert.equal(accepted(finishExecution(r, { status: 'succeeded', ref: { resourceIds: [] } }, minutesIn(11))).request.state, 'succeeded');
  });

  it('treats a deployment cancelled in Azure by someone else as failed', () => {
    assert.equal(accepted(finishExecution(runningDeployment(), canceled, minutesIn(11))).request.state, 'failed');
  });
});
