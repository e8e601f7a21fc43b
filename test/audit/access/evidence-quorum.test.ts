import assert from 'node:assert/strict';
import { evidenceFiles } from '../../../src/audit/access/evidence';
import { requestCard } from '../../../src/cards/request-card';
import { cardText } from '../../support/connector';
import { bob, buildRequest, erin, minutesIn } from '../../support/requests';

describe('evidence of a quorum across roles', () => {
  const base = buildRequest();
  const r = buildRequest({
    state: 'approved',
    version: 3,
    policy: {
      ...base.policy,
      approvals: 2,
      approverRoles: ['platform-approvers', 'security'],
      requirements: [
        { roles: ['platform-approvers'], count: 1 },
        { roles: ['security'], count: 1 },
      ],
    },
    approvals: [
      { approver: bob, at: minutesIn(5).toISOString(), operationHash: base.operationHash, requirement: 0 },
      { approver: erin, at: minutesIn(6).toISOString(), operationHash: base.operationHash, requirement: 1 },
    ],
  });
  const files = evidenceFiles({
    requestId: r.id,
    versions: [r],
    events: [],
    verification: { chain: { ok: true, count: 0, lastSeq: 0, headHash: '0'.repeat(64) }, checkpoints: { checked: 0, problems: [] }, events: { count: 0, ok: true, problems: [] } },
    renderCard: (v) => requestCard(v),
  });

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
