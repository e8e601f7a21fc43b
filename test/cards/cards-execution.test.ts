/** The request card while an operation runs, after drift, and after a cancelled deployment. */
import assert from 'node:assert/strict';
import type { ChangeOperation } from '../../src/domain/operation';
import { requestCard } from '../../src/cards/request-card';
import { cardActions, cardText } from '../support/connector';
import { carol } from '../support/people';
import { alice, bob, minutesIn, requestIn, SUBSCRIPTION } from '../support/requests';

const deploy: ChangeOperation = {
  kind: 'deployTemplate',
  subscriptionId: SUBSCRIPTION,
  resourceGroup: 'production-api-service',
  deploymentName: 'countersign-req-0001',
  template: { resources: [] },
  parameters: {},
  mode: 'Incremental',
};

describe('the request card around execution', () => {
  it('shows what changed after drift, and offers the decision again bound to the new hash', () => {
    const r = requestIn('needs_reapproval', { sandbox: true });
    const card = requestCard(r);
    const text = cardText(card);
    assert.ok(!JSON.stringify(card).includes('${'));
    assert.match(text, /NEEDS RE-APPROVAL/);
    assert.match(text, /Not executed: what it would do changed since it was approved \(found \{\{DATE\(2026-03-02T09:06:00Z, SHORT\)\}\} \{\{TIME\(2026-03-02T09:06:00Z\)\}\}\)\. Decide again\./);
    assert.match(text, /Changed: tags\.owner: "platform-team" → "someone-else"/);
    assert.match(text, /Needs 1 approval again from platform-approvers, not the requester: none yet/);
    assert.deepEqual(cardActions(card).map((a) => [a.verb, a.data.hash]), [
      ['approve', r.operationHash],
      ['reject', r.operationHash],
      ['cancel', r.operationHash],
    ]);
  });

  it('offers Cancel deployment while a deployment runs, and nothing for other operations', () => {
    const running = requestIn('executing', { operation: deploy, execution: { startedAt: minutesIn(6).toISOString(), ref: { resourceIds: [] }, progress: { state: 'Running', done: 1, total: 3 } } });
    const card = requestCard(running);
    assert.deepEqual(cardActions(card).map((a) => [a.verb, a.title]), [['cancel', 'Cancel deployment']]);
    assert.match(cardText(card), /EXECUTING[\s\S]*Running: 1 of 3 operations done/);
    assert.deepEqual(cardActions(requestCard(requestIn('executing'))), []);
  });

  it('says a cancellation is under way, and that a restart resumed the operation', () => {
    const execution = {
      startedAt: minutesIn(6).toISOString(),
      ref: { resourceIds: [] },
      cancellation: { by: alice, at: minutesIn(8).toISOString() },
      resumedAt: [minutesIn(7).toISOString()],
    };
    const card = requestCard(requestIn('executing', { operation: deploy, execution }));
    assert.deepEqual(cardActions(card), [], 'no second cancel');
    assert.match(cardText(card), /Resumed \{\{DATE\(2026-03-02T09:07:00Z, SHORT\)\}\} \{\{TIME\(2026-03-02T09:07:00Z\)\}\} after Countersign restarted; following the same Azure operation\./);
    assert.match(cardText(card), /Cancellation requested by Alice Requester, \{\{DATE\(2026-03-02T09:08:00Z, SHORT\)\}\} \{\{TIME\(2026-03-02T09:08:00Z\)\}\}; waiting for Azure to stop the deployment\./);
  });

  it('shows who cancelled a running deployment and what had already run', () => {
    const r = requestIn('cancelled', {
      operation: deploy,
      cancellation: { by: bob, at: minutesIn(8).toISOString() },
      execution: { startedAt: minutesIn(6).toISOString(), finishedAt: minutesIn(9).toISOString(), ref: { resourceIds: [] } },
      outcomeDetail: 'Cancelled by Bob Approver while running; Azure stopped the deployment. 1 of 3 deployment operation(s) had finished; what they deployed stays.',
    });
    assert.match(cardText(requestCard(r)), /CANCELLED[\s\S]*Cancelled by Bob Approver, \{\{DATE\(2026-03-02T09:08:00Z, SHORT\)\}\} \{\{TIME\(2026-03-02T09:08:00Z\)\}\}[\s\S]*1 of 3 deployment operation\(s\) had finished/);
  });

  it('says a cancellation by a delegate was on the approver\'s behalf', () => {
    const r = requestIn('cancelled', { cancellation: { by: carol, at: minutesIn(8).toISOString(), onBehalfOf: bob, delegationId: 'DG-1' } });
    assert.match(cardText(requestCard(r)), /Cancelled by Carol NoRole on behalf of Bob Approver, /);
  });
});
