/**
 * An execution is backed by the request's audit records: the stored row's approvals, operation and
 * state must be what the records say happened (src/domain/lifecycle/evidence.ts). Each case below is
 * an edit someone with write access to the database could make to the row alone.
 */
import assert from 'node:assert/strict';
import { operationHash } from '../../src/domain/canonical';
import { requestEvent, type AuditEventDraft, type AuditRecord } from '../../src/domain/audit';
import { approve, authorityBegins, breakGlassUse, createdEvent, detectDrift, expectationHashOf, leftOutOfIndex, refuseUnaudited, startExecution, unauditedAuthority } from '../../src/domain/lifecycle';
import { RefusalReason } from '../../src/domain/refusal';
import type { ApprovalRequest } from '../../src/domain/request';
import { accepted, decisionBy, holdsApproverRole } from './lifecycle-helpers';
import { alice, approvalBy, bob, dave, mallory, minutesIn, requestIn } from '../support/requests';

const records = (...drafts: AuditEventDraft[]) => drafts as unknown as AuditRecord[];
const created = (r: ApprovalRequest) => requestEvent(r, 'request.created', minutesIn(0).toISOString(), { result: 'ok' }, { actor: alice });

/** A pending request approved by Bob through the lifecycle, with the records that wrote. */
function approvedByBob(): { request: ApprovalRequest; trail: AuditRecord[] } {
  const pending = requestIn('pending');
  const t = accepted(approve(pending, decisionBy(bob)));
  return { request: t.request, trail: records(created(pending), ...t.events) };
}

describe('the audit trail backs an execution', () => {
  it('lets an approval the records hold start, and a started one resume', () => {
    const { request, trail } = approvedByBob();
    assert.equal(request.state, 'approved');
    assert.equal(unauditedAuthority(request, trail, 'start'), undefined);
    const started = accepted(startExecution(request, minutesIn(11), holdsApproverRole));
    assert.equal(unauditedAuthority(started.request, [...trail, ...records(...started.events)], 'resume'), undefined);
  });

  it('refuses a pending row edited to approved with an approval nobody gave', () => {
    const pending = requestIn('pending');
    const forged: ApprovalRequest = { ...pending, state: 'approved', version: 2, approvals: [approvalBy(bob, pending)] };
    assert.equal(unauditedAuthority(forged, records(created(pending)), 'start'), 'the audit log holds no record of its approval');
  });

  it('refuses an approval added to the row beside the one the records hold', () => {
    const { request, trail } = approvedByBob();
    const padded = { ...request, approvals: [...request.approvals, approvalBy(dave, request)] };
    assert.match(unauditedAuthority(padded, trail, 'start') ?? '', /no approval of it by Dave/);
  });

  it('refuses an operation or target changed in the row after approval, even with its hash made to match', () => {
    const { request, trail } = approvedByBob();
    const parameters = { ...request.parameters, name: 'production-api-service' };
    const hash = operationHash({ command: request.command, parameters, target: request.target, operation: request.operation });
    const retargeted = { ...request, parameters, operationHash: hash, approvals: request.approvals.map((a) => ({ ...a, operationHash: hash })) };
    assert.equal(unauditedAuthority(retargeted, trail, 'start'), 'its stored operation is not the one it was created with');
  });

  it('refuses a row whose expectation (the target as read, or the what-if) was edited after it was created, which the drift check compares Azure with', () => {
    const pending: ApprovalRequest = { ...requestIn('pending'), baseline: { exists: true, facts: { 'tag:owner': 'alice' } } };
    const createdWithHash = requestEvent(pending, 'request.created', minutesIn(0).toISOString(), { result: 'ok' }, { actor: alice, data: { expectationHash: expectationHashOf(pending) } });
    const t = accepted(approve(pending, decisionBy(bob)));
    const trail = records(createdWithHash, ...t.events);
    assert.equal(unauditedAuthority(t.request, trail, 'start'), undefined);
    // Edited so that the drift check would find no change where Azure now has one.
    const edited = { ...t.request, baseline: { exists: true, facts: { 'tag:owner': 'mallory' } } };
    assert.equal(unauditedAuthority(edited, trail, 'start'), 'its stored expectation (the what-if or the target as read when it was created) is not the one its approvers were shown');
    const whatIf = { ...t.request, whatIf: { status: 'Succeeded', changes: [] } } as ApprovalRequest;
    assert.match(unauditedAuthority(whatIf, trail, 'start') ?? '', /its stored expectation/);
    assert.equal(unauditedAuthority(edited, records(created(pending), ...t.events), 'start'), undefined, 'a request created before the hash was recorded has none to compare');
  });

  it('records in request.created what its approvers are shown: the expectation, the risk band and the environment, and such a record backs the request', () => {
    const pending: ApprovalRequest = { ...requestIn('pending'), risk: 'critical', environment: 'production' };
    const record = createdEvent(pending, 'needs 1 approval(s) from platform-approvers');
    assert.deepEqual([record.type, record.time, record.actor, record.source, record.request?.id, record.outcome], ['request.created', pending.createdAt, pending.requester, pending.source, pending.id, { result: 'ok', detail: 'needs 1 approval(s) from platform-approvers' }]);
    assert.deepEqual(record.data, { expectationHash: expectationHashOf(pending), risk: 'critical', environment: 'production' });
    // One made where nothing names an environment says so by leaving it out.
    assert.deepEqual(createdEvent({ ...pending, environment: undefined }, 'x').data, { expectationHash: expectationHashOf(pending), risk: 'critical' });
    const t = accepted(approve(pending, decisionBy(bob)));
    assert.equal(unauditedAuthority(t.request, records(record, ...t.events), 'start'), undefined);
  });

  it('refuses a row edited to name another requester, so the one who asked cannot count as its approver', () => {
    // Bob (an approver) asked; the row was edited to name Mallory, so Bob's own Approve counted, and the records hold it.
    const asked = requestIn('pending', { requester: bob });
    const t = accepted(approve({ ...asked, requester: mallory }, decisionBy(bob)));
    const trail = records(requestEvent(asked, 'request.created', minutesIn(0).toISOString(), { result: 'ok' }, { actor: bob }), ...t.events);
    assert.equal(unauditedAuthority(t.request, trail, 'start'), 'its stored requester is not the one who asked for it');
    const { request, trail: honest } = approvedByBob();
    assert.equal(unauditedAuthority({ ...request, requester: { ...request.requester, aadObjectId: request.requester.aadObjectId.toUpperCase() } }, honest, 'start'), undefined, 'an object id is matched whatever the case of its letters');
  });

  it('refuses the row set back to approved after its execution started, so nothing runs twice', () => {
    const { request, trail } = approvedByBob();
    const started = accepted(startExecution(request, minutesIn(11), holdsApproverRole));
    assert.equal(unauditedAuthority(request, [...trail, ...records(...started.events)], 'start'), 'its execution was started already');
  });

  it('refuses a row edited to executing (which a restart would resume) when no execution started', () => {
    const { request, trail } = approvedByBob();
    const executing: ApprovalRequest = { ...request, state: 'executing', execution: { startedAt: minutesIn(11).toISOString(), ref: { resourceIds: [] } } };
    assert.equal(unauditedAuthority(executing, trail, 'resume'), 'the audit log holds no record of its execution starting');
  });

  it('refuses approvals a drift voided, and accepts the approval given again after it', () => {
    const { request, trail } = approvedByBob();
    const drift = accepted(detectDrift(request, { changes: ['tags.owner changed'], baseline: { exists: true, facts: { 'tags.owner': 'x' } } }, minutesIn(11)));
    const afterDrift = [...trail, ...records(...drift.events)];
    // The row put back to its state before the drift, old approval and old hash.
    assert.equal(unauditedAuthority(request, afterDrift, 'start'), 'its stored operation hash is not the one its audit records carry');
    // Or with the new hash but the voided approval.
    const voided = { ...drift.request, state: 'approved' as const, approvals: [approvalBy(bob, drift.request)] };
    assert.equal(unauditedAuthority(voided, afterDrift, 'start'), 'the audit log holds no record of its approval');
    const again = accepted(approve(drift.request, decisionBy(dave, { now: minutesIn(12) })));
    const reapproved = [...afterDrift, ...records(...again.events)];
    assert.equal(unauditedAuthority(again.request, reapproved, 'start'), undefined);
    // What the drift check measures against, edited to whatever the target is now: refused.
    const hidden = { ...again.request, baseline: { exists: true, facts: { 'tags.owner': 'someone-else' } } };
    assert.equal(unauditedAuthority(hidden, reapproved, 'start'), 'its stored expectation (the what-if or the target as read at the drift) is not the one its approval binds');
  });

  it('refuses a request cancelled, expired or refused after its approval, edited back in the row', () => {
    const { request, trail } = approvedByBob();
    for (const [type, words] of [['request.cancelled', 'was cancelled'], ['request.expired', 'expired'], ['approval.revoked', 'lost its approval']] as const) {
      const ending = requestEvent({ ...request, state: 'cancelled' }, type, minutesIn(20).toISOString(), { result: 'ok' });
      assert.match(unauditedAuthority(request, [...trail, ...records(ending)], 'start') ?? '', new RegExp(`^its audit records show it ${words} after it was approved`), type);
    }
  });

  it('refuses a scheduled run moved before the time its records gave, and lets it run at that time', () => {
    const { request, trail } = approvedByBob();
    const runAt = minutesIn(120).toISOString();
    const scheduled: ApprovalRequest = { ...request, state: 'scheduled', runAt };
    const record = requestEvent(scheduled, 'request.scheduled', minutesIn(10).toISOString(), { result: 'ok' }, { data: { runAt, validUntil: minutesIn(240).toISOString() } });
    assert.equal(unauditedAuthority(scheduled, [...trail, ...records(record)], 'start'), undefined);
    const moved = { ...scheduled, runAt: minutesIn(11).toISOString() };
    assert.equal(unauditedAuthority(moved, [...trail, ...records(record)], 'start'), `its stored run time ${moved.runAt} is before the ${runAt} its audit records give`);
  });

  it('lets a break-glass use run on its record, and refuses one forged into the row', () => {
    const pending = requestIn('pending');
    const used = breakGlassUse(pending, minutesIn(1), 'incident 4711');
    const usedRecord = requestEvent(used, 'breakglass.used', minutesIn(1).toISOString(), { result: 'ok' }, { actor: alice });
    assert.equal(unauditedAuthority(used, records(created(pending), usedRecord), 'start'), undefined);
    assert.equal(unauditedAuthority(used, records(created(pending)), 'start'), 'the audit log holds no record of its break-glass use');
  });

  it('finds where the authority a row can claim begins: the first approval given, approval or break-glass use after the last drift', () => {
    const numbered = (trail: readonly AuditRecord[]) => trail.map((x, i) => ({ ...x, seq: 10 + i }));
    const { request, trail } = approvedByBob();
    const drift = accepted(detectDrift(request, { changes: ['tags.owner changed'], baseline: { exists: true, facts: { 'tags.owner': 'x' } } }, minutesIn(11)));
    const again = accepted(approve(drift.request, decisionBy(dave, { now: minutesIn(12) })));
    const whole = numbered([...trail, ...records(...drift.events, ...again.events)]);
    // created, Bob's approval.granted, request.approved, drift.detected, Dave's approval.granted, request.approved
    assert.deepEqual(whole.map((x) => x.type), ['request.created', 'approval.granted', 'request.approved', 'drift.detected', 'approval.granted', 'request.approved']);
    assert.equal(authorityBegins(request.id, whole.slice(0, 3)), 11, 'Bob\'s approval');
    assert.equal(authorityBegins(request.id, whole), 14, 'after the drift, Dave\'s');
    assert.equal(authorityBegins(request.id, whole.slice(0, 4)), undefined, 'voided by the drift, none since');
    assert.equal(authorityBegins('CS-OTHER001', whole), undefined, 'another request\'s records are not this one\'s');
    const pending = requestIn('pending');
    const used = requestEvent(breakGlassUse(pending, minutesIn(1), 'incident 4711'), 'breakglass.used', minutesIn(1).toISOString(), { result: 'ok' }, { actor: alice });
    assert.equal(authorityBegins(pending.id, numbered(records(used))), 10);
  });

  it('names the records an index by request left out, beside what the records read whole say of the row', () => {
    const leftOut = Array.from({ length: 7 }, (_, i) => ({ seq: 30 + i, type: i === 0 ? 'execution.started' : 'execution.progressed' }) as AuditRecord);
    assert.equal(
      leftOutOfIndex(leftOut.slice(0, 1), 'its execution was started already'),
      "its execution was started already, and its records read through the database's index by request lack 1 that the audit log holds (record 30 execution.started): the index was made again to leave them out",
    );
    assert.equal(
      leftOutOfIndex(leftOut, undefined),
      "its records read through the database's index by request lack 7 that the audit log holds (record 30 execution.started, 31 execution.progressed, 32 execution.progressed, 33 execution.progressed, 34 execution.progressed and 2 more): the index was made again to leave them out",
    );
  });

  it('fails the request with an audited refusal that says what did not match and that nothing was sent', () => {
    const pending = requestIn('pending');
    const forged: ApprovalRequest = { ...pending, state: 'approved', version: 2, approvals: [approvalBy(bob, pending)] };
    const t = accepted(refuseUnaudited(forged, minutesIn(11), 'the audit log holds no record of its approval'));
    assert.equal(t.request.state, 'failed');
    assert.deepEqual(t.events.map((e) => [e.type, e.outcome.reason]), [['approval.revoked', RefusalReason.NotInAudit]]);
    assert.match(t.events[0].outcome.detail ?? '', /^Not executed: the audit log holds no record of its approval, so its stored row does not match its audit trail .* Nothing was sent to Azure/);
  });
});
