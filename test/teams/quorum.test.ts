/** A quorum across two roles at the network boundary: the real bot over HTTP and the fake Bot Connector. */
import assert from 'node:assert/strict';
import { cardText } from '../support/connector';
import { auditOf, requestVia, settled } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { quorumConfigText } from '../support/quorum-config';
import { people } from '../support/teams';

const DELETE = 'delete resource group staging-old reason: retire staging after the move to the new region, CHG-1234';

describe('Teams: a quorum across two roles (fake Bot Connector)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ configText: quorumConfigText() });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('shows each requirement and who met it on the card, refuses a second approver of a met one, and runs once both are met', async () => {
    const { cardId, requestId } = await requestVia(h, DELETE);
    assert.match(cardText(h.connector.card(cardId)), /quorum-platform: 0 of 1; security: 0 of 1/);

    const first = await h.teams.click(people.bob, cardId, 'approve');
    assert.match(cardText(first.body.value as Record<string, unknown>), /quorum-platform: 1 of 1 — Bob Approver; security: 0 of 1/);

    const second = await h.teams.click(people.dave, cardId, 'approve');
    assert.match(cardText(second.body.value as Record<string, unknown>), /would fill no requirement still open[\s\S]*Still needed: security \(0 of 1\)/);

    await h.teams.click(people.erin, cardId, 'approve');
    await settled(h);
    assert.match(cardText(h.connector.card(cardId)), /SUCCEEDED[\s\S]*quorum-platform: 1 of 1 — Bob Approver; security: 1 of 1 — Erin Auditor/);
    const refused = await auditOf(h, { requestId, types: ['click.refused'] });
    assert.deepEqual(refused.map((r) => r.outcome.reason), ['fills-no-requirement']);
  });

  it('answers a request without its required reason, or with an evasive one, with the form asking for a reason', async () => {
    const from = await h.teams.say(people.alice, 'delete resource group staging-old');
    const sent = JSON.stringify(h.teams.since(from).map((x) => x.activity));
    assert.match(sent, /Reason \(required, at least 20 characters: why, and what for; shown to approvers\)/);
    const evasive = await h.teams.say(people.alice, 'delete resource group staging-old reason: asdf asdf asdf asdf asdf');
    assert.match(JSON.stringify(h.teams.since(evasive).map((x) => x.activity)), /The reason is one word repeated\. Say why the change is needed/);
    assert.deepEqual(await auditOf(h, { types: ['request.created'] }), []);
  });
});
