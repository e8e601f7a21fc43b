/** Who may still decide a request, when a reminder or the escalation is due, and what recording them does. */
import assert from 'node:assert/strict';
import { dueReminder, escalate, escalationDue, peopleToDecide, recordReach, remind } from '../../src/domain/lifecycle';
import { decidingRoles, Roles } from '../../src/domain/policy';
import { alice, bob, buildRequest, dave, frank, minutesIn } from '../support/requests';

const roles = new Roles({ approvers: [bob.aadObjectId, dave.aadObjectId, alice.aadObjectId], leads: [frank.aadObjectId.toUpperCase(), alice.aadObjectId] });
const policy = { approvals: 2, approverRoles: ['approvers'], ttlSeconds: 3600, version: 'v', reminders: { beforeExpirySeconds: [1800, 900], max: 2 }, escalation: { role: 'leads', afterSeconds: 2400 } };

describe('domain: reaching approvers', () => {
  it('names everyone who may still decide: never the requester, nobody who approved, the escalation role once escalated', () => {
    const r = buildRequest({ policy, approvals: [{ approver: bob, at: minutesIn(1).toISOString(), operationHash: 'h' }] });
    assert.deepEqual(peopleToDecide(r, roles), [dave.aadObjectId]);
    const escalated = { ...r, escalation: { role: 'leads', at: minutesIn(40).toISOString() } };
    assert.deepEqual(decidingRoles(escalated), ['approvers', 'leads']);
    assert.deepEqual(peopleToDecide(escalated, roles), [dave.aadObjectId, frank.aadObjectId]);
    assert.deepEqual(peopleToDecide(escalated, roles, 'leads'), [frank.aadObjectId]);
    assert.deepEqual(decidingRoles(escalated, ['other']), ['other', 'leads'], 'the re-check at execution names the current roles');
  });

  it('makes a reminder due at each point before expiry, once, at most max, never after a decision or expiry', () => {
    const r = buildRequest({ policy });
    assert.equal(dueReminder(r, minutesIn(29)), undefined);
    assert.equal(dueReminder(r, minutesIn(30))?.toISOString(), minutesIn(30).toISOString());
    const once = remind(r, minutesIn(31), [bob.aadObjectId]);
    assert.ok(once.ok);
    assert.deepEqual(once.request.reminders, { sent: 1, lastPointAt: minutesIn(30).toISOString() });
    assert.equal(dueReminder(once.request, minutesIn(44)), undefined);
    const twice = remind(once.request, minutesIn(45), []);
    assert.ok(twice.ok);
    assert.equal(remind(twice.request, minutesIn(59), []).ok, false, 'max reached');
    assert.equal(dueReminder(buildRequest({ policy, state: 'rejected' }), minutesIn(50)), undefined);
    assert.equal(dueReminder(r, minutesIn(60)), undefined, 'expired');
    assert.equal(dueReminder(buildRequest(), minutesIn(50)), undefined, 'no reminders in the policy');
  });

  it('escalates once, only while the request can be decided', () => {
    const r = buildRequest({ policy });
    assert.equal(escalationDue(r, minutesIn(39)), false);
    const done = escalate(r, minutesIn(40));
    assert.ok(done.ok);
    assert.deepEqual(done.request.escalation, { role: 'leads', at: minutesIn(40).toISOString() });
    assert.deepEqual(done.events.map((e) => [e.type, e.data]), [['request.escalated', { role: 'leads' }]]);
    assert.equal(escalate(done.request, minutesIn(41)).ok, false, 'already escalated');
    assert.equal(escalationDue(buildRequest({ policy, state: 'approved' }), minutesIn(41)), false);
  });

  it('records who could not be reached, replacing what an earlier round said about the same people', () => {
    const r = buildRequest({ unreachable: [{ id: bob.aadObjectId, why: 'app not installed' }, { id: dave.aadObjectId, why: 'Teams answered 500' }] });
    const t = recordReach(r, minutesIn(5), { occasion: 'reminder', reached: [{ id: bob.aadObjectId.toUpperCase() }], unreachable: [{ id: frank.aadObjectId, why: 'app not installed' }] });
    assert.ok(t.ok);
    assert.deepEqual(t.request.unreachable, [{ id: dave.aadObjectId, why: 'Teams answered 500' }, { id: frank.aadObjectId, why: 'app not installed' }]);
    assert.deepEqual(t.events.map((e) => e.type), ['approvers.notified', 'approver.unreachable']);
  });
});
