import assert from 'node:assert/strict';
import { breakGlassText } from '../../src/app/break-glass';
import { lapsedDelegations } from '../../src/app/execution-evidence';
import { textAlone } from '../../src/app/notifications';
import { reminderText } from '../../src/app/reminders';
import { onBehalfText } from '../../src/domain/delegation';
import type { ApprovalRequest } from '../../src/domain/request';
import { appOnFakes } from '../support/app-on-fakes';
import { alice, bob, carol, dave } from '../support/people';
import { approvalBy, buildRequest, minutesIn } from '../support/requests';

/**
 * The texts sent about a request name its people as its card does (display-names.ts): when
 * someone else on the request (an approver, someone who asked to cancel) has the requester's display
 * name, the requester is named with the start of their object id, so "from Alice Requester" cannot
 * read as the namesake who already approved it.
 */
describe('texts naming a request\'s people, with two people of one display name on it', () => {
  const namesake = { ...bob, name: 'Alice  Requester' };
  const requester = `Alice Requester \\(${alice.aadObjectId.slice(0, 8)}\\)`;
  // Waiting for a second approval; the first was given by the requester's namesake.
  const waiting = (): ApprovalRequest => {
    const r = buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
    return { ...r, approvals: [approvalBy(namesake, r)] };
  };

  it('names the requester by the start of their object id in a reminder', () => {
    assert.match(reminderText(waiting(), minutesIn(30)), new RegExp(`^Reminder 1: request req-0001 \\(.*\\) from ${requester} is still waiting`));
    assert.match(reminderText(buildRequest(), minutesIn(30)), /\) from Alice Requester is still waiting/, 'no namesake: named as before');
  });

  it('names the requester by the start of their object id in a round sent without its card (a new request, an escalation, a re-approval)', () => {
    for (const occasion of ['created', 'escalated', 'reapproval'] as const) {
      assert.match(textAlone(waiting(), occasion, []), new RegExp(`^Request req-0001 \\(.*\\) from ${requester} `), occasion);
    }
    assert.match(textAlone(buildRequest(), 'created', []), /\) from Alice Requester is waiting for a decision\./, 'no namesake: named as before');
  });

  it('names the person who used break-glass by the start of their object id when a namesake asked to cancel its run', () => {
    const used = buildRequest({ breakGlass: { reason: 'outage INC-42', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() } });
    const r: ApprovalRequest = {
      ...used,
      state: 'succeeded',
      execution: { startedAt: minutesIn(2).toISOString(), finishedAt: minutesIn(3).toISOString(), ref: { resourceIds: [] }, cancellation: { by: { ...dave, name: 'Alice Requester' }, at: minutesIn(2).toISOString() } },
    };
    assert.match(breakGlassText(r, 'break-glass'), new RegExp(`^BREAK-GLASS: ${requester} ran request`));
    assert.match(breakGlassText(r, 'review-overdue'), new RegExp(`run by ${requester} without approval`));
    assert.match(breakGlassText(used, 'break-glass'), /^BREAK-GLASS: Alice Requester ran request/, 'no namesake: named as before');
  });

  it('names a delegator who shares a display name with the requester by the start of their object id, in the line a delegate reads above the card', () => {
    const delegation = { id: 'D-1', delegator: { ...dave, name: 'Alice Requester' }, delegate: carol, createdAt: minutesIn(0).toISOString(), until: '2026-03-03T09:00:00.000Z' };
    assert.match(onBehalfText(buildRequest(), { delegate: carol, onBehalfOf: [delegation] }), new RegExp(`on behalf of Alice Requester \\(${dave.aadObjectId.slice(0, 8)}\\) \\(delegated to you until`));
    const plain = { ...delegation, delegator: dave };
    assert.match(onBehalfText(buildRequest(), { delegate: carol, onBehalfOf: [plain] }), /on behalf of Dave Lead \(delegated to you until/, 'no namesake: named as before');
  });

  it('names a delegator who shares the requester\'s display name by the start of their object id when their delegation ended while the run was claimed', async () => {
    const f = appOnFakes();
    const r = buildRequest();
    const onBehalf = { approver: carol, onBehalfOf: { ...dave, name: 'Alice Requester' }, delegationId: 'DG-GONE', at: minutesIn(5).toISOString(), operationHash: r.operationHash };
    assert.deepEqual(await lapsedDelegations(f.deps, { ...r, approvals: [onBehalf] }), [`Carol NoRole on behalf of Alice Requester (${dave.aadObjectId.slice(0, 8)})`]);
    assert.deepEqual(await lapsedDelegations(f.deps, { ...r, approvals: [{ ...onBehalf, onBehalfOf: dave }] }), ['Carol NoRole on behalf of Dave Lead'], 'no namesake: named as before');
  });
});
