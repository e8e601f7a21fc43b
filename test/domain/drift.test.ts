import assert from 'node:assert/strict';
import { compareSnapshots, compareWhatIf, reapprovalHash, type TargetSnapshot } from '../../src/domain/drift';
import { approve, cancel, detectDrift, expire, reject, startExecution } from '../../src/domain/lifecycle';
import type { WhatIfSummary } from '../../src/domain/operation';
import { RefusalReason } from '../../src/domain/refusal';
import type { RequestState } from '../../src/domain/request';
import { deepFreeze } from './deep-freeze';
import { accepted, decisionBy, holdsApproverRole, refused } from './lifecycle-helpers';
import { alice, bob, dave, minutesIn, requestIn, TTL_SECONDS } from '../support/requests';

const site = '/subscriptions/s/resourceGroups/production-api-service/providers/Microsoft.Web/sites/api-service';
const plan = '/subscriptions/s/resourceGroups/production-api-service/providers/Microsoft.Web/serverfarms/api-plan';
const other = '/subscriptions/s/resourceGroups/production-api-service/providers/Microsoft.Storage/storageAccounts/logs';

const approvedWhatIf: WhatIfSummary = {
  status: 'Succeeded',
  changes: [
    { resourceId: plan, changeType: 'Create' },
    { resourceId: site, changeType: 'Modify', changedPaths: ['properties.siteConfig.alwaysOn', 'properties.httpsOnly'] },
  ],
};

const groupSnapshot: TargetSnapshot = {
  exists: true,
  facts: { location: 'westeurope', 'tags.owner': 'platform-team', 'resource Microsoft.Storage/storageAccounts/logs': 'present' },
};

describe('comparing what-if results', () => {
  it('finds no difference in the same what-if, whatever the order of changes and of changed paths', () => {
    const reordered: WhatIfSummary = {
      status: 'Succeeded',
      changes: [
        { resourceId: site.toUpperCase(), changeType: 'Modify', changedPaths: ['properties.httpsOnly', 'properties.siteConfig.alwaysOn'] },
        { resourceId: plan, changeType: 'Create' },
      ],
    };
    assert.deepEqual(compareWhatIf(approvedWhatIf, reordered), []);
  });

  it('ignores resources the deployment leaves untouched (Ignore), which do not change what happens', () => {
    const withUnrelated = { ...approvedWhatIf, changes: [...approvedWhatIf.changes, { resourceId: other, changeType: 'Ignore' as const }] };
    assert.deepEqual(compareWhatIf(approvedWhatIf, withUnrelated), []);
  });

  it('names each resource whose change type or changed properties differ', () => {
    const now: WhatIfSummary = {
      status: 'Succeeded',
      changes: [
        { resourceId: plan, changeType: 'Modify', changedPaths: ['sku.capacity'] },
        { resourceId: site, changeType: 'Modify', changedPaths: ['properties.httpsOnly'] },
        { resourceId: other, changeType: 'Delete' },
      ],
    };
    assert.deepEqual(compareWhatIf(approvedWhatIf, now), [
      'Microsoft.Storage/storageAccounts/logs: was not in the what-if, now Delete',
      'Microsoft.Web/serverfarms/api-plan: was Create, now Modify (sku.capacity)',
      'Microsoft.Web/sites/api-service: was Modify (properties.httpsOnly, properties.siteConfig.alwaysOn), now Modify (properties.httpsOnly)',
    ]);
  });

  it('says so when a resource left the what-if', () => {
    const now = { status: 'Succeeded', changes: [approvedWhatIf.changes[1]] };
    assert.deepEqual(compareWhatIf(approvedWhatIf, now), ['Microsoft.Web/serverfarms/api-plan: was Create, now not in the what-if']);
  });
});

describe('comparing target snapshots', () => {
  it('finds no difference in an identical snapshot', () => {
    assert.deepEqual(compareSnapshots(groupSnapshot, structuredClone(groupSnapshot)), []);
  });

  it('names changed, added and removed facts with their values', () => {
    const now: TargetSnapshot = { exists: true, facts: { location: 'westeurope', 'tags.owner': 'someone-else', 'resource Microsoft.Web/sites/new': 'present' } };
    assert.deepEqual(compareSnapshots(groupSnapshot, now), [
      'resource Microsoft.Storage/storageAccounts/logs: "present" → (none)',
      'resource Microsoft.Web/sites/new: (none) → "present"',
      'tags.owner: "platform-team" → "someone-else"',
    ]);
  });

  it('reports a changed ETag as a modification even when no compared fact changed', () => {
    const before: TargetSnapshot = { exists: true, etag: '"1"', facts: { 'sku.capacity': '2' } };
    assert.deepEqual(compareSnapshots(before, { ...before, etag: '"2"' }), ['ETag "1" → "2": the resource was modified']);
  });

  it('reports a target that disappeared, or appeared, in one line', () => {
    assert.deepEqual(compareSnapshots(groupSnapshot, { exists: false, facts: {} }), ['the target no longer exists']);
    assert.deepEqual(compareSnapshots({ exists: false, facts: {} }, groupSnapshot), ['the target exists now (it did not when approval was asked for)']);
  });

  it('keeps at most twenty lines and says how many more there were', () => {
    const many = (v: string) => ({ exists: true, facts: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`tags.k${String(i).padStart(2, '0')}`, v])) });
    const lines = compareSnapshots(many('a'), many('b'));
    assert.equal(lines.length, 21);
    assert.equal(lines[20], '... and 5 more difference(s)');
  });
});

describe('drift right before execution', () => {
  const found = { changes: ['tags.owner: "platform-team" → "someone-else"'], baseline: { exists: true, facts: { 'tags.owner': 'someone-else' } } };

  it('does not execute: the request needs approving again, with the approvals voided and a fresh hash and time to live', () => {
    const before = requestIn('approved', { baseline: groupSnapshot });
    const { request, events } = accepted(detectDrift(deepFreeze(before), found, minutesIn(20)));
    assert.equal(request.state, 'needs_reapproval');
    assert.deepEqual(request.approvals, []);
    assert.deepEqual(request.baseline, found.baseline);
    assert.equal(request.operationHash, reapprovalHash(before.operationHash, { baseline: found.baseline }));
    assert.notEqual(request.operationHash, before.operationHash);
    assert.deepEqual(request.drift, { detectedAt: minutesIn(20).toISOString(), changes: found.changes, previousOperationHash: before.operationHash });
    assert.equal(request.expiresAt, new Date(minutesIn(20).getTime() + TTL_SECONDS * 1000).toISOString());
    assert.equal(request.version, before.version + 1);
    assert.deepEqual(events.map((e) => [e.type, e.outcome.result, e.outcome.reason]), [['drift.detected', 'refused', RefusalReason.DriftDetected]]);
    assert.deepEqual(events[0].data, { changes: found.changes, previousOperationHash: before.operationHash, voidedApprovals: [bob.aadObjectId] });
    assert.equal(events[0].request?.operationHash, request.operationHash);
  });

  it('replaces the what-if approvers see for a deployment', () => {
    const whatIf = { status: 'Succeeded', changes: [{ resourceId: plan, changeType: 'Delete' as const }] };
    const { request } = accepted(detectDrift(requestIn('approved', { whatIf: approvedWhatIf }), { changes: ['x'], whatIf }, minutesIn(20)));
    assert.deepEqual(request.whatIf, whatIf);
    assert.equal(request.operationHash, reapprovalHash(requestIn('approved').operationHash, { whatIf }));
  });

  it('refuses to record drift that found no difference, or for a request that is not approved', () => {
    assert.equal(refused(detectDrift(requestIn('approved'), { changes: [] }, minutesIn(20))).message, 'Request req-0001 has not drifted.');
    for (const state of ['pending', 'needs_reapproval', 'executing', 'succeeded'] as RequestState[]) {
      assert.equal(refused(detectDrift(requestIn(state), found, minutesIn(20))).reason, RefusalReason.AlreadyDecided, state);
    }
  });

  describe('deciding again', () => {
    const drifted = () => accepted(detectDrift(requestIn('approved', { baseline: groupSnapshot }), found, minutesIn(20))).request;

    it('lets the same approver approve again, bound to the new hash, and the request can then execute', () => {
      const r = drifted();
      const { request, events } = accepted(approve(r, decisionBy(bob, { now: minutesIn(25), cardHash: r.operationHash })));
      assert.equal(request.state, 'approved');
      assert.deepEqual(request.approvals.map((a) => [a.approver.name, a.operationHash]), [['Bob Approver', r.operationHash]]);
      assert.deepEqual(events.map((e) => e.type), ['approval.granted', 'request.approved']);
      assert.equal(accepted(startExecution(request, minutesIn(26), holdsApproverRole)).request.state, 'executing');
    });

    it('refuses a click from the card shown before the drift as stale', () => {
      const r = drifted();
      const no = refused(approve(r, decisionBy(dave, { now: minutesIn(25), cardHash: r.drift!.previousOperationHash })));
      assert.equal(no.reason, RefusalReason.StaleCard);
    });

    it('keeps a two-approval request needing re-approval after the first new approval', () => {
      const base = requestIn('approved', { policy: { ...requestIn('approved').policy, approvals: 2 } });
      const r = accepted(detectDrift(base, found, minutesIn(20))).request;
      assert.equal(accepted(approve(r, decisionBy(bob, { now: minutesIn(25) }))).request.state, 'needs_reapproval');
    });

    it('still refuses the requester, and lets approvers reject and the requester cancel', () => {
      const r = drifted();
      assert.equal(refused(approve(r, decisionBy(alice, { now: minutesIn(25) }))).reason, RefusalReason.SelfApproval);
      assert.equal(accepted(reject(r, decisionBy(bob, { now: minutesIn(25) }), 'not now')).request.state, 'rejected');
      assert.equal(accepted(cancel(r, { now: minutesIn(25), actor: alice })).request.state, 'cancelled');
    });

    it('expires when nobody decides again within the new time to live', () => {
      const r = drifted();
      assert.equal(refused(expire(r, minutesIn(79))).message, 'Request req-0001 has not expired yet.');
      assert.equal(accepted(expire(r, minutesIn(80))).request.state, 'expired');
    });
  });
});
