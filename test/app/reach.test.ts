/**
 * Reaching approvers, on fakes: who is told of a request, who could not be, reminders before expiry
 * and escalation, each once however many instances sweep, and the escalation role deciding under the
 * same rules. "delete resource group" lives 1h here: reminders at 30 and 45 minutes, escalation to
 * incident-leads (Frank, and Alice) at 40 minutes, its card also in the approvals channel.
 */
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load';
import { cardText } from '../support/connector';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, carol, dave, EXAMPLE_CONFIG, frank, opsChannel, sourceIn } from '../support/people';
import { APPROVALS_CHANNEL, reachConfigText, RecordingMessenger, STORE_FAULT_WHY } from '../support/reach';
import { requestCard } from '../../src/cards/request-card';
import { shownVersion, type Actor, type ApprovalRequest } from '../../src/domain/request';
import type { Delivery } from '../../src/app/ports';
import { asked, click, freshFakesEachTest, refusedWith, settle } from './steps';
import { ROUND_WRITE_RETRY_MS } from '../../src/app/notifications';
import { DELEGATE_CARDS_HOLD_MS } from '../../src/app/delegations';
import { ROUND, RoundsUnderWay } from '../../src/app/round';
import { Countersign } from '../../src/app/countersign';
import { TestClock } from '../support/app-fakes';
import { eventually } from '../support/teams';
import { MemoryDirectory } from '../support/memory-directory';
import { RefusalReason } from '../../src/domain/refusal';

const MINUTE = 60_000;
const DELETE = 'delete resource group staging-old';

describe('app: reaching approvers', () => {
  let f: AppOnFakes;
  let sent: RecordingMessenger;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f }, () => {
    sent = new RecordingMessenger();
    return { configText: reachConfigText(), messenger: sent };
  });

  async function created(who: Actor = alice, text = DELETE): Promise<ApprovalRequest> {
    const r = await asked(f, who, text);
    await f.app.tellingIdle();
    return r;
  }

  /** A click on the card a person was sent in their personal chat. */
  function clickPersonal(who: Actor, r: ApprovalRequest, verb: string) {
    const card = sent.sent.filter((s) => s.requestId === r.id && s.to === who.aadObjectId).at(-1);
    assert.ok(card, `${who.name} was sent no card of ${r.id}`);
    return click(f, who, r, verb, { conversationId: card.conversationId, replyToId: card.activityId });
  }

  async function at(minutes: number, since: ApprovalRequest) {
    const target = Date.parse(since.createdAt) + minutes * MINUTE;
    f.clock.advance(target - f.clock.now().getTime());
    return f.app.sweepReach();
  }

  it('sends the card to every approver but the requester, and to the approval channel, each bound to the request', async () => {
    const r = await created();
    assert.deepEqual(sent.to(r.id), [bob.aadObjectId, dave.aadObjectId, APPROVALS_CHANNEL]);
    const [notified] = await f.audit({ types: ['approvers.notified'] });
    assert.deepEqual(notified.data, { occasion: 'created', reached: [bob.aadObjectId, dave.aadObjectId, APPROVALS_CHANNEL] });
    const answer = await clickPersonal(bob, r, 'approve');
    assert.equal(answer.ok, true, 'a click on the personal copy counts');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  describe('when the store cannot write for a while during the round', () => {
    const delays = [...ROUND_WRITE_RETRY_MS];
    before(() => ROUND_WRITE_RETRY_MS.splice(0, ROUND_WRITE_RETRY_MS.length, 5, 5, 5));
    after(() => ROUND_WRITE_RETRY_MS.splice(0, ROUND_WRITE_RETRY_MS.length, ...delays));
    const busy = () => new Error('the store is locked by another process (database is locked): waited 5000 ms for its write lock, nothing was written');

    /** Recording the cards the round sends fails `times` times, then works again. */
    function failingBindings(times: number): void {
      const cards = f.store.cards;
      const original = cards.saveCardMessage.bind(cards);
      let left = times;
      cards.saveCardMessage = async (requestId, message) => {
        if (message.activityId.startsWith('sent-') && left-- > 0) throw busy();
        return original(requestId, message);
      };
    }

    it('records the cards and who was reached once the store can write again, and tells everyone', async () => {
      failingBindings(2);
      // The round's record goes with the request's write (its round lets go of those reached).
      const update = f.store.requests.update.bind(f.store.requests);
      let writesLeft = 2;
      f.store.requests.update = async (request, expected, events) => {
        if (events?.some((e) => e.type === 'approvers.notified') && writesLeft-- > 0) throw busy();
        return update(request, expected, events);
      };
      const r = await created();
      assert.deepEqual(sent.to(r.id), [bob.aadObjectId, dave.aadObjectId, APPROVALS_CHANNEL], 'the failed write stopped nobody being told');
      const [notified] = await f.audit({ types: ['approvers.notified'] });
      assert.deepEqual(notified?.data, { occasion: 'created', reached: [bob.aadObjectId, dave.aadObjectId, APPROVALS_CHANNEL] });
      assert.equal((await f.store.cards.getCardMessages(r.id)).length, 4, 'every card is bound (the channel copy where it was asked, and the three sent)');
      assert.equal(f.log.lines.filter((l) => l.msg === 'recording a card sent to an approver failed; trying again').length, 2);
      assert.equal(f.log.lines.filter((l) => l.msg === 'recording who was reached failed; trying again').length, 2);
      assert.ok(!f.log.lines.some((l) => l.msg === 'telling approvers failed'));
    });

    it('counts someone whose card could not be recorded after the retries as not reached, and goes on to the others', async () => {
      const cards = f.store.cards;
      const original = cards.saveCardMessage.bind(cards);
      cards.saveCardMessage = async (requestId, message) => {
        if (message.conversationId === `personal-${bob.aadObjectId}`) throw busy();
        return original(requestId, message);
      };
      const r = await created();
      assert.deepEqual(sent.to(r.id), [bob.aadObjectId, dave.aadObjectId, APPROVALS_CHANNEL]);
      const [notified] = await f.audit({ types: ['approvers.notified'] });
      assert.deepEqual(notified?.data, { occasion: 'created', reached: [dave.aadObjectId, APPROVALS_CHANNEL] });
      const [missed] = await f.audit({ types: ['approver.unreachable'] });
      assert.equal(missed?.data?.who, bob.aadObjectId);
      assert.match(String(missed?.outcome.detail), /^the card was sent but could not be recorded, so its buttons will be refused/);
    });

    it('says why in words when the store names its own failure (a PostgreSQL connection terminated as the card was recorded), never the driver\'s message', async () => {
      const cards = f.store.cards;
      const original = cards.saveCardMessage.bind(cards);
      const driver = new Error('terminating connection due to administrator command');
      cards.saveCardMessage = async (requestId, message) => {
        if (message.conversationId === `personal-${bob.aadObjectId}`) throw driver;
        return original(requestId, message);
      };
      Object.assign(f.store, { storageFault: (err: unknown) => (err === driver ? 'unreachable' : undefined) });
      await created();
      const [missed] = await f.audit({ types: ['approver.unreachable'] });
      assert.equal(missed?.outcome.detail, "the card was sent but could not be recorded, so its buttons will be refused (Countersign's database failed: it could not be reached)");
    });

    it('sends the card, once the database works again, to someone whose chat it could not look up: at the next sweep, once across instances', async () => {
      sent.storeFaults.add(bob.aadObjectId);
      const r = await created();
      assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL]);
      const stored = await f.request(r.id);
      assert.deepEqual(stored.unreachable, [{ id: bob.aadObjectId, why: STORE_FAULT_WHY }], 'the cards say Bob was not reached meanwhile');
      assert.deepEqual(stored.round?.people, [bob.aadObjectId], 'the round keeps him');
      assert.deepEqual(stored.round?.missed, [{ id: bob.aadObjectId }]);
      sent.storeFaults.clear();
      // The next sweep of any instance, well before the 10 minutes a crashed round waits.
      f.clock.advance(15_000);
      const [a, b] = await Promise.all([f.anotherRun().sweepReach(), f.anotherRun().sweepReach()]);
      await f.app.tellingIdle();
      assert.deepEqual([...a.resumed, ...b.resumed], [r.id]);
      assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL, bob.aadObjectId], 'Bob gets one card, nobody else another');
      const [resumed] = await f.audit({ types: ['approvers.round_resumed'] });
      assert.deepEqual(resumed.data, { occasion: 'created', to: [bob.aadObjectId] });
      assert.match(resumed.outcome.detail ?? '', /^created: 1 not told yet \(Countersign's database failed during the round\); taken up again, time 1 of at most 3$/);
      const after = await f.request(r.id);
      assert.equal(after.round, undefined);
      assert.equal(after.unreachable, undefined, 'Bob is reached now');
      assert.equal((await clickPersonal(bob, r, 'approve')).ok, true);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [], 'nothing left to take up');
    });

    it('records, once the database works again, the card it could not record, rather than send a second one: its buttons then work', async () => {
      const cards = f.store.cards;
      const original = cards.saveCardMessage.bind(cards);
      let failing = true;
      const locked = busy();
      cards.saveCardMessage = async (requestId, message) => {
        if (failing && message.conversationId === `personal-${bob.aadObjectId}`) throw locked;
        return original(requestId, message);
      };
      // The store names this failure its own (the fakes name none): only such a failure keeps the card.
      Object.assign(f.store, { storageFault: (err: unknown) => (err === locked ? 'busy' : undefined) });
      const r = await created();
      const stored = await f.request(r.id);
      assert.equal(stored.unreachable?.[0]?.id, bob.aadObjectId);
      const [card] = sent.sent.filter((s) => s.to === bob.aadObjectId);
      assert.deepEqual(stored.round?.missed, [{ id: bob.aadObjectId, card: { conversationId: card.conversationId, activityId: card.activityId } }]);
      failing = false;
      const before = sent.sent.length;
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [r.id]);
      await f.app.tellingIdle();
      assert.equal(sent.sent.length, before, 'no second card');
      assert.ok((await f.store.cards.getCardMessages(r.id)).some((m) => m.activityId === card.activityId), 'the card Bob has is recorded');
      const after = await f.request(r.id);
      assert.equal(after.round, undefined);
      assert.equal(after.unreachable, undefined, 'the cards no longer say Bob was not reached');
      assert.equal((await clickPersonal(bob, r, 'approve')).ok, true, 'a click on the card he was sent first counts');
    });

    it('keeps no one whose card could not be recorded for a reason other than the database (a message id longer than Countersign takes), and takes nothing up for them', async () => {
      const post = sent.cardToPerson.bind(sent);
      sent.cardToPerson = async (request, person, text, options) => {
        const delivery = await post(request, person, text, options);
        return delivery.ok && person.aadObjectId === bob.aadObjectId ? { ...delivery, message: { ...delivery.message, activityId: 'x'.repeat(300) } } : delivery;
      };
      const r = await created();
      const stored = await f.request(r.id);
      assert.equal(stored.unreachable?.[0]?.id, bob.aadObjectId);
      assert.match(stored.unreachable?.[0]?.why ?? '', /longer than the 256 Countersign takes/);
      assert.equal(stored.round, undefined, 'the database did not fail: nothing is kept to take up again');
      f.clock.advance(15_000);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, []);
      assert.deepEqual(await f.audit({ types: ['approvers.round_resumed'] }), [], "no round said to be taken up because Countersign's database failed");
    });

    it('does not take the round up while another of its messages may still be on its way; then only whom the database kept from it', async () => {
      sent.storeFaults.add(bob.aadObjectId);
      const answerDave = sent.hold(dave.aadObjectId);
      const recordAfterMs = ROUND.recordAfterMs;
      ROUND.recordAfterMs = 50;
      const r = await asked(f, alice, DELETE);
      try {
        await eventually('Bob and the channel are recorded', async () => (await f.request(r.id)).round?.missed?.length === 1, 5000);
        sent.storeFaults.clear();
        assert.deepEqual((await f.request(r.id)).round?.people, [bob.aadObjectId, dave.aadObjectId]);
        // Dave's card may be on its way on this instance: another one takes nothing up.
        assert.deepEqual((await f.anotherRun().sweepReach()).resumed, []);
      } finally {
        answerDave();
        ROUND.recordAfterMs = recordAfterMs;
      }
      await f.app.tellingIdle();
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [r.id]);
      await f.app.tellingIdle();
      assert.deepEqual(sent.to(r.id), [APPROVALS_CHANNEL, dave.aadObjectId, bob.aadObjectId], 'Dave once, Bob once');
      assert.equal((await f.request(r.id)).round, undefined);
    });

    /** Writing a round's outcome (made at `time`) fails with the database (busy, as the store names it) while `failing(time)` says so. */
    function failingOutcomes(failing: (time: string) => boolean): void {
      const update = f.store.requests.update.bind(f.store.requests);
      f.store.requests.update = async (request, expected, events) => {
        if (events?.some((e) => (e.type === 'approvers.notified' || e.type === 'approver.unreachable') && failing(e.time))) throw busy();
        return update(request, expected, events);
      };
      Object.assign(f.store, { storageFault: (err: unknown) => (err instanceof Error && err.message === busy().message ? 'busy' : undefined) });
    }
    const retriesSpent = () => eventually('the write\'s own retries are spent', () => f.log.lines.filter((l) => l.msg === 'recording who was reached failed; trying again').length === ROUND_WRITE_RETRY_MS.length, 5000);

    it('records the outcome its write\'s retries could not once the database works again, and the next sweep sends the card to whom the database kept from it: nobody twice, once across instances', async () => {
      const { recordRetryMs } = ROUND;
      ROUND.recordRetryMs = 20;
      let failing = true;
      failingOutcomes(() => failing);
      sent.storeFaults.add(bob.aadObjectId);
      try {
        const r = await asked(f, alice, DELETE);
        await retriesSpent();
        assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL]);
        assert.deepEqual((await f.request(r.id)).round?.people, [bob.aadObjectId, dave.aadObjectId], 'nothing recorded yet');
        f.clock.advance(15_000);
        assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [], 'the round is still under way: nobody takes it up');
        failing = false;
        sent.storeFaults.clear();
        await f.app.tellingIdle();
        const stored = await f.request(r.id);
        assert.deepEqual(stored.round?.missed, [{ id: bob.aadObjectId }], 'recorded: only Bob, whom the database kept from his card, is left of the round');
        assert.deepEqual(stored.unreachable?.map((u) => u.id), [bob.aadObjectId]);
        const [notified] = await f.audit({ types: ['approvers.notified'] });
        assert.deepEqual(notified?.data, { occasion: 'created', reached: [dave.aadObjectId, APPROVALS_CHANNEL] });
        f.clock.advance(15_000);
        const [a, b] = await Promise.all([f.anotherRun().sweepReach(), f.anotherRun().sweepReach()]);
        await f.app.tellingIdle();
        assert.deepEqual([...a.resumed, ...b.resumed], [r.id], 'at the next sweep, not 10 minutes after the round began');
        assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL, bob.aadObjectId], 'Bob gets one card, nobody else another');
        const after = await f.request(r.id);
        assert.equal(after.round, undefined);
        assert.equal(after.unreachable, undefined);
        assert.ok(!f.log.lines.some((l) => l.msg === 'telling approvers failed'));
      } finally {
        ROUND.recordRetryMs = recordRetryMs;
      }
    });

    it('leaves out that outcome once another instance took the round up meanwhile (its clock ahead): the cards do not say again that Bob was not reached', async () => {
      const { recordRetryMs } = ROUND;
      ROUND.recordRetryMs = 20;
      let failing = true;
      // Only this instance's writes fail: the other one's outcome is made at its own clock's time, ahead.
      const aheadAt = new Date(f.clock.now().getTime() + ROUND.resumeAfterMs);
      failingOutcomes((time) => failing && time < aheadAt.toISOString());
      sent.storeFaults.add(bob.aadObjectId);
      try {
        const r = await asked(f, alice, DELETE);
        await retriesSpent();
        // An instance whose clock is ahead takes the round up as one whose instance died, and reaches Bob.
        sent.storeFaults.clear();
        const ahead = new TestClock(aheadAt);
        const other = new Countersign({ ...f.deps, clock: ahead, rounds: new RoundsUnderWay() }, { owner: 'run-c', correlationId: () => 'corr-c' });
        assert.deepEqual((await other.sweepReach()).resumed, [r.id]);
        await other.tellingIdle();
        assert.equal((await f.request(r.id)).unreachable, undefined, 'Bob was reached by then');
        failing = false;
        await f.app.tellingIdle();
        const after = await f.request(r.id);
        assert.equal(after.unreachable, undefined, 'the late outcome does not say again that Bob was not reached');
        assert.deepEqual((await f.audit({ types: ['approver.unreachable'] })).map((x) => x.data?.who), [], 'nor is it audited');
        assert.ok(f.log.lines.some((l) => l.msg === 'the round was taken up or replaced before its outcome could be recorded: that outcome is left out'));
        assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL, bob.aadObjectId], 'the round taken up sends Dave and the channel nothing again: their cards are bound');
      } finally {
        ROUND.recordRetryMs = recordRetryMs;
      }
    });

    it('takes such a round up at most 3 times while the database keeps failing, then leaves it to the next reminder', async () => {
      sent.storeFaults.add(bob.aadObjectId);
      const r = await created();
      for (let time = 1; time <= 3; time++) {
        f.clock.advance(15_000);
        assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [r.id], `time ${time}`);
        await f.app.tellingIdle();
      }
      f.clock.advance(ROUND.resumeAfterMs);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [], 'no fourth time');
      assert.deepEqual((await f.request(r.id)).round?.missed, [{ id: bob.aadObjectId }], 'still not reached, and the card says so');
      assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL]);
      sent.storeFaults.clear();
      await at(30, r);
      await f.app.tellingIdle();
      assert.deepEqual(sent.to(r.id, 'reminders'), [bob.aadObjectId, dave.aadObjectId], 'the reminder reaches him');
    });
  });

  describe('when a person\'s card hangs or fails', () => {
    const timing = { ...ROUND };
    /** Cards held: answered at the end of each test, so that no round is left waiting. */
    const holds: ((answer?: Delivery) => void)[] = [];
    const hold = (to: string) => {
      const answer = sent.hold(to);
      holds.push(answer);
      return answer;
    };
    afterEach(() => {
      Object.assign(ROUND, timing);
      for (const answer of holds.splice(0)) answer({ ok: false, why: 'the test ended' });
    });
    const SECOND_CHANNEL = '19:second@thread.tacv2';
    const notified = async () => (await f.audit({ types: ['approvers.notified'] })).map((x) => x.data?.reached);
    const missed = async () => (await f.audit({ types: ['approver.unreachable'] })).map((x) => [x.data?.who, x.outcome.detail]);

    it('reaches the others at once while the first approver\'s card hangs, and records each outcome as it is known', async () => {
      ROUND.recordAfterMs = 50;
      const answerBob = hold(bob.aadObjectId);
      const r = await asked(f, alice, DELETE);
      await eventually('Dave and the channel are sent the card', () => sent.to(r.id).length === 2, 2000);
      assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL]);
      await eventually('who was reached is recorded', async () => (await notified()).length === 1, 2000);
      assert.deepEqual(await notified(), [[dave.aadObjectId, APPROVALS_CHANNEL]], 'recorded while Bob\'s card still waits for Teams');
      assert.deepEqual(await missed(), []);

      answerBob({ ok: false, why: 'Teams did not answer sendToConversation within 15 s' });
      await f.app.tellingIdle();
      assert.deepEqual(await missed(), [[bob.aadObjectId, 'Teams did not answer sendToConversation within 15 s']]);
      assert.deepEqual(await notified(), [[dave.aadObjectId, APPROVALS_CHANNEL]]);
      assert.deepEqual((await f.request(r.id)).unreachable, [{ id: bob.aadObjectId, why: 'Teams did not answer sendToConversation within 15 s' }], 'every card says Bob was not reached');
    });

    it('records a card that arrives late as reached, in a record of its own', async () => {
      ROUND.recordAfterMs = 50;
      const answerBob = hold(bob.aadObjectId);
      const r = await asked(f, alice, DELETE);
      await eventually('the others are recorded', async () => (await notified()).length === 1, 2000);
      answerBob();
      await f.app.tellingIdle();
      assert.deepEqual(await notified(), [[dave.aadObjectId, APPROVALS_CHANNEL], [bob.aadObjectId]]);
      assert.equal((await clickPersonal(bob, r, 'approve')).ok, true, 'Bob\'s card is bound: his click counts');
    });

    it('starts a request approved while a card of its round hung in its time: the card\'s late outcome, which no card shows, does not restart the wait', async () => {
      const late: [string, Delivery | undefined][] = [
        ['went', undefined],
        ['failed', { ok: false, why: 'Teams did not answer sendToConversation within 15 s' }],
      ];
      for (const [how, answer] of late) {
        sent = new RecordingMessenger();
        f = appOnFakes({ configText: reachConfigText(), messenger: sent, executor: { strandedAfterMs: MINUTE, startRetryDelaysMs: [] } });
        ROUND.recordAfterMs = 50;
        const answerBob = hold(bob.aadObjectId);
        const r = await asked(f, alice, DELETE);
        await eventually('the others are recorded', async () => (await notified()).length === 1, 2000);
        // The run's claim cannot be written: the approved request waits for the stranded sweep.
        const requests = f.store.requests;
        const update = requests.update.bind(requests);
        let claims = 0;
        requests.update = async (next, expected, events) => {
          if (next.state === 'executing' && claims++ === 0) throw new Error('the store is locked by another process (database is locked): waited 5000 ms for its write lock, nothing was written');
          return update(next, expected, events);
        };
        assert.equal((await clickPersonal(dave, r, 'approve')).ok, true);
        await settle(f);
        const approved = await f.request(r.id);
        assert.equal(approved.state, 'approved');
        assert.deepEqual(approved.round?.people, [bob.aadObjectId], 'Bob\'s card is still on its way');
        f.clock.advance(50_000);
        answerBob(answer);
        await f.app.tellingIdle();
        const recorded = await f.request(r.id);
        assert.equal(recorded.round, undefined, `Bob's card ${how}: recorded`);
        assert.equal(recorded.unreachable?.[0]?.id, answer ? bob.aadObjectId : undefined, how);
        assert.equal(recorded.version, approved.version + 1, 'by a compare-and-swap of its own');
        assert.equal(recorded.updatedAt, approved.updatedAt, `Bob's card ${how}: an approved request's card shows none of it, and its time of last change stays`);
        assert.equal(shownVersion(recorded), shownVersion(approved), 'the cards still show the request as they did');
        f.clock.advance(10_000);
        assert.deepEqual(await f.app.runStranded(), [r.id], `Bob's card ${how}: approved a minute ago, started again, not a minute after the card's outcome`);
        await settle(f);
        assert.equal((await f.request(r.id)).state, 'succeeded');
        assert.equal(f.azure.started.length, 1, 'sent to Azure once');
        f.log.lines.length = 0;
      }
    });

    it('records one round in one record when every card went in its first moments, in the order of the audience', async () => {
      const answerBob = hold(bob.aadObjectId);
      const r = await asked(f, alice, DELETE);
      await eventually('Dave and the channel are sent the card', () => sent.to(r.id).length === 2, 2000);
      answerBob();
      await f.app.tellingIdle();
      assert.deepEqual(await notified(), [[bob.aadObjectId, dave.aadObjectId, APPROVALS_CHANNEL]]);
    });

    /**
     * Two approval channels, two messages at a time, outcomes recorded together only after a minute:
     * Bob's and the first channel's cards hang, Dave's goes, the second channel waits for a free slot.
     */
    async function roundWithHangingCards(): Promise<{ r: ApprovalRequest; answerBob: (answer?: Delivery) => void }> {
      sent = new RecordingMessenger();
      f = appOnFakes({ configText: reachConfigText([`notify: { channels: ["${APPROVALS_CHANNEL}", "${SECOND_CHANNEL}"] }`]), messenger: sent });
      Object.assign(ROUND, { concurrency: 2, recordAfterMs: 60_000 });
      const answerBob = hold(bob.aadObjectId);
      hold(APPROVALS_CHANNEL);
      const r = await asked(f, alice, DELETE);
      await eventually('the approvals channel\'s card is on its way', () => sent.started.includes(APPROVALS_CHANNEL), 2000);
      return { r, answerBob };
    }

    it('at a stop, records who was reached at once, and those not sent or not answered as not reached, before the stop completes', async () => {
      const { r, answerBob } = await roundWithHangingCards();
      assert.deepEqual(sent.to(r.id), [dave.aadObjectId]);
      assert.deepEqual(await notified(), [], 'the round still gathers its first outcomes');

      f.app.stopTelling();
      await eventually('Dave is recorded as reached at once', async () => (await notified()).length === 1, 2000);
      assert.deepEqual(await notified(), [[dave.aadObjectId]]);
      await f.app.cutTelling();
      await f.app.tellingIdle();
      assert.deepEqual(await missed(), [
        [SECOND_CHANNEL, 'not sent: Countersign was stopping'],
        [bob.aadObjectId, 'Countersign stopped before Teams answered'],
        [APPROVALS_CHANNEL, 'Countersign stopped before Teams answered'],
      ]);
      assert.ok(!sent.started.includes(SECOND_CHANNEL), 'nothing new is sent once stopping');

      // Bob's card arrives after all: it was recorded as not reached, so it is not bound.
      answerBob();
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(!(await f.store.cards.getCardMessages(r.id)).some((m) => m.conversationId === `personal-${bob.aadObjectId}`));
    });

    it('sends no more of a reminder round once the request is decided while it goes out', async () => {
      ROUND.concurrency = 1;
      const r = await created();
      const answerBob = hold(bob.aadObjectId);
      const sweep = at(30, r);
      await eventually('Bob\'s reminder is on its way', () => sent.started.filter((x) => x === bob.aadObjectId).length === 2, 2000);
      await clickPersonal(dave, r, 'reject');
      assert.equal((await f.request(r.id)).state, 'rejected');
      answerBob();
      assert.deepEqual((await sweep).reminded, [r.id]);
      assert.deepEqual(sent.to(r.id, 'reminders'), [bob.aadObjectId], 'Dave, who rejected it, is not told it still waits for a decision');
      const rounds = (await f.audit({ types: ['approvers.notified'] })).map((x) => x.data);
      assert.deepEqual(rounds.at(-1), { occasion: 'reminder', reached: [bob.aadObjectId] });
    });

    it('takes a round a stop cut short up again at the next run\'s first sweep: those not reached then get a working card, once across instances', async () => {
      const { r, answerBob } = await roundWithHangingCards();
      f.app.stopTelling();
      await f.app.cutTelling();
      await f.app.tellingIdle();
      answerBob({ ok: false, why: 'the test ended' });
      const stopped = await f.request(r.id);
      assert.deepEqual(stopped.round?.people, [bob.aadObjectId]);
      assert.deepEqual(stopped.round?.channels, [APPROVALS_CHANNEL, SECOND_CHANNEL]);
      assert.equal(stopped.round?.cut, true);
      assert.equal(stopped.unreachable?.length, 3, 'the cards say who was not reached meanwhile');

      // Two instances start and sweep at once (new processes: no round under way, not stopping): one
      // takes the round up, the other finds it taken.
      f.deps.rounds = undefined;
      const [a, b] = await Promise.all([f.anotherRun().sweepReach(), f.anotherRun().sweepReach()]);
      await f.app.tellingIdle();
      assert.deepEqual([...a.resumed, ...b.resumed], [r.id]);
      assert.deepEqual(sent.to(r.id), [dave.aadObjectId, bob.aadObjectId, APPROVALS_CHANNEL, SECOND_CHANNEL], 'each sent once more, Dave (reached before the stop) not again');
      const [resumed] = await f.audit({ types: ['approvers.round_resumed'] });
      assert.deepEqual(resumed.data, { occasion: 'created', to: [bob.aadObjectId, APPROVALS_CHANNEL, SECOND_CHANNEL] });
      assert.match(resumed.outcome.detail ?? '', /^created: 3 not told yet \(Countersign stopped during the round\); taken up again, time 1 of at most 3$/);
      const after = await f.request(r.id);
      assert.equal(after.round, undefined, 'everyone has an outcome');
      assert.equal(after.unreachable, undefined, 'the cards no longer say anyone was not reached');
      assert.equal((await clickPersonal(bob, r, 'approve')).ok, true, 'Bob\'s new card is bound: his click counts');
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [], 'nothing left to take up');
    });

    it('takes up a round its instance died in (no outcome recorded) after ROUND.resumeAfterMs, not before', async () => {
      // Bob's chat fails in the first round, so he has no card; the channel's card went and is bound.
      sent.unreachable.set(bob.aadObjectId, 'Teams answered 500');
      const r = await created();
      sent.unreachable.clear();
      // What a run that died before any outcome was recorded leaves behind.
      const current = await f.request(r.id);
      const at = f.clock.now().toISOString();
      await f.store.requests.update({ ...current, version: current.version + 1, round: { occasion: 'created', at, people: [bob.aadObjectId], channels: [APPROVALS_CHANNEL] } }, current.version, []);
      f.clock.advance(ROUND.resumeAfterMs - 1000);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [], 'a round may still be under way on a live instance');
      f.clock.advance(1000);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [r.id]);
      await f.app.tellingIdle();
      assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL, bob.aadObjectId], 'Bob gets his card; the channel, whose card is bound, none again');
      const [resumed] = await f.audit({ types: ['approvers.round_resumed'] });
      assert.match(resumed.outcome.detail ?? '', new RegExp(`^created: 2 not told yet \\(no outcome recorded since ${at}\\)`));
      assert.equal((await f.request(r.id)).round, undefined);
      assert.equal((await f.request(r.id)).unreachable, undefined, 'Bob is reached now');
      assert.equal((await clickPersonal(bob, r, 'approve')).ok, true);
    });

    it('takes up at once a round begun before this instance started, when it is the only one on its store (SQLite)', async () => {
      sent.unreachable.set(bob.aadObjectId, 'Teams answered 500');
      const r = await created();
      sent.unreachable.clear();
      const current = await f.request(r.id);
      await f.store.requests.update({ ...current, version: current.version + 1, round: { occasion: 'created', at: f.clock.now().toISOString(), people: [bob.aadObjectId], channels: [APPROVALS_CHANNEL] } }, current.version, []);
      f.clock.advance(1000);
      f.deps.onlyInstanceSince = f.clock.now();
      try {
        f.clock.advance(15_000);
        assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [r.id], 'the first sweep after the restart, not 10 minutes after the round began');
        await f.app.tellingIdle();
        assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL, bob.aadObjectId]);
      } finally {
        f.deps.onlyInstanceSince = undefined;
      }
    });

    it('gives nobody a second card when the dead run had posted and bound theirs before it recorded anything', async () => {
      const r = await created();
      const current = await f.request(r.id);
      await f.store.requests.update({ ...current, version: current.version + 1, round: { occasion: 'created', at: f.clock.now().toISOString(), people: [bob.aadObjectId, dave.aadObjectId], channels: [APPROVALS_CHANNEL] } }, current.version, []);
      const before = sent.sent.length;
      f.clock.advance(ROUND.resumeAfterMs);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [r.id]);
      await f.app.tellingIdle();
      assert.equal(sent.sent.length, before, 'every one of them has a working card already');
      assert.equal((await f.request(r.id)).round, undefined, 'their cards count as reaching them');
    });

    it('does not take up a round still under way on this instance', async () => {
      ROUND.recordAfterMs = 50;
      const answerBob = hold(bob.aadObjectId);
      const r = await asked(f, alice, DELETE);
      await eventually('the others are recorded', async () => (await notified()).length === 1, 2000);
      assert.deepEqual((await f.request(r.id)).round?.people, [bob.aadObjectId], 'Bob\'s card still waits for Teams');
      f.clock.advance(ROUND.resumeAfterMs);
      assert.deepEqual((await f.app.sweepReach()).resumed, [], 'the round is under way here: not sent again beside itself');
      answerBob();
      await f.app.tellingIdle();
      assert.equal((await f.request(r.id)).round, undefined, 'Bob\'s late answer is recorded: the round is done');
      assert.deepEqual(sent.to(r.id), [dave.aadObjectId, APPROVALS_CHANNEL, bob.aadObjectId]);
    });

    it('tells, when it takes a round up, only those who may still decide', async () => {
      sent.unreachable.set(bob.aadObjectId, 'Teams answered 500');
      const r = await created();
      sent.unreachable.clear();
      const current = await f.request(r.id);
      // Left by a run that died before any outcome was recorded, under a config in which Carol
      // approved; she holds no role in the config of the run that takes the round up.
      await f.store.requests.update(
        { ...current, version: current.version + 1, round: { occasion: 'created', at: f.clock.now().toISOString(), people: [carol.aadObjectId, bob.aadObjectId], channels: [] } },
        current.version,
        [],
      );
      f.clock.advance(ROUND.resumeAfterMs);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [r.id]);
      await f.app.tellingIdle();
      assert.deepEqual(sent.to(r.id).slice(2), [bob.aadObjectId]);
      const [resumed] = await f.audit({ types: ['approvers.round_resumed'] });
      assert.deepEqual(resumed.data, { occasion: 'created', to: [bob.aadObjectId] });
    });

    /** Bob's card goes out, then its binding's first write is held until `release` (it then fails with `fail`, or is written). */
    function heldBinding(): { started: Promise<void>; release: (fail?: Error) => void } {
      const cards = f.store.cards;
      const original = cards.saveCardMessage.bind(cards);
      let started!: () => void;
      let release!: (fail?: Error) => void;
      const begun = new Promise<void>((resolve) => (started = resolve));
      const released = new Promise<Error | undefined>((resolve) => (release = resolve));
      cards.saveCardMessage = async (requestId, message) => {
        if (message.conversationId === `personal-${bob.aadObjectId}`) {
          started();
          const fail = await released;
          if (fail) throw fail;
        }
        return original(requestId, message);
      };
      return { started: begun, release };
    }
    const bobsCard = async (r: ApprovalRequest) => (await f.store.cards.getCardMessages(r.id)).some((m) => m.conversationId === `personal-${bob.aadObjectId}`);

    it('at the cut, lets a card\'s binding under way finish, and records that card as reached: its buttons work', async () => {
      Object.assign(ROUND, { recordAfterMs: 60_000, cutBindingWaitMs: 2_000 });
      const binding = heldBinding();
      const r = await asked(f, alice, DELETE);
      await binding.started;
      f.app.stopTelling();
      const cut = f.app.cutTelling();
      await new Promise((resolve) => setTimeout(resolve, 20));
      binding.release();
      await cut;
      await f.app.tellingIdle();
      assert.ok(await bobsCard(r), 'Bob\'s card is bound');
      assert.deepEqual(await missed(), []);
      assert.ok((await notified()).flat().includes(bob.aadObjectId), 'Bob is recorded as reached');
      assert.equal((await clickPersonal(bob, r, 'approve')).ok, true);
    });

    it('at the cut, does not try a failed binding again: the card stays unbound and the approver is recorded as not reached', async () => {
      const delays = [...ROUND_WRITE_RETRY_MS];
      ROUND_WRITE_RETRY_MS.splice(0, ROUND_WRITE_RETRY_MS.length, 60_000);
      try {
        Object.assign(ROUND, { recordAfterMs: 60_000, cutBindingWaitMs: 2_000 });
        const binding = heldBinding();
        const r = await asked(f, alice, DELETE);
        await binding.started;
        // The first write fails: the binding waits a minute to be tried again, which the cut ends.
        binding.release(new Error('the store is locked by another process (database is locked)'));
        await new Promise((resolve) => setTimeout(resolve, 20));
        f.app.stopTelling();
        await f.app.cutTelling();
        await f.app.tellingIdle();
        assert.ok(!(await bobsCard(r)), 'Bob\'s card is not bound');
        const [bobMissed] = (await missed()).filter(([who]) => who === bob.aadObjectId);
        assert.match(String(bobMissed?.[1]), /^the card was sent but could not be recorded, so its buttons will be refused \(Countersign was stopping\)/);
      } finally {
        ROUND_WRITE_RETRY_MS.splice(0, ROUND_WRITE_RETRY_MS.length, ...delays);
      }
    });

    it('at the cut, records a card whose binding is still being written after the wait as not reached, saying why', async () => {
      Object.assign(ROUND, { recordAfterMs: 60_000, cutBindingWaitMs: 30 });
      const binding = heldBinding();
      const r = await asked(f, alice, DELETE);
      await binding.started;
      f.app.stopTelling();
      await f.app.cutTelling();
      const [bobMissed] = (await missed()).filter(([who]) => who === bob.aadObjectId);
      assert.equal(bobMissed?.[1], 'the card was sent, but Countersign stopped before it was recorded, so its buttons may be refused');
      binding.release(new Error('the store was closed'));
      await f.app.tellingIdle();
      assert.ok(!(await bobsCard(r)));
    });
  });

  it('never sends the requester a card of their own request, even when they also approve', async () => {
    const r = await created(dave);
    assert.deepEqual(sent.to(r.id), [bob.aadObjectId, APPROVALS_CHANNEL]);
  });

  it('records who could not be reached on the request, its card and the audit, and clears it once they are reached', async () => {
    sent.unreachable.set(dave.aadObjectId, 'app not installed');
    const r = await created();
    const stored = await f.request(r.id);
    assert.deepEqual(stored.unreachable, [{ id: dave.aadObjectId, why: 'app not installed' }]);
    assert.match(cardText(requestCard(stored)), /Could not reach: 55555555-5555-4555-8555-555555555555 \(app not installed\)\./);
    const [missed] = await f.audit({ types: ['approver.unreachable'] });
    assert.equal(missed.outcome.detail, 'app not installed');
    assert.deepEqual(missed.data, { occasion: 'created', who: dave.aadObjectId });
    assert.deepEqual(f.notifier.cardRefreshes(r.id), ['pending@2'], 'every card shows who could not be reached');

    sent.unreachable.clear();
    await at(30, r);
    const later = await f.request(r.id);
    assert.equal(later.unreachable, undefined);
    assert.doesNotMatch(cardText(requestCard(later)), /Could not reach/);
  });

  it('tells a requester who asked in their personal chat when it expired in their own time zone; in a channel, UTC', async () => {
    sent.zones.set(alice.aadObjectId, 'America/Sao_Paulo');
    const inChannel = await created();
    const meant = f.app.interpret('delete resource group staging-web-frontend');
    assert.equal(meant.kind, 'ready');
    if (meant.kind !== 'ready') return;
    const mine = await f.app.createRequest({ command: meant.command, values: meant.values, actor: alice, source: sourceIn({ id: 'a:alice-chat', conversationType: 'personal' }, 'ask-2') });
    assert.ok(mine.ok, JSON.stringify(mine));
    await f.app.tellingIdle();
    f.clock.advance(Date.parse(mine.request.expiresAt) + 1000 - f.clock.now().getTime());
    assert.deepEqual((await f.app.sweepExpired()).sort(), [inChannel.id, mine.request.id].sort());
    assert.match(f.notifier.told(mine.request.id).at(-1) ?? '', new RegExp(`nobody approved it before \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d America/Sao_Paulo \\(${mine.request.expiresAt.replace(/\./g, '\\.')}\\)\\.`));
    assert.match(f.notifier.told(inChannel.id).at(-1) ?? '', /nobody approved it before \d{4}-\d\d-\d\d \d\d:\d\d UTC\./, 'read by many in the channel: UTC');
  });

  it('tells the requester of a request that expired whom Countersign could not reach, who may not have known of it', async () => {
    sent.unreachable.set(dave.aadObjectId, 'app not installed');
    const r = await created();
    f.clock.advance(Date.parse(r.expiresAt) + 1000 - f.clock.now().getTime());
    assert.deepEqual(await f.app.sweepExpired(), [r.id]);
    assert.equal(
      f.notifier.told(r.id).at(-1),
      `Request ${r.id} expired: nobody approved it before 2026-03-02 10:00 UTC. Countersign could not reach ${dave.aadObjectId} (app not installed), so they may not have known of it: see that they can be reached (why is in brackets) before you ask again.`,
    );
  });

  it('reminds at half-life and 15 minutes before expiry, at most max, each audited, not the requester', async () => {
    const r = await created();
    assert.deepEqual(await at(29, r), { resumed: [], escalated: [], reminded: [], delegationsEnded: [] });
    assert.deepEqual(await at(30, r), { resumed: [], escalated: [], reminded: [r.id], delegationsEnded: [] });
    assert.deepEqual(await at(31, r), { resumed: [], escalated: [], reminded: [], delegationsEnded: [] });
    assert.deepEqual(sent.to(r.id, 'reminders'), [bob.aadObjectId, dave.aadObjectId]);
    const text = sent.sent.find((s) => s.text)!.text!;
    assert.match(text, new RegExp(`^Reminder 1: request ${r.id} \\(delete resource group staging-old\\) from Alice Requester is still waiting for a decision\\. It expires in 30 minutes, at 2026-03-02 10:00 UTC\\. Approve or reject it on the card below\\.$`));
    assert.equal(r.expiresAt, '2026-03-02T10:00:00.000Z');
    assert.deepEqual(await at(40, r), { resumed: [], escalated: [r.id], reminded: [], delegationsEnded: [] });
    assert.deepEqual(await at(45, r), { resumed: [], escalated: [], reminded: [r.id], delegationsEnded: [] });
    // After escalation Frank may decide too, so he is reminded; Alice asked, so she never is.
    assert.deepEqual(sent.to(r.id, 'reminders').slice(2), [bob.aadObjectId, dave.aadObjectId, frank.aadObjectId]);
    assert.deepEqual(await at(55, r), { resumed: [], escalated: [], reminded: [], delegationsEnded: [] }, 'max 2');
    const reminded = await f.audit({ types: ['request.reminded'] });
    assert.deepEqual(
      reminded.map((x) => [x.outcome.detail, x.data]),
      [
        [`reminder 1 of at most 2; expires ${r.expiresAt}`, { to: [bob.aadObjectId, dave.aadObjectId] }],
        [`reminder 2 of at most 2; expires ${r.expiresAt}`, { to: [bob.aadObjectId, dave.aadObjectId, frank.aadObjectId] }],
      ],
    );
    // Version 5: each round before it (the creation's, the first reminder's) was recorded on the request.
    assert.deepEqual(f.notifier.cardRefreshes(r.id), ['pending@5'], 'only the escalation is shown on the cards; a reminder shows nothing new');
  });

  it('sends one reminder, not a burst, when several points passed while nobody swept', async () => {
    const r = await created();
    assert.deepEqual((await at(50, r)).reminded, [r.id]);
    assert.deepEqual((await at(51, r)).reminded, [], 'both points were handled by the one reminder');
    assert.equal((await f.request(r.id)).reminders?.sent, 1);
  });

  it('sends no reminder after a decision', async () => {
    const r = await created();
    await clickPersonal(bob, r, 'reject');
    await at(30, r);
    await at(45, r);
    assert.deepEqual(sent.to(r.id, 'reminders'), []);
    assert.deepEqual(await f.audit({ types: ['request.reminded'] }), []);
  });

  it('sends each reminder and escalates once when two instances sweep at the same moment, and a restarted one repeats nothing', async () => {
    const r = await created();
    const other = f.anotherRun();
    f.clock.advance(45 * MINUTE);
    const [a, b] = await Promise.all([f.app.sweepReach(), other.sweepReach()]);
    assert.deepEqual([...a.escalated, ...b.escalated], [r.id]);
    assert.deepEqual([...a.reminded, ...b.reminded], [r.id]);
    const restarted = f.anotherRun();
    assert.deepEqual(await restarted.sweepReach(), { resumed: [], escalated: [], reminded: [], delegationsEnded: [] });
    assert.equal((await f.audit({ types: ['request.reminded'] })).length, 1);
    assert.equal((await f.audit({ types: ['request.escalated'] })).length, 1);
    assert.equal(sent.to(r.id, 'reminders').length, 2, 'Bob and Dave reminded once each (Frank was sent the escalation card in the same sweep)');
  });

  it('escalates once after the delay: the escalation role is told and may approve, the requester in it still may not', async () => {
    const r = await created();
    assert.equal(refusedWith(await click(f, frank, r, 'approve')), 'not-an-approver');
    assert.deepEqual((await at(39, r)).escalated, []);
    assert.deepEqual((await at(40, r)).escalated, [r.id]);
    await f.app.tellingIdle();
    const escalated = await f.request(r.id);
    assert.equal(escalated.escalation?.role, 'incident-leads');
    assert.match(cardText(requestCard(escalated)), /Escalated to incident-leads at .*: they may decide it too\./);
    assert.match(cardText(requestCard(escalated)), /Needs 1 approval from platform-approvers or incident-leads/);
    const [event] = await f.audit({ types: ['request.escalated'] });
    assert.equal(event.outcome.detail, 'No decision within 40 minutes: incident-leads may decide it too.');
    // Frank is told (personal chat and the approvals channel again); Alice asked for it, so she is not.
    assert.deepEqual(sent.to(r.id, 'told').slice(3), [frank.aadObjectId, APPROVALS_CHANNEL]);
    assert.ok(f.notifier.told(r.id).some((t) => t.includes('was escalated: incident-leads may decide it now too')));

    assert.equal(refusedWith(await click(f, alice, escalated, 'approve')), 'self-approval');
    assert.equal(refusedWith(await click(f, carol, escalated, 'approve')), 'not-an-approver');
    assert.equal((await clickPersonal(frank, escalated, 'approve')).ok, true);
    await settle(f);
    // The role re-check at execution accepts the escalation role.
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  it('does not remind, at a point due in the same sweep, those the escalation has just sent the card; the approvers are reminded', async () => {
    const r = await created();
    assert.deepEqual(await at(45, r), { resumed: [], escalated: [r.id], reminded: [r.id], delegationsEnded: [] });
    await f.app.tellingIdle();
    assert.deepEqual(sent.to(r.id, 'reminders'), [bob.aadObjectId, dave.aadObjectId], 'Frank was sent the escalation card a moment ago');
    assert.equal(sent.to(r.id).filter((to) => to === frank.aadObjectId).length, 1);
    // When the escalation told everyone the reminder would go to, the point is used up and nothing is sent.
    sent = new RecordingMessenger();
    f = appOnFakes({ configText: reachConfigText().replace(/(- name: delete resource group[\s\S]*?)approvals: 1/, '$1approvals: 2'), messenger: sent });
    const half = await created(dave);
    assert.ok((await click(f, bob, half, 'approve')).ok);
    assert.deepEqual(await at(45, half), { resumed: [], escalated: [half.id], reminded: [], delegationsEnded: [] });
    await f.app.tellingIdle();
    assert.deepEqual(sent.to(half.id, 'reminders'), []);
    const [used] = await f.audit({ requestId: half.id, types: ['request.reminded'] });
    assert.match(used.outcome.detail ?? '', /; not sent: everyone it would go to was sent the card by the escalation just now$/);
  });

  it('does not tell again, on escalation, someone of the escalation role who approves anyway', async () => {
    f = appOnFakes({ configText: reachConfigText().replace('  incident-leads:\n', `  incident-leads:\n    - ${dave.aadObjectId}\n`), messenger: sent });
    const r = await created();
    await at(40, r);
    await f.app.tellingIdle();
    assert.deepEqual(sent.to(r.id, 'told'), [bob.aadObjectId, dave.aadObjectId, APPROVALS_CHANNEL, frank.aadObjectId, APPROVALS_CHANNEL]);
  });

  it('keeps the policy a request was made under: a config without reminders or escalation changes nothing for it', async () => {
    const r = await created();
    f.deps.config = parseConfig(reachConfigText([]), EXAMPLE_CONFIG);
    assert.deepEqual(await at(45, r), { resumed: [], escalated: [r.id], reminded: [r.id], delegationsEnded: [] });
    const later = await created(alice, 'delete resource group staging-older');
    assert.equal(later.policy.escalation, undefined);
    assert.deepEqual(await at(50, later), { resumed: [], escalated: [], reminded: [], delegationsEnded: [] });
  });

  it('with approvers: none, messages nobody personally and reminds in the approval channel instead', async () => {
    sent = new RecordingMessenger();
    f = appOnFakes({ configText: reachConfigText(['reminders: { at: ["50%"] }', `notify: { approvers: none, channels: ["${APPROVALS_CHANNEL}"] }`]), messenger: sent });
    const r = await created();
    assert.deepEqual(sent.to(r.id), [APPROVALS_CHANNEL]);
    assert.deepEqual((await at(30, r)).reminded, [r.id]);
    assert.deepEqual(sent.to(r.id, 'reminders'), [APPROVALS_CHANNEL]);
    const [reminded] = await f.audit({ types: ['request.reminded'] });
    assert.deepEqual(reminded.data, { to: [APPROVALS_CHANNEL] });
  });

  it('with approvers: none and no approval channel, says on the card and in the audit that nobody was sent the request', async () => {
    sent = new RecordingMessenger();
    f = appOnFakes({ configText: reachConfigText(['notify: { approvers: none }']), messenger: sent });
    const r = await created();
    assert.deepEqual(sent.sent, []);
    const stored = await f.request(r.id);
    assert.deepEqual(stored.unreachable?.map((u) => u.id), ['platform-approvers']);
    assert.match(cardText(requestCard(stored)), /Could not reach: role platform-approvers \(notify\.approvers is none, and "delete resource group" has no approval channel, so nobody was sent this request: share this card, or they find it by typing "pending"\)\./);
    const [unreached] = await f.audit({ requestId: r.id, types: ['approver.unreachable'] });
    assert.equal((unreached.data as { who: string }).who, 'platform-approvers');
    assert.equal((await click(f, bob, stored, 'approve')).ok, true, 'an approver who finds it may still approve it');
  });

  it('keeps a channel at its three copies of the card: a reminder past them goes as text, pointing to the card above', async () => {
    sent = new RecordingMessenger();
    f = appOnFakes({ configText: reachConfigText(['reminders: { at: ["20m", "10m", "5m"], max: 3 }', `notify: { approvers: none, channels: ["${APPROVALS_CHANNEL}"] }`]), messenger: sent });
    const r = await created();
    await at(40, r);
    await at(50, r);
    assert.equal(sent.to(r.id).length, 3, 'the card and two reminders with it: three copies');
    await at(55, r);
    assert.equal(sent.to(r.id).length, 3, 'no fourth copy');
    assert.equal(sent.texts.length, 1);
    assert.match(sent.texts[0].text, /^Reminder 3: request .* Approve or reject it on its card above \(scroll up to the latest copy\)\.$/);
    assert.doesNotMatch(sent.texts[0].text, /below/);
    assert.equal(sent.texts[0].conversationId, APPROVALS_CHANNEL);
    assert.equal((await f.store.cards.getCardMessages(r.id)).filter((m) => m.conversationId === APPROVALS_CHANNEL).length, 3);
  });

  it('keeps a channel at its three copies when the request is escalated: the escalation goes as text, pointing to the card above', async () => {
    sent = new RecordingMessenger();
    f = appOnFakes({ configText: reachConfigText(['reminders: { at: ["35m", "30m"], max: 2 }', 'escalation: { role: incident-leads, after: 40m }', `notify: { approvers: none, channels: ["${APPROVALS_CHANNEL}"] }`]), messenger: sent });
    const r = await created();
    await at(25, r);
    await at(30, r);
    assert.equal(sent.to(r.id).filter((to) => to === APPROVALS_CHANNEL).length, 3, 'the card and two reminders with it: three copies');
    await at(40, r);
    assert.equal((await f.request(r.id)).escalation?.role, 'incident-leads');
    assert.equal(sent.to(r.id).filter((to) => to === APPROVALS_CHANNEL).length, 3, 'no fourth copy');
    assert.equal((await f.store.cards.getCardMessages(r.id)).filter((m) => m.conversationId === APPROVALS_CHANNEL).length, 3);
    const [text] = sent.texts.filter((t) => t.conversationId === APPROVALS_CHANNEL);
    assert.match(text?.text ?? '', new RegExp(`^Request ${r.id} \\(delete resource group staging-old\\) from Alice Requester was escalated: incident-leads may decide it now too\\. Approve or reject it on its card above \\(scroll up to the latest copy\\)\\.$`));
    const [notified] = (await f.audit({ types: ['approvers.notified'] })).filter((x) => x.data?.occasion === 'escalated');
    assert.deepEqual(notified?.data, { occasion: 'escalated', reached: [APPROVALS_CHANNEL] });
  });

  it('keeps a personal chat at its three copies of the card too: a reminder past them goes there as text, pointing to the card above', async () => {
    sent = new RecordingMessenger();
    f = appOnFakes({ configText: reachConfigText(['reminders: { at: ["30m", "20m", "10m", "5m"], max: 4 }']), messenger: sent });
    const r = await created();
    await at(30, r);
    await at(40, r);
    assert.deepEqual(sent.to(r.id).filter((to) => to === bob.aadObjectId).length, 3, 'the card and two reminders with it: three copies in his chat');
    await at(50, r);
    await at(55, r);
    assert.equal(sent.to(r.id).filter((to) => to === bob.aadObjectId).length, 3, 'no fourth copy');
    const his = sent.texts.filter((t) => t.conversationId === `personal-${bob.aadObjectId}`);
    assert.equal(his.length, 2);
    assert.match(his[0].text, /^Reminder 3: request .* Approve or reject it on its card above \(scroll up to the latest copy\)\.$/);
    assert.equal((await f.store.cards.getCardMessages(r.id)).filter((m) => m.conversationId === `personal-${bob.aadObjectId}`).length, 3);
  });

  it('says in help how a command\'s approvers are reached', async () => {
    const entry = (await f.app.help(alice)).find((e) => e.usage.startsWith('delete resource group'));
    assert.equal(
      entry?.approval,
      'needs 1 approval from platform-approvers within 1 hour; card also posted to 1 approval channel; 2 reminders at most, the last 15 minutes before expiry; escalates to incident-leads after 40 minutes',
    );
  });

  it('counts a reminder sweep under way as telling, so a stop waits for its round (and can cut it)', async () => {
    const r = await created();
    // The reminder's card binding meets a busy store once: the round waits for its retry.
    const cards = f.store.cards;
    const save = cards.saveCardMessage.bind(cards);
    let busy = 1;
    cards.saveCardMessage = async (id, m) => {
      if (busy-- > 0) throw new Error('database is locked');
      return save(id, m);
    };
    f.clock.advance(Date.parse(r.createdAt) + 30 * MINUTE - f.clock.now().getTime());
    const sweep = f.app.sweepReach();
    await f.app.tellingIdle();
    const reminders = (await f.audit({ types: ['approvers.notified'] })).filter((x) => x.data?.occasion === 'reminder');
    assert.equal(reminders.length, 1, 'the reminder round was recorded before telling was idle');
    assert.deepEqual((await sweep).reminded, [r.id]);
  });

  it('tells the approvers again when the request needs approving again after drift', async () => {
    f.azure.setTarget('staging-old', { exists: true, etag: 'e1', facts: { 'tags.owner': 'web-team' } });
    const r = await created();
    f.azure.setTarget('staging-old', { exists: true, etag: 'e2', facts: { 'tags.owner': 'someone-else' } });
    await clickPersonal(bob, r, 'approve');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'needs_reapproval');
    const occasions = (await f.audit({ types: ['approvers.notified'] })).map((x) => x.data?.occasion);
    assert.deepEqual(occasions, ['created', 'reapproval']);
    assert.deepEqual(sent.to(r.id).slice(3), [bob.aadObjectId, dave.aadObjectId, APPROVALS_CHANNEL]);
  });

  it('reminds again, up to max, from the new expiry of a request that needs approving again after drift, and tells its requester what it lacked when it expires', async () => {
    f.azure.setTarget('staging-old', { exists: true, etag: 'e1', facts: { 'tags.owner': 'web-team' } });
    const r = await created();
    assert.deepEqual((await at(30, r)).reminded, [r.id]);
    assert.deepEqual((await at(45, r)).reminded, [r.id]);
    await f.app.tellingIdle();
    f.azure.setTarget('staging-old', { exists: true, etag: 'e2', facts: { 'tags.owner': 'someone-else' } });
    await at(50, r);
    await clickPersonal(bob, r, 'approve');
    await settle(f);
    await f.app.tellingIdle();
    const again = await f.request(r.id);
    assert.equal(again.state, 'needs_reapproval');
    assert.equal(again.expiresAt, new Date(Date.parse(r.createdAt) + 110 * MINUTE).toISOString(), 'a new hour from the drift');
    assert.deepEqual((await at(79, r)).reminded, []);
    assert.deepEqual((await at(80, r)).reminded, [r.id], 'half-life of the new time to live');
    assert.deepEqual((await at(95, r)).reminded, [r.id], '15 minutes before the new expiry');
    assert.deepEqual((await at(100, r)).reminded, [], 'max 2 again');
    await f.app.tellingIdle();
    const reminded = await f.audit({ requestId: r.id, types: ['request.reminded'] });
    assert.deepEqual(reminded.map((x) => x.outcome.detail?.split(';')[0]), ['reminder 1 of at most 2', 'reminder 2 of at most 2', 'reminder 1 of at most 2', 'reminder 2 of at most 2']);
    f.clock.advance(Date.parse(again.expiresAt) + 1000 - f.clock.now().getTime());
    assert.deepEqual(await f.app.sweepExpired(), [r.id]);
    assert.equal(f.notifier.told(r.id).at(-1), `Request ${r.id} expired: nobody approved it again, after what it would do changed, before 2026-03-02 10:50 UTC.`, 'not "nobody approved it": Bob had, before the drift');
  });

  describe('while an approver is away and has delegated', () => {
    const source = sourceIn(opsChannel, 'delegate-1');
    async function delegates(who: Actor, to: Actor, key = `${who.name}->${to.name}`): Promise<string> {
      const answer = await f.app.delegate({ actor: who, source: { ...source, activityId: key }, delegate: to, when: 'for 3d', message: `${opsChannel.id}:${key}` });
      assert.ok(answer.ok, `refused: ${answer.ok ? '' : answer.refusal.message}`);
      return answer.text;
    }
    /** Whom the request's card was sent to, in any order (the messages of a round go out side by side). */
    const told = (r: ApprovalRequest, from = 0) => sent.to(r.id).slice(from).sort();
    const cardsTo = (r: ApprovalRequest, who: Actor) => sent.sent.filter((s) => s.requestId === r.id && s.to === who.aadObjectId);

    it('sends the delegate the card too, saying whom they decide for, and their click counts on that behalf', async () => {
      await delegates(bob, carol);
      const r = await created();
      assert.deepEqual(told(r), [bob.aadObjectId, dave.aadObjectId, carol.aadObjectId, APPROVALS_CHANNEL].sort());
      const [card] = cardsTo(r, carol);
      assert.match(card.text ?? '', /^You are sent this request because you may decide it on behalf of Bob Approver \(delegated to you until 2026-03-0\d \d\d:\d\d UTC/);
      assert.equal(cardsTo(r, bob)[0].text, undefined, 'the delegator reads no such line');
      const [notified] = await f.audit({ types: ['approvers.notified'] });
      assert.deepEqual((notified.data as { reached: string[] }).reached.sort(), [bob.aadObjectId, dave.aadObjectId, carol.aadObjectId, APPROVALS_CHANNEL].sort(), 'audited as reached');
      assert.equal((await clickPersonal(carol, r, 'approve')).ok, true);
      await settle(f);
      const done = await f.request(r.id);
      assert.equal(done.approvals[0].onBehalfOf?.aadObjectId, bob.aadObjectId);
    });

    it("answers a click on the delegate's card once the delegation ran out with why: the delegation ended, not only the roles it needs", async () => {
      const answer = await f.app.delegate({ actor: bob, source: { ...source, activityId: 'short' }, delegate: carol, when: 'for 30m', message: `${opsChannel.id}:short` });
      assert.ok(answer.ok, answer.ok ? '' : answer.refusal.message);
      const r = await created();
      assert.equal(cardsTo(r, carol).length, 1, 'the delegate was sent the card');
      f.clock.advance(31 * MINUTE);
      const refused = await clickPersonal(carol, r, 'approve');
      assert.equal(refused.ok, false);
      assert.match(
        refused.ok ? '' : refused.refusal.message,
        new RegExp(`^You cannot approve request ${r.id}: it needs the role "platform-approvers"\\. Your delegation from Bob Approver ended at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, so you can no longer decide it on their behalf\\.$`),
      );
      // Someone who never had a delegation is told only the roles.
      const stranger = await click(f, frank, r, 'approve');
      assert.doesNotMatch(stranger.ok ? '' : stranger.refusal.message, /delegation/);
      assert.equal((await f.request(r.id)).approvals.length, 0);
    });

    it("answers a click on the delegate's card once the delegation was revoked with why: revoked, by whom and when, and records the refusal on the request", async () => {
      await delegates(bob, carol);
      const r = await created();
      assert.equal(cardsTo(r, carol).length, 1, 'the delegate was sent the card');
      f.clock.advance(5 * MINUTE);
      assert.ok((await f.app.revokeDelegation({ actor: bob, source })).ok);
      const refused = await clickPersonal(carol, r, 'approve');
      assert.equal(refused.ok, false);
      const why = refused.ok ? '' : refused.refusal.message;
      assert.match(
        why,
        new RegExp(`^You cannot approve request ${r.id}: it needs the role "platform-approvers"\\. Your delegation from Bob Approver was revoked by Bob Approver at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, so you can no longer decide it on their behalf\\.$`),
      );
      const [recorded] = (await f.audit({ types: ['click.refused'] })).slice(-1);
      assert.equal(recorded.request?.id, r.id, "in the request's own trail");
      assert.deepEqual(recorded.data, { verb: 'approve', requestId: r.id });
      assert.deepEqual(recorded.outcome, { result: 'refused', reason: 'not-an-approver', detail: why });
      assert.equal((await f.request(r.id)).approvals.length, 0);
    });

    it("answers a click on the delegate's card once the delegator replaced the delegation with why: replaced by their next one", async () => {
      await delegates(bob, carol);
      const r = await created();
      f.clock.advance(MINUTE);
      await delegates(bob, frank, 'bob->frank');
      const refused = await clickPersonal(carol, r, 'reject');
      assert.match(refused.ok ? '' : refused.refusal.message, /^You cannot reject request .*: it needs the role "platform-approvers"\. Your delegation from Bob Approver was replaced by Bob Approver's next delegation at .* UTC, so you can no longer decide it on their behalf\.$/);
      assert.equal((await f.request(r.id)).state, 'pending');
    });

    it("takes the buttons off the card the delegate was sent once the delegation is revoked, saying why, and leaves those they may still decide", async () => {
      await delegates(bob, carol);
      const r = await created();
      await delegates(dave, carol);
      const other = await created(alice, 'delete resource group staging-older');
      const [card] = cardsTo(r, carol);
      f.clock.advance(5 * MINUTE);
      const revoked = await f.app.revokeDelegation({ actor: bob, source });
      assert.ok(revoked.ok);
      await f.app.tellingIdle();
      const withdrawn = f.notifier.withoutButtons();
      assert.deepEqual(withdrawn.map((w) => [w.requestId, w.activityId]), [], "Dave's delegation still lets Carol decide both");
      assert.ok((await f.app.revokeDelegation({ actor: dave, source: { ...source, activityId: 'revoke-2' } })).ok);
      await f.app.tellingIdle();
      const after = f.notifier.withoutButtons();
      assert.deepEqual(after.map((w) => [w.requestId, w.activityId]).sort(), [[r.id, card.activityId], [other.id, cardsTo(other, carol)[0].activityId]].sort(), "each card in Carol's own chat, once");
      assert.match(after[0].notice, /^Your delegation from Dave Lead was revoked by Dave Lead at \d{4}-\d\d-\d\d \d\d:\d\d UTC, so you can no longer decide it on their behalf\. This card no longer takes your decision on request CS-\d+\.$/);
      assert.ok(after.every((w) => !w.activityId.includes(APPROVALS_CHANNEL)), "the channel's card is everyone's: left as it is");
    });

    it("takes the buttons off the delegate's card once the delegation's time ran out, once however many sweeps and instances, and after a restart", async () => {
      const answer = await f.app.delegate({ actor: bob, source: { ...source, activityId: 'short' }, delegate: carol, when: 'for 30m', message: `${opsChannel.id}:short` });
      assert.ok(answer.ok, answer.ok ? '' : answer.refusal.message);
      const r = await created();
      const [card] = cardsTo(r, carol);
      await f.app.sweepReach();
      await f.app.tellingIdle();
      assert.deepEqual(f.notifier.withoutButtons(), [], 'in force: the card keeps its buttons');
      f.clock.advance(31 * MINUTE);
      // Two instances sweep at once: the delegation's marker lets one of them update the card.
      await Promise.all([f.app.sweepReach(), f.anotherRun().sweepReach()]);
      await f.app.tellingIdle();
      const withdrawn = f.notifier.withoutButtons();
      assert.deepEqual(withdrawn.map((w) => [w.requestId, w.activityId]), [[r.id, card.activityId]]);
      assert.match(withdrawn[0].notice, /^Your delegation from Bob Approver ended at \d{4}-\d\d-\d\d \d\d:\d\d UTC, so you can no longer decide it on their behalf\. This card no longer takes your decision on request CS-\d+\.$/);
      // Later sweeps, and an instance started since (it knows no delegation in force from before), update nothing more.
      await f.app.sweepReach();
      const restarted = f.anotherRun();
      await restarted.sweepReach();
      await restarted.tellingIdle();
      await f.app.tellingIdle();
      assert.equal(f.notifier.withoutButtons().length, 1);
      const [stored] = await f.store.delegations.receivedSince(carol.aadObjectId, r.createdAt);
      assert.equal(stored.cardsWithdrawnAt, f.clock.now().toISOString(), 'marked on the delegation');
    });

    it("marks a delegation's cards withdrawn only once they were updated: a sweep that failed between leaves them to a later one", async () => {
      const answer = await f.app.delegate({ actor: bob, source: { ...source, activityId: 'short' }, delegate: carol, when: 'for 30m', message: `${opsChannel.id}:short` });
      assert.ok(answer.ok, answer.ok ? '' : answer.refusal.message);
      const r = await created();
      const [card] = cardsTo(r, carol);
      f.clock.advance(31 * MINUTE);
      // The update fails once (a run that dies there leaves the same: taken on, not marked).
      const show = f.notifier.cardWithoutButtons.bind(f.notifier);
      let failures = 1;
      f.notifier.cardWithoutButtons = async (...args) => {
        if (failures-- > 0) throw new Error('the store is locked by another process (database is locked)');
        return show(...args);
      };
      await f.app.sweepReach();
      await f.app.tellingIdle();
      assert.deepEqual(f.notifier.withoutButtons(), [], 'the card keeps its buttons for now');
      const [taken] = await f.store.delegations.receivedSince(carol.aadObjectId, r.createdAt);
      assert.equal(taken.cardsWithdrawnAt, undefined, 'not marked withdrawn while its card shows live buttons');
      assert.ok(f.log.lines.some((l) => l.msg === "could not take the buttons off former delegates' cards"));
      // Not taken on again while the sweep that took it may still be updating, on this instance or another.
      await Promise.all([f.app.sweepReach(), f.anotherRun().sweepReach()]);
      await f.app.tellingIdle();
      assert.deepEqual(f.notifier.withoutButtons(), []);
      f.clock.advance(DELEGATE_CARDS_HOLD_MS);
      await f.app.sweepReach();
      await f.app.tellingIdle();
      assert.deepEqual(f.notifier.withoutButtons().map((w) => [w.requestId, w.activityId]), [[r.id, card.activityId]]);
      const [stored] = await f.store.delegations.receivedSince(carol.aadObjectId, r.createdAt);
      assert.equal(stored.cardsWithdrawnAt, f.clock.now().toISOString(), 'marked once updated');
      await f.app.sweepReach();
      await f.app.tellingIdle();
      assert.equal(f.notifier.withoutButtons().length, 1, 'and not again');
    });

    it("does not mark a delegation's cards withdrawn when the notifier answered that an update failed (it logs, it does not throw)", async () => {
      const answer = await f.app.delegate({ actor: bob, source: { ...source, activityId: 'short' }, delegate: carol, when: 'for 30m', message: `${opsChannel.id}:short` });
      assert.ok(answer.ok, answer.ok ? '' : answer.refusal.message);
      const r = await created();
      const [card] = cardsTo(r, carol);
      f.clock.advance(31 * MINUTE);
      // As the Teams notifier does when Teams stays down or another instance keeps the card's claim.
      const show = f.notifier.cardWithoutButtons.bind(f.notifier);
      let failures = 1;
      f.notifier.cardWithoutButtons = async (...args) => (failures-- > 0 ? false : show(...args));
      await f.app.sweepReach();
      await f.app.tellingIdle();
      const [taken] = await f.store.delegations.receivedSince(carol.aadObjectId, r.createdAt);
      assert.equal(taken.cardsWithdrawnAt, undefined, 'not marked withdrawn while its card shows live buttons');
      f.clock.advance(DELEGATE_CARDS_HOLD_MS);
      await f.app.sweepReach();
      await f.app.tellingIdle();
      assert.deepEqual(f.notifier.withoutButtons().map((w) => [w.requestId, w.activityId]), [[r.id, card.activityId]]);
      const [stored] = await f.store.delegations.receivedSince(carol.aadObjectId, r.createdAt);
      assert.equal(stored.cardsWithdrawnAt, f.clock.now().toISOString(), 'marked once updated');
    });

    it("takes the delegate's cards on again at once when the run that took them on died before marking them, and it was the only instance", async () => {
      const answer = await f.app.delegate({ actor: bob, source: { ...source, activityId: 'short' }, delegate: carol, when: 'for 30m', message: `${opsChannel.id}:short` });
      assert.ok(answer.ok, answer.ok ? '' : answer.refusal.message);
      const r = await created();
      f.clock.advance(31 * MINUTE);
      // What a run killed between taking them on and updating them leaves.
      const [d] = await f.store.delegations.ranOutSince(r.createdAt, f.clock.now().toISOString());
      assert.ok(await f.store.delegations.takeCardsWithdrawal(d.id, f.clock.now().toISOString(), f.clock.now().toISOString()));
      f.clock.advance(MINUTE);
      f.deps.onlyInstanceSince = f.clock.now();
      try {
        const restarted = f.anotherRun();
        await restarted.sweepReach();
        await restarted.tellingIdle();
      } finally {
        f.deps.onlyInstanceSince = undefined;
      }
      assert.deepEqual(f.notifier.withoutButtons().map((w) => [w.requestId, w.activityId]), [[r.id, cardsTo(r, carol)[0].activityId]]);
      assert.equal((await f.store.delegations.get(d.id))?.cardsWithdrawnAt, f.clock.now().toISOString());
    });

    it("takes the buttons off the delegate's card after a restart when the delegation's time ran out while no instance ran", async () => {
      const answer = await f.app.delegate({ actor: bob, source: { ...source, activityId: 'short' }, delegate: carol, when: 'for 30m', message: `${opsChannel.id}:short` });
      assert.ok(answer.ok, answer.ok ? '' : answer.refusal.message);
      const r = await created();
      f.clock.advance(31 * MINUTE);
      const restarted = f.anotherRun();
      await restarted.sweepReach();
      await restarted.tellingIdle();
      assert.deepEqual(f.notifier.withoutButtons().map((w) => [w.requestId, w.activityId]), [[r.id, cardsTo(r, carol)[0].activityId]]);
    });

    it("takes the buttons off the delegate's card when the delegator names another delegate", async () => {
      await delegates(bob, carol);
      const r = await created();
      f.clock.advance(MINUTE);
      await delegates(bob, frank, 'bob->frank');
      await f.app.tellingIdle();
      assert.deepEqual(f.notifier.withoutButtons().map((w) => [w.requestId, w.activityId]), [[r.id, cardsTo(r, carol)[0].activityId]]);
      assert.match(f.notifier.withoutButtons()[0].notice, /was replaced by Bob Approver's next delegation at /);
    });

    it("tells the delegate until when in the delegate's own time zone, with the UTC instant", async () => {
      sent.zones.set(carol.aadObjectId, 'Asia/Tokyo');
      await delegates(bob, carol);
      const r = await created();
      const [card] = cardsTo(r, carol);
      assert.match(card.text ?? '', /on behalf of Bob Approver \(delegated to you until \d{4}-\d\d-\d\d \d\d:\d\d Asia\/Tokyo \(\d{4}-\d\d-\d\dT[\d:.]+Z\)\)/);
    });

    it('reminds the delegate with the delegator, and no longer once the delegation is revoked', async () => {
      await delegates(bob, carol);
      const r = await created();
      assert.deepEqual((await at(30, r)).reminded, [r.id]);
      await f.app.tellingIdle();
      assert.deepEqual(told(r, 4), [bob.aadObjectId, dave.aadObjectId, carol.aadObjectId].sort());
      assert.match(cardsTo(r, carol).at(-1)!.text!, /^Reminder 1: request .* on the card below\. You are sent this request because you may decide it on behalf of Bob Approver/);
      const [reminded] = await f.audit({ types: ['request.reminded'] });
      assert.deepEqual(reminded.data, { to: [bob.aadObjectId, dave.aadObjectId, carol.aadObjectId] });
      const revoked = await f.app.revokeDelegation({ actor: bob, source });
      assert.ok(revoked.ok);
      assert.deepEqual((await at(45, r)).reminded, [r.id]);
      await f.app.tellingIdle();
      assert.equal(cardsTo(r, carol).length, 2, 'the card and the first reminder, nothing after the revocation');
    });

    it('sends one card to a delegate of two approvers, and none more to a delegate who approves in their own right', async () => {
      await delegates(bob, carol);
      await delegates(dave, carol);
      const r = await created();
      assert.deepEqual(told(r), [bob.aadObjectId, dave.aadObjectId, carol.aadObjectId, APPROVALS_CHANNEL].sort());
      assert.match(cardsTo(r, carol)[0].text!, /on behalf of Bob Approver \(.*\) or Dave Lead \(/);
      await delegates(dave, bob, 'dave-to-bob');
      const again = await created(alice, 'delete resource group staging-older');
      assert.deepEqual(told(again), [bob.aadObjectId, dave.aadObjectId, carol.aadObjectId, APPROVALS_CHANNEL].sort());
      assert.equal(cardsTo(again, bob)[0].text, undefined, 'Bob decides as himself');
    });

    it('never sends the requester a card, nor the delegate of the requester', async () => {
      await delegates(bob, alice);
      await delegates(dave, carol);
      const byAlice = await created();
      assert.deepEqual(told(byAlice), [bob.aadObjectId, dave.aadObjectId, carol.aadObjectId, APPROVALS_CHANNEL].sort(), 'Alice asked: not sent it as Bob\'s delegate');
      const byDave = await created(dave, 'delete resource group staging-older');
      assert.deepEqual(told(byDave), [bob.aadObjectId, alice.aadObjectId, APPROVALS_CHANNEL].sort(), 'Dave asked: his delegate Carol cannot decide it for him');
    });

    it('sends the escalation to the delegate of an escalation member, and not again to one told already', async () => {
      await delegates(frank, carol);
      const r = await created();
      assert.deepEqual(told(r), [bob.aadObjectId, dave.aadObjectId, APPROVALS_CHANNEL].sort(), 'Frank decides only once escalated: his delegate is not sent it before');
      assert.deepEqual((await at(40, r)).escalated, [r.id]);
      await f.app.tellingIdle();
      const escalated = (await f.audit({ types: ['approvers.notified'] })).find((e) => (e.data as { occasion: string }).occasion === 'escalated');
      assert.deepEqual((escalated?.data as { reached: string[] }).reached.sort(), [frank.aadObjectId, carol.aadObjectId, APPROVALS_CHANNEL].sort());
      assert.equal(cardsTo(r, carol).length, 1, 'not reminded at the same point as the escalation sent her the card');
      assert.match(cardsTo(r, carol)[0].text!, /on behalf of Frank Approver/);
    });

    it('sends the delegate the card again when the round is taken up again, only while the delegation is in force', async () => {
      await delegates(bob, carol);
      sent.unreachable.set(carol.aadObjectId, 'Teams answered 500');
      const r = await created();
      const second = await created(alice, 'delete resource group staging-older');
      sent.unreachable.clear();
      // What a run that died before any outcome was recorded leaves behind, for each request.
      for (const x of [r, second]) {
        const current = await f.request(x.id);
        await f.store.requests.update({ ...current, version: current.version + 1, round: { occasion: 'created', at: f.clock.now().toISOString(), people: [carol.aadObjectId], channels: [] } }, current.version, []);
      }
      f.clock.advance(ROUND.resumeAfterMs);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed.sort(), [r.id, second.id].sort());
      await f.app.tellingIdle();
      assert.match(cardsTo(r, carol).at(-1)?.text ?? '', /on behalf of Bob Approver/);
      assert.equal((await f.request(r.id)).unreachable, undefined, 'Carol is reached now');
      // Revoked: a round left with her in it tells her nothing more.
      assert.ok((await f.app.revokeDelegation({ actor: bob, source })).ok);
      const current = await f.request(second.id);
      const before = cardsTo(second, carol).length;
      await f.store.requests.update({ ...current, version: current.version + 1, round: { occasion: 'created', at: f.clock.now().toISOString(), people: [carol.aadObjectId, bob.aadObjectId], channels: [] } }, current.version, []);
      f.clock.advance(ROUND.resumeAfterMs);
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [second.id]);
      await f.app.tellingIdle();
      assert.equal(cardsTo(second, carol).length, before);
      const resumed = (await f.audit({ types: ['approvers.round_resumed'] })).at(-1);
      assert.deepEqual(resumed?.data, { occasion: 'created', to: [bob.aadObjectId] });
    });

    it('tells, when a delegation starts, how many requests wait already for the delegate', async () => {
      const r = await created();
      const answer = await delegates(bob, carol);
      assert.match(answer, new RegExp(`1 request already waits for your decision \\(${r.id}\\): Carol NoRole, type "pending" to see it and decide on Bob Approver's behalf`));
      assert.doesNotMatch(await delegates(dave, alice), /already wait/, 'Alice asked for the one waiting');
    });
  });
  describe('a request still waiting for approval that the config as it is now would never let run', () => {
    const REQUESTERS_GROUP = '7e9e0000-0000-4000-8000-000000000004';
    const NOTHING = { resumed: [], escalated: [], reminded: [], delegationsEnded: [] };
    const GONE = 'Not executed: the command "delete resource group" is no longer in the config. Nothing was sent to Azure.';

    /** The reach config changed by `edit` (which must change it), in force from now on, for every run on these deps. */
    function reconfigure(edit: (text: string) => string): void {
      const text = reachConfigText();
      const changed = edit(text);
      assert.notEqual(changed, text, 'the config changed: the edit no longer applies');
      f.deps.config = parseConfig(changed, EXAMPLE_CONFIG);
    }
    const withoutDelete = (text: string) => text.slice(0, text.indexOf('  - name: delete resource group\n')) + text.slice(text.indexOf('  - name: tag\n'));
    const aliceNoRequester = (text: string) => text.replace('    - 11111111-1111-4111-8111-111111111111 # Alice Requester\n', '');
    const notExecuted = (r: ApprovalRequest) => f.notifier.told(r.id).filter((t) => t.startsWith(`Request ${r.id} was not executed`));

    it('is ended at its reminder point instead of reminded: failed, audited as the click ends it (by no one), its requester told, its card updated', async () => {
      const r = await created();
      const cards = sent.sent.length;
      reconfigure(withoutDelete);
      assert.deepEqual(await at(30, r), NOTHING);
      await f.app.tellingIdle();
      const stored = await f.request(r.id);
      assert.deepEqual([stored.state, stored.outcomeDetail], ['failed', GONE]);
      assert.equal(sent.sent.length, cards, 'nobody is reminded');
      assert.deepEqual(await f.audit({ types: ['request.reminded'] }), []);
      const revoked = await f.audit({ types: ['approval.revoked'] });
      assert.deepEqual(revoked.map((x) => [x.outcome.reason, x.outcome.detail, x.actor, x.request?.id]), [[RefusalReason.CommandRemoved, GONE, undefined, r.id]]);
      assert.deepEqual(notExecuted(r), [`Request ${r.id} was not executed: the command "delete resource group" is no longer in the config. Nothing was sent to Azure.`]);
      assert.equal(f.notifier.cardRefreshes(r.id).at(-1), `failed@${shownVersion(stored)}`);
      // Its message was written as owed with the end (a run killed before sending it still sends it), and settled once sent.
      assert.ok(stored.version > shownVersion(stored) && stored.outcomeMessage === undefined, `settled after the end: version ${stored.version}, card ${shownVersion(stored)}`);
      // Nothing more for it: no escalation, no second reminder.
      assert.deepEqual(await at(40, r), NOTHING);
      assert.deepEqual(await at(45, r), NOTHING);
      assert.equal(sent.sent.length, cards);
      assert.equal(f.azure.executions.length, 0);
    });

    it('is ended when its escalation falls due instead of escalated: the escalation role is not told, its requester is told why', async () => {
      const r = await created();
      assert.deepEqual((await at(30, r)).reminded, [r.id]);
      await f.app.tellingIdle();
      const cards = sent.sent.length;
      reconfigure(aliceNoRequester);
      assert.deepEqual(await at(40, r), NOTHING);
      await f.app.tellingIdle();
      assert.equal((await f.request(r.id)).state, 'failed');
      assert.equal(sent.sent.length, cards, 'Frank is sent no escalation card');
      assert.deepEqual(await f.audit({ types: ['request.escalated'] }), []);
      assert.deepEqual((await f.audit({ types: ['approval.revoked'] })).map((x) => x.outcome.reason), [RefusalReason.RequesterLostRole]);
      assert.ok(!f.notifier.told(r.id).some((t) => t.includes('was escalated')));
      assert.match(notExecuted(r).join('\n'), /^Request \S+ was not executed: Alice Requester, who asked for it, no longer holds a role that may ask for "delete resource group"\. Nothing was sent to Azure\.$/);
      assert.deepEqual(await at(45, r), NOTHING);
    });

    it('asks Graph about a requester who asks through an Entra group: ends the request once they left it, never when Graph cannot answer', async () => {
      const directory = new MemoryDirectory().add(REQUESTERS_GROUP, carol.aadObjectId);
      f = appOnFakes({ configText: reachConfigText().replace('  requesters:\n', `  requesters:\n    - group:${REQUESTERS_GROUP}\n`), messenger: sent, directory });
      const r = await created(carol);
      directory.remove(REQUESTERS_GROUP, carol.aadObjectId);
      directory.fail('Microsoft Graph answered 503 serviceNotAvailable');
      assert.deepEqual((await at(30, r)).reminded, [r.id], 'a membership Graph could not confirm ends nothing');
      assert.ok(f.log.lines.some((l) => l.msg === 'requester\'s group membership unknown: the request is not ended for it' && l.requestId === r.id));
      directory.fail(undefined);
      assert.deepEqual(await at(40, r), NOTHING);
      assert.deepEqual(directory.calls.at(-1), { person: carol.aadObjectId, groups: [REQUESTERS_GROUP] });
      assert.equal((await f.request(r.id)).state, 'failed');
      assert.deepEqual((await f.audit({ types: ['approval.revoked'] })).map((x) => x.outcome.reason), [RefusalReason.RequesterLostRole]);
    });

    it('is ended once when two instances sweep at the same moment: one record, its requester told once, nobody reminded', async () => {
      const r = await created();
      const cards = sent.sent.length;
      // The reason rule made stricter: the request, asked for without a reason, no longer meets it.
      reconfigure((text) => text.replace(`      notify: { channels: ["${APPROVALS_CHANNEL}"] }\n`, '$&      reason: { required: true, minLength: 20 }\n'));
      const other = f.anotherRun();
      f.clock.advance(45 * MINUTE);
      const [a, b] = await Promise.all([f.app.sweepReach(), other.sweepReach()]);
      assert.deepEqual([a, b], [NOTHING, NOTHING]);
      await f.app.tellingIdle();
      await other.tellingIdle();
      assert.deepEqual((await f.audit({ types: ['approval.revoked'] })).map((x) => x.outcome.reason), [RefusalReason.ReasonRuleTightened]);
      assert.equal(notExecuted(r).length, 1);
      assert.match(notExecuted(r)[0], /ask again, with a reason the rule now takes/);
      assert.equal(sent.sent.length, cards);
    });

    it('is ended instead of having a round cut short taken up again: nobody is sent its card, its requester is told why', async () => {
      sent.unreachable.set(bob.aadObjectId, 'Teams answered 500');
      const r = await created();
      sent.unreachable.clear();
      // What a run that died during the round leaves behind: Bob and the channel without an outcome.
      const current = await f.request(r.id);
      await f.store.requests.update({ ...current, version: current.version + 1, round: { occasion: 'created', at: f.clock.now().toISOString(), people: [bob.aadObjectId], channels: [APPROVALS_CHANNEL] } }, current.version, []);
      const cards = sent.sent.length;
      reconfigure(aliceNoRequester);
      f.clock.advance(ROUND.resumeAfterMs);
      assert.deepEqual(await f.anotherRun().sweepReach(), NOTHING);
      await f.app.tellingIdle();
      const stored = await f.request(r.id);
      assert.equal(stored.state, 'failed');
      assert.equal(sent.sent.length, cards, 'Bob is sent no card of a request that can never run');
      assert.deepEqual(await f.audit({ types: ['approvers.round_resumed'] }), []);
      assert.deepEqual((await f.audit({ types: ['approval.revoked'] })).map((x) => [x.outcome.reason, x.actor]), [[RefusalReason.RequesterLostRole, undefined]]);
      assert.equal(notExecuted(r).length, 1);
      assert.ok(f.log.lines.some((l) => l.msg === 'requests the config no longer lets run ended instead of their round taken up again'));
      assert.deepEqual((await f.anotherRun().sweepReach()).resumed, [], 'nothing left to take up');
    });

    it('is ended at the start when it changed within the hour (its card brought up to date anyway); one the config still lets run is left waiting', async () => {
      const r = await created();
      const live = await created(dave, 'delete resource group staging-older');
      reconfigure(aliceNoRequester);
      f.clock.advance(10 * MINUTE);
      assert.equal(await f.anotherRun().refreshCards(), 2);
      const stored = await f.request(r.id);
      assert.equal(stored.state, 'failed');
      assert.deepEqual((await f.audit({ types: ['approval.revoked'] })).map((x) => [x.outcome.reason, x.request?.id]), [[RefusalReason.RequesterLostRole, r.id]]);
      assert.equal(notExecuted(r).length, 1);
      assert.deepEqual(f.notifier.cardRefreshes(r.id).slice(-1), [`failed@${shownVersion(stored)}`]);
      assert.equal((await f.request(live.id)).state, 'pending');
      assert.deepEqual(notExecuted(live), []);
    });

    it('is ended at the start however long it waited unchanged, with no reminder or escalation to fall due on it', async () => {
      const quiet = reachConfigText([`notify: { channels: ["${APPROVALS_CHANNEL}"] }`]);
      const longer = quiet.replace('      ttl: 1h\n', '      ttl: 4h\n');
      assert.notEqual(longer, quiet);
      f = appOnFakes({ configText: longer, messenger: sent });
      const r = await created();
      const live = await created(dave, 'delete resource group staging-older');
      f.deps.config = parseConfig(aliceNoRequester(longer), EXAMPLE_CONFIG);
      f.clock.advance(2 * 60 * MINUTE);
      assert.deepEqual(await f.app.sweepReach(), NOTHING, 'no reminder, escalation or round to find it');
      assert.equal((await f.request(r.id)).state, 'pending');
      assert.equal(await f.anotherRun().refreshCards(), 0, 'no card changed within the hour');
      await f.app.tellingIdle();
      const stored = await f.request(r.id);
      assert.deepEqual([stored.state, stored.outcomeDetail], ['failed', 'Not executed: Alice Requester, who asked for it, no longer holds a role that may ask for "delete resource group". Nothing was sent to Azure.']);
      assert.deepEqual((await f.audit({ types: ['approval.revoked'] })).map((x) => [x.outcome.reason, x.request?.id, x.actor]), [[RefusalReason.RequesterLostRole, r.id, undefined]]);
      assert.equal(notExecuted(r).length, 1, 'its requester told why');
      assert.equal(f.notifier.cardRefreshes(r.id).at(-1), `failed@${shownVersion(stored)}`, 'its end updates its card');
      assert.equal((await f.request(live.id)).state, 'pending', 'one the config still lets run waits on');
    });

    it('is ended at the start among more requests than one page holds, none passed over after a page whose requests it ended', async () => {
      const quiet = reachConfigText([`notify: { channels: ["${APPROVALS_CHANNEL}"] }`]);
      const longer = quiet.replace('      ttl: 1h\n', '      ttl: 4h\n');
      f = appOnFakes({ configText: longer, messenger: sent });
      const alices = await created();
      const daves = await created(dave, 'delete resource group staging-older');
      // 300 more of them, Alice's and Dave's in turn (the start reads 100 at a time): copies of the two, as stored.
      const ids = { alice: [alices.id], dave: [daves.id] };
      for (let i = 0; i < 300; i++) {
        const from = i % 2 === 0 ? alices : daves;
        const id = `${from.id}-${i}`;
        await f.deps.store.requests.insert({ ...from, id }, []);
        (from === alices ? ids.alice : ids.dave).push(id);
      }
      f.deps.config = parseConfig(aliceNoRequester(longer), EXAMPLE_CONFIG);
      f.clock.advance(2 * 60 * MINUTE);
      // The pages it read of the open requests: a few milliseconds of work each, probes answered between them.
      const pages: (number | undefined)[] = [];
      const list = f.deps.store.requests.list.bind(f.deps.store.requests);
      f.deps.store.requests.list = (q) => {
        if (q.states?.includes('pending')) pages.push(q.limit);
        return list(q);
      };
      await f.anotherRun().refreshCards();
      await f.app.tellingIdle();
      assert.ok(pages.length >= 3 && pages.every((limit) => limit === 100), `the open requests read 100 at a time (pages: ${pages.join(', ')})`);
      const states = async (list: string[]) => new Set(await Promise.all(list.map(async (id) => (await f.request(id)).state)));
      assert.deepEqual(await states(ids.alice), new Set(['failed']), 'every one of Alice\'s, on every page');
      assert.deepEqual(await states(ids.dave), new Set(['pending']), 'every one of Dave\'s waits on');
    });
  });
});
