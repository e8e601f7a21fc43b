/** Who may still decide a request, when a reminder or the escalation is due, and what recording them does. */
import assert from 'node:assert/strict';
import { breakGlassDueAt, dueReminder, escalate, escalationDue, peopleToDecide, recordReach, remind, resumeRound, roundToResume, withRound } from '../../src/domain/lifecycle';
import { decidingRoles, Roles } from '../../src/domain/policy';
import { shownVersion } from '../../src/domain/request';
import { alice, bob, buildRequest, dave, frank, minutesIn } from '../support/requests';

const roles = new Roles({ approvers: [bob.aadObjectId, dave.aadObjectId, alice.aadObjectId], leads: [frank.aadObjectId.toUpperCase(), alice.aadObjectId] });
const policy = { approvals: 2, approverRoles: ['approvers'], ttlSeconds: 3600, version: 'v', reminders: { beforeExpirySeconds: [1800, 900], max: 2 }, escalation: { role: 'leads', afterSeconds: 2400 } };

describe('domain: reaching approvers', () => {
  it('names everyone who may still decide: never the requester, nobody who approved, the escalation role once escalated', () => {
    const r = buildRequest({ policy, approvals: [{ approver: bob, at: minutesIn(1).toISOString(), operationHash: 'h' }] });
    assert.deepEqual(peopleToDecide(r, roles), [dave.aadObjectId]);
    const escalated = { ...r, escalation: { role: 'leads', at: minutesIn(40).toISOString() } };
    assert.deepEqual(decidingRoles(escalated), ['approvers', 'leads']);
    assert.deepEqual(peopleToDecide(escalated, roles), [dave.aadObjectId, frank.aadObjectId]);
    assert.deepEqual(peopleToDecide(escalated, roles, 'leads'), [frank.aadObjectId]);
    assert.deepEqual(decidingRoles(escalated, ['other']), ['other', 'leads'], 'the re-check at execution names the current roles');
  });

  it('names nobody whose authority counts already: the person a delegate approved for is not reminded either', () => {
    const onBehalf = buildRequest({ policy, approvals: [{ approver: frank, onBehalfOf: bob, delegationId: 'd-1', at: minutesIn(1).toISOString(), operationHash: 'h' }] });
    assert.deepEqual(peopleToDecide(onBehalf, roles), [dave.aadObjectId]);
  });

  it('makes a reminder due at each point before expiry, once, at most max, never after a decision or expiry', () => {
    const r = buildRequest({ policy });
    assert.equal(dueReminder(r, minutesIn(29)), undefined);
    assert.equal(dueReminder(r, minutesIn(30))?.toISOString(), minutesIn(30).toISOString());
    const once = remind(r, minutesIn(31), [bob.aadObjectId]);
    assert.ok(once.ok);
    assert.deepEqual(once.request.reminders, { sent: 1, lastPointAt: minutesIn(30).toISOString() });
    assert.equal(dueReminder(once.request, minutesIn(44)), undefined);
    const twice = remind(once.request, minutesIn(45), []);
    assert.ok(twice.ok);
    assert.equal(remind(twice.request, minutesIn(59), []).ok, false, 'max reached');
    assert.equal(dueReminder(buildRequest({ policy, state: 'rejected' }), minutesIn(50)), undefined);
    assert.equal(dueReminder(r, minutesIn(60)), undefined, 'expired');
    assert.equal(dueReminder(buildRequest(), minutesIn(50)), undefined, 'no reminders in the policy');
  });

  it('escalates once, only while the request can be decided', () => {
    const r = buildRequest({ policy });
    assert.equal(escalationDue(r, minutesIn(39)), false);
    const done = escalate(r, minutesIn(40));
    assert.ok(done.ok);
    assert.deepEqual(done.request.escalation, { role: 'leads', at: minutesIn(40).toISOString() });
    assert.deepEqual(done.events.map((e) => [e.type, e.data]), [['request.escalated', { role: 'leads' }]]);
    assert.equal(escalate(done.request, minutesIn(41)).ok, false, 'already escalated');
    assert.equal(escalationDue(buildRequest({ policy, state: 'approved' }), minutesIn(41)), false);
  });

  it('records who could not be reached, replacing what an earlier round said about the same people', () => {
    const r = buildRequest({ unreachable: [{ id: bob.aadObjectId, why: 'app not installed' }, { id: dave.aadObjectId, why: 'Teams answered 500' }] });
    const t = recordReach(r, minutesIn(5), { occasion: 'reminder', reached: [{ id: bob.aadObjectId.toUpperCase() }], unreachable: [{ id: frank.aadObjectId, why: 'app not installed' }] });
    assert.ok(t.ok);
    assert.deepEqual(t.request.unreachable, [{ id: dave.aadObjectId, why: 'Teams answered 500' }, { id: frank.aadObjectId, why: 'app not installed' }]);
    assert.deepEqual(t.events.map((e) => e.type), ['approvers.notified', 'approver.unreachable']);
  });

  describe('the round recorded on the request', () => {
    const CHANNEL = '19:approvals@thread.tacv2';
    const when = { afterMs: 120_000, max: 3 };
    const started = minutesIn(1).toISOString();
    const announced = () => withRound(buildRequest({ policy }), 'created', { people: [bob.aadObjectId, dave.aadObjectId], channels: [CHANNEL] }, started);

    it('lets go of everyone with an outcome, keeps those a stop cut short (marked cut), and is gone once nobody is left', () => {
      const r = announced();
      const first = recordReach(r, minutesIn(1), { occasion: 'created', round: started, reached: [{ id: bob.aadObjectId.toUpperCase() }], unreachable: [] });
      assert.ok(first.ok);
      assert.deepEqual(first.request.round, { occasion: 'created', at: started, people: [dave.aadObjectId], channels: [CHANNEL] });
      // Only the round changed: a write no card shows (its version moves, its time and the card's version do not).
      assert.deepEqual([first.request.version, first.request.updatedAt, shownVersion(first.request)], [r.version + 1, r.updatedAt, shownVersion(r)]);
      const cut = recordReach(first.request, minutesIn(2), {
        occasion: 'created',
        round: started,
        reached: [],
        unreachable: [{ id: dave.aadObjectId, why: 'not sent: Countersign was stopping' }, { id: CHANNEL, why: 'Teams answered 403' }],
        cut: [dave.aadObjectId],
      });
      assert.ok(cut.ok);
      assert.deepEqual(cut.request.round, { occasion: 'created', at: started, people: [dave.aadObjectId], channels: [], cut: true });
      // Who could not be reached changed: every card shows it.
      assert.deepEqual([cut.request.version, cut.request.updatedAt, shownVersion(cut.request)], [first.request.version + 1, minutesIn(2).toISOString(), first.request.version + 1]);
      const done = recordReach(cut.request, minutesIn(3), { occasion: 'created', round: started, reached: [{ id: dave.aadObjectId }], unreachable: [] });
      assert.ok(done.ok);
      assert.equal(done.request.round, undefined);
      assert.equal(withRound(r, 'created', { people: [], channels: [] }, started).round, undefined, 'nobody to tell: no round');
    });

    it('is no change of the card: letting go of those reached keeps the version the card shows, a new "could not reach" does not', () => {
      const r = { ...announced(), version: 3 };
      const reached = recordReach(r, minutesIn(1), { occasion: 'created', round: started, reached: [{ id: bob.aadObjectId }], unreachable: [] });
      assert.ok(reached.ok);
      assert.equal(reached.request.version, 4);
      assert.equal(shownVersion(reached.request), 3, 'the cards posted at version 3 are current');
      const again = recordReach(reached.request, minutesIn(2), { occasion: 'created', round: started, reached: [{ id: CHANNEL }], unreachable: [] });
      assert.ok(again.ok);
      assert.equal(shownVersion(again.request), 3, 'still');
      const missed = recordReach(again.request, minutesIn(3), { occasion: 'created', round: started, reached: [], unreachable: [{ id: dave.aadObjectId, why: 'Teams answered 403' }] });
      assert.ok(missed.ok);
      assert.equal(shownVersion(missed.request), 6, 'the card shows who could not be reached');
    });

    it('is left alone by an outcome of another round (an older one, or one not recorded on the request)', () => {
      const r = announced();
      for (const round of ['2026-01-01T00:00:00.000Z', undefined]) {
        const t = recordReach(r, minutesIn(2), { occasion: 'created', ...(round ? { round } : {}), reached: [{ id: bob.aadObjectId }], unreachable: [] });
        assert.ok(t.ok);
        assert.deepEqual(t.request.round, r.round);
      }
    });

    it('is taken up again at once after a stop, after the wait otherwise, at most max times, only while the request can be decided', () => {
      const r = announced();
      assert.equal(roundToResume(r, minutesIn(2), when), false, 'within the wait: its instance may still be at it');
      assert.equal(roundToResume(r, new Date(Date.parse(started) + when.afterMs), when), true);
      const cut = { ...r, round: { ...r.round!, cut: true as const } };
      assert.equal(roundToResume(cut, minutesIn(1), when), true, 'a stop cut it: at once');
      assert.equal(roundToResume({ ...cut, state: 'approved' }, minutesIn(1), when), false);
      assert.equal(roundToResume({ ...cut, round: { ...cut.round, resumed: 3 } }, minutesIn(1), when), false, 'max reached');

      const t = resumeRound(cut, minutesIn(5), [dave.aadObjectId], when, [CHANNEL]);
      assert.ok(t.ok);
      assert.deepEqual(t.request.round, { occasion: 'created', at: minutesIn(5).toISOString(), people: [dave.aadObjectId], channels: [CHANNEL], resumed: 1 }, 'renamed, Bob no longer decides, not cut');
      assert.deepEqual(t.events.map((e) => [e.type, e.data]), [['approvers.round_resumed', { occasion: 'created', to: [dave.aadObjectId, CHANNEL] }]]);
      assert.equal(resumeRound(t.request, minutesIn(5), [dave.aadObjectId], when, [CHANNEL]).ok, false, 'taken up: not again until its own wait is over');
      const nobody = resumeRound(cut, minutesIn(5), [], when, [CHANNEL]);
      assert.ok(nobody.ok);
      assert.deepEqual(nobody.request.round, { occasion: 'created', at: minutesIn(5).toISOString(), people: [], channels: [CHANNEL], resumed: 1 });
    });

    it('keeps a break-glass use\'s round wanted while the use waits for its review, whatever its state, and due by the round\'s start', () => {
      const use = { reason: 'outage', usedAt: started, reviewDueAt: minutesIn(60).toISOString() };
      const r = withRound(buildRequest({ policy, state: 'executing', breakGlass: use }), 'break-glass', { people: [bob.aadObjectId], channels: [CHANNEL] }, started);
      const later = new Date(Date.parse(started) + when.afterMs);
      assert.equal(roundToResume(r, later, when), true, 'running: not decidable, still announced');
      assert.equal(roundToResume({ ...r, state: 'succeeded' }, later, when), true);
      assert.equal(breakGlassDueAt({ ...r, state: 'succeeded' }), started, 'the round began before the review falls due');
      const reviewed = { ...r, state: 'succeeded' as const, breakGlass: { ...use, review: { verdict: 'ratified' as const, by: dave, at: minutesIn(3).toISOString() } } };
      assert.equal(roundToResume(reviewed, later, when), false, 'reviewed: nothing left to announce');
      assert.equal(breakGlassDueAt(reviewed), undefined);
      const { round: _round, ...done } = { ...r, state: 'succeeded' as const };
      assert.equal(breakGlassDueAt(done), use.reviewDueAt, 'round over: the review');
      assert.equal(breakGlassDueAt({ ...r, breakGlass: undefined }), undefined, 'not a break-glass use');
      const t = resumeRound(r, later, [bob.aadObjectId], when, [CHANNEL]);
      assert.ok(t.ok);
      assert.deepEqual(t.events.map((e) => e.data), [{ occasion: 'break-glass', to: [bob.aadObjectId, CHANNEL] }]);
      // An approved use nobody runs yet is started again counted from its updatedAt (execution.ts runStranded):
      // taking its round up, which no card shows, is a write of its own that leaves that time and the card's version alone.
      const approved = { ...r, state: 'approved' as const, version: 4, updatedAt: minutesIn(1).toISOString() };
      const taken = resumeRound(approved, later, [bob.aadObjectId], when, [CHANNEL]);
      assert.ok(taken.ok);
      assert.deepEqual([taken.request.version, taken.request.updatedAt, shownVersion(taken.request)], [5, approved.updatedAt, 4]);
      assert.equal(taken.request.round?.at, later.toISOString(), 'the round is named anew');
    });

    it('keeps whom the database kept from being reached (with a card it could not record), taken up at once only when they are all that is left', () => {
      const r = announced();
      const card = { conversationId: 'personal-bob', activityId: 'a-1' };
      const missed = recordReach(r, minutesIn(1), {
        occasion: 'created',
        round: started,
        reached: [],
        unreachable: [{ id: bob.aadObjectId, why: 'the card was sent but could not be recorded' }],
        missed: [{ id: bob.aadObjectId, card }],
      });
      assert.ok(missed.ok);
      assert.deepEqual(missed.request.round, { occasion: 'created', at: started, people: [bob.aadObjectId, dave.aadObjectId], channels: [CHANNEL], missed: [{ id: bob.aadObjectId, card }] });
      assert.deepEqual(missed.request.unreachable, [{ id: bob.aadObjectId, why: 'the card was sent but could not be recorded' }], 'the cards say so meanwhile');
      assert.equal(roundToResume(missed.request, minutesIn(1), when), false, 'Dave\'s and the channel\'s messages may still be on their way');
      const rest = recordReach(missed.request, minutesIn(1), { occasion: 'created', round: started, reached: [{ id: dave.aadObjectId }, { id: CHANNEL }], unreachable: [] });
      assert.ok(rest.ok);
      assert.deepEqual(rest.request.round?.missed, [{ id: bob.aadObjectId, card }]);
      assert.equal(roundToResume(rest.request, minutesIn(1), when), true, 'only Bob is left: at once');
      const t = resumeRound(rest.request, minutesIn(1), [bob.aadObjectId, dave.aadObjectId], when, [CHANNEL]);
      assert.ok(t.ok);
      assert.deepEqual(t.request.round, { occasion: 'created', at: minutesIn(1).toISOString(), people: [bob.aadObjectId], channels: [], resumed: 1 });
      assert.match(t.events[0].outcome.detail ?? '', /^created: 1 not told yet \(Countersign's database failed during the round\); taken up again, time 1 of at most 3$/);
      // An edited row's entries that do not read as one are none.
      for (const odd of ['x', [{ id: 7 }], [null]] as unknown as []) {
        assert.equal(roundToResume({ ...rest.request, round: { ...rest.request.round!, missed: odd } }, minutesIn(1), when), false, JSON.stringify(odd));
      }
    });

    it('sends, when taken up, to nobody an edited row adds: no channel but the request\'s own, each person once, no count made up', () => {
      const r = announced();
      const edited = { ...r, round: { ...r.round!, people: [dave.aadObjectId, dave.aadObjectId.toUpperCase()], channels: [CHANNEL, '19:hr-private@thread.tacv2'], cut: true as const } };
      const t = resumeRound(edited, minutesIn(5), [dave.aadObjectId], when, [CHANNEL]);
      assert.ok(t.ok);
      assert.deepEqual(t.request.round?.people, [dave.aadObjectId]);
      assert.deepEqual(t.request.round?.channels, [CHANNEL]);
      for (const resumed of ['x', -1, 1.5] as unknown as number[]) {
        assert.equal(roundToResume({ ...edited, round: { ...edited.round, resumed } }, minutesIn(5), when), false, `resumed ${String(resumed)} counts as spent`);
      }
    });
  });
});
