/** Break-glass rules: off unless the policy allows it, only its roles, always with a reason; reviewed by someone else. */
import assert from 'node:assert/strict';
import type { CommandSpec } from '../../src/domain/catalog';
import { approvalLapsed, approve, breakGlassLimitRefusal, breakGlassRefusal, breakGlassUse, detectDrift, expireUnstarted, markReviewOverdue, missedWindow, needsReview, readyToRun, reviewBreakGlass, startExecution } from '../../src/domain/lifecycle';
import { Roles } from '../../src/domain/policy';
import { RefusalReason } from '../../src/domain/refusal';
import type { Actor, ApprovalRequest } from '../../src/domain/request';
import { carol } from '../support/people';
import { accepted } from './lifecycle-helpers';
import { alice, bob, requestIn } from '../support/requests';

const roles = new Roles({ oncall: [alice.aadObjectId], approvers: [bob.aadObjectId] });
const BREAK_GLASS = { roles: ['oncall'], reviewWithinSeconds: 86_400, notify: [] };
const command = (breakGlass?: typeof BREAK_GLASS): CommandSpec =>
  ({ name: 'restart app', description: '', sensitive: true, parameters: [], operation: { kind: 'resourceAction' }, policy: { approvals: 1, approverRoles: ['approvers'], requesterRoles: [], ttlSeconds: 3600, conversationTypes: ['channel'], conversationIds: [], ...(breakGlass ? { breakGlass } : {}) } }) as CommandSpec;
const NOW = new Date('2026-03-02T10:00:00Z');

function used(state: ApprovalRequest['state'] = 'succeeded'): ApprovalRequest {
  const pending = requestIn('pending');
  const r = breakGlassUse({ ...pending, policy: { ...pending.policy, breakGlass: BREAK_GLASS } }, NOW, 'INC-1');
  return { ...r, state };
}

const ctx = (actor: Actor, now = NOW) => ({ now, actor, isApprover: (a: Actor) => roles.holdsAny(['approvers'], a.aadObjectId) });

describe('domain: break-glass', () => {
  it('is refused for a command whose policy does not allow it, whoever asks', () => {
    assert.equal(breakGlassRefusal(command(), alice, roles, 'INC-1')?.reason, RefusalReason.BreakGlassNotAllowed);
  });

  it('is refused to someone outside its roles, and without a reason', () => {
    assert.equal(breakGlassRefusal(command(BREAK_GLASS), bob, roles, 'INC-1')?.reason, RefusalReason.NotAllowedToBreakGlass);
    assert.equal(breakGlassRefusal(command(BREAK_GLASS), alice, roles, '   ')?.reason, RefusalReason.BreakGlassReasonMissing);
    assert.equal(breakGlassRefusal(command(BREAK_GLASS), alice, roles, 'INC-1'), undefined);
  });

  it('lapses maxScheduleAhead after it was used, however late its row was last written (a round of notices taken up again)', () => {
    const r = used('approved');
    const lapsedAt = new Date(Date.parse(r.breakGlass!.usedAt) + 7 * 86_400_000);
    // Written again 30 days on (approvers.notified after a restart): it was still used 30 days ago.
    const rewritten = { ...r, updatedAt: new Date(lapsedAt.getTime() + 23 * 86_400_000).toISOString() };
    assert.equal(approvalLapsed(rewritten, new Date(lapsedAt.getTime() - 1000)), false);
    assert.equal(approvalLapsed(rewritten, lapsedAt), true);
    assert.equal(readyToRun(rewritten, lapsedAt), false);
    const expired = accepted(expireUnstarted(rewritten, lapsedAt)).request;
    assert.equal(expired.state, 'expired');
    assert.match(expired.outcomeDetail ?? '', /approved at 2026-03-02 10:00 UTC but had not started when its approval stopped being valid at 2026-03-09 10:00 UTC/);
  });

  it('runs at once on a command with maintenance windows, never deferred to the next opening (until it drifts)', () => {
    const closed = { windows: [{ days: ['sat' as const], from: '02:00', to: '05:00', zone: 'UTC' }], maxAheadSeconds: 7 * 86_400 };
    const r = { ...used('approved'), policy: { ...used('approved').policy, schedule: closed } };
    // Monday 10:00 UTC: the window is closed.
    assert.equal(readyToRun(r, NOW), true);
    assert.equal(missedWindow(r, NOW), false);
    assert.equal(accepted(startExecution(r, NOW, () => true)).request.state, 'executing');
    // A request approved the usual way waits for the window, as does a use that drifted and was approved again.
    assert.equal(readyToRun({ ...r, breakGlass: undefined }, NOW), false);
    assert.equal(readyToRun({ ...r, drift: { detectedAt: NOW.toISOString(), changes: ['x'] } } as ApprovalRequest, NOW), false);
  });

  it('names the minute a use goes through again, rounded up, in the zone asked for', () => {
    const limited = { ...BREAK_GLASS, maxUses: { count: 1, perSeconds: 3600 } };
    const refused = breakGlassLimitRefusal(command(limited), ['2026-03-02T09:30:30.000Z'], NOW, 'Europe/Berlin');
    assert.match(refused?.message ?? '', /or wait until 2026-03-02 11:31 Europe\/Berlin \(2026-03-02T10:31:00\.000Z\)\. Nothing was run\.$/);
    assert.equal(breakGlassLimitRefusal(command(limited), ['2026-03-02T09:30:30.000Z'], new Date('2026-03-02T10:31:00.000Z')), undefined, 'at that minute it goes through');
  });

  it('is created approved with no approvals, its review due after reviewWithin', () => {
    const r = used('approved');
    assert.equal(r.state, 'approved');
    assert.deepEqual(r.approvals, []);
    assert.equal(r.breakGlass?.reviewDueAt, '2026-03-03T10:00:00.000Z');
    assert.equal(needsReview(r), false, 'not before it ran');
    assert.equal(needsReview(used('succeeded')), true);
  });

  it('is reviewed by an approver, never by the requester or someone without the role, and once', () => {
    const r = used();
    const self = reviewBreakGlass(r, ctx(r.requester), 'ratified');
    assert.ok(!self.ok && self.refusal.reason === RefusalReason.SelfReview);
    const outsider = reviewBreakGlass(r, ctx(carol), 'ratified');
    assert.ok(!outsider.ok && outsider.refusal.reason === RefusalReason.NotAnApprover);
    const flagged = reviewBreakGlass(r, ctx(bob), 'flagged', 'should have waited');
    assert.ok(flagged.ok);
    assert.equal(flagged.request.breakGlass?.review?.verdict, 'flagged');
    assert.equal(flagged.events[0].type, 'breakglass.flagged');
    const again = reviewBreakGlass(flagged.request, ctx(bob), 'ratified');
    assert.ok(!again.ok && again.refusal.reason === RefusalReason.NotReviewable);
  });

  it('names the reviewer by the start of their object id when a namesake of theirs clicks again', () => {
    const flagged = reviewBreakGlass(used(), ctx(bob), 'flagged');
    assert.ok(flagged.ok);
    const namesake = { ...carol, name: 'Bob Approver' };
    const again = reviewBreakGlass(flagged.request, { ...ctx(namesake), isApprover: () => true }, 'ratified');
    assert.ok(!again.ok);
    assert.match(again.refusal.message, new RegExp(`^Bob Approver \\(${bob.aadObjectId.slice(0, 8)}\\) already flagged break-glass request`));
    const same = reviewBreakGlass(flagged.request, ctx(bob), 'ratified');
    assert.ok(!same.ok);
    assert.match(same.refusal.message, /^Bob Approver already flagged/, 'no namesake: named as before');
  });

  it('marks an overdue review once, escalating to the policy\'s escalation role', () => {
    const base = used();
    const r = { ...base, policy: { ...base.policy, escalation: { role: 'leads', afterSeconds: 60 } } };
    assert.ok(!markReviewOverdue(r, NOW).ok, 'not yet due');
    const late = new Date('2026-03-03T10:00:00Z');
    const marked = markReviewOverdue(r, late);
    assert.ok(marked.ok);
    assert.equal(marked.request.escalation?.role, 'leads');
    assert.equal(marked.events[0].type, 'breakglass.review_overdue');
    assert.ok(!markReviewOverdue(marked.request, late).ok, 'once');
  });

  it('once it drifted, needs approving again and runs only on approvals that still count, and is reviewed only once it ended', () => {
    const drifted = detectDrift(used('approved'), { changes: ['tag owner: "a" → "b"'] }, NOW);
    assert.ok(drifted.ok);
    assert.equal(drifted.request.state, 'needs_reapproval');
    assert.equal(needsReview(drifted.request), false, 'nothing ran yet: nothing to ratify');
    const approved = approve(drifted.request, ctx(bob));
    assert.ok(approved.ok);
    assert.equal(approved.request.state, 'approved');
    assert.equal(needsReview(approved.request), false);
    // Bob has lost the approver role by the time it runs.
    const claim = startExecution(approved.request, NOW, () => false);
    assert.ok(claim.ok);
    assert.equal(claim.request.state, 'failed', 'not run on its break-glass use');
    assert.deepEqual(claim.events.map((e) => e.type), ['approval.revoked']);
    assert.equal(needsReview(claim.request), true, 'ended: now it is reviewed');
    const kept = startExecution(approved.request, NOW, () => true);
    assert.ok(kept.ok);
    assert.equal(kept.request.state, 'executing', 'an approval that still counts runs it');
    const undrifted = startExecution(used('approved'), NOW, () => false);
    assert.ok(undrifted.ok);
    assert.equal(undrifted.request.state, 'executing', 'a use that never drifted runs without approval');
  });
});
