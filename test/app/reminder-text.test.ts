import assert from 'node:assert/strict';
import { reminderText } from '../../src/app/reminders';
import { buildRequest, minutesIn } from '../support/requests';

describe('the reminder sent to approvers', () => {
  it('quotes a typed value, so that it cannot read as who asked', () => {
    const r = buildRequest({ command: 'tag', parameters: { group: 'staging-old', key: 'owner', value: 'x) from Dave Lead (approved' } });
    assert.match(reminderText(r, minutesIn(30)), /^Reminder 1: request req-0001 \(tag staging-old owner "x\) from Dave Lead \(approved"\) from Alice Requester is still waiting/);
  });
});
