/**
 * "Who approved" in an evidence bundle's SUMMARY.md lists every approval the request's audit records
 * show given, each with what became of it, not only those the stored row still holds: a compliance
 * reviewer must see an approval voided by a change and superseded by a re-approval, one voided and
 * not given again, and one withdrawn. The records come from the lifecycle's own transitions.
 */
import assert from 'node:assert/strict';
import { requestEvent, type AuditEventDraft } from '../../../src/domain/audit';
import { approve, detectDrift, startExecution, withdrawDelegatedApprovals, type DecisionContext, type Transition } from '../../../src/domain/lifecycle';
import type { Actor, ApprovalRequest } from '../../../src/domain/request';
import { carol } from '../../support/people';
import { bob, buildRequest, dave, erin, minutesIn } from '../../support/requests';
import { literal } from '../../../src/audit/access/evidence';
import { evidenceOf, evidenceOfVersions, sealedRecords, summaryIn } from './evidence-of';

/** A request taken through transitions: every stored version and every record, as the store keeps them. */
class Trail {
  versions: ApprovalRequest[];
  drafts: AuditEventDraft[];
  constructor(r: ApprovalRequest) {
    this.versions = [r];
    this.drafts = [requestEvent(r, 'request.created', r.createdAt, { result: 'ok' }, { actor: r.requester })];
  }
  get current(): ApprovalRequest {
    return this.versions[this.versions.length - 1];
  }
  apply(step: (r: ApprovalRequest) => Transition): this {
    const t = step(this.current);
    if (!t.ok) throw new Error(`refused: ${t.refusal.message}`);
    this.versions.push(t.request);
    this.drafts.push(...t.events);
    return this;
  }
  approveAs(actor: Actor, minute: number, extra: Partial<DecisionContext> = {}): this {
    return this.apply((r) => approve(r, { actor, now: minutesIn(minute), isApprover: () => true, ...extra }));
  }
  summary(): string {
    return summaryIn(evidenceOfVersions(this.versions, sealedRecords(this.drafts)));
  }
}

const twoApprovals = () => buildRequest({ policy: { ...buildRequest().policy, approvals: 2 } });
const at = (minute: number) => minutesIn(minute).toISOString();
const whoIs = (a: Actor) => `${a.name} \\(${a.aadObjectId}\\)`;

describe('who approved, in the evidence summary: every approval given, with what became of it', () => {
  it('lists an approval voided by a change and given again as superseded by the re-approval, one not given again as voided, the new ones as held', () => {
    const trail = new Trail(twoApprovals())
      .approveAs(bob, 5) // records 2
      .approveAs(dave, 6) // 3, request.approved 4
      .apply((r) => detectDrift(r, { changes: ['tags.owner: "platform-team" → "someone-else"'] }, minutesIn(7))) // 5
      .approveAs(bob, 8) // 6
      .approveAs(erin, 9); // 7, request.approved 8
    const first = trail.versions[0].operationHash;
    const second = trail.current.operationHash;
    assert.notEqual(first, second);
    const summary = trail.summary();
    const section = /## Who approved\n((?:- .*\n)*)/.exec(summary)?.[1] ?? '';
    assert.deepEqual(section.trimEnd().split('\n'), [
      `- Bob Approver (${bob.aadObjectId}) at ${at(5)}, for operation hash ${first} (record 2): superseded by re-approval at ${at(8)} (record 6), after the change found at ${at(7)} (drift.detected, record 5) needed approving again`,
      `- Dave Lead (${dave.aadObjectId}) at ${at(6)}, for operation hash ${first} (record 3): voided by the change found at ${at(7)} (drift.detected, record 5), which needed approving again; not given again`,
      `- Bob Approver (${bob.aadObjectId}) at ${at(8)}, for operation hash ${second} (record 6): held`,
      `- Erin Auditor (${erin.aadObjectId}) at ${at(9)}, for operation hash ${second} (record 7): held`,
    ]);
  });

  it('lists an approval given under a delegation since revoked as withdrawn, with the record, reason and why, and the delegator\'s own as given again', () => {
    const trail = new Trail(twoApprovals())
      .approveAs(carol, 5, { onBehalfOf: bob, delegationId: 'DG-7' }) // 2
      .apply((r) => withdrawDelegatedApprovals(r, new Set(['DG-7']), minutesIn(6), { how: 'revoked', by: bob })) // 3
      .approveAs(bob, 7); // 4
    const summary = trail.summary();
    assert.match(
      summary,
      new RegExp(
        `\\n- ${whoIs(carol)} on behalf of ${whoIs(bob)} under delegation DG-7 at ${at(5)}, for operation hash [0-9a-f]{64} \\(record 2\\): ` +
          `withdrawn at ${at(6)} \\(approval\\.revoked, record 3, delegation-revoked: Carol NoRole on behalf of Bob Approver: no longer count\\(s\\), as Bob Approver revoked the delegation; .*\\); given again at ${at(7)} \\(record 4\\)\\n`,
      ),
    );
    assert.match(summary, new RegExp(`\\n- ${whoIs(bob)} at ${at(7)}, for operation hash [0-9a-f]{64} \\(record 4\\): held\\n`));
  });

  it('lists the approvals of a request failed at its claim (an approver lost the role) as withdrawn, naming why', () => {
    const trail = new Trail(buildRequest())
      .approveAs(bob, 5) // 2, request.approved 3
      .apply((r) => startExecution(r, minutesIn(6), () => false)); // 4
    assert.equal(trail.current.state, 'failed');
    assert.match(trail.summary(), new RegExp(`\\n- ${whoIs(bob)} at ${at(5)}, for operation hash [0-9a-f]{64} \\(record 2\\): withdrawn at ${at(6)} \\(approval\\.revoked, record 4, approver-lost-role: Not executed: Bob Approver no longer hold\\(s\\) the approver role; 0 of 1 approval\\(s\\) still count\\.\\); not given again\\n`));
  });

  it('at a claim failed because one approver lost the role, lists only that approval as withdrawn, and the other, whose approver still qualifies, as held', () => {
    const trail = new Trail(twoApprovals())
      .approveAs(bob, 5) // 2
      .approveAs(dave, 6) // 3, request.approved 4
      .apply((r) => startExecution(r, minutesIn(7), (a: Actor) => a.aadObjectId !== dave.aadObjectId)); // 5
    assert.equal(trail.current.state, 'failed');
    const section = /## Who approved\n((?:- .*\n)*)/.exec(trail.summary())?.[1] ?? '';
    assert.deepEqual(section.trimEnd().split('\n'), [
      `- Bob Approver (${bob.aadObjectId}) at ${at(5)}, for operation hash ${trail.current.operationHash} (record 2): held`,
      `- Dave Lead (${dave.aadObjectId}) at ${at(6)}, for operation hash ${trail.current.operationHash} (record 3): withdrawn at ${at(7)} (approval.revoked, record 5, approver-lost-role: Not executed: Dave Lead no longer hold(s) the approver role; 1 of 2 approval(s) still count.); not given again`,
    ]);
  });

  it('at a claim that refused the request as a whole (the requester lost the role), lists every approval as held and states the refusal once', () => {
    const trail = new Trail(twoApprovals())
      .approveAs(bob, 5) // 2
      .approveAs(dave, 6) // 3, request.approved 4
      .apply((r) => startExecution(r, minutesIn(7), () => true, undefined, { requirements: r.policy.requirements ?? [{ roles: ['approvers'], count: 2 }], mayFill: () => true, requesterMay: false })); // 5
    assert.equal(trail.current.state, 'failed');
    const detail = trail.current.outcomeDetail ?? '';
    assert.match(detail, /no longer holds a role that may ask/);
    const section = /## Who approved\n((?:- .*\n)*)/.exec(trail.summary())?.[1] ?? '';
    assert.deepEqual(section.trimEnd().split('\n'), [
      `- Bob Approver (${bob.aadObjectId}) at ${at(5)}, for operation hash ${trail.current.operationHash} (record 2): held`,
      `- Dave Lead (${dave.aadObjectId}) at ${at(6)}, for operation hash ${trail.current.operationHash} (record 3): held`,
      `- the request as a whole was refused at ${at(7)} (approval.revoked, record 5, requester-lost-role: ${literal(detail)}): it refused the request, not any one approval, so none was withdrawn.`,
    ]);
  });

  it('at a claim refused because the policy tightened, keeps the approval held and names the refusal once, even with no approval left to name', () => {
    const trail = new Trail(buildRequest())
      .approveAs(bob, 5) // 2, request.approved 3
      .apply((r) => startExecution(r, minutesIn(6), () => true, undefined, { requirements: [{ roles: ['approvers'], count: 2 }], mayFill: () => true, requesterMay: true })); // 4
    assert.equal(trail.current.state, 'failed');
    const summary = trail.summary();
    assert.match(summary, new RegExp(`\\n- ${whoIs(bob)} at ${at(5)}, for operation hash [0-9a-f]{64} \\(record 2\\): held\\n- the request as a whole was refused at ${at(6)} \\(approval\\.revoked, record 4, policy-tightened: \\x60Not executed: the policy of`));
    assert.doesNotMatch(summary, /withdrawn at/);
    assert.equal(summary.match(/refused at/g)?.length, 1);
  });

  it('names an approval the stored request lists that no approval.granted record holds', () => {
    const r = buildRequest({ state: 'approved', version: 2, approvals: [{ approver: bob, at: at(5), operationHash: buildRequest().operationHash }] });
    const summary = summaryIn(evidenceOf(r, sealedRecords([requestEvent(r, 'request.created', r.createdAt, { result: 'ok' }, { actor: r.requester })])));
    assert.match(summary, new RegExp(`## Who approved\\n- NOT AS RECORDED: the stored request lists an approval by ${whoIs(bob)} at ${at(5)}, for operation hash [0-9a-f]{64}, that no approval\\.granted record of this request holds\\.\\n`));
  });

  it('says nobody when no approval was given', () => {
    const trail = new Trail(buildRequest());
    assert.match(trail.summary(), /## Who approved\n- nobody\n/);
  });
});
