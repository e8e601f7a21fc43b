import assert from 'node:assert/strict';
import { cardText } from '../../support/connector';
import { requestEvent } from '../../../src/domain/audit';
import { approve, type DecisionContext } from '../../../src/domain/lifecycle';
import type { Actor, ApprovalRequest } from '../../../src/domain/request';
import { bob, erin, minutesIn, quorumRequest } from '../../support/requests';
import { evidenceOf, sealedRecords } from './evidence-of';

describe('evidence of a quorum across roles', () => {
  const base = quorumRequest();
  // Bob holds platform-approvers, Erin security: each approval fills its own requirement, as the records say.
  const holdsAny = (roles: readonly string[], a: Actor) => roles.includes(a.aadObjectId === bob.aadObjectId ? 'platform-approvers' : 'security');
  const ctx = (actor: Actor, minute: number): DecisionContext => ({ actor, now: minutesIn(minute), isApprover: () => true, holdsAny });
  const step = (r: ApprovalRequest, c: DecisionContext) => {
    const t = approve(r, c);
    if (!t.ok) throw new Error(t.refusal.message);
    return t;
  };
  const byBob = step(base, ctx(bob, 5));
  const byErin = step(byBob.request, ctx(erin, 6));
  const r = byErin.request;
  const files = evidenceOf(r, sealedRecords([requestEvent(base, 'request.created', base.createdAt, { result: 'ok' }, { actor: base.requester }), ...byBob.events, ...byErin.events]));

  it('names the requirement each approval filled, and the quorum, in the summary', () => {
    const summary = files.find((f) => f.name === 'SUMMARY.md')?.content ?? '';
    assert.match(summary, new RegExp(`- Bob Approver \\(${bob.aadObjectId}\\) at .*, filling the requirement of platform-approvers`));
    assert.match(summary, new RegExp(`- Erin Auditor \\(${erin.aadObjectId}\\) at .*, filling the requirement of security`));
    assert.match(summary, /Policy: 1 from platform-approvers AND 1 from security, by different people, never the requester \(policy version /);
  });

  it('keeps the card with each requirement and who met it', () => {
    const card = files.find((f) => f.name.startsWith('cards/'))?.content ?? '';
    assert.match(cardText(JSON.parse(card) as Record<string, unknown>), /platform-approvers: 1 of 1 — Bob Approver; security: 1 of 1 — Erin Auditor/);
  });
});
