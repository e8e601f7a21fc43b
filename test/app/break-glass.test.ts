/** Break-glass: run at once without approval where the policy allows it, loudly, reviewed by a second person after the fact. */
import assert from 'node:assert/strict';
import { RefusalReason } from '../../src/domain/refusal';
import type { Actor } from '../../src/domain/request';
import { requestCard } from '../../src/cards/request-card';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, dave, frank, opsChannel, people, sourceIn } from '../support/people';
import { ROUND } from '../../src/app/round';
import { RecordingMessenger, reachConfigText } from '../support/reach';
import { MemoryDirectory } from '../support/memory-directory';
import { eventually } from '../support/teams';
import { assertNoCrash, click, freshFakesEachTest, refusedWith, settle } from './steps';

const NOTICE = '19:security-notices@thread.tacv2';
const BREAK_GLASS = `breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h, notify: ["${NOTICE}"] }`;
const HOUR = 3_600_000;

/** `break-glass ...` typed in the operations channel; the card is posted there. */
async function breakGlass(f: AppOnFakes, who: Actor, text: string) {
  const meant = f.app.interpret(text);
  assert.equal(meant.kind, 'break-glass');
  const inner = meant.kind === 'break-glass' ? meant.request : meant;
  if (inner.kind !== 'ready') throw new Error(`"${text}" is not a complete request (${inner.kind})`);
  const made = await f.app.breakGlass({ command: inner.command, values: inner.values, ...(inner.reason ? { reason: inner.reason } : {}), actor: who, source: sourceIn(opsChannel, 'bg-1') });
  if (made.ok) await f.app.cardPosted(made.request.id, { conversationId: opsChannel.id, activityId: `card-${made.request.id}` });
  return made;
}

describe('app: break-glass', () => {
  let f: AppOnFakes;
  let messenger: RecordingMessenger;
  freshFakesEachTest(
    { set: (made) => (f = made), get: () => f },
    () => {
      messenger = new RecordingMessenger();
      return { messenger, configText: reachConfigText([BREAK_GLASS, 'escalation: { role: incident-leads, after: 40m }']) };
    },
    { noCrash: true },
  );

  it('runs a break-glass use pasted twice once: the second is refused while the first runs, naming it', async () => {
    f.azure.nextExecution({ hold: true });
    const text = 'break-glass delete resource group staging-old reason: outage INC-42, the group holds the leaking key';
    const made = await breakGlass(f, alice, text);
    assert.ok(made.ok, JSON.stringify(made));
    await f.azure.whenHeld();
    const again = await breakGlass(f, alice, text);
    assert.ok(!again.ok && 'refusal' in again, JSON.stringify(again));
    assert.equal(again.refusal.reason, RefusalReason.AlreadyRequested);
    assert.match(again.refusal.message, new RegExp(`request ${made.request.id} \\(delete resource group staging-old\\) is running, .*You can ask again once it has ended\\.$`));
    f.azure.release();
    await settle(f);
    assert.equal(f.azure.executions.length, 1);
    assert.equal((await f.audit({ types: ['breakglass.used'] })).length, 1);
  });

  it('runs at once without approval, tells the approvers and the notice channel loudly, and says BREAK-GLASS on the card', async () => {
    const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42, the group holds the leaking key');
    assert.ok(made.ok, JSON.stringify(made));
    await settle(f);
    await f.app.tellingIdle();
    const r = await f.request(made.request.id);
    assert.equal(r.state, 'succeeded');
    assert.deepEqual(r.approvals, []);
    assert.equal(f.azure.executions.length, 1);
    assert.equal(r.breakGlass?.reason, 'outage INC-42, the group holds the leaking key');
    assert.equal(r.breakGlass?.reviewDueAt, new Date(f.clock.now().getTime() + 24 * HOUR).toISOString());
    const told = messenger.sent.filter((s) => s.requestId === r.id);
    assert.ok(told.some((s) => s.to === NOTICE && /^BREAK-GLASS: Alice Requester ran request/.test(s.text ?? '')), JSON.stringify(told));
    assert.ok(told.some((s) => s.to === people.bob.aadObjectId), 'the approvers are told in personal chats');
    assert.ok(!told.some((s) => s.to === alice.aadObjectId), 'never the requester');
    assert.deepEqual(
      (await f.audit({ requestId: r.id })).map((x) => x.type).slice(0, 3),
      ['request.created', 'breakglass.used', 'execution.started'],
    );
    const card = JSON.stringify(requestCard(r));
    assert.match(card, /BREAK-GLASS · SUCCEEDED/);
    assert.match(card, /"verb":"ratify"/);
  });

  it('runs once, counting one use, when Teams sends the same message again, at once or after a slow turn', async () => {
    const meant = f.app.interpret('break-glass delete resource group staging-old reason: outage INC-42');
    const inner = meant.kind === 'break-glass' ? meant.request : meant;
    assert.ok(inner.kind === 'ready');
    const attempt = { command: inner.command, values: inner.values, reason: inner.reason!, actor: alice, source: sourceIn(opsChannel, 'incoming-7'), answering: { key: `message/${opsChannel.id}/incoming-7`, what: 'message' as const } };
    const [first, second] = await Promise.all([f.app.breakGlass(attempt), f.app.breakGlass(attempt)]);
    const third = await f.app.breakGlass(attempt);
    const made = [first, second, third].filter((r) => r.ok);
    assert.equal(made.length, 1, JSON.stringify([first, second, third]));
    const id = made[0].ok ? made[0].request.id : '';
    for (const other of [first, second, third].filter((r) => !r.ok)) assert.match(JSON.stringify(other), new RegExp(`This message already created request ${id}`));
    await settle(f);
    await f.app.tellingIdle();
    assert.equal(f.azure.executions.length, 1);
    assert.equal((await f.audit({ types: ['breakglass.used'] })).length, 1);
  });

  it('answers a second sending of the message that used the last break-glass allowed as the first, not as over the limit', async () => {
    const limited = appOnFakes({ messenger, configText: reachConfigText([BREAK_GLASS.replace('reviewWithin: 24h', 'reviewWithin: 24h, maxUses: { count: 1, per: 24h }'), 'escalation: { role: incident-leads, after: 40m }']) });
    const meant = limited.app.interpret('break-glass delete resource group staging-old reason: outage INC-42');
    const inner = meant.kind === 'break-glass' ? meant.request : meant;
    assert.ok(inner.kind === 'ready');
    const attempt = { command: inner.command, values: inner.values, reason: inner.reason!, actor: alice, source: sourceIn(opsChannel, 'incoming-8'), answering: { key: `message/${opsChannel.id}/incoming-8`, what: 'message' as const } };
    const answers = await Promise.all([limited.app.breakGlass(attempt), limited.app.breakGlass(attempt)]);
    const made = answers.filter((r) => r.ok);
    assert.equal(made.length, 1, JSON.stringify(answers));
    const id = made[0].ok ? made[0].request.id : '';
    assert.match(JSON.stringify(answers.find((r) => !r.ok)), new RegExp(`This message already created request ${id}`));
    assert.equal((await limited.audit()).filter((r) => r.type === 'request.refused').length, 0, 'no refusal is recorded for the second sending');
    await settle(limited);
    await limited.app.tellingIdle();
  });

  it('is ratified by an approver, never by the requester', async () => {
    const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
    assert.ok(made.ok);
    await settle(f);
    const r = await f.request(made.request.id);
    assert.equal(refusedWith(await click(f, alice, r, 'ratify')), RefusalReason.SelfReview);
    const ok = await click(f, bob, r, 'ratify', { comment: 'checked the incident' });
    assert.ok(ok.ok, JSON.stringify(ok));
    const after = await f.request(r.id);
    assert.equal(after.breakGlass?.review?.verdict, 'ratified');
    assert.equal(refusedWith(await click(f, dave, after, 'flag')), RefusalReason.NotReviewable, 'reviewed once');
    const event = (await f.audit({ requestId: r.id })).find((x) => x.type === 'breakglass.ratified');
    assert.match(event?.outcome.detail ?? '', /ratified by Bob Approver: checked the incident/);
  });

  it('can be flagged, and the flag is audited and told, with its comment, to the person who used it', async () => {
    const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
    assert.ok(made.ok);
    await settle(f);
    assert.ok((await click(f, bob, await f.request(made.request.id), 'flag', { comment: 'no outage INC-42 was open then' })).ok);
    assert.equal((await f.request(made.request.id)).breakGlass?.review?.verdict, 'flagged');
    assert.ok((await f.audit({ requestId: made.request.id })).some((x) => x.type === 'breakglass.flagged'));
    assert.equal(
      f.notifier.told(made.request.id).at(-1),
      `Break-glass request ${made.request.id} (delete resource group) was flagged by Bob Approver: no outage INC-42 was open then. Its use is recorded as questioned in the audit trail.`,
      'the person who used it is told, with the comment',
    );
  });

  it('tells the person who used it that a namesake flagged it, by the start of each object id, not as if they flagged it themselves', async () => {
    const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
    assert.ok(made.ok);
    await settle(f);
    const namesake = { ...bob, name: alice.name };
    assert.ok((await click(f, namesake, await f.request(made.request.id), 'flag', { comment: 'no outage then' })).ok);
    assert.equal(
      f.notifier.told(made.request.id).at(-1),
      `Break-glass request ${made.request.id} (delete resource group) was flagged by Alice Requester (22222222): no outage then. Its use is recorded as questioned in the audit trail.`,
    );
  });

  it('escalates an overdue review once across instances, audited, to the escalation role', async () => {
    messenger.zones.set(people.frank.aadObjectId, 'America/Los_Angeles');
    const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
    assert.ok(made.ok);
    await settle(f);
    await f.app.tellingIdle();
    assert.deepEqual(await f.app.sweepBreakGlassReviews(), [], 'not due yet');
    f.clock.advance(24 * HOUR);
    const [a, b] = await Promise.all([f.app.sweepBreakGlassReviews(), f.anotherRun().sweepBreakGlassReviews()]);
    assert.deepEqual([...a, ...b], [made.request.id]);
    const r = await f.request(made.request.id);
    assert.equal(r.escalation?.role, 'incident-leads');
    assert.equal((await f.audit({ requestId: r.id })).filter((x) => x.type === 'breakglass.review_overdue').length, 1);
    const overdue = messenger.sent.filter((s) => s.requestId === r.id && /REVIEW OVERDUE/.test(s.text ?? ''));
    assert.ok(overdue.some((s) => s.to === people.frank.aadObjectId), JSON.stringify(overdue));
    // Frank reads when it was due in his own zone, with the UTC instant.
    const due = r.breakGlass!.reviewDueAt;
    assert.match(overdue.find((s) => s.to === people.frank.aadObjectId)!.text!, new RegExp(`by \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d America/Los_Angeles \\(${due.replace(/\./g, '\\.')}\\)\\.`));
    // The escalation role may now review it too.
    assert.ok((await click(f, frank, r, 'ratify')).ok);
  });

  it('escalates the overdue review of a use that expired unstarted (it ended, so it waits for review like any other)', async () => {
    await f.app.executor.stop();
    const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
    assert.ok(made.ok);
    // Nothing started it while its break-glass use held (no instance ran it): it expires unstarted.
    f.clock.advance(30 * 24 * HOUR);
    const other = f.anotherRun();
    await other.catchUp();
    await other.executor.idle();
    const expired = await f.request(made.request.id);
    assert.equal(expired.state, 'expired');
    assert.equal(f.azure.executions.length, 0);
    // Ended and not reviewed: it is listed for review, and past reviewWithin its review is overdue.
    assert.deepEqual(await other.sweepBreakGlassReviews(), [made.request.id]);
    assert.equal((await f.audit({ requestId: made.request.id })).filter((x) => x.type === 'breakglass.review_overdue').length, 1);
    await other.tellingIdle();
    await other.executor.stop();
  });

  it('with notify.approvers: none, messages nobody personally: the notice and its overdue review go to the notice and approval channels', async () => {
    const APPROVALS = '19:approvals@thread.tacv2';
    f = appOnFakes({ messenger, configText: reachConfigText([BREAK_GLASS, 'escalation: { role: incident-leads, after: 40m }', `notify: { approvers: none, channels: ["${APPROVALS}"] }`]) });
    const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
    assert.ok(made.ok);
    await settle(f);
    await f.app.tellingIdle();
    const told = (pattern: RegExp) => messenger.sent.filter((s) => s.requestId === made.request.id && pattern.test(s.text ?? '')).map((s) => s.to);
    assert.deepEqual(made.request.round?.people, [], 'nobody personally, written with the use');
    assert.deepEqual(told(/^BREAK-GLASS: /), [NOTICE, APPROVALS]);
    f.clock.advance(24 * HOUR);
    assert.deepEqual(await f.app.sweepBreakGlassReviews(), [made.request.id]);
    await f.app.tellingIdle();
    assert.deepEqual(told(/^BREAK-GLASS REVIEW OVERDUE: /), [NOTICE, APPROVALS], 'not the escalation role personally either');
    // Whoever may review it still may, from the channel's card.
    assert.ok((await click(f, frank, await f.request(made.request.id), 'ratify')).ok);
  });

  it('with notify.approvers: none and no conversation to post the notice in, still messages the approvers personally: a use is never announced to nobody', async () => {
    f = appOnFakes({ messenger, configText: reachConfigText(['breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h }', 'notify: { approvers: none }']) });
    const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
    assert.ok(made.ok);
    await settle(f);
    await f.app.tellingIdle();
    assert.deepEqual(messenger.to(made.request.id).sort(), [people.bob.aadObjectId, dave.aadObjectId].sort());
  });

  it('says on the card, and audits, that nobody was told of a use whose reviewers are only an Entra group, with no channel to post in', async () => {
    const GROUP = '91a70000-0000-4000-8000-000000000002';
    const groupOnly = reachConfigText(['breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h }'])
      .replace('    - 22222222-2222-4222-8222-222222222222 # Bob Approver', `    - group:${GROUP}`)
      .replace('    - 55555555-5555-4555-8555-555555555555 # Dave Lead\n  incident-leads:', '  incident-leads:');
    assert.match(groupOnly, new RegExp(`platform-approvers:\\n    - group:${GROUP}\\n  incident-leads:`));
    f = appOnFakes({ messenger, configText: groupOnly });
    const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
    assert.ok(made.ok);
    await settle(f);
    await f.app.tellingIdle();
    assert.deepEqual(messenger.sent, []);
    const r = await f.request(made.request.id);
    assert.deepEqual(r.unreachable?.map((u) => u.id), [GROUP]);
    assert.match(JSON.stringify(requestCard(r)), /Could not reach: group 91a70000-0000-4000-8000-000000000002 \(platform-approvers\) \(its members are not sent cards, and \\"delete resource group\\" has no approval channel nor break-glass notice channel, so nobody was told of this break-glass use/);
    const [unreached] = await f.audit({ requestId: r.id, types: ['approver.unreachable'] });
    assert.deepEqual(unreached.data, { occasion: 'break-glass', who: GROUP, name: `group ${GROUP} (platform-approvers)` });
  });

  it('sends no second card to the notice channel it was used in (its card is there); its overdue review goes there', async () => {
    const meant = f.app.interpret('break-glass delete resource group staging-old reason: outage INC-42');
    const inner = meant.kind === 'break-glass' ? meant.request : meant;
    assert.ok(inner.kind === 'ready');
    const notices = { id: NOTICE, conversationType: 'channel' as const };
    const made = await f.app.breakGlass({ command: inner.command, values: inner.values, reason: inner.reason!, actor: alice, source: sourceIn(notices, 'bg-in-notices') });
    assert.ok(made.ok);
    await f.app.cardPosted(made.request.id, { conversationId: NOTICE, activityId: `card-${made.request.id}` });
    await settle(f);
    await f.app.tellingIdle();
    assert.deepEqual(messenger.to(made.request.id).sort(), [people.bob.aadObjectId, dave.aadObjectId].sort(), 'the approvers, not the channel again');
    f.clock.advance(24 * HOUR);
    assert.deepEqual(await f.app.sweepBreakGlassReviews(), [made.request.id]);
    await f.app.tellingIdle();
    assert.ok(messenger.sent.some((s) => s.requestId === made.request.id && s.to === NOTICE && /^BREAK-GLASS REVIEW OVERDUE: /.test(s.text ?? '')));
  });

  describe('when the instance dies during its loud round', () => {
    const timing = { ...ROUND };
    afterEach(() => Object.assign(ROUND, timing));

    /** Sent to `to` for the request, and the line above each card. */
    const lines = (requestId: string, to: string) => messenger.sent.filter((s) => s.requestId === requestId && s.to === to).map((s) => s.text ?? '');

    it('records the round with the use, and a new run takes up what it had not told: the BREAK-GLASS line reaches them, once across instances', async () => {
      ROUND.recordAfterMs = 50;
      // Bob's card gets no answer: the instance dies before it is known.
      const answerBob = messenger.hold(people.bob.aadObjectId);
      const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
      assert.ok(made.ok);
      const recorded = made.request.round;
      assert.equal(recorded?.occasion, 'break-glass', 'written with the use, before anyone was told');
      assert.deepEqual(recorded?.channels, [NOTICE]);
      assert.ok(recorded?.people.includes(people.bob.aadObjectId) && !recorded.people.includes(alice.aadObjectId));
      assert.deepEqual((await f.request(made.request.id)).round?.people, recorded?.people);
      await settle(f);
      await eventually('the others are recorded as told', async () => JSON.stringify((await f.request(made.request.id)).round?.people) === JSON.stringify([people.bob.aadObjectId]), 2000);
      assert.equal((await f.request(made.request.id)).state, 'succeeded');

      // Two new processes sweep (no round under way in them): not before ROUND.resumeAfterMs, then one takes it up.
      f.deps.rounds = undefined;
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [], 'the round may still be under way on a live instance');
      f.clock.advance(ROUND.resumeAfterMs);
      const [a, b] = await Promise.all([f.anotherRun().sweepReach(), f.anotherRun().sweepReach()]);
      assert.deepEqual([...a.resumed, ...b.resumed], [made.request.id]);
      assert.equal(lines(made.request.id, people.bob.aadObjectId).length, 1, 'Bob is told once');
      assert.match(lines(made.request.id, people.bob.aadObjectId)[0], /^BREAK-GLASS: Alice Requester ran request .* without approval\. Reason: outage INC-42\./);
      assert.equal(lines(made.request.id, NOTICE).length, 1, 'the notice channel, told before, is not told again');
      const [resumed] = await f.audit({ types: ['approvers.round_resumed'] });
      assert.deepEqual(resumed.data, { occasion: 'break-glass', to: [people.bob.aadObjectId] });
      assert.equal((await f.request(made.request.id)).round, undefined, 'everyone has an outcome');
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [], 'nothing left to take up');
      answerBob({ ok: false, why: 'the test ended' });
    });

    it('takes up the overdue review\'s round too, with its REVIEW OVERDUE line, and no round once the use is reviewed', async () => {
      ROUND.recordAfterMs = 50;
      const made = await breakGlass(f, alice, 'break-glass delete resource group staging-old reason: outage INC-42');
      assert.ok(made.ok);
      await settle(f);
      await f.app.tellingIdle();
      f.clock.advance(24 * HOUR);
      const answerFrank = messenger.hold(people.frank.aadObjectId);
      // The sweep waits for its round, which waits for Frank's card.
      const swept = f.app.sweepBreakGlassReviews();
      const overdue = await eventually('the overdue review\'s round is recorded, for Frank (escalation role; Alice asked)', async () => {
        const r = await f.request(made.request.id);
        return r.round?.occasion === 'review-overdue' && JSON.stringify(r.round.people) === JSON.stringify([people.frank.aadObjectId]) && r;
      }, 2000);

      f.deps.rounds = undefined;
      f.clock.advance(ROUND.resumeAfterMs);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [made.request.id]);
      assert.equal(lines(made.request.id, people.frank.aadObjectId).length, 1);
      assert.match(lines(made.request.id, people.frank.aadObjectId)[0], /^BREAK-GLASS REVIEW OVERDUE: nobody ratified or flagged request /);
      answerFrank({ ok: false, why: 'the test ended' });
      assert.deepEqual(await swept, [made.request.id]);

      // A round left over once the use is reviewed is not taken up: there is nothing left to announce.
      assert.ok((await click(f, frank, overdue, 'ratify')).ok);
      const reviewed = await f.request(made.request.id);
      await f.store.requests.update({ ...reviewed, version: reviewed.version + 1, round: { occasion: 'break-glass', at: f.clock.now().toISOString(), people: [people.bob.aadObjectId], channels: [] } }, reviewed.version, []);
      f.clock.advance(ROUND.resumeAfterMs);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, []);
    });
  });

  it('refuses a use past its policy\'s maxUses for that person, counted from the store, audited, until the window moves on', async () => {
    const limited = `breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h, notify: ["${NOTICE}"], maxUses: { count: 2, per: 24h } }`;
    f = appOnFakes({ messenger, configText: reachConfigText([limited]) });
    const use = (group: string) => breakGlass(f, alice, `break-glass delete resource group ${group} reason: outage INC-42`);
    assert.ok((await use('staging-old')).ok);
    f.clock.advance(HOUR);
    assert.ok((await use('staging-older')).ok);
    await settle(f);
    // Another instance, after a restart: the count is the store's.
    const third = await f.anotherRun().breakGlass({ command: f.config.catalog.find('delete resource group')!, values: { name: 'staging-oldest' }, reason: 'outage INC-42', actor: alice, source: sourceIn(opsChannel, 'bg-3') });
    assert.equal(third.ok, false);
    assert.match(third.ok ? '' : 'refusal' in third ? third.refusal.message : third.error, /^You used break-glass for "delete resource group" 2 time\(s\) in the last 1 day, as often as its policy allows \(breakGlass\.maxUses\): ask for approval instead, or wait until \d{4}-\d\d-\d\d \d\d:\d\d UTC\. Nothing was run\.$/);
    const refused = (await f.audit({ types: ['request.refused'] })).at(-1);
    assert.equal(refused?.outcome.reason, RefusalReason.BreakGlassLimit);
    // What reached Azure (the first use was still on its way to Azure when the clock moved on: it took its lease again and sent it).
    assert.equal(f.azure.sent.length, 2);
    // A day after her first use, one more: sent three at once on one instance, they are counted one after the other.
    f.clock.advance(23 * HOUR + 1000);
    const together = await Promise.all(['staging-a', 'staging-b', 'staging-c'].map((g) => use(g)));
    assert.deepEqual(together.map((x) => x.ok), [true, false, false]);
    await settle(f);
    assert.equal(f.azure.sent.length, 3);
    // Two days on, three at once across two instances: the store counts them as they are stored.
    f.clock.advance(48 * HOUR);
    const other = f.anotherRun();
    const across = await Promise.all(['staging-d', 'staging-e', 'staging-f'].map((g, i) =>
      (i === 1 ? other : f.app).breakGlass({ command: f.config.catalog.find('delete resource group')!, values: { name: g }, reason: 'outage INC-42', actor: alice, source: sourceIn(opsChannel, `bg-${g}`) })));
    assert.equal(across.filter((x) => x.ok).length, 2);
    const late = across.find((x) => !x.ok);
    assert.equal(late && !late.ok && 'refusal' in late ? late.refusal.reason : undefined, RefusalReason.BreakGlassLimit);
    assert.equal((await f.audit({ types: ['request.refused'] })).filter((x) => x.outcome.reason === RefusalReason.BreakGlassLimit).length, 4);
    await settle(f);
    assert.equal(f.azure.sent.length, 5);
    assert.match((await f.app.help(alice)).find((e) => e.usage.startsWith('delete resource group'))?.approval ?? '', /at most 2 use\(s\) per person in 1 day/);
  });

  it('refuses, and audits, break-glass on a command whose policy does not allow it: nothing runs', async () => {
    const made = await breakGlass(f, alice, 'break-glass tag rg-web owner platform-team reason: urgent');
    assert.ok(!made.ok && 'refusal' in made);
    assert.equal(made.refusal.reason, RefusalReason.BreakGlassNotAllowed);
    assert.equal(f.azure.executions.length, 0);
    const refused = (await f.audit()).filter((x) => x.type === 'request.refused');
    assert.equal(refused.at(-1)?.outcome.reason, RefusalReason.BreakGlassNotAllowed);
  });

  it('refuses someone outside the break-glass roles, and a use without a reason', async () => {
    const bobTries = await breakGlass(f, bob, 'break-glass delete resource group staging-old reason: urgent');
    assert.ok(!bobTries.ok && 'refusal' in bobTries && bobTries.refusal.reason === RefusalReason.NotAllowedToBreakGlass);
    const noReason = await breakGlass(f, alice, 'break-glass delete resource group staging-old');
    assert.ok(!noReason.ok && 'refusal' in noReason && noReason.refusal.reason === RefusalReason.BreakGlassReasonMissing);
    assert.equal(f.azure.executions.length, 0);
  });

  it('lets a member of an Entra group its break-glass role lists use it, and runs it; refuses someone outside the group', async () => {
    // The on-call rota is a group: its members hold the role as for any other (docs/entra-groups.md).
    const ONCALL = '0c0c0000-0000-4000-8000-000000000007';
    const text = reachConfigText([`breakGlass: { allowed: true, roles: [oncall], reviewWithin: 24h }`]).replace('  auditors:\n', `  oncall:\n    - group:${ONCALL}\n  auditors:\n`);
    const directory = new MemoryDirectory().add(ONCALL, alice.aadObjectId);
    const g = appOnFakes({ configText: text, directory });
    const made = await breakGlass(g, alice, 'break-glass delete resource group staging-old reason: outage INC-42, the group holds the leaking key');
    assert.ok(made.ok, JSON.stringify(made));
    await settle(g);
    // Run, not failed at execution as a use whose requester "no longer holds a break-glass role".
    const r = await g.request(made.request.id);
    assert.equal(r.state, 'succeeded', r.outcomeDetail);
    assert.equal(g.azure.executions.length, 1);
    const daveTries = await breakGlass(g, dave, 'break-glass delete resource group staging-older reason: outage INC-42, the group holds the leaking key');
    assert.ok(!daveTries.ok && 'refusal' in daveTries && daveTries.refusal.reason === RefusalReason.NotAllowedToBreakGlass, JSON.stringify(daveTries));
    await settle(g);
    assertNoCrash(g);
  });

  it('sends a break-glass use of an Entra group member on resuming it, after its run died before Azure took it', async () => {
    // The check before a resumed run's first send looks the requester's groups up too, as the claim did.
    const ONCALL = '0c0c0000-0000-4000-8000-000000000007';
    const text = reachConfigText([`breakGlass: { allowed: true, roles: [oncall], reviewWithin: 24h }`]).replace('  auditors:\n', `  oncall:\n    - group:${ONCALL}\n  auditors:\n`);
    const g = appOnFakes({ configText: text, directory: new MemoryDirectory().add(ONCALL, alice.aadObjectId) });
    g.azure.nextExecution({ hold: true, notAccepted: true });
    const made = await breakGlass(g, alice, 'break-glass delete resource group staging-old reason: outage INC-42, the group holds the leaking key');
    assert.ok(made.ok, JSON.stringify(made));
    await g.azure.whenHeld();
    const other = g.anotherRun();
    g.clock.advance(60_000);
    assert.deepEqual(await other.resumeAbandoned(), [made.request.id]);
    await other.executor.idle();
    g.azure.release();
    await settle(g, other);
    const r = await g.request(made.request.id);
    assert.equal(r.state, 'succeeded', r.outcomeDetail);
    assert.equal(g.azure.sent.length, 1, 'sent once, by the run that resumed it');
  });
});
