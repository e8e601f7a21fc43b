/**
 * Drift: the target changes between the approval request and its execution. Countersign does not run
 * what nobody approved; the card shows what changed; approving again runs it.
 */
import assert from 'node:assert/strict';
import { verifyChain } from '../../src/audit/verify/verify';
import { cardActions, cardText } from '../support/connector';
import { auditOf, requestVia, settled } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { ids } from '../support/sandbox';
import { people } from '../support/teams';

const writes = (h: Harness, pattern: RegExp) => h.sandbox.requests.filter((r) => r.method !== 'GET' && pattern.test(r.path));

describe('drift between approval and execution (bot over HTTP, ARM sandbox)', function () {
  this.timeout(30000);
  let h: Harness;
  let id: ReturnType<typeof ids>;
  beforeEach(async () => {
    h = await startHarness();
    id = ids(h.sandbox);
  });
  afterEach(async () => {
    await h.stop();
  });

  it('keeps the approval when the what-if is the same right before the deployment', async () => {
    const { cardId, requestId } = await requestVia(h, 'deploy production api-service');
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'succeeded');
    assert.equal(writes(h, /\/deployments\/countersign-[^/]+\/whatIf$/i).length, 2, 'what-if ran when asked for and again right before');
  });

  it('does not deploy when the what-if changed: the card shows what changed, approving again deploys', async () => {
    const { cardId, requestId, data: before } = await requestVia(h, 'deploy production api-service');
    // Someone removes the site the what-if said would be modified.
    h.sandbox.state.deleteResource(id.site);
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);

    const drifted = await h.bot.deps.store.requests.get(requestId);
    assert.equal(drifted?.state, 'needs_reapproval');
    assert.deepEqual(drifted?.approvals, []);
    const change = 'Microsoft.Web/sites/api-service: was Modify (properties.serverFarmId, properties.siteConfig.minTlsVersion), now Create';
    assert.deepEqual(drifted?.drift?.changes, [change]);
    assert.equal(writes(h, /\/deployments\/countersign-[^/]+$/i).length, 0, 'nothing was deployed');
    const card = cardText(h.connector.card(cardId));
    assert.match(card, /NEEDS RE-APPROVAL/);
    assert.ok(card.includes(`Changed: ${change}`), card);
    assert.match(card, /Needs 1 approval again from platform-approvers/);
    assert.ok(h.connector.texts().some((t) => t.includes(`Request ${requestId} (deploy) was not executed: what it would do changed since it was approved`)));
    const drift = (await auditOf(h, { requestId })).find((e) => e.type === 'drift.detected');
    assert.equal(drift?.outcome.reason, 'drift-detected');
    assert.deepEqual(drift?.data?.voidedApprovals, [people.bob.aadObjectId]);

    // A copy of the card from before the drift is stale.
    const stale = await h.teams.click(people.dave, cardId, 'approve', { data: before });
    assert.match(cardText(stale.body.value as Record<string, unknown>), /This card for request .* is out of date/);

    const again = cardActions(h.connector.card(cardId)).find((a) => a.verb === 'approve');
    assert.equal(again?.data.hash, drifted?.operationHash);
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'succeeded');
    assert.ok(h.sandbox.state.resource(id.site), 'the site was deployed');
    assert.equal((await verifyChain(h.bot.deps.store.audit.read())).ok, true);
  });

  it('does not restart a virtual machine someone stopped since the restart was asked for', async () => {
    const { cardId, requestId } = await requestVia(h, 'vm restart batch-worker-01');
    h.sandbox.faults.drift(id.vm, { properties: { extended: { instanceView: { powerState: { code: 'PowerState/stopped' } } } } });
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    const r = await h.bot.deps.store.requests.get(requestId);
    assert.equal(r?.state, 'needs_reapproval');
    assert.deepEqual(r?.drift?.changes, ['powerState: "PowerState/running" → "PowerState/stopped"']);
    assert.equal(writes(h, /\/restart$/i).length, 0, 'the restart was not sent');
  });

  it('does not set a tag on a resource whose tags changed since approval was asked for', async () => {
    const { cardId, requestId } = await requestVia(h, 'tag vm batch-worker-01 costCenter cc-42');
    h.sandbox.faults.drift(id.vm, { tags: { costCenter: 'cc-7' } });
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    const r = await h.bot.deps.store.requests.get(requestId);
    assert.equal(r?.state, 'needs_reapproval');
    assert.deepEqual(r?.drift?.changes, ['tags.costCenter: (none) → "cc-7"']);
    assert.equal(h.sandbox.state.resource(id.vm)?.tags.costCenter, 'cc-7', 'the tag set by someone else stays');
  });

  it('does not delete a resource group that gained a resource since approval was asked for', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    h.sandbox.state.putResource('staging-old', { type: 'Microsoft.Web/sites', name: 'still-used', location: 'westeurope' });
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    const r = await h.bot.deps.store.requests.get(requestId);
    assert.equal(r?.state, 'needs_reapproval');
    assert.ok(r?.drift?.changes.includes('resource Microsoft.Web/sites/still-used: (none) → "present"'), r?.drift?.changes.join('\n'));
    assert.ok(h.sandbox.state.resourceGroup('staging-old'), 'nothing was deleted');
    assert.match(cardText(h.connector.card(cardId)), /Changed: resource Microsoft\.Web\/sites\/still-used/);
  });

  it('fails without executing when the target cannot be read again, and says so', async () => {
    const { cardId, requestId } = await requestVia(h, 'scale plan 5');
    h.sandbox.faults.denyAction('Microsoft.Web/serverfarms/read');
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    const r = await h.bot.deps.store.requests.get(requestId);
    assert.equal(r?.state, 'failed');
    assert.match(r?.outcomeDetail ?? '', /DriftCheckFailed: Not executed: the target could not be read again: .*Microsoft\.Web\/serverfarms\/read.* Nothing was sent to Azure/);
    assert.equal(writes(h, /serverfarms\/api-service-plan$/i).length, 0);
  });
});
