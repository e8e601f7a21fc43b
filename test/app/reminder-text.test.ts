import assert from 'node:assert/strict';
import { reminderText } from '../../src/app/reminders';
import { buildRequest, minutesIn } from '../support/requests';

describe('the reminder sent to approvers', () => {
  it('quotes a typed value, so that it cannot read as who asked', () => {
    const r = buildRequest({ command: 'tag', parameters: { group: 'staging-old', key: 'owner', value: 'x) from Dave Lead (approved' } });
    assert.match(reminderText(r, minutesIn(30)), /^Reminder 1: request req-0001 \(tag staging-old owner "x\) from Dave Lead \(approved"\) from Alice Requester is still waiting/);
  });

  it('writes the command as it would be typed again: a group named like a longer command\'s next word is named (the shipped example\'s tag and tag vm)', () => {
    const r = buildRequest({ command: 'tag', parameters: { group: 'vm', key: 'owner', value: 'platform' } });
    assert.match(reminderText(r, minutesIn(30), 'UTC', ['tag', 'tag vm']), /^Reminder 1: request req-0001 \(tag group=vm owner platform\) from Alice Requester/);
  });

  it('says how long is left in whole minutes, not the seconds a sweep happened to run at; seconds only in the last two minutes', () => {
    const r = buildRequest();
    const at = (ms: number) => new Date(Date.parse(r.expiresAt) - ms);
    assert.match(reminderText(r, at(29 * 60_000 + 47_000)), /It expires in 30 minutes, at /);
    assert.match(reminderText(r, at(2 * 3600_000 + 14 * 60_000 + 10_000)), /It expires in 2 hours 14 minutes, at /);
    assert.match(reminderText(r, at(95_000)), /It expires in 1 minute 35 seconds, at /);
  });
});
