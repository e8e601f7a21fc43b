import assert from 'node:assert/strict';
import { cardText } from '../../support/connector';
import { carol } from '../../support/people';
import { bob, buildRequest, minutesIn } from '../../support/requests';
import { evidenceOf } from './evidence-of';

describe('evidence of a decision taken on someone\'s behalf', () => {
  const r = buildRequest({
    state: 'approved',
    version: 2,
    approvals: [{ approver: carol, at: minutesIn(5).toISOString(), operationHash: buildRequest().operationHash, onBehalfOf: bob, delegationId: 'DG-7' }],
  });
  const files = evidenceOf(r);

  it('names the delegate, the delegator and the delegation in the summary', () => {
    const summary = files.find((f) => f.name === 'SUMMARY.md')?.content ?? '';
    assert.match(summary, new RegExp(`- Carol NoRole \\(${carol.aadObjectId}\\) on behalf of Bob Approver \\(${bob.aadObjectId}\\) under delegation DG-7 at `));
  });

  it('shows "X on behalf of Y" on the card kept in the bundle', () => {
    const card = files.find((f) => f.name.startsWith('cards/'))?.content ?? '';
    assert.match(cardText(JSON.parse(card) as Record<string, unknown>), /Approved by Carol NoRole on behalf of Bob Approver/);
  });
});
