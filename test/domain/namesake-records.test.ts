/**
 * Two people called "Bob Approver" (Bob, and Dave or Frank or Erin renamed so) on one request: the
 * refusals that name someone other than the person clicking, and the words of the audit records
 * written from now on, tell them apart by the start of their object id (display-names.ts), as the
 * request's card does. With no namesake, everyone is named as before.
 */
import assert from 'node:assert/strict';
import { authorityFor, delegate, revoke, type Delegation, type DelegateInput } from '../../src/domain/delegation';
import { approve, cancel, requestCancellation, reviewBreakGlass, unauditedAuthority, unbackedFields, withdrawDelegatedApprovals, type DecisionContext } from '../../src/domain/lifecycle';
import { requestEvent, type AuditEventDraft, type AuditRecord } from '../../src/domain/audit';
import type { ChangeOperation } from '../../src/domain/operation';
import { RefusalReason } from '../../src/domain/refusal';
import type { Actor, ApprovalRequest } from '../../src/domain/request';
import { accepted, decisionBy, refused } from './lifecycle-helpers';
import { carol } from '../support/people';
import { alice, approvalBy, bob, buildRequest, dave, erin, frank, minutesIn, quorumRequest, requestIn, SUBSCRIPTION, TENANT } from '../support/requests';

const bob2: Actor = { ...dave, name: 'Bob Approver' };
const start = (a: Actor) => a.aadObjectId.slice(0, 8);
/** "Bob Approver (22222222)", as a regular expression's text. */
const namedRe = (a: Actor) => `${a.name} \\(${start(a)}\\)`;
const threeApprovals = (overrides: Partial<ApprovalRequest> = {}) => buildRequest({ policy: { ...buildRequest().policy, approvals: 3 }, ...overrides });
const onBehalfOf = (principal: Actor, id = 'DG-1'): DecisionContext => ({ ...decisionBy(carol), onBehalfOf: principal, delegationId: id });

describe('refusals naming someone other than the person clicking, with two Bob Approvers', () => {
  it("names the one whose approval already counts by the start of their object id (\"X's approval … already counts\")", () => {
    for (const [principal, name] of [[bob2, namedRe(bob2)], [dave, 'Dave Lead']] as const) {
      // Bob approved; Carol approved on behalf of the other (Dave, renamed Bob Approver); he then clicks himself.
      const first = accepted(approve(threeApprovals(), decisionBy(bob))).request;
      const second = accepted(approve(first, onBehalfOf(principal))).request;
      const no = refused(approve(second, decisionBy(principal, { now: minutesIn(11) })));
      assert.equal(no.reason, RefusalReason.AuthorityAlreadyCounted);
      assert.match(no.message, new RegExp(`^${name}'s approval of request req-0001 already counts`), principal.name);
    }
  });

  it('names the delegator whose roles are met already by the start of their object id ("what X holds is already met")', () => {
    // A quorum: Bob filled platform-approvers; Frank, renamed Bob Approver, holds only that role too.
    const holders: Record<string, Actor[]> = { 'platform-approvers': [bob, frank], security: [erin] };
    const holdsAny = (roles: readonly string[], a: Actor) => roles.some((role) => (holders[role] ?? []).some((p) => p.aadObjectId === a.aadObjectId));
    const ctx = (actor: Actor, extra: Partial<DecisionContext> = {}): DecisionContext => ({ now: minutesIn(10), actor, holdsAny, isApprover: (a) => holdsAny(['platform-approvers', 'security'], a), ...extra });
    const first = accepted(approve(quorumRequest(), ctx(bob))).request;
    const frank2 = { ...frank, name: 'Bob Approver' };
    for (const [principal, name] of [[frank2, namedRe(frank2)], [frank, 'Frank Approver']] as const) {
      const no = refused(approve(first, ctx(carol, { onBehalfOf: principal, delegationId: 'DG-1' })));
      assert.equal(no.reason, RefusalReason.FillsNoRequirement);
      assert.match(no.message, new RegExp(`what ${name} holds is already met`), principal.name);
    }
  });

  it("names the delegator whose authority counted, and a requester of the delegate's name, by the start of their object id (authorityFor)", () => {
    const delegation = (from: Actor, to: Actor): Delegation => ({ id: 'DG-1', delegator: from, delegate: to, createdAt: minutesIn(0).toISOString(), until: minutesIn(600).toISOString() });
    const holds = (a: Actor) => [bob, dave].some((p) => p.aadObjectId === a.aadObjectId);
    for (const [principal, name] of [[bob2, namedRe(bob2)], [dave, 'Dave Lead']] as const) {
      const r = threeApprovals();
      const counted = { ...r, approvals: [approvalBy(bob, r), approvalBy(principal, r)] };
      const a = authorityFor(counted, carol, 'approve', [delegation(principal, carol)], minutesIn(10), holds);
      assert.ok(!a.ok && a.refusal.reason === RefusalReason.AuthorityAlreadyCounted);
      assert.match(a.refusal.message, new RegExp(`^${name} already approved request req-0001`), principal.name);
    }
    // Carol, renamed Bob Approver, holds Bob's delegation, and Bob asked.
    const carol2 = { ...carol, name: 'Bob Approver' };
    const asked = authorityFor(buildRequest({ requester: bob }), carol2, 'approve', [delegation(bob, carol2)], minutesIn(10), holds);
    assert.ok(!asked.ok && asked.refusal.reason === RefusalReason.OnBehalfOfRequester);
    assert.match(asked.refusal.message, new RegExp(`^${namedRe(bob)} asked for request req-0001`));
    const plain = authorityFor(buildRequest({ requester: bob }), carol, 'approve', [delegation(bob, carol)], minutesIn(10), holds);
    assert.ok(!plain.ok);
    assert.match(plain.refusal.message, /^Bob Approver asked for request req-0001/, 'no namesake: named as before');
  });
});

describe('the words of audit records naming two Bob Approvers', () => {
  const detailOf = (events: AuditEventDraft[], type: string) => events.find((e) => e.type === type)?.outcome.detail;

  it('an approval on behalf of a namesake of an approver (approval.granted)', () => {
    const first = accepted(approve(threeApprovals(), decisionBy(bob))).request;
    assert.equal(detailOf(accepted(approve(first, onBehalfOf(bob2))).events, 'approval.granted'), `approval 2 of 3 by Carol NoRole on behalf of Bob Approver (${start(bob2)})`);
    assert.equal(detailOf(accepted(approve(first, onBehalfOf(dave))).events, 'approval.granted'), 'approval 2 of 3 by Carol NoRole on behalf of Dave Lead', 'no namesake: as before');
  });

  it('who filled each requirement of a quorum (request.approved)', () => {
    const erin2 = { ...erin, name: 'Bob Approver' };
    const holders: Record<string, Actor[]> = { 'platform-approvers': [bob], security: [erin] };
    const holdsAny = (roles: readonly string[], a: Actor) => roles.some((role) => (holders[role] ?? []).some((p) => p.aadObjectId === a.aadObjectId));
    const ctx = (actor: Actor): DecisionContext => ({ now: minutesIn(10), actor, holdsAny, isApprover: (a) => holdsAny(['platform-approvers', 'security'], a) });
    const first = accepted(approve(quorumRequest(), ctx(bob))).request;
    assert.equal(detailOf(accepted(approve(first, ctx(erin2))).events, 'request.approved'), `platform-approvers: 1 of 1 — Bob Approver (${start(bob)}); security: 1 of 1 — Bob Approver (${start(erin)})`);
    assert.equal(detailOf(accepted(approve(first, ctx(erin))).events, 'request.approved'), 'platform-approvers: 1 of 1 — Bob Approver; security: 1 of 1 — Erin Auditor', 'no namesake: as before');
  });

  it('a scheduled request cancelled by a namesake of its requester (request.cancelled, and the outcome its requester reads)', () => {
    const scheduled = requestIn('scheduled', { requester: bob, approvals: [approvalBy(frank, buildRequest())] });
    const t = accepted(cancel(scheduled, decisionBy(bob2, { now: minutesIn(20) })));
    assert.match(detailOf(t.events, 'request.cancelled') ?? '', new RegExp(`^Cancelled by Bob Approver \\(${start(bob2)}\\) before its scheduled run`));
    assert.equal(t.request.outcomeDetail, detailOf(t.events, 'request.cancelled'));
    assert.match(detailOf(accepted(cancel(scheduled, decisionBy(dave, { now: minutesIn(20) }))).events, 'request.cancelled') ?? '', /^Cancelled by Dave Lead before/, 'no namesake: as before');
  });

  it("approvals taken off when a namesake's delegation was revoked (approval.revoked)", () => {
    const first = accepted(approve(threeApprovals(), decisionBy(bob))).request;
    const second = accepted(approve(first, onBehalfOf(bob2))).request;
    const t = accepted(withdrawDelegatedApprovals(second, new Set(['DG-1']), minutesIn(12), { how: 'revoked', by: bob2 }));
    assert.match(detailOf(t.events, 'approval.revoked') ?? '', new RegExp(`^Carol NoRole on behalf of ${namedRe(bob2)}: no longer count\\(s\\), as ${namedRe(bob2)} revoked the delegation;`));
    const plain = accepted(approve(first, onBehalfOf(dave))).request;
    const p = accepted(withdrawDelegatedApprovals(plain, new Set(['DG-1']), minutesIn(12), { how: 'revoked', by: dave }));
    assert.match(detailOf(p.events, 'approval.revoked') ?? '', /^Carol NoRole on behalf of Dave Lead: no longer count\(s\), as Dave Lead revoked the delegation;/, 'no namesake: as before');
  });

  it('a break-glass use reviewed by a namesake of the one who used it (breakglass.flagged)', () => {
    const used = requestIn('succeeded', { requester: bob, approvals: [], breakGlass: { reason: 'outage INC-42', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(600).toISOString() } });
    const review = (by: Actor) => detailOf(accepted(reviewBreakGlass(used, { ...decisionBy(by, { now: minutesIn(20) }), isApprover: () => true }, 'flagged')).events, 'breakglass.flagged');
    assert.equal(review(bob2), `flagged by Bob Approver (${start(bob2)})`);
    assert.equal(review(dave), 'flagged by Dave Lead', 'no namesake: as before');
  });

  it("a running deployment's cancel asked on behalf of a namesake of its requester (execution.cancel_requested)", () => {
    const operation: ChangeOperation = { kind: 'deployTemplate', subscriptionId: SUBSCRIPTION, resourceGroup: 'rg', deploymentName: 'countersign-req-0001', template: { resources: [] }, parameters: {}, mode: 'Incremental' };
    const running = requestIn('executing', { requester: bob, operation });
    const asked = (principal: Actor) => detailOf(accepted(requestCancellation(running, { ...onBehalfOf(principal), isApprover: () => true })).events, 'execution.cancel_requested');
    assert.equal(asked(bob2), `cancellation of deployment countersign-req-0001 requested by Carol NoRole on behalf of Bob Approver (${start(bob2)})`);
    assert.equal(asked(dave), 'cancellation of deployment countersign-req-0001 requested by Carol NoRole on behalf of Dave Lead', 'no namesake: as before');
  });

  it('a delegation made, replaced and revoked between namesakes (delegation.created, .replaced, .revoked)', () => {
    const frank2 = { ...frank, name: 'Bob Approver' };
    const input = (to: Actor, current: Delegation[] = []): DelegateInput => ({
      id: 'DG-2',
      now: minutesIn(0),
      delegator: bob,
      delegate: to,
      until: minutesIn(600),
      policy: { enabled: true, maxDurationSeconds: 14 * 86400 },
      delegatorIsApprover: true,
      delegatorIsDelegate: false,
      tenantAllowed: (t) => t === TENANT,
      current,
    });
    const current: Delegation = { id: 'DG-1', delegator: bob, delegate: bob2, createdAt: minutesIn(0).toISOString(), until: minutesIn(600).toISOString() };
    const made = delegate(input(frank2, [current]));
    assert.ok(made.ok);
    assert.deepEqual(made.change.events.map((e) => [e.type, e.outcome.detail]), [
      ['delegation.replaced', `replaced by delegation DG-2 to Bob Approver (${start(frank2)})`],
      ['delegation.created', `Bob Approver (${start(frank2)}) decides on behalf of Bob Approver (${start(bob)}) until ${minutesIn(600).toISOString()}`],
    ]);
    const ended = revoke(bob, [current], minutesIn(5));
    assert.ok(ended.ok);
    assert.equal(ended.change.events[0].outcome.detail, `Bob Approver (${start(bob2)}) no longer decides on behalf of Bob Approver (${start(bob)})`);
    const plain = delegate(input(carol));
    assert.ok(plain.ok);
    assert.equal(plain.change.events[0].outcome.detail, `Carol NoRole decides on behalf of Bob Approver until ${minutesIn(600).toISOString()}`, 'no namesake: as before');
  });

  it('what a row edited to hold a namesake is said to lack (the check before a run, and the evidence bundle)', () => {
    const records = (...drafts: AuditEventDraft[]) => drafts.map((d, i) => ({ ...d, seq: i + 1 })) as unknown as AuditRecord[];
    const pending = requestIn('pending', { policy: { ...buildRequest().policy, approvals: 2 } });
    const trail = records(requestEvent(pending, 'request.created', minutesIn(0).toISOString(), { result: 'ok' }, { actor: alice }), ...accepted(approve(pending, decisionBy(bob))).events);
    // Approved, its row edited: Bob's approval swapped for that of the other Bob Approver, who gave none.
    const forged: ApprovalRequest = { ...pending, state: 'approved', version: 3, updatedAt: minutesIn(11).toISOString(), approvals: [approvalBy(bob2, pending)] };
    const approvedRecord = requestEvent(forged, 'request.approved', minutesIn(10).toISOString(), { result: 'ok' }, { actor: bob });
    assert.equal(unauditedAuthority(forged, [...trail, ...records(approvedRecord)], 'start'), `the audit log holds no approval of it by Bob Approver (${start(bob2)})`);
    const why = (v: ApprovalRequest) => unbackedFields(v, trail).map((f) => f.why);
    assert.ok(why(forged).includes(`the audit log holds no approval by Bob Approver (${start(bob2)}) of operation hash ${pending.operationHash.slice(0, 12)}… by ${forged.updatedAt}`), why(forged).join('\n'));
    // The requester swapped for a namesake: "its requester Alice Requester is not Alice Requester" said nothing.
    const alice2 = { ...carol, name: 'Alice Requester' };
    assert.ok(why({ ...pending, requester: alice2 }).includes(`its requester Alice Requester (${start(alice2)}) is not Alice Requester (${start(alice)}), who asked for it`));
    assert.ok(why({ ...pending, requester: carol }).includes('its requester Carol NoRole is not Alice Requester, who asked for it'), 'no namesake: as before');
  });
});
