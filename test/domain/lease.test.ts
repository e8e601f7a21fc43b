import { utcText } from '../../src/domain/delegation-time';
import assert from 'node:assert/strict';
import { finishExecution, recordProgress, recordStarted, releaseLease, renewLease, resumeExecution, startExecution } from '../../src/domain/lifecycle';
import { RefusalReason } from '../../src/domain/refusal';
import type { ApprovalRequest, RequestState } from '../../src/domain/request';
import { deepFreeze } from './deep-freeze';
import { accepted, holdsApproverRole, refused } from './lifecycle-helpers';
import { minutesIn, requestIn } from '../support/requests';

const claimA = { owner: 'host-a:101:aa', leaseUntil: minutesIn(8), correlationId: 'corr-claimed' };
const claimB = { owner: 'host-b:202:bb', leaseUntil: minutesIn(12) };
const acceptedRef = {
  correlationId: 'corr-claimed',
  pollUrl: 'https://management.azure.com/subscriptions/s/operationresults/op-1?api-version=2025-04-01',
  resumeState: '{"state":{}}',
  resourceIds: ['/subscriptions/s/resourceGroups/staging-old'],
};

function claimed(): ApprovalRequest {
  return accepted(startExecution(requestIn('approved'), minutesIn(7), holdsApproverRole, claimA)).request;
}

describe('the execution lease', () => {
  it('is taken with the claim, together with the correlation id the ARM calls will carry', () => {
    const { request, events } = accepted(startExecution(requestIn('approved'), minutesIn(7), holdsApproverRole, claimA));
    assert.deepEqual(request.execution, {
      startedAt: minutesIn(7).toISOString(),
      ref: { correlationId: 'corr-claimed', resourceIds: [] },
      lease: { owner: claimA.owner, expiresAt: minutesIn(8).toISOString() },
    });
    assert.deepEqual(events[0].execution, { correlationId: 'corr-claimed', status: 'started' });
  });

  it('is renewed by its owner without an audit event (nothing happened in Azure)', () => {
    const r = claimed();
    const { request, events } = accepted(renewLease(deepFreeze(r), claimA.owner, minutesIn(9), minutesIn(7.5)));
    assert.equal(request.execution?.lease?.expiresAt, minutesIn(9).toISOString());
    assert.equal(request.version, r.version + 1);
    assert.deepEqual(events, []);
  });

  it('cannot be renewed, nor progress recorded, by a run that lost it', () => {
    const r = accepted(resumeExecution(claimed(), claimB, minutesIn(9))).request;
    for (const t of [
      renewLease(r, claimA.owner, minutesIn(10), minutesIn(9)),
      recordStarted(r, acceptedRef, minutesIn(9), claimA.owner),
      recordProgress(r, { state: 'Running' }, minutesIn(9), claimA.owner),
      finishExecution(r, { status: 'succeeded', ref: acceptedRef }, minutesIn(9), claimA.owner),
    ]) {
      const no = refused(t);
      assert.equal(no.reason, RefusalReason.LeaseLost);
      assert.equal(no.message, `Request req-0001 is being executed by ${claimB.owner} now, not by ${claimA.owner}.`);
    }
    assert.equal(accepted(recordProgress(r, { state: 'Running' }, minutesIn(9), claimB.owner)).request.execution?.progress?.state, 'Running');
  });

  it('released at a graceful stop, lets another run take over at once', () => {
    const released = accepted(releaseLease(claimed(), claimA.owner, minutesIn(7.5))).request;
    assert.equal(released.execution?.lease?.expiresAt, minutesIn(7.5).toISOString());
    assert.equal(accepted(resumeExecution(released, claimB, minutesIn(7.5))).request.execution?.lease?.owner, claimB.owner);
  });

  it('is dropped once the execution finished', () => {
    const done = accepted(finishExecution(claimed(), { status: 'succeeded', ref: acceptedRef }, minutesIn(9), claimA.owner)).request;
    assert.equal(done.execution?.lease, undefined);
    assert.equal(done.state, 'succeeded');
  });
});

describe('resuming an execution whose owner died', () => {
  it('refuses while the lease has not expired, naming the owner and the expiry', () => {
    const no = refused(resumeExecution(claimed(), claimB, minutesIn(7.9)));
    assert.equal(no.reason, RefusalReason.LeaseHeld);
    assert.equal(no.message, `Request req-0001 is being executed by ${claimA.owner} until ${utcText(minutesIn(8).toISOString())}.`);
  });

  it('judges the lease at the time of the clock leases run on (the database\'s), not at the instance\'s own now', () => {
    // This host's clock reads 4 s past the lease's end; the database's reads 4 s before it.
    const early = { ...claimB, at: new Date(minutesIn(8).getTime() - 4000), leaseUntil: new Date(minutesIn(8).getTime() - 4000 + 240_000) };
    assert.equal(refused(resumeExecution(claimed(), early, new Date(minutesIn(8).getTime() + 4000))).reason, RefusalReason.LeaseHeld);
    // And the other way round: a lease the database's clock sees lapsed is taken over whatever this host's reads.
    const late = { ...claimB, at: minutesIn(8), leaseUntil: minutesIn(12) };
    assert.equal(accepted(resumeExecution(claimed(), late, minutesIn(7.9))).request.execution?.lease?.owner, claimB.owner);
  });

  it('released at the time of the clock leases run on, when it is given', () => {
    assert.equal(accepted(releaseLease(claimed(), claimA.owner, minutesIn(7.5), minutesIn(7.4))).request.execution?.lease?.expiresAt, minutesIn(7.4).toISOString());
  });

  it('takes the execution over once the lease expired, keeping the ARM reference to follow, and audits it', () => {
    const started = accepted(recordStarted(claimed(), acceptedRef, minutesIn(7.2), claimA.owner)).request;
    const { request, events } = accepted(resumeExecution(deepFreeze(started), claimB, minutesIn(8)));
    assert.equal(request.state, 'executing');
    assert.deepEqual(request.execution?.ref, acceptedRef);
    assert.deepEqual(request.execution?.lease, { owner: claimB.owner, expiresAt: minutesIn(12).toISOString() });
    assert.deepEqual(request.execution?.resumedAt, [minutesIn(8).toISOString()]);
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'execution.resumed');
    assert.equal(
      events[0].outcome.detail,
      `The lease of ${claimA.owner} expired at ${minutesIn(8).toISOString()}; ${claimB.owner} resumed it, following the ARM operation it had started.`,
    );
    assert.deepEqual(events[0].execution, {
      correlationId: 'corr-claimed',
      operationIds: ['/subscriptions/s/resourceGroups/staging-old', 'https://management.azure.com/subscriptions/s/operationresults/op-1'],
      status: 'resumed',
    });
  });

  it('says when there is no ARM answer to follow, so the target\'s state decides', () => {
    const { events } = accepted(resumeExecution(claimed(), claimB, minutesIn(9)));
    assert.match(events[0].outcome.detail ?? '', /reconciling from the target's state \(no ARM answer had been recorded\)/);
  });

  it('takes over an execution claimed before leases existed', () => {
    const { request } = accepted(resumeExecution(requestIn('executing'), claimB, minutesIn(9)));
    assert.equal(request.execution?.lease?.owner, claimB.owner);
  });

  for (const state of ['pending', 'needs_reapproval', 'approved', 'succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'] as RequestState[]) {
    it(`refuses to resume a request that is ${state}`, () => {
      assert.equal(refused(resumeExecution(requestIn(state), claimB, minutesIn(9))).reason, RefusalReason.AlreadyDecided);
    });
  }
});
