import { strict as assert } from 'node:assert';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../../src/retry-after';

describe('Retry-After, read one way for Teams, ARM and Graph', () => {
  const now = Date.parse('2026-12-06T08:00:00Z');

  it('reads a number of seconds, whole or not', () => {
    assert.equal(retryAfterMs('3', undefined, now), 3000);
    assert.equal(retryAfterMs(' 0 ', undefined, now), 0);
    assert.equal(retryAfterMs('1.5', undefined, now), 1500);
  });

  it('reads an HTTP date as the time left until it, and a date past as no wait', () => {
    assert.equal(retryAfterMs('Sun, 06 Dec 2026 08:00:20 GMT', undefined, now), 20_000);
    assert.equal(retryAfterMs('Sun, 06 Dec 2026 07:00:00 GMT', undefined, now), 0);
  });

  it('caps a wait at a minute, or at what the caller allows', () => {
    assert.equal(retryAfterMs('86400', undefined, now), MAX_RETRY_AFTER_MS);
    assert.equal(retryAfterMs('Sun, 06 Dec 2026 09:00:00 GMT', undefined, now), MAX_RETRY_AFTER_MS);
    assert.equal(retryAfterMs('30', 10_000, now), 10_000);
  });

  it('reads nothing into an absent, empty, negative or unreadable header', () => {
    for (const header of [undefined, null, '', '  ', '-5', 'soon', '1e3', '0x10', '1.5.2']) {
      assert.equal(retryAfterMs(header, undefined, now), undefined, String(header));
    }
  });
});
