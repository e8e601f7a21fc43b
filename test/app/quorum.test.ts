/** A quorum across two roles and a required reason, through the use cases on fakes. */
import assert from 'node:assert/strict';
import { RefusalReason } from '../../src/domain/refusal';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, dave, erin, opsChannel, sourceIn } from '../support/people';
import { RecordingMessenger } from '../support/reach';
import { frank } from '../support/requests';
import { quorumConfigText } from '../support/quorum-config';
import { asked, click, freshFakesEachTest, refusedWith, settle } from './steps';

const DELETE = 'delete resource group staging-old reason: retire staging after the move to the new region, CHG-1234';

describe('app: a quorum across two roles, with a required reason', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f }, () => ({ configText: quorumConfigText() }));

  it('runs only once platform and security have both approved, recording which requirement each filled', async () => {
    const r = await asked(f, alice, DELETE);
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    assert.equal((await f.request(r.id)).state, 'pending');
    assert.equal((await click(f, erin, r, 'approve')).ok, true);
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    const granted = await f.audit({ types: ['approval.granted'] });
    assert.deepEqual(
      granted.map((x) => [x.actor?.name, x.outcome.detail, (x.data as { requirement?: string }).requirement]),
      [
        ['Bob Approver', 'approval 1 of 2, for quorum-platform', 'quorum-platform'],
        ['Erin Auditor', 'approval 2 of 2, for security', 'security'],
      ],
    );
    const [approved] = await f.audit({ types: ['request.approved'] });
    assert.equal(approved.outcome.detail, 'quorum-platform: 1 of 1 — Bob Approver; security: 1 of 1 — Erin Auditor');
  });

  it('says in help who must approve and that a reason is needed', async () => {
    const entry = (await f.app.help(alice)).find((e) => e.usage.startsWith('delete resource group'))!;
    assert.match(entry.approval, /^needs 1 from quorum-platform AND 1 from security, by different people, never the requester, within 1 hour; a reason is required/);
  });

  it('refuses a second platform approver while security is missing, and audits the refusal naming what is needed', async () => {
    const r = await asked(f, alice, DELETE);
    await click(f, bob, r, 'approve');
    const second = await click(f, frank, r, 'approve');
    assert.equal(refusedWith(second), RefusalReason.FillsNoRequirement);
    assert.match(second.ok ? '' : second.refusal.message, /Still needed: security \(0 of 1\)/);
    const [refused] = await f.audit({ types: ['click.refused'] });
    assert.equal(refused.outcome.reason, RefusalReason.FillsNoRequirement);
    assert.equal((await f.request(r.id)).state, 'pending');
  });

  it('neither lists nor offers Approve to a second platform approver once platform is met; Reject stays his', async () => {
    const r = await asked(f, alice, DELETE);
    assert.deepEqual((await f.app.pending(frank)).toDecide.map((x) => x.id), [r.id], 'before: his approval would fill platform');
    await click(f, bob, r, 'approve');
    assert.deepEqual((await f.app.pending(frank)).toDecide, [], 'his approval would fill nothing still open');
    const view = await f.app.personalView(frank, r.id);
    assert.deepEqual([view?.canApprove, view?.canReject], [false, true]);
    const bobs = await f.app.personalView(bob, r.id);
    assert.deepEqual([bobs?.canApprove, bobs?.canReject], [false, true], 'after his own approval he may still reject it, and is shown so');
    const erins = await f.app.personalView(erin, r.id);
    assert.deepEqual([erins?.canApprove, erins?.canReject], [true, true]);
    assert.deepEqual((await f.app.pending(erin)).toDecide.map((x) => x.id), [r.id]);
    assert.equal((await click(f, bob, r, 'reject')).ok, true, 'as his card says, his reject goes through');
  });

  it('reminds only those whose approval would fill a requirement still open: not the platform approvers once platform is met', async () => {
    const sent = new RecordingMessenger();
    const withReminders = quorumConfigText().replace('      requirements:\n', '      reminders: { at: ["50%"], max: 1 }\n      requirements:\n');
    const g = appOnFakes({ configText: withReminders, messenger: sent });
    const r = await asked(g, alice, DELETE);
    await g.app.tellingIdle();
    assert.deepEqual(sent.to(r.id).sort(), [bob.aadObjectId, dave.aadObjectId, erin.aadObjectId, frank.aadObjectId].sort(), 'everyone is told of it');
    assert.equal((await click(g, bob, r, 'approve')).ok, true);
    const halfLife = (Date.parse(r.createdAt) + Date.parse(r.expiresAt)) / 2;
    g.clock.advance(halfLife - g.clock.now().getTime());
    assert.deepEqual((await g.app.sweepReach()).reminded, [r.id]);
    await g.app.tellingIdle();
    assert.deepEqual(sent.to(r.id, 'reminders'), [erin.aadObjectId], 'Dave and Frank could approve nothing more: only security is still needed');
    const [reminded] = await g.audit({ requestId: r.id, types: ['request.reminded'] });
    assert.deepEqual(reminded.data, { to: [erin.aadObjectId] });
  });

  it('asks for the reason in the form when it is missing, and refuses an evasive one with what a good reason looks like', async () => {
    const meant = f.app.interpret('delete resource group staging-old');
    assert.equal(meant.kind, 'incomplete');
    assert.ok(meant.kind === 'incomplete' && meant.problems.some((p) => p.parameter === 'reason' && p.missing));
    const command = f.config.catalog.find('delete resource group')!;
    const result = await f.app.createRequest({ command, values: { name: 'staging-old' }, reason: 'n/a n/a n/a n/a n/a n/a', actor: alice, source: sourceIn(opsChannel, 'ask-1') });
    assert.ok(!result.ok && 'refusal' in result);
    assert.equal(result.refusal.reason, RefusalReason.ReasonInsufficient);
    assert.match(result.refusal.message, /is a placeholder, not a reason\. Say why the change is needed/);
    const [audited] = await f.audit({ types: ['request.refused'] });
    assert.equal(audited.outcome.reason, RefusalReason.ReasonInsufficient);
  });
});
