import assert from 'node:assert/strict';
import { cardText } from '../../support/connector';
import { bob, erin, minutesIn, quorumRequest } from '../../support/requests';
import { evidenceOf } from './evidence-of';

describe('evidence of a quorum across roles', () => {
  const base = quorumRequest();
  const r = quorumRequest({
    state: 'approved',
    version: 3,
    approvals: [
      { approver: bob, at: minutesIn(5).toISOString(), operationHash: base.operationHash, requirement: 0 },
      { approver: erin, at: minutesIn(6).toISOString(), operationHash: base.operationHash, requirement: 1 },
    ],
  });
  const files = evidenceOf(r);

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
