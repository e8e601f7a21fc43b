/**
 * The approval path end to end: a request typed in Teams, a second person's decision on the card,
 * the ARM operation in the sandbox, and what everyone sees and what the audit trail records.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { verifyChain } from '../../src/audit/verify/verify';
import { parseConfig } from '../../src/config/load';
import { cardActions, cardText } from '../support/connector';
import { auditOf, requestVia, settled } from '../support/flows';
import { EXAMPLE_CONFIG, startHarness, type Harness } from '../support/harness';
import { eventually, opsChannel, people } from '../support/teams';


describe('approval path (bot over HTTP, fake Bot Connector, ARM sandbox)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('runs a deployment after a second person approves, and shows the result to everyone', async () => {
    const { cardId, requestId } = await requestVia(h, 'deploy production api-service reason: release 2.4');
    const pendingCard = cardText(h.connector.card(cardId));
    for (const expected of ['PENDING APPROVAL', 'Alice Requester', 'production-api-service', 'asks to **deploy api-service to PRODUCTION**: release 2.4', 'HIGH RISK', 'What will change', 'Create', 'SANDBOX', 'Needs 1 approval from platform-approvers']) {
      assert.ok(pendingCard.includes(expected) || pendingCard.includes(expected.replace('\\', '')), `pending card lacks "${expected}":\n${pendingCard}`);
    }
    assert.deepEqual(cardActions(h.connector.card(cardId)).map((a) => a.verb), ['approve', 'reject', 'cancel']);

    const answer = await h.teams.click(people.bob, cardId, 'approve');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.type, 'application/vnd.microsoft.card.adaptive');
    assert.match(cardText(answer.body.value as Record<string, unknown>), /APPROVED|EXECUTING|SUCCEEDED/);
    await settled(h);

    const finalCard = cardText(h.connector.card(cardId));
    assert.match(finalCard, /SUCCEEDED/);
    assert.match(finalCard, /Approved by Bob Approver/);
    assert.match(finalCard, /ARM id: .*deployments\/countersign-/);
    assert.equal(cardActions(h.connector.card(cardId)).length, 0, 'a finished request has no buttons');
    assert.ok(h.connector.texts(opsChannel.id).some((t) => t.includes(`Request ${requestId} (deploy) succeeded`) && t.startsWith('[SANDBOX]')));

    const stored = await h.bot.deps.store.requests.get(requestId);
    assert.equal(stored?.state, 'succeeded');
    assert.ok(h.sandbox.state.resources('production-api-service').some((r) => r.name === 'api-service-plan-production'), 'the plan was deployed');
    const types = (await auditOf(h, { requestId })).map((r) => r.type);
    assert.deepEqual(types.filter((t) => t !== 'execution.progressed'), ['request.created', 'approvers.notified', 'approval.granted', 'request.approved', 'execution.started', 'execution.succeeded']);
    const chain = await verifyChain(h.bot.deps.store.audit.read());
    assert.equal(chain.ok, true);
  });

  it('refuses the requester approving their own request, visibly, and records the refusal', async () => {
    const { cardId, requestId } = await requestVia(h, 'deploy production api-service');
    const answer = await h.teams.click(people.alice, cardId, 'approve');
    const shown = cardText(answer.body.value as Record<string, unknown>);
    assert.match(shown, /You asked for request .* so you cannot approve it: a second person must/);
    assert.match(shown, /PENDING APPROVAL/);
    // The card that replaces theirs is their own view: only what they can use (their Cancel).
    assert.deepEqual(cardActions(answer.body.value as Record<string, unknown>).map((a) => [a.verb, a.title]), [['cancel', 'Cancel my request']]);
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
    const refused = (await auditOf(h, { requestId })).filter((r) => r.type === 'click.refused');
    assert.equal(refused.length, 1);
    assert.equal(refused[0].outcome.reason, 'self-approval');
    assert.equal(refused[0].actor?.aadObjectId, people.alice.aadObjectId);
  });

  it('refuses a person without an approver role (Dave can approve; Carol cannot)', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const answer = await h.teams.click(people.carol, cardId, 'approve');
    assert.match(cardText(answer.body.value as Record<string, unknown>), /You cannot approve request .*: it needs the role "platform-approvers"/);
    assert.deepEqual(cardActions(answer.body.value as Record<string, unknown>), [], 'no button Carol could use');
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
    assert.equal((await auditOf(h, { requestId })).filter((r) => r.type === 'click.refused')[0].outcome.reason, 'not-an-approver');

    await h.teams.click(people.dave, cardId, 'approve');
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'succeeded');
    assert.equal(h.sandbox.state.liveGroup('staging-old'), undefined, 'the resource group is gone');
  });

  it('ends a request on one rejection, keeping the comment, and executes nothing', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const approveData = cardActions(h.connector.card(cardId)).find((a) => a.verb === 'approve')!.data;
    const answer = await h.teams.click(people.bob, cardId, 'reject', { comment: 'Not during the freeze [see](http://evil.example)' });
    await settled(h);
    const card = cardText(h.connector.card(cardId));
    assert.match(card, /REJECTED/);
    assert.match(card, /Rejected by Bob Approver/);
    assert.ok(card.includes('Comment: Not during the freeze \\[see\\](http\u200B://evil.example)'), card);
    assert.equal(cardText(answer.body.value as Record<string, unknown>), card);
    assert.ok(h.sandbox.state.liveGroup('staging-old'), 'nothing was deleted');
    // A stale copy of the card (its buttons still showing) is clicked after the rejection.
    const later = await h.teams.click(people.dave, cardId, 'approve', { data: approveData });
    assert.match(cardText(later.body.value as Record<string, unknown>), /was rejected; it can no longer be approved/);
    const events = await auditOf(h, { requestId });
    assert.deepEqual(events.map((r) => r.type), ['request.created', 'approvers.notified', 'request.rejected', 'click.refused']);
    assert.equal(events[2].outcome.detail, 'Not during the freeze [see](http://evil.example)');
  });

  it('lets only the requester cancel a pending request', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const byBob = await h.teams.click(people.bob, cardId, 'cancel');
    assert.match(cardText(byBob.body.value as Record<string, unknown>), /Only Alice Requester, who asked for request .*, can cancel it/);
    await h.teams.click(people.alice, cardId, 'cancel');
    await settled(h);
    assert.match(cardText(h.connector.card(cardId)), /CANCELLED[\s\S]*Cancelled by Alice Requester/);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'cancelled');
  });

  it("says when a request expired in the clicker's own time zone, with the UTC instant the audit keeps", async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old'); // ttl 1h
    const expiresAt = (await h.bot.deps.store.requests.get(requestId))!.expiresAt;
    h.clock.advance(61 * 60 * 1000);
    const late = await h.teams.click(people.bob, cardId, 'approve', { entities: [{ type: 'clientInfo', locale: 'en-IN', timezone: 'Asia/Kolkata' }] });
    const kolkata = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Kolkata', hour: '2-digit', minute: '2-digit', ...(new Date(expiresAt).getUTCSeconds() ? { second: '2-digit' as const } : {}), hourCycle: 'h23' }).format(new Date(expiresAt));
    const said = `expired at ${new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Kolkata' }).format(new Date(expiresAt))} ${kolkata} Asia/Kolkata (${expiresAt})`;
    assert.ok(cardText(late.body.value as Record<string, unknown>).includes(said), cardText(late.body.value as Record<string, unknown>));
    await settled(h);
    const refused = (await auditOf(h, { requestId })).find((r) => r.type === 'click.refused');
    assert.ok(refused?.outcome.detail?.includes(`(${expiresAt})`), 'the audit detail keeps the UTC instant');
  });

  it('expires a request nobody decided in time, and refuses decisions after expiry', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old'); // ttl 1h
    h.clock.advance(61 * 60 * 1000);
    const late = await h.teams.click(people.bob, cardId, 'approve');
    assert.match(cardText(late.body.value as Record<string, unknown>), /expired at/);
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'expired');
    assert.match(cardText(h.connector.card(cardId)), /EXPIRED/);
    assert.ok(h.sandbox.state.liveGroup('staging-old'));
    const types = (await auditOf(h, { requestId })).map((r) => r.type);
    assert.deepEqual(types, ['request.created', 'approvers.notified', 'request.expired', 'click.refused']);
  });

  it('expires pending requests in the background sweep and tells the requester', async () => {
    await h.stop();
    h = await startHarness({ sweepIntervalMs: 20 });
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    h.clock.advance(2 * 60 * 60 * 1000);
    await eventually('the sweep expires the request', async () => (await h.bot.deps.store.requests.get(requestId))?.state === 'expired');
    // The row can be read as expired before the sweep has told the notifier (its write returned, its
    // next step not yet run): wait for the card, not only for what is in flight now.
    await eventually('the card shows it', () => /EXPIRED/.test(cardText(h.connector.card(cardId))));
    await settled(h);
    assert.ok(h.connector.texts().some((t) => t.includes(`Request ${requestId} expired`)));
  });

  it('needs N approvals from distinct people, and counts each approver once', async () => {
    const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8').replace(/(- name: delete resource group[\s\S]*?approvals:) 1/, '$1 2');
    await h.stop();
    h = await startHarness({ configText: text });
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    assert.match(cardText(h.connector.card(cardId)), /Needs 2 approvals/);
    await h.teams.click(people.bob, cardId, 'approve');
    const twice = await h.teams.click(people.bob, cardId, 'approve');
    assert.match(cardText(twice.body.value as Record<string, unknown>), /You already approved request/);
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
    assert.match(cardText(h.connector.card(cardId)), /1 so far/);
    await h.teams.click(people.dave, cardId, 'approve');
    await settled(h);
    const done = await h.bot.deps.store.requests.get(requestId);
    assert.equal(done?.state, 'succeeded');
    assert.deepEqual(done?.approvals.map((a) => a.approver.name), ['Bob Approver', 'Dave Lead']);
  });

  it('checks approvers again right before execution: an approver who lost the role no longer counts', async () => {
    const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8').replace(/(- name: delete resource group[\s\S]*?approvals:) 1/, '$1 2');
    await h.stop();
    h = await startHarness({ configText: text });
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    await h.teams.click(people.bob, cardId, 'approve');
    // The platform team removes Bob from the approvers (a restart with a new config, in effect).
    const withoutBob = text.replace(/(platform-approvers:\n)\s+- 22222222-2222-4222-8222-222222222222 # Bob Approver\n/, '$1');
    assert.notEqual(withoutBob, text);
    h.bot.deps.config = parseConfig(withoutBob, EXAMPLE_CONFIG);
    await h.teams.click(people.dave, cardId, 'approve');
    await settled(h);
    const r = await h.bot.deps.store.requests.get(requestId);
    assert.equal(r?.state, 'failed');
    assert.match(r?.outcomeDetail ?? '', /Bob Approver no longer hold/);
    assert.ok(h.sandbox.state.liveGroup('staging-old'), 'nothing was deleted');
    assert.ok((await auditOf(h, { requestId })).some((e) => e.type === 'approval.revoked' && e.outcome.reason === 'approver-lost-role'));
  });

  it('shows a failed deployment with the ARM error in words', async () => {
    h.sandbox.faults.failDeployment({ error: { code: 'QuotaExceeded', message: 'Operation could not be completed as it results in exceeding approved quota for P1v3 in westeurope.' } });
    const { cardId, requestId } = await requestVia(h, 'deploy production api-service');
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    const card = cardText(h.connector.card(cardId));
    assert.match(card, /FAILED/);
    assert.match(card, /exceeding approved quota/);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'failed');
    assert.ok(h.connector.texts().some((t) => t.includes(`Request ${requestId} (deploy) failed`)));
    // In chat too, Azure's cause in one line rather than the DeploymentFailed wrapper.
    const told = h.connector.texts().find((t) => t.includes(`Request ${requestId} (deploy) failed`))!;
    assert.match(told, /failed: QuotaExceeded: Operation could not be completed as it results in exceeding approved quota for P1v3 in westeurope\. Microsoft.s documentation: https:\/\/aka\.ms\/arm-deployment-operations$/m);
    assert.doesNotMatch(told, /failed: DeploymentFailed/);
    assert.match(card, /^Failed: QuotaExceeded: Operation could not be completed/m);
  });
});
