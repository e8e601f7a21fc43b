import assert from 'node:assert/strict';
import { authorityFor, delegate, revoke, type Delegation, type DelegateInput } from '../../src/domain/delegation';
import { approve, reject, startExecution, withdrawDelegatedApprovals } from '../../src/domain/lifecycle';
import { RefusalReason } from '../../src/domain/refusal';
import { carol } from '../support/people';
import { alice, bob, buildRequest, dave, frank, mallory, minutesIn, TENANT } from '../support/requests';
import { accepted, decisionBy, holdsApproverRole, refused } from './lifecycle-helpers';

const NOW = minutesIn(0);
const DAY = 86400_000;

function input(overrides: Partial<DelegateInput> = {}): DelegateInput {
  return {
    id: 'DG-1',
    now: NOW,
    delegator: bob,
    delegate: carol,
    until: new Date(NOW.getTime() + 3 * DAY),
    policy: { enabled: true, maxDurationSeconds: 14 * 86400 },
    delegatorIsApprover: true,
    delegatorIsDelegate: false,
    tenantAllowed: (t) => t === TENANT,
    current: [],
    ...overrides,
  };
}

function delegation(from = bob, to = carol, overrides: Partial<Delegation> = {}): Delegation {
  return { id: `DG-${from.name}-${to.name}`, delegator: from, delegate: to, createdAt: NOW.toISOString(), until: new Date(NOW.getTime() + DAY).toISOString(), ...overrides };
}

function refusedWith(result: ReturnType<typeof delegate>, reason: RefusalReason): string {
  if (result.ok) assert.fail(`expected ${reason}, but the delegation was made`);
  assert.equal(result.refusal.reason, reason);
  return result.refusal.message;
}

describe('making a delegation', () => {
  it('lets an approver delegate to another person of the tenant for a bounded time, audited as delegation.created', () => {
    const result = delegate(input());
    assert.ok(result.ok);
    assert.equal(result.change.created?.delegate.name, carol.name);
    assert.equal(result.change.created?.until, new Date(NOW.getTime() + 3 * DAY).toISOString());
    assert.deepEqual(result.change.events.map((e) => [e.type, e.actor?.aadObjectId, (e.data as { delegationId: string }).delegationId]), [['delegation.created', bob.aadObjectId, 'DG-1']]);
  });

  it('replaces the delegator\'s delegation in force with the new one, audited as delegation.replaced', () => {
    const old = delegation(bob, dave);
    const result = delegate(input({ current: [old] }));
    assert.ok(result.ok);
    assert.deepEqual(result.change.ended.map((d) => [d.id, d.ended?.reason]), [[old.id, 'replaced']]);
    assert.deepEqual(result.change.events.map((e) => e.type), ['delegation.replaced', 'delegation.created']);
  });

  it('refuses someone who holds no approver role', () => {
    assert.match(refusedWith(delegate(input({ delegator: carol, delegate: bob, delegatorIsApprover: false })), RefusalReason.NotAnApprover), /hold none/);
  });

  it('refuses to pass on a delegation received: delegations do not chain', () => {
    assert.match(refusedWith(delegate(input({ delegator: carol, delegate: alice, delegatorIsApprover: false, delegatorIsDelegate: true })), RefusalReason.DelegationChain), /cannot be passed on/);
  });

  it('refuses a delegation to oneself, whatever the letter case of the id', () => {
    refusedWith(delegate(input({ delegate: { ...bob, aadObjectId: bob.aadObjectId.toUpperCase() } })), RefusalReason.SelfDelegation);
  });

  it('refuses a delegate from a tenant that is not allowed', () => {
    refusedWith(delegate(input({ delegate: mallory })), RefusalReason.TenantNotAllowed);
  });

  it('refuses an end that is not in the future, and one past delegation.maxDuration', () => {
    refusedWith(delegate(input({ until: NOW })), RefusalReason.DelegationNotInFuture);
    // Told back as the sender typed it, in their zone, with the instant.
    const past = new Date(NOW.getTime() - DAY);
    assert.match(refusedWith(delegate(input({ until: past, zone: 'Europe/Berlin' })), RefusalReason.DelegationNotInFuture), new RegExp(`^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} Europe/Berlin \\(${past.toISOString().replace(/\./g, '\\.')}\\) is not in the future`));
    assert.match(refusedWith(delegate(input({ until: new Date(NOW.getTime() + 15 * DAY) })), RefusalReason.DelegationTooLong), /at most 14 days/);
    assert.ok(delegate(input({ until: new Date(NOW.getTime() + 14 * DAY) })).ok);
  });

  it('refuses every delegation when delegation is turned off', () => {
    refusedWith(delegate(input({ policy: { enabled: false, maxDurationSeconds: 86400 } })), RefusalReason.DelegationDisabled);
  });
});

describe('revoking a delegation', () => {
  it('ends the actor\'s delegation in force, audited as delegation.revoked', () => {
    const result = revoke(bob, [delegation(bob, carol), delegation(dave, carol)], NOW);
    assert.ok(result.ok);
    assert.deepEqual(result.change.ended.map((d) => [d.delegator.name, d.ended?.reason]), [[bob.name, 'revoked']]);
    assert.deepEqual(result.change.events.map((e) => e.type), ['delegation.revoked']);
  });

  it('refuses when there is nothing in force to revoke (or none to the person named)', () => {
    assert.equal(revoke(bob, [], NOW).ok, false);
    const named = revoke(bob, [delegation(bob, carol)], NOW, dave);
    assert.ok(!named.ok && named.refusal.reason === RefusalReason.NoDelegation);
    const expired = revoke(bob, [delegation(bob, carol)], new Date(NOW.getTime() + 2 * DAY));
    assert.ok(!expired.ok);
  });
});

describe('deciding on behalf of someone', () => {
  const twoApprovals = () => buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });

  function onBehalf(r = buildRequest(), received = [delegation(bob, carol)], verb: 'approve' | 'reject' = 'approve', now = minutesIn(10)) {
    const authority = authorityFor(r, carol, verb, received, now, holdsApproverRole);
    if (!authority.ok) return authority;
    return { ...authority, ctx: { ...decisionBy(carol, { now }), ...(authority.onBehalfOf ? { onBehalfOf: authority.onBehalfOf, delegationId: authority.delegationId! } : {}) } };
  }

  it('records the delegate as approver on behalf of the delegator, in the request and the audit record', () => {
    const a = onBehalf();
    assert.ok(a.ok);
    const { request, events } = accepted(approve(buildRequest(), a.ctx));
    assert.deepEqual([request.approvals[0].approver.name, request.approvals[0].onBehalfOf?.name, request.approvals[0].delegationId], [carol.name, bob.name, 'DG-Bob Approver-Carol NoRole']);
    assert.equal(events[0].outcome.detail, 'approval 1 of 1 by Carol NoRole on behalf of Bob Approver');
    assert.deepEqual((events[0].data as { onBehalfOf: { name: string } }).onBehalfOf.name, bob.name);
  });

  it('records a delegate\'s rejection on behalf of the delegator', () => {
    const a = onBehalf(buildRequest(), undefined, 'reject');
    assert.ok(a.ok);
    const { request } = accepted(reject(buildRequest(), a.ctx, 'not now'));
    assert.equal(request.rejection?.onBehalfOf?.name, bob.name);
  });

  it('gives a person who holds the role themselves their own authority, delegation or not', () => {
    const a = authorityFor(buildRequest(), frank, 'approve', [delegation(bob, frank)], minutesIn(10), holdsApproverRole);
    assert.deepEqual(a, { ok: true });
  });

  it('gives nothing from an expired or revoked delegation, nor from a delegator who lost the role (no chain through delegations)', () => {
    assert.deepEqual(onBehalf(buildRequest(), [delegation(bob, carol)], 'approve', minutesIn(60 * 25)), { ok: true, ctx: decisionBy(carol, { now: minutesIn(60 * 25) }) });
    const revoked = delegation(bob, carol, { ended: { at: NOW.toISOString(), by: bob, reason: 'revoked' } });
    assert.equal((onBehalf(buildRequest(), [revoked]) as { onBehalfOf?: unknown }).onBehalfOf, undefined);
    // Alice holds no approver role herself: what Carol received from her carries nothing, even if Alice got a delegation from Bob.
    assert.equal((onBehalf(buildRequest({ requester: dave }), [delegation(alice, carol)]) as { onBehalfOf?: unknown }).onBehalfOf, undefined);
    const r = buildRequest();
    assert.equal(refused(approve(r, decisionBy(carol))).reason, RefusalReason.NotAnApprover);
  });

  it('refuses a delegate deciding a request the delegator asked for', () => {
    const r = buildRequest({ requester: bob });
    const a = onBehalf(r);
    assert.ok(!a.ok);
    assert.equal(a.refusal.reason, RefusalReason.OnBehalfOfRequester);
    assert.equal(refused(approve(r, { ...decisionBy(carol), onBehalfOf: bob })).reason, RefusalReason.OnBehalfOfRequester);
  });

  it('names the requester by the start of their object id when the delegate refused shares their display name', () => {
    const r = buildRequest({ requester: bob });
    const namesake = { ...carol, name: 'Bob Approver' };
    assert.match(refused(approve(r, { ...decisionBy(namesake), onBehalfOf: bob })).message, new RegExp(`^Bob Approver \\(${bob.aadObjectId.slice(0, 8)}\\) asked for request`));
    assert.match(refused(approve(r, { ...decisionBy(carol), onBehalfOf: bob })).message, /^Bob Approver asked for request/, 'no namesake: named as before');
  });

  it('refuses a delegate deciding a request they asked for themselves', () => {
    const r = buildRequest({ requester: carol });
    assert.deepEqual(authorityFor(r, carol, 'approve', [delegation(bob, carol)], minutesIn(10), holdsApproverRole), { ok: true });
    assert.equal(refused(approve(r, decisionBy(carol))).reason, RefusalReason.SelfApproval);
  });

  it('counts the delegator\'s authority once: the delegate cannot add to the delegator\'s own approval', () => {
    const first = accepted(approve(twoApprovals(), decisionBy(bob))).request;
    const a = onBehalf(first);
    assert.ok(!a.ok);
    assert.equal(a.refusal.reason, RefusalReason.AuthorityAlreadyCounted);
    assert.equal(refused(approve(first, { ...decisionBy(carol), onBehalfOf: bob })).reason, RefusalReason.AuthorityAlreadyCounted);
  });

  it('counts it once the other way round: the delegator cannot approve after their delegate did', () => {
    const a = onBehalf(twoApprovals());
    assert.ok(a.ok);
    const first = accepted(approve(twoApprovals(), a.ctx)).request;
    assert.equal(refused(approve(first, decisionBy(bob, { now: minutesIn(11) }))).reason, RefusalReason.AuthorityAlreadyCounted);
  });

  it('still needs distinct people: a delegate of two approvers gives one approval, not two', () => {
    const received = [delegation(bob, carol), delegation(frank, carol, { createdAt: minutesIn(1).toISOString() })];
    const a = onBehalf(twoApprovals(), received);
    assert.ok(a.ok && a.onBehalfOf?.name === bob.name);
    const first = accepted(approve(twoApprovals(), a.ctx)).request;
    const again = onBehalf(first, received);
    assert.ok(again.ok && again.onBehalfOf?.name === frank.name);
    assert.equal(refused(approve(first, again.ctx)).reason, RefusalReason.AlreadyApprovedByYou);
  });
});

describe('the re-check at execution', () => {
  it('checks the delegator\'s role, not the delegate\'s, for an approval on behalf', () => {
    const approved = accepted(approve(buildRequest(), { ...decisionBy(carol), onBehalfOf: bob, delegationId: 'DG-1' })).request;
    const seen: string[] = [];
    const claim = accepted(startExecution(approved, minutesIn(12), (actor) => (seen.push(actor.name), true)));
    assert.equal(claim.request.state, 'executing');
    assert.deepEqual(seen, [bob.name]);
  });

  it('fails the request, nothing run, when the delegation behind an approval is no longer in force, saying how it ended', () => {
    const approved = accepted(approve(buildRequest(), { ...decisionBy(carol), onBehalfOf: bob, delegationId: 'DG-1' })).request;
    const { request, events } = accepted(startExecution(approved, minutesIn(12), (_actor, approval) => (approval.delegationId === 'DG-1' ? { how: 'revoked', by: bob } : true)));
    assert.equal(request.state, 'failed');
    assert.equal(request.outcomeDetail, 'Not executed: the approval of Carol NoRole on behalf of Bob Approver no longer counts: the delegation it was given under was revoked by Bob Approver; 0 of 1 approval(s) still count.');
    assert.deepEqual(events.map((e) => e.type), ['approval.revoked']);
    const ran = accepted(startExecution(approved, minutesIn(12), () => ({ how: 'ended' })));
    assert.match(ran.request.outcomeDetail ?? '', /: the delegation it was given under ended; 0 of 1/);
    const lost = accepted(startExecution(approved, minutesIn(12), () => false));
    assert.equal(lost.request.outcomeDetail, 'Not executed: Carol NoRole on behalf of Bob Approver no longer hold(s) the approver role; 0 of 1 approval(s) still count.', 'a lost role is not said to be an ended delegation');
  });

  it("names a delegator who shares the requester's display name by the start of their object id when their delegate's approval no longer counts", () => {
    // Dave, who delegated to Carol, is called "Alice Requester" too: "on behalf of Alice Requester" must not read as on the requester's behalf.
    const namesake = { ...dave, name: 'Alice Requester' };
    const approved = accepted(approve(buildRequest(), { ...decisionBy(carol), onBehalfOf: namesake, delegationId: 'DG-1' })).request;
    const lost = accepted(startExecution(approved, minutesIn(12), () => false));
    assert.equal(lost.request.outcomeDetail, 'Not executed: Carol NoRole on behalf of Alice Requester (55555555) no longer hold(s) the approver role; 0 of 1 approval(s) still count.');
    const revoked = accepted(startExecution(approved, minutesIn(12), () => ({ how: 'revoked', by: namesake })));
    assert.equal(revoked.request.outcomeDetail, 'Not executed: the approval of Carol NoRole on behalf of Alice Requester (55555555) no longer counts: the delegation it was given under was revoked by Alice Requester (55555555); 0 of 1 approval(s) still count.');
  });

  it("names a delegator who shares the requester's display name by the start of their object id when an approved request fails on their revoked delegation", () => {
    const namesake = { ...dave, name: 'Alice Requester' };
    const approved = accepted(approve(buildRequest(), { ...decisionBy(carol), onBehalfOf: namesake, delegationId: 'DG-1' })).request;
    const failed = accepted(withdrawDelegatedApprovals(approved, new Set(['DG-1']), minutesIn(12), { how: 'revoked', by: namesake })).request;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.outcomeDetail, 'Not executed: the approval of Carol NoRole on behalf of Alice Requester (55555555) no longer counts: the delegation it was given under was revoked by Alice Requester (55555555); 0 of 1 approval(s) still count. Nothing was sent to Azure; ask again.');
  });
});
