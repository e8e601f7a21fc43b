/** A quorum on the card: each requirement, how far it is met and by whom. */
import assert from 'node:assert/strict';
import { requestCard } from '../../src/cards/request-card';
import { cardText } from '../support/connector';
import { approvalBy, bob, buildRequest, requestIn } from '../support/requests';

const requirements = [
  { roles: ['platform-approvers'], count: 1 },
  { roles: ['security'], count: 1 },
];

describe('cards: a quorum across roles', () => {
  it('shows each requirement and who met it while the request is pending', () => {
    const base = buildRequest();
    const r = buildRequest({
      policy: { ...base.policy, approvals: 2, approverRoles: ['platform-approvers', 'security'], requirements },
      approvals: [{ ...approvalBy(bob, base), requirement: 0 }],
      reason: 'Decommission checkout-prod after the migration, CHG-1234',
    });
    const text = cardText(requestCard(r));
    assert.match(text, /platform-approvers: 1 of 1 — Bob Approver; security: 0 of 1/);
    assert.match(text, /Decommission checkout-prod after the migration, CHG-1234/);
  });

  it('keeps the one-role wording for requests without requirements', () => {
    assert.match(cardText(requestCard(requestIn('pending'))), /Needs 1 approval from platform-approvers, not the requester: none yet\./);
  });
});
