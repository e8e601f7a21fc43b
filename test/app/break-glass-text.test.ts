import assert from 'node:assert/strict';
import { breakGlassText } from '../../src/app/break-glass';
import { buildRequest, minutesIn } from '../support/requests';

describe('the break-glass notice sent to reviewers', () => {
  const used = (reason: string) => buildRequest({ breakGlass: { reason, usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() } });

  it('ends the reason with one full stop, whether or not it had its own', () => {
    assert.match(breakGlassText(used('outage INC-42'), 'break-glass'), /Reason: outage INC-42\. An approver must ratify/);
    assert.match(breakGlassText(used('the group holds the leaked key.'), 'break-glass'), /Reason: the group holds the leaked key\. An approver must ratify/);
    assert.match(breakGlassText(used('is the site down?'), 'break-glass'), /Reason: is the site down\? An approver must ratify/);
  });
});
