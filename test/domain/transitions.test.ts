/**
 * What holds for every transition that goes through: one version step, the time of the step,
 * audit events that identify the request completely, and an input left exactly as it was.
 */
import assert from 'node:assert/strict';
import { approve, cancel, expire, finishExecution, recordProgress, recordStarted, reject, resumeExecution, startExecution, type Transition } from '../../src/domain/lifecycle';
import type { Actor, ApprovalRequest } from '../../src/domain/request';
import { deepFreeze } from './deep-freeze';
import { accepted, decisionBy, holdsApproverRole } from './lifecycle-helpers';
import { alice, bob, buildRequest, EXPIRES_AT, minutesIn, POLICY_VERSION, requestIn } from '../support/requests';

interface Case {
  name: string;
  input: () => ApprovalRequest;
  now: Date;
  run: (r: ApprovalRequest, now: Date) => Transition;
  /** The person whose action this is; absent for what the system does by itself. */
  actor?: Actor;
}

const twoApprovals = () => buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
const ref = { correlationId: 'c-1', resourceIds: ['/subscriptions/s/resourceGroups/staging-old'] };
const error = { code: 'Conflict', message: 'busy' };

const cases: Case[] = [
  { name: 'approve (complete)', input: () => buildRequest(), now: minutesIn(10), actor: bob, run: (r, now) => approve(r, decisionBy(bob, { now })) },
  { name: 'approve (1 of 2)', input: twoApprovals, now: minutesIn(10), actor: bob, run: (r, now) => approve(r, decisionBy(bob, { now })) },
  { name: 'reject', input: () => buildRequest(), now: minutesIn(10), actor: bob, run: (r, now) => reject(r, decisionBy(bob, { now }), 'no') },
  { name: 'cancel', input: () => buildRequest(), now: minutesIn(10), actor: alice, run: (r, now) => cancel(r, { now, actor: alice }) },
  { name: 'expire', input: () => buildRequest(), now: EXPIRES_AT, run: (r, now) => expire(r, now) },
  { name: 'startExecution', input: () => requestIn('approved'), now: minutesIn(7), run: (r, now) => startExecution(r, now, holdsApproverRole) },
  { name: 'startExecution (role lost)', input: () => requestIn('approved'), now: minutesIn(7), run: (r, now) => startExecution(r, now, () => false) },
  { name: 'startExecution (with a lease)', input: () => requestIn('approved'), now: minutesIn(7), run: (r, now) => startExecution(r, now, holdsApproverRole, { owner: 'a', leaseUntil: minutesIn(8) }) },
  { name: 'resumeExecution', input: () => requestIn('executing'), now: minutesIn(9), run: (r, now) => resumeExecution(r, { owner: 'b', leaseUntil: minutesIn(10) }, now) },
  { name: 'recordStarted', input: () => requestIn('executing'), now: minutesIn(7), run: (r, now) => recordStarted(r, ref, now) },
  { name: 'recordProgress', input: () => requestIn('executing'), now: minutesIn(8), run: (r, now) => recordProgress(r, { state: 'Running' }, now) },
  { name: 'finishExecution (succeeded)', input: () => requestIn('executing'), now: minutesIn(9), run: (r, now) => finishExecution(r, { status: 'succeeded', ref }, now) },
  { name: 'finishExecution (failed)', input: () => requestIn('executing'), now: minutesIn(9), run: (r, now) => finishExecution(r, { status: 'failed', ref, error }, now) },
  { name: 'finishExecution (unknown)', input: () => requestIn('executing'), now: minutesIn(9), run: (r, now) => finishExecution(r, { status: 'unknown', ref, error }, now) },
];

describe('every request transition', () => {
  for (const c of cases) {
    describe(c.name, () => {
      it('steps the version by exactly one and stamps updatedAt with the time of the step', () => {
        const before = c.input();
        const { request } = accepted(c.run(before, c.now));
        assert.equal(request.version, before.version + 1);
        assert.equal(request.updatedAt, c.now.toISOString());
        assert.equal(request.createdAt, before.createdAt);
      });

      it('leaves its input untouched (deep-frozen input, compared field by field afterwards)', () => {
        const before = c.input();
        const copy = structuredClone(before);
        const { request } = accepted(c.run(deepFreeze(before), c.now));
        assert.deepEqual(before, copy);
        assert.notEqual(request, before);
      });

      it('keeps what was asked for and the hash approvals bind to', () => {
        const before = c.input();
        const { request } = accepted(c.run(before, c.now));
        for (const field of ['id', 'command', 'parameters', 'operation', 'operationHash', 'target', 'requester', 'policy', 'expiresAt'] as const) {
          assert.deepEqual(request[field], before[field], field);
        }
        for (const approval of request.approvals) assert.equal(approval.operationHash, before.operationHash);
      });

      it('emits audit events that name the request, its parameters, hash, policy version, target and actor', () => {
        const before = c.input();
        const { events } = accepted(c.run(before, c.now));
        assert.ok(events.length > 0);
        for (const e of events) {
          assert.equal(e.time, c.now.toISOString());
          assert.deepEqual(e.request, {
            id: 'req-0001',
            command: 'delete resource group',
            parameters: { name: 'staging-old' },
            operationHash: before.operationHash,
            reason: 'cleanup after the migration',
            policyVersion: POLICY_VERSION,
          });
          assert.deepEqual(e.target, { subscriptionId: before.operation.subscriptionId, resourceGroup: 'staging-old' });
          assert.deepEqual(e.actor, c.actor);
        }
      });
    });
  }

  it('does not hand out the input parameters object inside audit events (so a later edit cannot rewrite history)', () => {
    const before = buildRequest();
    const { events } = accepted(approve(before, decisionBy(bob)));
    assert.notEqual(events[0].request?.parameters, before.parameters);
  });
});
