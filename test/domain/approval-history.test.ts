/**
 * approvalHistory: every approval a request's audit records show given, each with its fate, read from
 * the records alone (the row holds only those still counting).
 */
import assert from 'node:assert/strict';
import { requestEvent, type AuditEventDraft, type AuditRecord } from '../../src/domain/audit';
import { approvalHistory } from '../../src/domain/lifecycle';
import type { Actor } from '../../src/domain/request';
import { carol } from '../support/people';
import { bob, buildRequest, dave, minutesIn } from '../support/requests';

const r = buildRequest({ policy: { ...buildRequest().policy, approvals: 3 } });
const other = buildRequest({ id: 'req-0002' });

function records(drafts: AuditEventDraft[]): AuditRecord[] {
  return drafts.map((d, i) => ({ ...d, schemaVersion: 1, id: `rec-${i + 1}`, seq: i + 1, prevHash: '0'.repeat(64), hash: '1'.repeat(64) }));
}
const granted = (actor: Actor, minute: number, data?: Record<string, unknown>, request = r) =>
  requestEvent(request, 'approval.granted', minutesIn(minute).toISOString(), { result: 'ok' }, { actor, ...(data ? { data } : {}) });

describe('approvalHistory', () => {
  it('withdraws only the approvals of the delegations an approval.revoked names, and keeps the rest held', () => {
    const history = approvalHistory(
      records([
        granted(carol, 1, { onBehalfOf: bob, delegationId: 'DG-7' }),
        granted(dave, 2, { onBehalfOf: bob, delegationId: 'DG-9' }),
        requestEvent(r, 'approval.revoked', minutesIn(3).toISOString(), { result: 'refused', reason: 'delegation-ended', detail: 'DG-9 ended' }, { data: { delegationIds: ['DG-9'] } }),
      ]),
      r.id,
    );
    assert.deepEqual(
      history.map((a) => [a.approver.name, a.delegationId, a.fate.kind]),
      [
        ['Carol NoRole', 'DG-7', 'held'],
        ['Dave Lead', 'DG-9', 'withdrawn'],
      ],
    );
    assert.deepEqual(history[1].fate, { kind: 'withdrawn', at: minutesIn(3).toISOString(), seq: 3, reason: 'delegation-ended', detail: 'DG-9 ended' });
    assert.deepEqual(history[0].onBehalfOf, bob);
  });

  it("reads only the request's own records: another request's approvals and drifts change nothing", () => {
    const history = approvalHistory(
      records([granted(bob, 1), granted(dave, 2, undefined, other), requestEvent(other, 'drift.detected', minutesIn(3).toISOString(), { result: 'refused', reason: 'drift-detected' })]),
      r.id,
    );
    assert.deepEqual(
      history.map((a) => [a.approver.name, a.fate.kind, a.seq]),
      [['Bob Approver', 'held', 1]],
    );
  });

  it("counts a delegate's approval after a drift as the re-approval of the delegator's authority", () => {
    const history = approvalHistory(
      records([granted(bob, 1), requestEvent(r, 'drift.detected', minutesIn(2).toISOString(), { result: 'refused', reason: 'drift-detected' }), granted(carol, 3, { onBehalfOf: bob, delegationId: 'DG-7' })]),
      r.id,
    );
    assert.deepEqual(history[0].fate, { kind: 'voided', at: minutesIn(2).toISOString(), seq: 2, again: { at: minutesIn(3).toISOString(), seq: 3 } });
    assert.equal(history[1].fate.kind, 'held');
  });
});
