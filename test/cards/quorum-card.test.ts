/** A quorum on the card: each requirement, how far it is met and by whom. */
import assert from 'node:assert/strict';
import { confirmCard, formCard } from '../../src/cards/form-cards';
import { requestCard } from '../../src/cards/request-card';
import { parseConfig } from '../../src/config/load';
import { EXAMPLE_CONFIG } from '../support/people';
import { quorumConfigText } from '../support/quorum-config';
import { cardText } from '../support/connector';
import { approvalBy, bob, quorumRequest, requestIn } from '../support/requests';

describe('cards: a quorum across roles', () => {
  it('shows each requirement and who met it while the request is pending', () => {
    const base = quorumRequest();
    const r = quorumRequest({
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

  it('asks in the form for a required reason, and the confirmation states the quorum', () => {
    const command = parseConfig(quorumConfigText(), EXAMPLE_CONFIG).catalog.find('delete resource group')!;
    const card = JSON.stringify(formCard(command, {}, [{ parameter: 'reason', message: 'This command needs a reason (at least 20 characters).' }], undefined, false));
    assert.match(card, /Reason \(required, at least 20 characters: why, and what for; shown to approvers\)/);
    assert.match(card, /This command needs a reason \(at least 20 characters\)/);
    const confirm = JSON.stringify(confirmCard(command, { name: 'staging-old' }, 'retire staging after the move, CHG-1234', false));
    assert.match(confirm, /Needs 1 from quorum-platform AND 1 from security, by different people, never the requester within 1 hour/);
  });
});
