/** Roles that list Entra groups: memberships looked up before deciding, and a lookup that fails never grants. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RefusalReason } from '../../src/domain/refusal';
import { requestCard } from '../../src/cards/request-card';
import { pendingCard } from '../../src/cards/lists';
import { cardText } from '../support/connector';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { MemoryDirectory } from '../support/memory-directory';
import { APPROVALS_CHANNEL, reachConfigText, RecordingMessenger } from '../support/reach';
import { alice, bob, carol, dave, erin, EXAMPLE_CONFIG, frank, opsChannel, sourceIn } from '../support/people';
import { ask, asked, click, freshFakesEachTest, refusedWith, settle, statusShown } from './steps';

const DELETE = 'delete resource group staging-old';
const PLATFORM_GROUP = '91a70000-0000-4000-8000-000000000002';
const REQUESTERS_GROUP = '7e9e0000-0000-4000-8000-000000000004';

/** The example config with Bob approving through an Entra group, and a group among the requesters. */
const GROUP_ROLES = readFileSync(EXAMPLE_CONFIG, 'utf8')
  .replace('    - 22222222-2222-4222-8222-222222222222 # Bob Approver', `    - group:${PLATFORM_GROUP} # platform team (Bob)`)
  .replace('  requesters:\n', `  requesters:\n    - group:${REQUESTERS_GROUP}\n`);

describe('app: Entra groups as roles', () => {
  let f: AppOnFakes;
  let directory: MemoryDirectory;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f }, () => {
    assert.match(GROUP_ROLES, new RegExp(`group:${PLATFORM_GROUP}[\\s\\S]*?`));
    directory = new MemoryDirectory().add(PLATFORM_GROUP, bob.aadObjectId).add(REQUESTERS_GROUP, carol.aadObjectId);
    return { configText: GROUP_ROLES, directory };
  });

  it('lets a member of a group the approver role lists approve, and the request runs', async () => {
    const r = await asked(f, alice, DELETE);
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.deepEqual(directory.calls[0], { person: bob.aadObjectId, groups: [PLATFORM_GROUP] });
  });

  it('refuses someone outside the group as not an approver', async () => {
    const r = await asked(f, alice, DELETE);
    assert.equal(refusedWith(await click(f, carol, r, 'approve')), RefusalReason.NotAnApprover);
    assert.equal((await f.request(r.id)).state, 'pending');
  });

  it('refuses, never grants, when Graph cannot answer: the click is audited with membership-unknown and nothing changes', async () => {
    const r = await asked(f, alice, DELETE);
    directory.fail('Microsoft Graph answered 503 serviceNotAvailable');
    const result = await click(f, bob, r, 'approve');
    assert.equal(refusedWith(result), RefusalReason.MembershipUnknown);
    assert.ok(!result.ok);
    assert.equal(
      result.refusal.message,
      `Countersign could not check your membership of group ${PLATFORM_GROUP} in Microsoft Entra: Microsoft Graph answered 503 serviceNotAvailable; nothing was changed. Try again in a minute.`,
    );
    const [refused] = await f.audit({ types: ['click.refused'] });
    assert.equal(refused.outcome.reason, 'membership-unknown');
    assert.equal(refused.request?.id, r.id);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'pending');
    assert.deepEqual(stored.approvals, []);
  });

  it('does not ask Graph about someone who holds the role by name', async () => {
    const r = await asked(f, alice, DELETE);
    directory.fail('unreachable');
    assert.equal((await click(f, dave, r, 'approve')).ok, true);
    assert.deepEqual(directory.calls, []);
  });

  it('lets the requester cancel while Graph is down (cancelling needs no role)', async () => {
    const r = await asked(f, carol, DELETE);
    directory.fail('unreachable');
    assert.equal((await click(f, carol, r, 'cancel')).ok, true);
  });

  it('lets a member of a requester group ask, and refuses the request when Graph cannot answer', async () => {
    assert.equal((await ask(f, carol, DELETE)).ok, true);
    directory.fail('Microsoft Graph did not answer within 5s');
    const refused = await ask(f, carol, 'delete resource group staging-two');
    assert.ok(!refused.ok && 'refusal' in refused);
    assert.equal(refused.refusal.reason, RefusalReason.MembershipUnknown);
    const [audited] = await f.audit({ types: ['request.refused'] });
    assert.equal(audited.outcome.reason, 'membership-unknown');
  });

  it('shows the request in pending, status and the personal card to a group member; with Graph down, only to people named in the role', async () => {
    const r = await asked(f, alice, DELETE);
    assert.deepEqual((await f.app.pending(bob)).toDecide.map((x) => x.id), [r.id]);
    assert.equal((await statusShown(f, bob, r.id))?.id, r.id);
    assert.equal((await f.app.personalView(bob, r.id))?.canApprove, true);
    directory.fail('unreachable');
    assert.deepEqual((await f.app.pending(bob)).toDecide, []);
    // Like status, the personal card shows only what the person holds by name (docs/entra-groups.md).
    assert.equal(await statusShown(f, bob, r.id), undefined);
    assert.equal(await f.app.personalView(bob, r.id), undefined);
    assert.deepEqual((await f.app.pending(dave)).toDecide.map((x) => x.id), [r.id]);
  });

  it('says in pending, when Graph cannot answer, that the requests a group lets the person decide are not listed, rather than that none waits', async () => {
    await asked(f, alice, DELETE);
    directory.fail('Microsoft Graph answered 503');
    const view = await f.app.pending(bob);
    assert.deepEqual(view.toDecide, []);
    assert.equal(view.membershipUnknown, `Countersign could not check your membership of group ${REQUESTERS_GROUP}, ${PLATFORM_GROUP} in Microsoft Entra: Microsoft Graph answered 503`);
    assert.match(
      cardText(pendingCard(view, false)),
      new RegExp(`Countersign could not check your membership of group ${REQUESTERS_GROUP}, ${PLATFORM_GROUP} in Microsoft Entra: Microsoft Graph answered 503\\. Requests decided through that membership are not listed: type "pending" again in a minute\\.`),
    );
    directory.fail(undefined);
    assert.equal((await f.app.pending(bob)).membershipUnknown, undefined);
    assert.equal((await f.app.pending(dave)).membershipUnknown, undefined, 'nothing to look up for an approver by name');
  });

  it('says in status, when Graph cannot answer, that a request decided through a group is not shown, alike whether it exists or not', async () => {
    const r = await asked(f, alice, DELETE);
    directory.fail('Microsoft Graph answered 503');
    const why = 'Countersign could not check your Entra group memberships (Microsoft Graph answered 503), so a request you decide through a group is not shown: try again in a minute.';
    assert.deepEqual(await f.app.statusIn(bob, r.id, { channelId: 'msteams', conversationId: 'a:bob', conversationType: 'personal' }), { say: `There is no request ${r.id} that you can see. ${why}` });
    assert.deepEqual(await f.app.statusIn(bob, 'CS-ZZZZZZZZ', { channelId: 'msteams', conversationId: 'a:bob', conversationType: 'personal' }), { say: `There is no request CS-ZZZZZZZZ that you can see. ${why}` });
    directory.fail(undefined);
    assert.deepEqual(await f.app.statusIn(carol, r.id, { channelId: 'msteams', conversationId: 'a:carol', conversationType: 'personal' }), { say: `There is no request ${r.id} that you can see.` }, 'Graph answered: nothing more to say');
  });

  it('shows a group member on their personal card the buttons their click would be allowed: cancelling a scheduled request', async () => {
    const r = await asked(f, alice, `${DELETE} at ${new Date(f.clock.now().getTime() + 3_600_000).toISOString()}`);
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'scheduled');
    assert.equal((await f.app.personalView(bob, r.id))?.canCancel, true, 'Bob approves through the group, so he may cancel before it runs');
    assert.equal((await f.app.personalView(alice, r.id))?.canCancel, true);
    assert.equal((await click(f, bob, await f.request(r.id), 'cancel')).ok, true, 'and his click goes through');
  });

  it('sends personal cards to the people a role names, not to the members of its groups (they use approval channels or pending)', async () => {
    const sent = new RecordingMessenger();
    const g = appOnFakes({ configText: GROUP_ROLES, directory, messenger: sent });
    const r = await asked(g, alice, DELETE);
    await g.app.tellingIdle();
    assert.deepEqual(sent.to(r.id), [dave.aadObjectId]);
    assert.deepEqual(directory.calls, [], 'nobody was looked up to tell them');
  });

  it('says on the card, and audits, that nobody was sent a request whose approvers are only a group and whose command has no approval channel', async () => {
    const sent = new RecordingMessenger();
    const onlyGroup = GROUP_ROLES.replace('    - 55555555-5555-4555-8555-555555555555 # Dave Lead\n  auditors:', '  auditors:');
    assert.match(onlyGroup, new RegExp(`platform-approvers:\\n    - group:${PLATFORM_GROUP} # platform team \\(Bob\\)\\n  auditors:`));
    const g = appOnFakes({ configText: onlyGroup, directory, messenger: sent });
    const r = await asked(g, alice, DELETE);
    await g.app.tellingIdle();
    assert.deepEqual(sent.sent, [], 'nobody to send it to');
    const stored = await g.request(r.id);
    assert.deepEqual(stored.unreachable?.map((u) => u.id), [PLATFORM_GROUP]);
    assert.match(
      cardText(requestCard(stored)),
      new RegExp(`Could not reach: group ${PLATFORM_GROUP} \\(platform-approvers\\) \\(its members are not sent cards, and "delete resource group" has no approval channel, so nobody was sent this request: share this card, or they find it by typing "pending"\\)\\.`),
    );
    const [unreached] = await g.audit({ requestId: r.id, types: ['approver.unreachable'] });
    assert.equal((unreached.data as { who: string }).who, PLATFORM_GROUP);
    assert.equal((await click(g, bob, stored, 'approve')).ok, true, 'a member who finds it may still approve it');
  });

  it('records nobody as not reached for a group-only request asked in its own approval channel: the card is there already', async () => {
    const sent = new RecordingMessenger();
    const inItsChannel = reachConfigText([`notify: { channels: ["${opsChannel.id}"] }`])
      .replace('    - 22222222-2222-4222-8222-222222222222 # Bob Approver', `    - group:${PLATFORM_GROUP} # platform team (Bob)`)
      .replace('    - 55555555-5555-4555-8555-555555555555 # Dave Lead\n  incident-leads:', '  incident-leads:');
    assert.match(inItsChannel, new RegExp(`platform-approvers:\\n    - group:${PLATFORM_GROUP} # platform team \\(Bob\\)\\n  incident-leads:`));
    const g = appOnFakes({ configText: inItsChannel, directory, messenger: sent });
    const r = await asked(g, alice, DELETE);
    await g.app.tellingIdle();
    assert.deepEqual(sent.sent, [], 'the channel it was asked in has its card');
    assert.deepEqual((await g.request(r.id)).unreachable ?? [], [], 'not "has no approval channel, so nobody was sent this request"');
    assert.deepEqual(await g.audit({ requestId: r.id, types: ['approver.unreachable'] }), []);
  });

  it('reminds the members of an approver group in the approval channel, where they were sent the request', async () => {
    const sent = new RecordingMessenger();
    const groupOnly = reachConfigText()
      .replace('    - 22222222-2222-4222-8222-222222222222 # Bob Approver', `    - group:${PLATFORM_GROUP} # platform team (Bob)`)
      .replace('    - 55555555-5555-4555-8555-555555555555 # Dave Lead\n  incident-leads:', '  incident-leads:');
    assert.match(groupOnly, new RegExp(`platform-approvers:\\n    - group:${PLATFORM_GROUP} # platform team \\(Bob\\)\\n  incident-leads:`));
    const g = appOnFakes({ configText: groupOnly, directory, messenger: sent });
    const r = await asked(g, alice, DELETE);
    await g.app.tellingIdle();
    assert.deepEqual(sent.to(r.id), [APPROVALS_CHANNEL], 'the group is reached through the approval channel');
    g.clock.advance(Date.parse(r.createdAt) + 30 * 60_000 - g.clock.now().getTime());
    assert.deepEqual((await g.app.sweepReach()).reminded, [r.id]);
    await g.app.tellingIdle();
    assert.deepEqual(sent.to(r.id, 'reminders'), [APPROVALS_CHANNEL]);
    const [reminded] = await g.audit({ requestId: r.id, types: ['request.reminded'] });
    assert.deepEqual(reminded.data, { to: [APPROVALS_CHANNEL] });
  });

  it('tells a member of a requester group in help that they may ask', async () => {
    const entry = (await f.app.help(carol)).find((e) => e.usage.startsWith('delete resource group'));
    assert.equal(entry?.allowed, true);
  });

  it('re-checks at execution: an approver removed from the group meanwhile no longer counts', async () => {
    // Approved while Bob is a member; by the execution's lookup he is not (the directory answered fresh).
    const r = await asked(f, alice, DELETE);
    const lookups = directory.calls.length;
    const original = directory.groupsOf.bind(directory);
    directory.groupsOf = async (id, groups) => {
      if (directory.calls.length > lookups) directory.remove(PLATFORM_GROUP, bob.aadObjectId);
      return original(id, groups);
    };
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    await settle(f);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'failed');
    assert.match(stored.outcomeDetail ?? '', /Bob Approver no longer hold\(s\) the approver role/);
    assert.equal(f.azure.executions.length, 0);
    assert.equal((await f.audit({ types: ['approval.revoked'] }))[0]?.outcome.reason, RefusalReason.ApproverLostRole);
  });

  it('does not execute when Graph fails during the re-check: the request fails, nothing is sent to Azure', async () => {
    const r = await asked(f, alice, DELETE);
    const lookups = directory.calls.length;
    directory.fail('Microsoft Graph answered 500 generalException', (call) => call > lookups + 1);
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    await settle(f);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'failed');
    assert.equal(stored.execution?.error?.code, 'MembershipCheckFailed');
    assert.match(stored.execution?.error?.message ?? '', /^Not executed: Countersign could not check Bob Approver's membership of group .* Microsoft Graph answered 500 generalException\. Nothing was sent to Azure; ask again\.$/);
    assert.equal(f.azure.executions.length, 0);
  });

  describe('the delegate of an approver through a group', () => {
    /** Bob approves "delete resource group" through the platform group; Dave by name; reminders at 30 and 45 minutes, an approval channel. */
    const BOB_BY_GROUP = reachConfigText().replace('    - 22222222-2222-4222-8222-222222222222 # Bob Approver', `    - group:${PLATFORM_GROUP} # platform team (Bob)`);
    let sent: RecordingMessenger;
    let g: AppOnFakes;
    beforeEach(() => {
      assert.match(BOB_BY_GROUP, new RegExp(`platform-approvers:\\n    - group:${PLATFORM_GROUP} # platform team \\(Bob\\)\\n    - 55555555`));
      sent = new RecordingMessenger();
      g = appOnFakes({ configText: BOB_BY_GROUP, directory, messenger: sent });
    });
    afterEach(async () => {
      await g.app.tellingIdle();
      await settle(g);
    });
    const delegates = async (who = bob) => {
      const answer = await g.app.delegate({ actor: who, source: sourceIn(opsChannel, 'delegate-1'), delegate: carol, when: 'for 2d' });
      assert.ok(answer.ok, answer.ok ? '' : answer.refusal.message);
      return answer.text;
    };
    const cardsTo = (r: { id: string }, who: { aadObjectId: string }) => sent.sent.filter((s) => s.requestId === r.id && s.to === who.aadObjectId);

    it('is sent the card and its reminders, saying for whom, and decides on that behalf; the group member himself is sent none', async () => {
      await delegates();
      const r = await asked(g, alice, DELETE);
      await g.app.tellingIdle();
      assert.deepEqual(sent.to(r.id).sort(), [dave.aadObjectId, carol.aadObjectId, APPROVALS_CHANNEL].sort());
      assert.match(cardsTo(r, carol)[0].text ?? '', /^You are sent this request because you may decide it on behalf of Bob Approver \(delegated to you until /);
      g.clock.advance(Date.parse(r.createdAt) + 30 * 60_000 - g.clock.now().getTime());
      assert.deepEqual((await g.app.sweepReach()).reminded, [r.id]);
      await g.app.tellingIdle();
      assert.deepEqual(sent.to(r.id).slice(3).sort(), [dave.aadObjectId, carol.aadObjectId, APPROVALS_CHANNEL].sort(), 'reminded');
      assert.match(cardsTo(r, carol).at(-1)?.text ?? '', /^Reminder 1: .* on behalf of Bob Approver/);
      const answer = await click(g, carol, r, 'approve', { conversationId: cardsTo(r, carol)[0].conversationId, replyToId: cardsTo(r, carol)[0].activityId });
      assert.ok(answer.ok, JSON.stringify(answer));
      await settle(g);
      const done = await g.request(r.id);
      assert.equal(done.approvals[0].onBehalfOf?.aadObjectId, bob.aadObjectId);
      assert.equal(done.state, 'succeeded');
    });

    it('reads no on-behalf line when a member of the group themselves: they decide as themselves', async () => {
      directory.add(PLATFORM_GROUP, carol.aadObjectId);
      await delegates(dave);
      const r = await asked(g, alice, DELETE);
      await g.app.tellingIdle();
      assert.deepEqual(sent.to(r.id).sort(), [dave.aadObjectId, carol.aadObjectId, APPROVALS_CHANNEL].sort(), 'sent the card as Dave\'s delegate');
      assert.equal(cardsTo(r, carol)[0].text, undefined);
      assert.ok((await click(g, carol, r, 'approve')).ok);
      assert.equal((await g.request(r.id)).approvals[0].onBehalfOf, undefined, 'her approval is her own');
    });

    it('looks the delegators up side by side, so a slow Graph holds a new request up once, not once a delegation', async () => {
      directory.add(PLATFORM_GROUP, frank.aadObjectId);
      await delegates();
      assert.ok((await g.app.delegate({ actor: frank, source: sourceIn(opsChannel, 'delegate-2'), delegate: erin, when: 'for 2d' })).ok);
      // Each answer comes a turn later: lookups made one after the other never overlap.
      let inFlight = 0;
      let most = 0;
      const answer = directory.groupsOf.bind(directory);
      directory.groupsOf = async (person, groups) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return answer(person, groups);
      };
      const r = await asked(g, alice, DELETE);
      await g.app.tellingIdle();
      assert.deepEqual(sent.to(r.id).sort(), [dave.aadObjectId, carol.aadObjectId, erin.aadObjectId, APPROVALS_CHANNEL].sort());
      assert.ok(most >= 2, `at most ${most} lookup(s) at once`);
    });

    it('is told, when the delegation starts, what already waits for the group member', async () => {
      const r = await asked(g, alice, DELETE);
      await g.app.tellingIdle();
      assert.match(await delegates(), new RegExp(`1 request already waits for your decision \\(${r.id}\\): Carol NoRole, type "pending"`));
    });

    it('is sent nothing once the delegator left the group, and may not decide then; nor when Graph cannot say, while the others are told', async () => {
      await delegates();
      directory.remove(PLATFORM_GROUP, bob.aadObjectId);
      const r = await asked(g, alice, DELETE);
      await g.app.tellingIdle();
      assert.deepEqual(sent.to(r.id).sort(), [dave.aadObjectId, APPROVALS_CHANNEL].sort());
      assert.equal(refusedWith(await click(g, carol, r, 'approve')), RefusalReason.NotAnApprover);
      directory.add(PLATFORM_GROUP, bob.aadObjectId).fail('Microsoft Graph answered 503');
      const second = await asked(g, alice, 'delete resource group staging-older');
      await g.app.tellingIdle();
      assert.deepEqual(sent.to(second.id).sort(), [dave.aadObjectId, APPROVALS_CHANNEL].sort());
      assert.ok(g.log.lines.some((l) => l.msg === "could not check a delegator's Entra group memberships: the delegate of one who decides through a group is not sent this round"));
    });
  });

  it('lets an approver through a group delegate, and refuses the delegation when Graph cannot answer', async () => {
    const delegate = (who = bob) => f.app.delegate({ actor: who, source: sourceIn(opsChannel, 'delegate-1'), delegate: carol, when: 'for 2d' });
    directory.fail('unreachable');
    const refused = await delegate();
    assert.ok(!refused.ok);
    assert.equal(refused.refusal.reason, RefusalReason.MembershipUnknown);
    directory.fail(undefined);
    assert.equal((await delegate()).ok, true);
    directory.fail('unreachable');
    assert.equal((await delegate(dave)).ok, true, 'an approver by name needs no lookup');
  });
});

describe('app: an escalation role that lists an Entra group', () => {
  const INCIDENT_GROUP = '91a70000-0000-4000-8000-000000000003';
  const MIN = 60_000;
  // incident-leads (the escalation role of "delete resource group", after 40 minutes) is one group, Frank in it; Bob and Dave approve by name.
  const ESCALATION_GROUP = reachConfigText(['escalation: { role: incident-leads, after: 40m }']).replace(
    '  incident-leads:\n    - c0ffee00-ca70-4ca7-8ca7-ca70ca70ca70\n    - 11111111-1111-4111-8111-111111111111\n',
    `  incident-leads:\n    - group:${INCIDENT_GROUP}\n`,
  );
  let f: AppOnFakes;
  let directory: MemoryDirectory;
  beforeEach(() => {
    assert.match(ESCALATION_GROUP, new RegExp(`incident-leads:\\n    - group:${INCIDENT_GROUP}\\n`));
    directory = new MemoryDirectory().add(INCIDENT_GROUP, frank.aadObjectId);
    f = appOnFakes({ configText: ESCALATION_GROUP, directory });
  });
  afterEach(() => settle(f));

  const minutesAfter = (r: { createdAt: string }, minutes: number) => f.clock.advance(Date.parse(r.createdAt) + minutes * MIN - f.clock.now().getTime());

  it('counts a named approver\'s click while Graph is down, and runs the request: before the escalation its group is not in question', async () => {
    const r = await asked(f, alice, DELETE);
    directory.fail('Microsoft Graph answered 503 generalException');
    const rejectedOne = await asked(f, alice, 'delete resource group staging-two');
    assert.equal((await click(f, bob, rejectedOne, 'reject', { comment: 'not now' })).ok, true);
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.deepEqual(directory.calls, [], 'nobody was looked up');
  });

  it('runs a scheduled request a named approver approved, although Graph is down at its time', async () => {
    const r = await asked(f, alice, `${DELETE} at ${new Date(f.clock.now().getTime() + 20 * MIN).toISOString()}`);
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    assert.equal((await f.request(r.id)).state, 'scheduled');
    directory.fail('Microsoft Graph answered 503 generalException');
    minutesAfter(r, 21);
    assert.deepEqual(await f.app.sweepScheduled(), [r.id]);
    await settle(f);
    const ran = await f.request(r.id);
    assert.equal(ran.state, 'succeeded', ran.outcomeDetail);
    assert.equal(f.azure.executions.length, 1);
  });

  it('once escalated, lets a member of the group approve; with Graph down refuses him as membership-unknown, and a named approver still counts', async () => {
    const r = await asked(f, alice, DELETE);
    minutesAfter(r, 41);
    assert.deepEqual((await f.app.sweepReach()).escalated, [r.id]);
    directory.fail('Microsoft Graph answered 503 generalException');
    const refused = await click(f, frank, r, 'approve');
    assert.equal(refusedWith(refused), RefusalReason.MembershipUnknown);
    assert.ok(!refused.ok);
    assert.match(refused.refusal.message, new RegExp(`^Countersign could not check your membership of group ${INCIDENT_GROUP} in Microsoft Entra: Microsoft Graph answered 503 generalException; nothing was changed\\.`));
    assert.equal(refusedWith(await click(f, carol, r, 'approve')), RefusalReason.MembershipUnknown, 'Carol might be in the group: not told she is no approver');
    assert.equal((await click(f, bob, r, 'approve')).ok, true, 'Bob holds platform-approvers by name: the escalation group is not his question');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    directory.fail(undefined);
    const other = await asked(f, alice, 'delete resource group staging-two');
    minutesAfter(other, 41);
    await f.app.sweepReach();
    assert.equal((await click(f, frank, other, 'approve')).ok, true, 'with Graph answering, the group member approves');
    assert.equal(refusedWith(await click(f, carol, await f.request(other.id), 'reject')), RefusalReason.AlreadyDecided);
  });

  it('at execution looks the group up only for an approval given through the escalation: Graph down then fails that one, not a named approver\'s', async () => {
    const byFrank = await asked(f, alice, `${DELETE} at ${new Date(f.clock.now().getTime() + 50 * MIN).toISOString()}`);
    const byBob = await asked(f, alice, `delete resource group staging-two at ${new Date(f.clock.now().getTime() + 50 * MIN).toISOString()}`);
    minutesAfter(byFrank, 41);
    await f.app.sweepReach();
    assert.equal((await click(f, frank, await f.request(byFrank.id), 'approve')).ok, true);
    assert.equal((await click(f, bob, await f.request(byBob.id), 'approve')).ok, true);
    directory.fail('Microsoft Graph answered 503 generalException');
    minutesAfter(byFrank, 51);
    await f.app.sweepScheduled();
    await settle(f);
    const failed = await f.request(byFrank.id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.execution?.error?.code, 'MembershipCheckFailed');
    assert.match(failed.execution?.error?.message ?? '', new RegExp(`Frank Approver's membership of group ${INCIDENT_GROUP}`));
    assert.equal((await f.request(byBob.id)).state, 'succeeded');
  });
});
