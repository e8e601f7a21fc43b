/**
 * approvalHistory: every approval a request's audit records show given, each with its fate, read from
 * the records alone (the row holds only those still counting).
 */
import assert from 'node:assert/strict';
import { requestEvent, type AuditEventDraft, type AuditRecord } from '../../src/domain/audit';
import { approvalHistory, startExecution, wholeRequestRefusals } from '../../src/domain/lifecycle';
import { RefusalReason } from '../../src/domain/refusal';
import type { Actor } from '../../src/domain/request';
import { carol } from '../support/people';
import { approvalBy, bob, buildRequest, dave, frank, minutesIn } from '../support/requests';

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
  describe('after a claim failed because approvals no longer count', () => {
    const two = buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
    const approved = { ...two, state: 'approved' as const, version: 3, approvals: [approvalBy(bob, two, minutesIn(1)), approvalBy(frank, two, minutesIn(2))] };
    const trail = (claim: AuditEventDraft[]) =>
      records([
        requestEvent(two, 'approval.granted', minutesIn(1).toISOString(), { result: 'ok' }, { actor: bob }),
        requestEvent(two, 'approval.granted', minutesIn(2).toISOString(), { result: 'ok' }, { actor: frank }),
        ...claim,
      ]);

    it('withdraws only the approval of the approver who lost the role; the one whose approver still qualifies stays held', () => {
      const claim = startExecution(approved, minutesIn(7), (a: Actor) => a.aadObjectId !== frank.aadObjectId);
      assert.ok(claim.ok);
      assert.deepEqual(claim.events[0].data, { approvals: [{ approver: frank.aadObjectId, at: minutesIn(2).toISOString(), why: RefusalReason.ApproverLostRole }] });
      const history = approvalHistory(trail(claim.events), two.id);
      assert.deepEqual(
        history.map((a) => [a.approver.name, a.fate.kind]),
        [
          ['Bob Approver', 'held'],
          ['Frank Approver', 'withdrawn'],
        ],
      );
      assert.deepEqual(history[1].fate, { kind: 'withdrawn', at: minutesIn(7).toISOString(), seq: 3, reason: RefusalReason.ApproverLostRole, detail: claim.events[0].outcome.detail });
    });

    it('gives each approval named its own reason: a delegation that ended, beside a role lost', () => {
      const delegated = { ...approved, approvals: [{ ...approvalBy(carol, two, minutesIn(1)), onBehalfOf: bob, delegationId: 'DG-7' }, approvalBy(frank, two, minutesIn(2))] };
      const claim = startExecution(delegated, minutesIn(7), (a: Actor, approval) => (approval.delegationId ? { how: 'ended' } : false));
      assert.ok(claim.ok);
      assert.deepEqual(claim.events[0].data, {
        approvals: [
          { approver: carol.aadObjectId, onBehalfOf: bob.aadObjectId, at: minutesIn(1).toISOString(), why: RefusalReason.DelegationEnded },
          { approver: frank.aadObjectId, at: minutesIn(2).toISOString(), why: RefusalReason.ApproverLostRole },
        ],
      });
      const history = approvalHistory(
        records([
          requestEvent(two, 'approval.granted', minutesIn(1).toISOString(), { result: 'ok' }, { actor: carol, data: { onBehalfOf: bob, delegationId: 'DG-7' } }),
          requestEvent(two, 'approval.granted', minutesIn(2).toISOString(), { result: 'ok' }, { actor: frank }),
          ...claim.events,
        ]),
        two.id,
      );
      assert.deepEqual(
        history.map((a) => [a.approver.name, a.fate.kind === 'withdrawn' ? a.fate.reason : a.fate.kind]),
        [
          ['Carol NoRole', RefusalReason.DelegationEnded],
          ['Frank Approver', RefusalReason.ApproverLostRole],
        ],
      );
    });

    it('withdraws none for a record that refused the request as a whole (the policy tightened, the requester lost the role, the command removed), and names it', () => {
      for (const reason of [RefusalReason.PolicyTightened, RefusalReason.RequesterLostRole, RefusalReason.CommandRemoved, RefusalReason.ReasonRuleTightened, RefusalReason.ConversationRuleTightened, RefusalReason.NotInAudit]) {
        const whole = requestEvent(two, 'approval.revoked', minutesIn(7).toISOString(), { result: 'refused', reason, detail: 'Not executed: as a whole' });
        assert.deepEqual(
          approvalHistory(trail([whole]), two.id).map((a) => [a.approver.name, a.fate.kind]),
          [
            ['Bob Approver', 'held'],
            ['Frank Approver', 'held'],
          ],
          reason,
        );
        assert.deepEqual(wholeRequestRefusals(trail([whole]), two.id), [{ at: minutesIn(7).toISOString(), seq: 3, reason, detail: 'Not executed: as a whole' }]);
      }
    });

    it('withdraws every approval then held for a record of approvals lapsed that names none (written before records named them)', () => {
      const old = requestEvent(two, 'approval.revoked', minutesIn(7).toISOString(), { result: 'refused', reason: RefusalReason.ApproverLostRole, detail: 'Not executed: Frank Approver no longer hold(s) the approver role' });
      assert.deepEqual(
        approvalHistory(trail([old]), two.id).map((a) => [a.approver.name, a.fate.kind]),
        [
          ['Bob Approver', 'withdrawn'],
          ['Frank Approver', 'withdrawn'],
        ],
      );
      assert.deepEqual(wholeRequestRefusals(trail([old]), two.id), []);
    });
  });
});
