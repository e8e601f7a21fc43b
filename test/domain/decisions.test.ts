import { utcText } from '../../src/domain/delegation-time';
import assert from 'node:assert/strict';
import { approve, cancel, endIfUnaskable, expire, reject, whyNotToRun } from '../../src/domain/lifecycle';
import { RefusalReason } from '../../src/domain/refusal';
import { standing, type RequestState } from '../../src/domain/request';
import { accepted, decisionBy, refused } from './lifecycle-helpers';
import { alice, approvalBy, bob, buildRequest, frank, channel, dave, erin, EXPIRES_AT, mallory, minutesIn, requestIn } from '../support/requests';

const NOT_PENDING: RequestState[] = ['approved', 'executing', 'succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'];

describe('approving a request', () => {
  it('approves a one-approval request when an approver other than the requester approves', () => {
    const r = buildRequest();
    const { request, events } = accepted(approve(r, decisionBy(bob)));
    assert.equal(request.state, 'approved');
    assert.deepEqual(request.approvals, [{ approver: bob, at: minutesIn(10).toISOString(), operationHash: r.operationHash }]);
    assert.deepEqual(
      events.map((e) => [e.type, e.outcome]),
      [
        ['approval.granted', { result: 'ok', detail: 'approval 1 of 1' }],
        ['request.approved', { result: 'ok' }],
      ],
    );
  });

  it('keeps a two-approval request pending after the first approval, saying 1 of 2', () => {
    const r = buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
    const { request, events } = accepted(approve(r, decisionBy(bob)));
    assert.equal(request.state, 'pending');
    assert.deepEqual(request.approvals.map((a) => a.approver), [bob]);
    assert.deepEqual(events.map((e) => [e.type, e.outcome.detail]), [['approval.granted', 'approval 1 of 2']]);
  });

  it('approves a two-approval request once a second, different approver approves', () => {
    const r = buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
    const first = accepted(approve(r, decisionBy(bob))).request;
    const { request, events } = accepted(approve(first, decisionBy(frank, { now: minutesIn(11) })));
    assert.equal(request.state, 'approved');
    assert.deepEqual(request.approvals.map((a) => a.approver.name), ['Bob Approver', 'Frank Approver']);
    assert.deepEqual(events.map((e) => [e.type, e.outcome.detail]), [
      ['approval.granted', 'approval 2 of 2'],
      ['request.approved', undefined],
    ]);
  });

  it('refuses a second approval from the same approver, whatever the letter case of the object id', () => {
    const r = buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
    const once = accepted(approve(r, decisionBy(frank))).request;
    for (const again of [frank, { ...frank, aadObjectId: frank.aadObjectId.toUpperCase() }]) {
      const no = refused(approve(once, decisionBy(again, { now: minutesIn(12) })));
      assert.equal(no.reason, RefusalReason.AlreadyApprovedByYou);
      assert.equal(no.requestId, 'req-0001');
      assert.match(no.message, /You already approved request req-0001; it needs 2 approval\(s\) from different people/);
    }
  });

  it('refuses an approval from the requester, even one who holds the approver role', () => {
    const r = buildRequest({ requester: dave });
    const no = refused(approve(r, decisionBy(dave)));
    assert.equal(no.reason, RefusalReason.SelfApproval);
    assert.match(no.message, /You asked for request req-0001, so you cannot approve it: a second person must/);
  });

  it('refuses self-approval when the requester object id comes back in different letter case', () => {
    const r = buildRequest({ requester: { ...frank, aadObjectId: frank.aadObjectId.toUpperCase() } });
    assert.equal(refused(approve(r, decisionBy(frank))).reason, RefusalReason.SelfApproval);
    assert.equal(refused(reject(r, decisionBy(frank), undefined)).reason, RefusalReason.SelfApproval);
  });

  it('refuses someone without an approver role and names the roles that would do', () => {
    for (const outsider of [erin, mallory]) {
      const no = refused(approve(buildRequest(), decisionBy(outsider)));
      assert.equal(no.reason, RefusalReason.NotAnApprover);
      assert.equal(no.message, 'You cannot approve request req-0001: it needs the role "platform-approvers".');
    }
  });

  it('refuses a click on a stale card whose operation hash is not the pending one', () => {
    const no = refused(approve(buildRequest(), decisionBy(bob, { cardHash: 'f'.repeat(64) })));
    assert.equal(no.reason, RefusalReason.StaleCard);
    assert.match(no.message, /card for request req-0001 is out of date/);
  });

  it('names a shortened hash as the problem rather than calling the card out of date', () => {
    const r = buildRequest();
    const no = refused(approve(r, decisionBy(bob, { cardHash: r.operationHash.slice(0, 12) })));
    assert.equal(no.reason, RefusalReason.StaleCard);
    assert.equal(no.message, "This click for request req-0001 carries a shortened operation hash (12 characters); send the card's full data.hash (64 characters).");
  });

  it("names the expiry in the clicker's zone with the UTC instant, and in UTC for a zone no runtime knows", () => {
    const late = new Date(EXPIRES_AT.getTime() + 60_000);
    const iso = EXPIRES_AT.toISOString();
    const local = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(EXPIRES_AT);
    const byBob = refused(approve(buildRequest(), decisionBy(bob, { now: late, zone: 'Asia/Tokyo' })));
    assert.equal(byBob.message, `Request req-0001 expired at ${local} Asia/Tokyo (${iso}); ask for it again if it is still needed.`);
    const byAlice = refused(cancel(buildRequest(), { now: late, actor: alice, zone: 'Asia/Tokyo', isApprover: () => false }));
    assert.equal(byAlice.message, `Request req-0001 expired at ${local} Asia/Tokyo (${iso}).`);
    const nowhere = refused(approve(buildRequest(), decisionBy(bob, { now: late, zone: 'Mars/Olympus_Mons' })));
    assert.match(nowhere.message, new RegExp(`expired at ${utcText(iso)};`));
  });

  it('accepts a click on a card that shows the pending operation', () => {
    const r = buildRequest();
    assert.equal(accepted(approve(r, decisionBy(bob, { cardHash: r.operationHash }))).request.state, 'approved');
  });

  it('refuses approval at the expiry instant and after it, but not a millisecond before', () => {
    for (const now of [EXPIRES_AT, new Date(EXPIRES_AT.getTime() + 60_000)]) {
      const no = refused(approve(buildRequest(), decisionBy(bob, { now })));
      assert.equal(no.reason, RefusalReason.Expired);
      assert.match(no.message, new RegExp(`expired at ${utcText(EXPIRES_AT.toISOString())}`));
    }
    const justInTime = new Date(EXPIRES_AT.getTime() - 1);
    assert.equal(accepted(approve(buildRequest(), decisionBy(bob, { now: justInTime }))).request.state, 'approved');
  });

  for (const state of NOT_PENDING) {
    const expected = state === 'expired' ? RefusalReason.Expired : RefusalReason.AlreadyDecided;
    it(`refuses approving a request that is already ${state} (${expected})`, () => {
      const no = refused(approve(requestIn(state), decisionBy(frank)));
      assert.equal(no.reason, expected);
      assert.equal(no.message, `Request req-0001 ${standing(state)}; it can no longer be approved.`);
      assert.doesNotMatch(no.message, /_|already unknown/, 'where it stands in words, not the state\'s name in the code');
    });
  }

  it('says in words where a request that can no longer be approved stands, as the clicker reads it on the card', () => {
    assert.equal(refused(approve(requestIn('unknown'), decisionBy(frank))).message, 'Request req-0001 has run, with an unknown outcome; it can no longer be approved.');
    assert.equal(refused(approve(requestIn('scheduled'), decisionBy(frank))).message, 'Request req-0001 is approved and scheduled to run; it can no longer be approved.');
    assert.equal(refused(reject(requestIn('rejected'), decisionBy(frank), undefined)).message, 'Request req-0001 was rejected; it can no longer be rejected.');
  });

  it('records the approver and the conversation the click came from on its audit events', () => {
    const { events } = accepted(approve(buildRequest(), decisionBy(bob, { source: channel })));
    for (const e of events) {
      assert.deepEqual(e.actor, bob);
      assert.deepEqual(e.source, channel);
    }
  });
});

describe('rejecting a request', () => {
  it('rejects with the approver and a trimmed comment on the request and in the audit trail', () => {
    const { request, events } = accepted(reject(buildRequest(), decisionBy(bob), '  not during the freeze  '));
    assert.equal(request.state, 'rejected');
    assert.deepEqual(request.rejection, { by: bob, at: minutesIn(10).toISOString(), comment: 'not during the freeze' });
    assert.deepEqual(events.map((e) => [e.type, e.outcome, e.actor]), [['request.rejected', { result: 'ok', detail: 'not during the freeze' }, bob]]);
  });

  it('keeps only the first 1000 characters of a long comment', () => {
    const { request, events } = accepted(reject(buildRequest(), decisionBy(bob), 'x'.repeat(1500)));
    assert.equal(request.rejection?.comment, 'x'.repeat(1000));
    assert.equal(events[0].outcome.detail, 'x'.repeat(1000));
  });

  it('records no comment when none or only blanks were given', () => {
    for (const comment of [undefined, '', '   \n ']) {
      const { request, events } = accepted(reject(buildRequest(), decisionBy(bob), comment));
      assert.deepEqual(request.rejection, { by: bob, at: minutesIn(10).toISOString() });
      assert.equal('detail' in events[0].outcome, false);
    }
  });

  it('writes line breaks in the comment as visible escapes in the audit event', () => {
    const { events } = accepted(reject(buildRequest(), decisionBy(bob), 'no\r\n{"type":"request.approved"}'));
    assert.equal(events[0].outcome.detail, 'no\\r\\n{"type":"request.approved"}');
  });

  it('refuses a rejection from the requester and points them to Cancel', () => {
    const no = refused(reject(buildRequest(), decisionBy(alice), 'changed my mind'));
    assert.equal(no.reason, RefusalReason.SelfApproval);
    assert.equal(no.message, 'You asked for request req-0001; use Cancel to withdraw it.');
  });

  it('refuses a rejection from someone without an approver role', () => {
    const no = refused(reject(buildRequest(), decisionBy(erin), undefined));
    assert.equal(no.reason, RefusalReason.NotAnApprover);
    assert.match(no.message, /You cannot reject request req-0001: it needs the role "platform-approvers"/);
  });

  it('refuses a rejection from a stale card and after expiry', () => {
    assert.equal(refused(reject(buildRequest(), decisionBy(bob, { cardHash: 'stale' }), undefined)).reason, RefusalReason.StaleCard);
    assert.equal(refused(reject(buildRequest(), decisionBy(bob, { now: EXPIRES_AT }), undefined)).reason, RefusalReason.Expired);
  });

  it('lets an approver reject a two-approval request that another approver already approved', () => {
    const r = buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
    const half = accepted(approve(r, decisionBy(bob))).request;
    assert.equal(accepted(reject(half, decisionBy(frank), 'wrong group')).request.state, 'rejected');
  });

  for (const state of NOT_PENDING) {
    const expected = state === 'expired' ? RefusalReason.Expired : RefusalReason.AlreadyDecided;
    it(`refuses rejecting a request that is already ${state} (${expected})`, () => {
      const no = refused(reject(requestIn(state), decisionBy(frank), 'too late'));
      assert.equal(no.reason, expected);
      assert.equal(no.message, `Request req-0001 ${standing(state)}; it can no longer be rejected.`);
    });
  }
});

describe('cancelling a request', () => {
  it('lets the requester cancel a pending request', () => {
    const { request, events } = accepted(cancel(buildRequest(), { now: minutesIn(10), actor: alice, source: channel }));
    assert.equal(request.state, 'cancelled');
    assert.deepEqual(request.cancellation, { by: alice, at: minutesIn(10).toISOString() });
    assert.deepEqual(events.map((e) => [e.type, e.outcome, e.actor, e.source]), [['request.cancelled', { result: 'ok' }, alice, channel]]);
  });

  it('recognises the requester whatever the letter case of the object id', () => {
    const shouting = { ...frank, aadObjectId: frank.aadObjectId.toUpperCase() };
    assert.equal(accepted(cancel(buildRequest({ requester: frank }), { now: minutesIn(10), actor: shouting })).request.state, 'cancelled');
  });

  it('refuses a cancel from anyone but the requester, approvers included, and names who can', () => {
    for (const other of [bob, erin]) {
      const no = refused(cancel(buildRequest(), { now: minutesIn(10), actor: other }));
      assert.equal(no.reason, RefusalReason.NotRequester);
      assert.equal(no.message, 'Only Alice Requester, who asked for request req-0001, can cancel it.');
    }
  });

  it('names the requester by the start of their object id when a namesake is refused the cancel', () => {
    const no = refused(cancel(buildRequest(), { now: minutesIn(10), actor: { ...bob, name: 'alice requester' } }));
    assert.equal(no.message, 'Only Alice Requester (11111111), who asked for request req-0001, can cancel it.');
    const scheduled = refused(cancel(requestIn('scheduled'), { now: minutesIn(10), actor: { ...erin, name: 'Alice Requester' }, isApprover: () => false }));
    assert.match(scheduled.message, /^Only Alice Requester \(11111111\), who asked for request req-0001, or someone with .* can cancel it before it runs\.$/);
  });

  it('refuses a cancel after the request expired', () => {
    const no = refused(cancel(buildRequest(), { now: EXPIRES_AT, actor: alice }));
    assert.equal(no.reason, RefusalReason.Expired);
  });

  for (const state of NOT_PENDING) {
    it(`refuses cancelling a request that is already ${state}, to its requester and to anyone else alike`, () => {
      for (const actor of [alice, bob]) {
        const no = refused(cancel(requestIn(state), { now: minutesIn(10), actor }));
        assert.equal(no.reason, RefusalReason.AlreadyDecided);
        assert.equal(no.message, `Request req-0001 ${standing(state)}; it can no longer be cancelled.`);
      }
    });
  }
});

describe('expiring a request', () => {
  it('expires a pending request at its expiry instant and says why', () => {
    const { request, events } = accepted(expire(buildRequest(), EXPIRES_AT));
    const detail = `No decision before ${utcText(EXPIRES_AT.toISOString())}.`;
    assert.equal(request.state, 'expired');
    assert.equal(request.outcomeDetail, detail);
    assert.deepEqual(events.map((e) => [e.type, e.outcome, e.actor]), [['request.expired', { result: 'ok', detail }, undefined]]);
  });

  it('expires a two-approval request that got only one approval in time', () => {
    const r = buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
    const half = { ...r, approvals: [approvalBy(bob, r)] };
    assert.equal(accepted(expire(half, minutesIn(61))).request.state, 'expired');
  });

  it('does not expire a pending request before its expiry', () => {
    const no = refused(expire(buildRequest(), new Date(EXPIRES_AT.getTime() - 1)));
    assert.equal(no.message, 'Request req-0001 has not expired yet.');
  });

  for (const state of NOT_PENDING) {
    it(`does not expire a request that is ${state}, even long after its expiry`, () => {
      const no = refused(expire(requestIn(state), minutesIn(600)));
      assert.equal(no.reason, RefusalReason.AlreadyDecided);
      assert.equal(no.message, `Request req-0001 is ${state}, not pending.`);
    });
  }
});

describe('approving a request its command\'s reason or conversation rule, as configured now, no longer allows', () => {
  const tighter = { reason: { required: true, minLength: 40 } };
  const personalOnly = { conversations: { conversationTypes: ['personal' as const], conversationIds: [] } };

  it('refuses the approval, naming the reason rule in the claim\'s words, and ends the request: failed, nothing sent, audited as at the claim', () => {
    const r = buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } }); // reason: "cleanup after the migration" (27 characters)
    const t = accepted(approve(r, { ...decisionBy(bob), askingRules: tighter }));
    assert.equal(t.request.state, 'failed');
    assert.deepEqual(t.request.approvals, [], 'no approval was given');
    const detail = 'Not executed: the reason rule of "delete resource group" (policy.reason) changed after it was asked for, and its reason no longer meets it: The reason is 27 characters; this command needs at least 40. Nothing was sent to Azure: ask again, with a reason the rule now takes (required, at least 40 characters, saying something (no placeholders or repeats)).';
    assert.equal(t.request.outcomeDetail, detail);
    assert.deepEqual(t.events.map((e) => [e.type, e.outcome]), [['approval.revoked', { result: 'refused', reason: RefusalReason.ReasonRuleTightened, detail }]]);
    assert.equal(t.refused?.reason, RefusalReason.ReasonRuleTightened);
    assert.equal(t.refused?.requestId, r.id);
    assert.equal(
      t.refused?.message,
      'Request req-0001 can no longer be approved: the reason rule of "delete resource group" (policy.reason) changed after it was asked for, and its reason no longer meets it: The reason is 27 characters; this command needs at least 40. It has ended without running (nothing was sent to Azure); Alice Requester, who asked for it, is told to ask again, with a reason the rule now takes (required, at least 40 characters, saying something (no placeholders or repeats)).',
    );
  });

  it('names the conversations rule for a request asked in a conversation no longer allowed, a request needing re-approval included', () => {
    for (const r of [buildRequest(), requestIn('needs_reapproval')]) {
      const t = accepted(approve(r, { ...decisionBy(bob), askingRules: personalOnly }));
      assert.equal(t.request.state, 'failed');
      assert.equal(t.refused?.reason, RefusalReason.ConversationRuleTightened);
      assert.match(t.refused?.message ?? '', /can no longer be approved: the conversations rule of "delete resource group" changed after it was asked for: it may now be asked for only in a personal chat \(policy\.conversations\.types\), and it was asked for in a channel\. It has ended without running/);
    }
  });

  it('approves as before when the request still meets the rules as configured now', () => {
    const t = accepted(approve(buildRequest(), { ...decisionBy(bob), askingRules: { reason: { required: true, minLength: 20 }, conversations: { conversationTypes: ['channel'], conversationIds: [] } } }));
    assert.equal(t.request.state, 'approved');
    assert.equal(t.refused, undefined);
  });

  it('ends nothing on a click that is refused anyway (the requester, someone without the role), and lets reject and cancel through', () => {
    const r = buildRequest();
    assert.equal(refused(approve(r, { ...decisionBy(alice), askingRules: tighter })).reason, RefusalReason.SelfApproval);
    assert.equal(refused(approve(r, { ...decisionBy(mallory), askingRules: tighter })).reason, RefusalReason.NotAnApprover);
    assert.equal(accepted(reject(r, { ...decisionBy(bob), askingRules: tighter }, 'no')).request.state, 'rejected');
    assert.equal(accepted(cancel(r, { ...decisionBy(alice), askingRules: tighter })).request.state, 'cancelled');
  });
});

describe('approving a request the config as it is now would not let run: its command gone, its requester without the role', () => {
  const gone = { commandGone: 'the command "delete resource group" is no longer in the config' };

  it('refuses the approval of a request whose command was taken out, and ends it in the claim\'s words (command-removed)', () => {
    const r = buildRequest();
    const t = accepted(approve(r, { ...decisionBy(bob), askingRules: gone }));
    assert.equal(t.request.state, 'failed');
    assert.deepEqual(t.request.approvals, []);
    const detail = 'Not executed: the command "delete resource group" is no longer in the config. Nothing was sent to Azure.';
    assert.equal(t.request.outcomeDetail, detail);
    assert.equal(whyNotToRun(requestIn('approved'), () => true, gone)?.detail, detail, 'what the claim says of it');
    assert.deepEqual(t.events.map((e) => [e.type, e.outcome]), [['approval.revoked', { result: 'refused', reason: RefusalReason.CommandRemoved, detail }]]);
    assert.equal(t.refused?.reason, RefusalReason.CommandRemoved);
    assert.equal(
      t.refused?.message,
      'Request req-0001 can no longer be approved: the command "delete resource group" is no longer in the config. It has ended without running (nothing was sent to Azure); Alice Requester, who asked for it, is told why.',
    );
  });

  it('refuses the approval of a request whose requester no longer holds a requester role (requester-lost-role), one needing re-approval included', () => {
    for (const r of [buildRequest(), requestIn('needs_reapproval')]) {
      const t = accepted(approve(r, { ...decisionBy(bob), askingRules: { requesterMay: false } }));
      assert.equal(t.request.state, 'failed');
      assert.equal(t.request.outcomeDetail, 'Not executed: Alice Requester, who asked for it, no longer holds a role that may ask for "delete resource group". Nothing was sent to Azure.');
      assert.deepEqual(t.events.map((e) => [e.type, e.outcome.reason]), [['approval.revoked', RefusalReason.RequesterLostRole]]);
      assert.equal(t.refused?.reason, RefusalReason.RequesterLostRole);
      assert.match(t.refused?.message ?? '', /^Request req-0001 can no longer be approved: Alice Requester, who asked for it, no longer holds a role that may ask for "delete resource group"\. It has ended without running/);
    }
  });

  it('names the requester by the start of their object id, in who is told the approval ended the request, when the approver shares their display name', () => {
    const namesake = { ...bob, name: 'Alice Requester' };
    const gone = { commandGone: 'the command "delete resource group" is no longer in the config' };
    for (const askingRules of [gone, { requesterMay: false }]) {
      const t = accepted(approve(buildRequest(), { ...decisionBy(namesake), askingRules }));
      assert.match(t.refused?.message ?? '', /; Alice Requester \(11111111\), who asked for it, is told why\.$/);
    }
  });

  it('names the requester by the start of their object id, in the rule they broke, when the approver shares their display name', () => {
    const namesake = { ...bob, name: 'Alice Requester' };
    const lost = accepted(approve(buildRequest(), { ...decisionBy(namesake), askingRules: { requesterMay: false } }));
    assert.match(lost.refused?.message ?? '', /can no longer be approved: Alice Requester \(11111111\), who asked for it, no longer holds a role/);
    assert.equal(lost.request.outcomeDetail, 'Not executed: Alice Requester (11111111), who asked for it, no longer holds a role that may ask for "delete resource group". Nothing was sent to Azure.');
  });

  it('approves a drifted break-glass use whose break-glass was withdrawn since: it runs on its approvals now, as the claim lets it', () => {
    const use = { ...requestIn('needs_reapproval'), breakGlass: { reason: 'outage', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() } };
    const withdrawn = { requesterMay: true, breakGlassWithdrawn: '"delete resource group" no longer allows break-glass' };
    const t = accepted(approve(use, { ...decisionBy(bob), askingRules: withdrawn }));
    assert.equal(t.request.state, 'approved');
    assert.equal(t.refused, undefined);
    assert.equal(whyNotToRun(t.request, () => true, { requirements: [{ roles: ['platform-approvers'], count: 1 }], mayFill: () => true, ...withdrawn }), undefined);
  });

  it('lets an approver reject it and its requester cancel it all the same', () => {
    for (const askingRules of [gone, { requesterMay: false }]) {
      assert.equal(accepted(reject(buildRequest(), { ...decisionBy(bob), askingRules }, 'no')).request.state, 'rejected');
      assert.equal(accepted(cancel(buildRequest(), { ...decisionBy(alice), askingRules })).request.state, 'cancelled');
    }
  });
});

describe('ending, with nobody clicking, a request the config as it is now would not let run (a reminder or escalation due, the start)', () => {
  const gone = { commandGone: 'the command "delete resource group" is no longer in the config' };

  it('ends it as an approval of it would: the same outcome and approval.revoked record, by no actor, with no refusal to answer', () => {
    const r = buildRequest();
    const clicked = accepted(approve(r, { ...decisionBy(bob), askingRules: gone }));
    for (const from of [r, requestIn('needs_reapproval')]) {
      const t = accepted(endIfUnaskable(from, minutesIn(10), gone));
      assert.equal(t.request.state, 'failed');
      assert.equal(t.request.version, from.version + 1);
      assert.equal(t.request.outcomeDetail, clicked.request.outcomeDetail);
      assert.deepEqual(t.events, clicked.events);
      assert.equal(t.events[0].actor, undefined);
      assert.equal(t.refused, undefined);
    }
    assert.equal(accepted(endIfUnaskable(r, minutesIn(10), { requesterMay: false })).events[0].outcome.reason, RefusalReason.RequesterLostRole);
  });

  it('ends nothing that may still run, is no longer to be decided, or is past its expiry (expiry ends it)', () => {
    assert.match(refused(endIfUnaskable(buildRequest(), minutesIn(10), { requesterMay: true })).message, /may still run under the config as it is now/);
    for (const state of NOT_PENDING) assert.equal(refused(endIfUnaskable(requestIn(state), minutesIn(10), gone)).reason, RefusalReason.AlreadyDecided, state);
    assert.equal(refused(endIfUnaskable(buildRequest(), EXPIRES_AT, gone)).reason, RefusalReason.Expired);
  });
});
