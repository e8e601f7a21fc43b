/** Delegation for absence through the use cases: delegate, list, revoke, and deciding on behalf. */
import { shownVersion, type ApprovalRequest } from '../../src/domain/request';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { DelegationAnswer, NamedPerson } from '../../src/app/delegations';
import { RefusalReason } from '../../src/domain/refusal';
import { lapsedDelegations } from '../../src/domain/lifecycle';
import { revoke } from '../../src/domain/delegation';
import type { Actor } from '../../src/domain/request';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { Countersign } from '../../src/app/countersign';
import { parseConfig } from '../../src/config/load';
import { alice, bob, carol, dave, erin, EXAMPLE_CONFIG, frank, opsChannel, sourceIn } from '../support/people';
import { reachConfigText } from '../support/reach';
import { asked, click, freshFakesEachTest, refusedWith, settle, statusShown } from './steps';
import type { Told } from '../../src/app/ports';
import { RecordingNotifier } from '../support/app-fakes';
import { eventually } from '../support/teams';

const DELETE = 'delete resource group staging-old';
const HOUR = 3600_000;
const PERSONAL = { conversationType: 'personal' as const };

function delegateAs(f: AppOnFakes, who: Actor, to: NamedPerson | undefined, when: string, timeZone?: string): Promise<DelegationAnswer> {
  return f.app.delegate({ actor: who, source: sourceIn(opsChannel, 'delegate-1'), delegate: to, when, ...(timeZone ? { timeZone } : {}) });
}

function text(answer: DelegationAnswer): string {
  assert.ok(answer.ok, `refused: ${answer.ok ? '' : answer.refusal.message}`);
  return answer.text;
}

function reason(answer: DelegationAnswer): string {
  assert.ok(!answer.ok, 'the delegation was accepted');
  return answer.refusal.reason;
}

function configWith(change: (yaml: string) => string): string {
  return change(readFileSync(EXAMPLE_CONFIG, 'utf8'));
}

/** The example config with "delete resource group" needing two approvals. */
const TWO_APPROVALS = configWith((y) => y.replace(/(- name: delete resource group[\s\S]*?)approvals: 1/, '$1approvals: 2'));

describe('app: delegation for absence', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });

  it('lets an approver delegate, echoing the end in their time zone, and audits it', async () => {
    const said = text(await delegateAs(f, bob, carol, 'until 2026-03-05T18:00', 'Europe/Berlin'));
    assert.match(said, /Carol NoRole can now approve and reject requests on your behalf, with your own approver roles, until 2026-03-05 18:00 Europe\/Berlin \(2026-03-05T17:00:00\.000Z\)/);
    const [created] = await f.audit({ types: ['delegation.created'] });
    assert.equal(created.actor?.name, bob.name);
    assert.deepEqual((created.data as { delegate: Actor }).delegate, carol);
    assert.match(await f.app.delegations(bob, PERSONAL), /You delegated:\n- Carol NoRole on behalf of Bob Approver, until 2026-03-05 17:00 UTC/);
    assert.match(await f.app.delegations(carol, PERSONAL), /Delegated to you:\n- Carol NoRole on behalf of Bob Approver/);
    // Each section after a blank line: Teams' markdown would run a title on into the list item above it.
    assert.match(await f.app.delegations(carol, PERSONAL), /You delegated:\n- none\n\nDelegated to you:/);
    assert.doesNotMatch(await f.app.delegations(dave, PERSONAL), /Carol/);
    assert.match(await f.app.delegations(erin, PERSONAL), /All delegations in force \(you are an auditor\):\n- Carol NoRole on behalf of Bob Approver/);
    // Not where others read along: a channel or group chat is told where to look instead.
    for (const conversationType of ['channel', 'groupChat'] as const) {
      const shared = await f.app.delegations(erin, { conversationType });
      assert.doesNotMatch(shared, /Carol/);
      assert.match(shared, /type "delegations" in your personal chat with Countersign to see them/);
    }
  });

  it('lets the delegate approve on behalf of the delegator, and the request runs', async () => {
    text(await delegateAs(f, bob, carol, 'for 3d'));
    const r = await asked(f, alice, DELETE);
    const result = await click(f, carol, r, 'approve');
    assert.ok(result.ok);
    await settle(f);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'succeeded');
    assert.deepEqual([stored.approvals[0].approver.name, stored.approvals[0].onBehalfOf?.name], [carol.name, bob.name]);
    const [granted] = await f.audit({ types: ['approval.granted'] });
    assert.equal(granted.outcome.detail, 'approval 1 of 1 by Carol NoRole on behalf of Bob Approver');
    assert.equal((granted.data as { onBehalfOf: Actor }).onBehalfOf.name, bob.name);
  });

  it('lets the delegate reject on behalf of the delegator', async () => {
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const r = await asked(f, alice, DELETE);
    assert.ok((await click(f, carol, r, 'reject', { comment: 'not during the freeze' })).ok);
    assert.equal((await f.request(r.id)).rejection?.onBehalfOf?.name, bob.name);
  });

  it('gives the delegate nothing once the delegation expired by time', async () => {
    text(await delegateAs(f, bob, carol, 'for 30m'));
    const r = await asked(f, alice, DELETE);
    f.clock.advance(HOUR / 2);
    assert.equal(refusedWith(await click(f, carol, r, 'approve')), RefusalReason.NotAnApprover);
  });

  it('revokes: the delegate can no longer decide, and an approval given on behalf is taken off a request still pending, which waits for others again', async () => {
    f = appOnFakes({ configText: TWO_APPROVALS });
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const r = await asked(f, alice, DELETE);
    assert.ok((await click(f, carol, r, 'approve')).ok);
    assert.match(text(await f.app.revokeDelegation({ actor: bob, source: sourceIn() })), new RegExp(`Revoked: Carol NoRole can no longer decide on your behalf\\. .* Taken off ${r.id}, which wait for other approvers again\\.$`));
    const after = await f.request(r.id);
    assert.equal(after.state, 'pending');
    assert.deepEqual(after.approvals, [], 'the card shows what still counts');
    const [withdrawn] = await f.audit({ types: ['approval.revoked'] });
    assert.equal(withdrawn.outcome.reason, RefusalReason.DelegationRevoked);
    assert.match(withdrawn.outcome.detail ?? '', /^Carol NoRole on behalf of Bob Approver: no longer count\(s\), as Bob Approver revoked the delegation;/);
    assert.equal(refusedWith(await click(f, carol, r, 'approve')), RefusalReason.NotAnApprover);
    // Dave's approval is the first of two now, not the second: nothing runs on it alone.
    assert.ok((await click(f, dave, r, 'approve')).ok);
    assert.equal((await f.request(r.id)).state, 'pending');
    assert.ok((await click(f, bob, r, 'approve')).ok);
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal(f.azure.executions.length, 1);
  });

  /**
   * A request needing two approvals, approved by Carol on Bob's behalf (a delegation for a day) and by
   * Dave, on a run that stopped before executing, as a crash would: it stays approved.
   */
  async function approvedOnBehalfNotRun(): Promise<ApprovalRequest> {
    f = appOnFakes({ configText: TWO_APPROVALS });
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const r = await asked(f, alice, DELETE);
    await f.app.executor.stop();
    assert.ok((await click(f, carol, r, 'approve')).ok);
    assert.ok((await click(f, dave, r, 'approve')).ok);
    assert.equal((await f.request(r.id)).state, 'approved');
    return r;
  }

  it('revokes: a request already approved on an approval given on behalf fails at once, named in the answer, on its card and to its requester', async () => {
    const r = await approvedOnBehalfNotRun();
    const answer = text(await f.app.revokeDelegation({ actor: bob, source: sourceIn() }));
    assert.doesNotMatch(answer, /Taken off/);
    assert.match(answer, new RegExp(`${r.id} \\(delete resource group\\) was approved with such an approval and had not started: it will not run \\(failed now, nothing sent to Azure\\), and the requester was told to ask again\\.$`));
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'failed');
    const why = 'the approval of Carol NoRole on behalf of Bob Approver no longer counts: the delegation it was given under was revoked by Bob Approver; 1 of 2 approval(s) still count. Nothing was sent to Azure; ask again.';
    assert.equal(stored.outcomeDetail, `Not executed: ${why}`);
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} was not executed: ${why}`]);
    assert.ok(f.notifier.cardRefreshes(r.id).includes(`failed@${shownVersion(stored)}`), 'its cards show it failed');
    const [revoked] = await f.audit({ requestId: r.id, types: ['approval.revoked'] });
    assert.equal(revoked.outcome.reason, RefusalReason.DelegationRevoked);
    assert.equal(revoked.actor?.name, bob.name);
    const restarted = f.anotherRun();
    await restarted.catchUp();
    await restarted.executor.idle();
    assert.equal(f.azure.executions.length, 0);
  });

  it('revokes, and the bot dies at the requester\'s "not executed" message: the next start sends it, once', async () => {
    const r = await approvedOnBehalfNotRun();
    let unhang: (() => void) | undefined;
    const killed = new RecordingNotifier();
    killed.tellRequester = (request, said) => {
      killed.calls.push({ kind: 'tellRequester', request, text: said });
      return new Promise<Told>((resolve) => (unhang = () => resolve('failed')));
    };
    f.deps.notifier = killed;
    text(await f.app.revokeDelegation({ actor: bob, source: sourceIn() }));
    await eventually('the run at its message', () => killed.told(r.id).length === 1);
    const [lost] = killed.told(r.id);
    assert.match(lost, new RegExp(`^Request ${r.id} was not executed: the approval of Carol NoRole on behalf of Bob Approver no longer counts`));
    assert.equal((await f.request(r.id)).outcomeMessage?.text, lost, 'owed from the write that failed it');
    f.clock.advance(5_000); // the restart
    const after = new RecordingNotifier();
    const restarted = new Countersign({ ...f.deps, notifier: after, onlyInstanceSince: f.clock.now() }, { owner: 'run-b' });
    assert.deepEqual(await restarted.sendOwedMessages(true), [r.id]);
    assert.deepEqual(await restarted.sendOwedMessages(), []);
    assert.deepEqual(after.told(r.id), [lost]);
    unhang?.();
  });

  it('names the run time of a request it fails in the zone the delegator\'s message came with, replacing or revoking', async () => {
    const later = new Date(f.clock.now().getTime() + 2 * HOUR).toISOString();
    const berlin = (iso: string) => `${new Date(Date.parse(iso) + HOUR).toISOString().slice(0, 16).replace('T', ' ')} Europe/Berlin \\(${iso.replace(/\./g, '\\.')}\\)`;
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const first = await asked(f, alice, `${DELETE} at ${later}`);
    assert.ok((await click(f, carol, first, 'approve')).ok);
    const replaced = text(await delegateAs(f, bob, erin, 'for 1d', 'Europe/Berlin'));
    assert.match(replaced, new RegExp(`${first.id} \\(delete resource group, scheduled for ${berlin(later)}\\) was approved with such an approval`));
    const second = await asked(f, alice, `delete resource group staging-two at ${later}`);
    assert.ok((await click(f, erin, second, 'approve')).ok);
    const revoked = text(await f.app.revokeDelegation({ actor: bob, source: sourceIn(), timeZone: 'Europe/Berlin' }));
    assert.match(revoked, new RegExp(`${second.id} \\(delete resource group, scheduled for ${berlin(later)}\\) was approved with such an approval`));
  });

  it('replaces: a scheduled request approved by the earlier delegate fails at once, named in the answer; one the delegator approved still runs', async () => {
    const later = new Date(f.clock.now().getTime() + 2 * HOUR).toISOString();
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const byCarol = await asked(f, alice, `${DELETE} at ${later}`);
    const byDave = await asked(f, alice, `delete resource group staging-two at ${later}`);
    assert.ok((await click(f, carol, byCarol, 'approve')).ok);
    assert.ok((await click(f, dave, byDave, 'approve')).ok);
    assert.equal((await f.request(byCarol.id)).state, 'scheduled');
    const answer = text(await delegateAs(f, bob, erin, 'for 1d'));
    assert.match(answer, new RegExp(`It replaces your delegation to Carol NoRole\\. ${byCarol.id} \\(delete resource group, scheduled for [^)]+ UTC\\) was approved with such an approval and had not started: it will not run`));
    const failed = await f.request(byCarol.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.outcomeDetail ?? '', /^Not executed: the approval of Carol NoRole on behalf of Bob Approver no longer counts: the delegation it was given under was replaced by Bob Approver's next delegation; 0 of 1 approval\(s\) still count\./);
    assert.equal((await f.request(byDave.id)).state, 'scheduled');
  });

  it('fails a scheduled request approved by a delegate when the delegation runs out before its time, and tells its requester then', async () => {
    text(await delegateAs(f, bob, carol, 'for 20m'));
    const r = await asked(f, alice, `${DELETE} at ${new Date(f.clock.now().getTime() + 2 * HOUR).toISOString()}`);
    assert.ok((await click(f, carol, r, 'approve')).ok);
    assert.equal((await f.request(r.id)).state, 'scheduled');
    f.clock.advance(21 * 60_000);
    assert.deepEqual((await f.app.sweepReach()).delegationsEnded, [r.id]);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'failed');
    assert.match(stored.outcomeDetail ?? '', /^Not executed: the approval of Carol NoRole on behalf of Bob Approver no longer counts: the delegation it was given under ended; 0 of 1/);
    assert.match(f.notifier.told(r.id).at(-1) ?? '', new RegExp(`^Request ${r.id} was not executed: the approval of Carol NoRole`));
  });

  it('lets an approver\'s delegate cancel a scheduled request on their behalf, recorded as such; never on the requester\'s behalf', async () => {
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const later = new Date(f.clock.now().getTime() + 2 * HOUR).toISOString();
    const r = await asked(f, alice, `${DELETE} at ${later}`);
    assert.ok((await click(f, dave, r, 'approve')).ok);
    assert.equal((await f.app.personalView(carol, r.id))?.canCancel, true, 'her card offers Cancel');
    const cancelled = await click(f, carol, await f.request(r.id), 'cancel');
    assert.ok(cancelled.ok, JSON.stringify(cancelled));
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'cancelled');
    assert.equal(stored.cancellation?.onBehalfOf?.name, bob.name);
    assert.match(stored.outcomeDetail ?? '', /^Cancelled by Carol NoRole on behalf of Bob Approver before its scheduled run/);
    const [event] = await f.audit({ requestId: r.id, types: ['request.cancelled'] });
    assert.equal(event.actor?.name, carol.name);
    assert.deepEqual((event.data as { onBehalfOf?: Actor }).onBehalfOf, bob);
    assert.match(f.notifier.told(r.id).at(-1) ?? '', /was cancelled by Carol NoRole on behalf of Bob Approver before it ran/);
    // Dave asks and delegates to Carol: she may not stop his request on his behalf (the second person must be a second person).
    text(await delegateAs(f, dave, carol, 'for 1d'));
    const his = await asked(f, dave, `delete resource group staging-two at ${later}`);
    assert.ok((await click(f, bob, his, 'approve')).ok);
    text(await f.app.revokeDelegation({ actor: bob, source: sourceIn() }));
    assert.equal(refusedWith(await click(f, carol, await f.request(his.id), 'cancel')), RefusalReason.OnBehalfOfRequester);
    assert.equal((await f.request(his.id)).state, 'scheduled');
  });

  it('lets a member of an escalation role delegate it: the delegate decides escalated requests on their behalf, and only those', async () => {
    f = appOnFakes({ configText: reachConfigText(['escalation: { role: incident-leads, after: 40m }']) });
    assert.match(text(await delegateAs(f, frank, carol, 'for 1d')), /Carol NoRole can now approve and reject requests on your behalf/);
    const r = await asked(f, alice, DELETE);
    assert.equal(refusedWith(await click(f, carol, r, 'approve')), RefusalReason.NotAnApprover, 'not escalated yet: incident-leads does not decide it');
    f.clock.advance(41 * 60_000);
    assert.deepEqual((await f.app.sweepReach()).escalated, [r.id]);
    assert.ok((await click(f, carol, await f.request(r.id), 'approve')).ok);
    await settle(f);
    const stored = await f.request(r.id);
    assert.equal(stored.approvals[0]?.onBehalfOf?.name, frank.name);
    assert.equal(stored.state, 'succeeded', stored.outcomeDetail);
  });

  it('says at execution that the delegation behind an approval was revoked, once, when the revocation could not take it off itself', async () => {
    const r = await approvedOnBehalfNotRun();
    // Revoked as a stop in the middle of the revocation would leave it: the delegation ended, the request untouched.
    const [inForce] = await f.store.delegations.inForce(f.clock.now().toISOString());
    const ended = revoke(bob, [inForce], f.clock.now());
    assert.ok(ended.ok);
    await f.store.delegations.record(ended.change);
    assert.equal((await f.request(r.id)).state, 'approved');
    const restarted = f.anotherRun();
    await restarted.catchUp();
    await restarted.executor.idle();
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'failed');
    assert.equal(stored.outcomeDetail, 'Not executed: the approval of Carol NoRole on behalf of Bob Approver no longer counts: the delegation it was given under was revoked by Bob Approver; 1 of 2 approval(s) still count.');
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} was not executed: the approval of Carol NoRole on behalf of Bob Approver no longer counts: the delegation it was given under was revoked by Bob Approver; 1 of 2 approval(s) still count.`]);
    assert.equal(f.azure.executions.length, 0);
  });

  it('takes an approval off when its delegation runs out: the delegator may approve, the next approver does not complete the request on it', async () => {
    f = appOnFakes({ configText: TWO_APPROVALS });
    text(await delegateAs(f, bob, carol, 'for 20m'));
    const r = await asked(f, alice, DELETE);
    assert.ok((await click(f, carol, r, 'approve')).ok);
    f.clock.advance(31 * 60_000);
    // Bob, back: his click takes the lapsed approval off and counts, in one change.
    assert.ok((await click(f, bob, r, 'approve')).ok);
    let stored = await f.request(r.id);
    assert.equal(stored.state, 'pending');
    assert.deepEqual(stored.approvals.map((a) => [a.approver.name, a.onBehalfOf?.name]), [[bob.name, undefined]]);
    const [lapsed] = await f.audit({ types: ['approval.revoked'] });
    assert.equal(lapsed.outcome.reason, RefusalReason.DelegationEnded);
    assert.match(lapsed.outcome.detail ?? '', /^Carol NoRole on behalf of Bob Approver: no longer count\(s\), as the delegation it was given under ended;/);
    assert.ok((await click(f, dave, r, 'approve')).ok);
    await settle(f);
    stored = await f.request(r.id);
    assert.equal(stored.state, 'succeeded');
    assert.equal(f.azure.executions.length, 1);
  });

  it('a lapsed approval does not make the next approver\'s click the last one, and the sweep takes it off for the card and reminders', async () => {
    f = appOnFakes({ configText: TWO_APPROVALS });
    text(await delegateAs(f, bob, carol, 'for 20m'));
    const r = await asked(f, alice, DELETE);
    assert.ok((await click(f, carol, r, 'approve')).ok);
    assert.deepEqual((await f.app.sweepReach()).delegationsEnded, [], 'still in force');
    f.clock.advance(31 * 60_000);
    // Bob's pending offers it again once the approval made for him no longer counts.
    assert.deepEqual((await f.app.pending(bob)).toDecide.map((x) => x.id), [r.id]);
    assert.deepEqual((await f.app.sweepReach()).delegationsEnded, [r.id]);
    assert.deepEqual((await f.request(r.id)).approvals, []);
    assert.deepEqual((await f.app.sweepReach()).delegationsEnded, [], 'once');
    assert.ok((await click(f, dave, r, 'approve')).ok);
    assert.equal((await f.request(r.id)).state, 'pending', 'one of two: nothing runs');
  });

  it('takes off an approval whose delegation was revoked when the revocation\'s own withdrawal was cut short: at the next click, and at the next sweep', async () => {
    for (const by of ['click', 'sweep'] as const) {
      f = appOnFakes({ configText: TWO_APPROVALS });
      text(await delegateAs(f, bob, carol, 'for 1d'));
      const r = await asked(f, alice, DELETE);
      assert.ok((await click(f, carol, r, 'approve')).ok);
      // The revocation commits; listing the open requests to take its approvals off fails (a crash there, say).
      const list = f.store.requests.list.bind(f.store.requests);
      f.store.requests.list = async () => {
        f.store.requests.list = list;
        throw new Error('the store went away');
      };
      await assert.rejects(f.app.revokeDelegation({ actor: bob, source: sourceIn() }), /the store went away/);
      assert.equal((await f.request(r.id)).approvals.length, 1, 'still counted');
      // A click within the minute after an approval leaves it (it may be under a delegation made since the read).
      f.clock.advance(2 * 60_000);
      if (by === 'click') {
        assert.ok((await click(f, bob, r, 'approve')).ok, 'Bob decides himself');
        assert.deepEqual((await f.request(r.id)).approvals.map((a) => a.approver.name), [bob.name]);
      } else {
        const restarted = f.anotherRun();
        assert.deepEqual((await restarted.sweepReach()).delegationsEnded, [r.id]);
        assert.deepEqual((await f.request(r.id)).approvals, []);
      }
      const [withdrawn] = await f.audit({ types: ['approval.revoked'] });
      assert.equal(withdrawn.outcome.reason, RefusalReason.DelegationEnded, by);
      await settle(f);
    }
  });

  it('does not take off an approval under a delegation made after the delegations were read (a minute\'s grace)', async () => {
    f = appOnFakes({ configText: TWO_APPROVALS });
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const r = await asked(f, alice, DELETE);
    assert.ok((await click(f, carol, r, 'approve')).ok);
    const stored = await f.request(r.id);
    // Read as another instance would have read the delegations in force just before Carol's delegation was made.
    assert.equal(lapsedDelegations(stored, f.clock.now(), new Set()).size, 0);
    f.clock.advance(2 * 60_000);
    assert.equal(lapsedDelegations(stored, f.clock.now(), new Set()).size, 1);
  });

  it('a replaced delegation\'s approvals are taken off what still waits, as a revoked one\'s', async () => {
    f = appOnFakes({ configText: TWO_APPROVALS });
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const r = await asked(f, alice, DELETE);
    assert.ok((await click(f, carol, r, 'approve')).ok);
    assert.match(text(await delegateAs(f, bob, erin, 'for 1d')), new RegExp(`It replaces your delegation to Carol NoRole\\. The approvals Carol NoRole gave for you were taken off ${r.id}, which wait for other approvers again\\.`));
    const [withdrawn] = await f.audit({ types: ['approval.revoked'] });
    assert.equal(withdrawn.outcome.reason, RefusalReason.DelegationRevoked);
    assert.match(withdrawn.outcome.detail ?? '', /as Bob Approver replaced the delegation;/);
    assert.ok((await click(f, erin, r, 'approve')).ok, 'the new delegate decides with Bob\'s authority, not yet used');
  });

  it('answers a delegate message Teams sends again (same activity id) from the first: the approvals its delegate gave meanwhile stay', async () => {
    f = appOnFakes({ configText: TWO_APPROVALS });
    const sent = { actor: bob, source: sourceIn(opsChannel, 'deleg-X'), delegate: carol, when: 'for 2d', message: `message/${opsChannel.id}/deleg-X` };
    text(await f.app.delegate(sent));
    const r = await asked(f, alice, DELETE);
    assert.ok((await click(f, carol, r, 'approve')).ok);
    const before = await f.request(r.id);
    const [made] = await f.store.delegations.inForce(f.clock.now().toISOString());
    f.clock.advance(60_000);
    const again = text(await f.app.delegate(sent));
    assert.equal(again, `This message already delegated to Carol NoRole, until 2026-03-04 09:00 UTC (delegation ${made.id}); nothing more was done. Type "delegations" to see what is in force.`);
    assert.deepEqual(await f.request(r.id), before);
    assert.deepEqual((await f.audit({ types: ['delegation.created', 'delegation.replaced', 'approval.revoked'] })).map((x) => x.type), ['delegation.created']);
  });

  it('answers a revoke delegation message Teams sends again from the first, without a refusal', async () => {
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const [made] = await f.store.delegations.inForce(f.clock.now().toISOString());
    const sent = { actor: bob, source: sourceIn(opsChannel, 'revoke-X'), message: `message/${opsChannel.id}/revoke-X` };
    assert.match(text(await f.app.revokeDelegation(sent)), /^Revoked: Carol NoRole/);
    assert.equal(text(await f.app.revokeDelegation(sent)), `This message already revoked your delegation to Carol NoRole (delegation ${made.id}); nothing more was done. Type "delegations" to see what is in force.`);
    assert.deepEqual((await f.audit({ types: ['delegation.revoked', 'delegation.refused'] })).map((x) => x.type), ['delegation.revoked']);
  });

  it('tells the requester of a request approved in part that it expired without every approval, not that nobody approved it', async () => {
    f = appOnFakes({ configText: TWO_APPROVALS });
    const r = await asked(f, alice, DELETE);
    assert.ok((await click(f, bob, r, 'approve')).ok);
    f.clock.advance(2 * HOUR);
    await f.app.sweepExpired();
    await settle(f);
    const told = f.notifier.told(r.id).filter((t) => t.includes('expired'));
    assert.equal(told.length, 1, JSON.stringify(f.notifier.told(r.id)));
    assert.match(told[0], new RegExp(`^Request ${r.id} expired: it did not get every approval it needs before \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: still needed .*\\(1 of 2\\)\\.$`));
  });

  it('refuses a request the delegator asked for, and one the delegate asked for', async () => {
    text(await delegateAs(f, dave, carol, 'for 1d'));
    const davesOwn = await asked(f, dave, DELETE);
    assert.equal(refusedWith(await click(f, carol, davesOwn, 'approve')), RefusalReason.OnBehalfOfRequester);
    text(await delegateAs(f, bob, alice, 'for 1d'));
    const alicesOwn = await asked(f, alice, 'delete resource group staging-older');
    assert.equal(refusedWith(await click(f, alice, alicesOwn, 'approve')), RefusalReason.SelfApproval);
  });

  it('refuses a delegate\'s click on a request past its time as expired, not for the delegation', async () => {
    text(await delegateAs(f, dave, carol, 'for 1d'));
    const davesOwn = await asked(f, dave, DELETE);
    f.clock.advance(2 * HOUR);
    assert.equal(refusedWith(await click(f, carol, davesOwn, 'approve')), RefusalReason.Expired);
    assert.equal((await f.request(davesOwn.id)).state, 'expired');
  });

  it('counts the delegator\'s authority once, whoever used it first', async () => {
    f = appOnFakes({ configText: TWO_APPROVALS });
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const r = await asked(f, alice, DELETE);
    assert.ok((await click(f, bob, r, 'approve')).ok);
    assert.equal(refusedWith(await click(f, carol, r, 'approve')), RefusalReason.AuthorityAlreadyCounted);
    const other = await asked(f, alice, 'delete resource group staging-older');
    assert.ok((await click(f, carol, other, 'approve')).ok);
    assert.equal(refusedWith(await click(f, bob, other, 'approve')), RefusalReason.AuthorityAlreadyCounted);
  });

  it('refuses, and audits, a chain, a delegation to oneself, an unknown person, a time it cannot read, and too long a one', async () => {
    text(await delegateAs(f, bob, carol, 'for 1d'));
    assert.equal(reason(await delegateAs(f, carol, alice, 'for 1d')), RefusalReason.DelegationChain);
    assert.equal(reason(await delegateAs(f, bob, bob, 'for 1d')), RefusalReason.SelfDelegation);
    assert.equal(reason(await delegateAs(f, bob, { unresolved: 'Countersign could not look up Zed' }, 'for 1d')), RefusalReason.DelegateUnknown);
    assert.equal(reason(await delegateAs(f, bob, undefined, 'for 1d')), RefusalReason.DelegationMalformed);
    assert.equal(reason(await delegateAs(f, bob, carol, 'until someday')), RefusalReason.DelegationMalformed);
    assert.equal(reason(await delegateAs(f, bob, carol, 'for 15d')), RefusalReason.DelegationTooLong);
    const refusals = await f.audit({ types: ['delegation.refused'] });
    assert.deepEqual(refusals.map((x) => x.outcome.reason), ['delegation-chain', 'self-delegation', 'delegate-unknown', 'delegation-malformed', 'delegation-malformed', 'delegation-too-long']);
    assert.match(await f.app.delegations(carol, PERSONAL), /Delegated to you:\n- Carol NoRole on behalf of Bob Approver/);
    // Each section after a blank line: Teams' markdown would run a title on into the list item above it.
    assert.match(await f.app.delegations(carol, PERSONAL), /You delegated:\n- none\n\nDelegated to you:/);
  });

  it('replaces the earlier delegation with a new one, audited as replaced', async () => {
    text(await delegateAs(f, bob, carol, 'for 1d'));
    assert.match(text(await delegateAs(f, bob, erin, 'for 2d')), /It replaces your delegation to Carol NoRole/);
    assert.deepEqual((await f.audit({ types: ['delegation.created', 'delegation.replaced'] })).map((x) => x.type), ['delegation.created', 'delegation.replaced', 'delegation.created']);
    const r = await asked(f, alice, DELETE);
    assert.equal(refusedWith(await click(f, carol, r, 'approve')), RefusalReason.NotAnApprover);
    assert.ok((await click(f, erin, r, 'approve')).ok);
  });

  it('refuses every delegation when delegation.enabled is false', async () => {
    f = appOnFakes({ configText: configWith((y) => y.replace(/(delegation:\n {2}enabled: )true/, '$1false')) });
    assert.equal(f.config.delegation.enabled, false);
    assert.equal(reason(await delegateAs(f, bob, carol, 'for 1d')), RefusalReason.DelegationDisabled);
  });

  it('counts no approval given on someone\'s behalf once delegation is turned off: taken off what waits, failing what was approved on it', async () => {
    const disabled = (text: string) => text.replace(/(delegation:\n {2}enabled: )true/, '$1false');
    f = appOnFakes({ configText: TWO_APPROVALS });
    text(await delegateAs(f, bob, carol, 'for 1d'));
    const waiting = await asked(f, alice, DELETE);
    const scheduled = await asked(f, alice, `delete resource group staging-two at ${new Date(f.clock.now().getTime() + 2 * HOUR).toISOString()}`);
    assert.ok((await click(f, carol, waiting, 'approve')).ok);
    assert.ok((await click(f, carol, scheduled, 'approve')).ok);
    assert.ok((await click(f, dave, scheduled, 'approve')).ok);
    assert.equal((await f.request(scheduled.id)).state, 'scheduled');
    // Restarted with delegation turned off: the delegation is still in the store, and still within its time.
    const config = parseConfig(disabled(TWO_APPROVALS), EXAMPLE_CONFIG);
    assert.equal(config.delegation.enabled, false);
    const off = new Countersign({ ...f.deps, config }, { owner: 'run-b', correlationId: () => 'corr-off' });
    f.clock.advance(2 * 60_000);
    assert.deepEqual((await off.sweepReach()).delegationsEnded.sort(), [waiting.id, scheduled.id].sort());
    const failed = await f.request(scheduled.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.outcomeDetail ?? '', /^Not executed: the approval of Carol NoRole on behalf of Bob Approver no longer counts: delegation is turned off in the config \(delegation\.enabled: false\); 1 of 2 approval\(s\) still count\./);
    const still = await f.request(waiting.id);
    assert.deepEqual(still.approvals, [], 'Carol\'s approval for Bob no longer counts');
    const [revoked] = await f.audit({ requestId: waiting.id, types: ['approval.revoked'] });
    assert.equal(revoked.outcome.reason, RefusalReason.DelegationEnded);
    assert.match(revoked.outcome.detail ?? '', /^Carol NoRole on behalf of Bob Approver: no longer count\(s\), as delegation is turned off in the config \(delegation\.enabled: false\)/);
    assert.equal(f.azure.executions.length, 0);
    assert.match(await off.delegations(bob, PERSONAL), /^Delegation is turned off in this Countersign \(delegation\.enabled in the config\): no delegation is in force, and no approval given on someone's behalf counts\.\n\nYou delegated:\n- none/);
  });

  it('shows the delegate what they can decide: pending, status and the Approve button of their own card', async () => {
    const r = await asked(f, alice, DELETE);
    assert.deepEqual((await f.app.pending(carol)).toDecide, []);
    assert.equal(await statusShown(f, carol, r.id), undefined);
    text(await delegateAs(f, bob, carol, 'for 1d'));
    assert.deepEqual((await f.app.pending(carol)).toDecide.map((x) => x.id), [r.id]);
    assert.equal((await statusShown(f, carol, r.id))?.id, r.id);
    assert.equal((await f.app.personalView(carol, r.id))?.canApprove, true);
    const davesOwn = await asked(f, dave, 'delete resource group staging-older');
    text(await delegateAs(f, dave, erin, 'for 1d'));
    assert.equal((await f.app.personalView(erin, davesOwn.id))?.canApprove, false);
  });

  it('says when there is nothing to revoke', async () => {
    assert.equal(reason(await f.app.revokeDelegation({ actor: bob, source: sourceIn() })), RefusalReason.NoDelegation);
  });
});
