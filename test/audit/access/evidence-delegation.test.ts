import assert from 'node:assert/strict';
import { cardText } from '../../support/connector';
import { carol } from '../../support/people';
import { requestEvent } from '../../../src/domain/audit';
import { approve } from '../../../src/domain/lifecycle';
import { bob, buildRequest, minutesIn } from '../../support/requests';
import { evidenceOf, sealedRecords } from './evidence-of';

describe('evidence of a decision taken on someone\'s behalf', () => {
  const base = buildRequest();
  const approved = approve(base, { actor: carol, onBehalfOf: bob, delegationId: 'DG-7', now: minutesIn(5), isApprover: () => true });
  if (!approved.ok) throw new Error(approved.refusal.message);
  const r = approved.request;
  // The summary lists the approvals as the records say them (approval.granted's onBehalfOf and delegationId).
  const files = evidenceOf(r, sealedRecords([requestEvent(base, 'request.created', base.createdAt, { result: 'ok' }, { actor: base.requester }), ...approved.events]));

  it('names the delegate, the delegator and the delegation in the summary', () => {
    const summary = files.find((f) => f.name === 'SUMMARY.md')?.content ?? '';
    assert.match(summary, new RegExp(`- Carol NoRole \\(${carol.aadObjectId}\\) on behalf of Bob Approver \\(${bob.aadObjectId}\\) under delegation DG-7 at `));
  });

  it('shows "X on behalf of Y" on the card kept in the bundle', () => {
    const card = files.find((f) => f.name.startsWith('cards/'))?.content ?? '';
    assert.match(cardText(JSON.parse(card) as Record<string, unknown>), /Approved by Carol NoRole on behalf of Bob Approver/);
  });
});
