import assert from 'node:assert/strict';
import { RequestRate } from '../../src/app/request-rate';

describe('one person\'s rate of new requests', () => {
  const HOUR = 3_600_000;

  it('allows the configured number in any sliding hour, then says how long to wait', () => {
    const rate = new RequestRate({ max: 3, perMs: HOUR });
    for (const t of [0, 1000, 2000]) {
      assert.equal(rate.waitFor('alice', t), 0);
      rate.record('alice', t);
    }
    assert.equal(rate.waitFor('alice', 3000), HOUR - 3000, 'until the first of the three leaves the window');
    assert.equal(rate.waitFor('bob', 3000), 0, 'another person is counted apart');
    assert.equal(rate.waitFor('alice', HOUR + 1), 0);
    assert.equal(rate.describe(), 'at most 3 new request(s) per hour');
  });

  it('tracks at most maxPeople people, forgetting the least recently active first', () => {
    const rate = new RequestRate({ max: 1, perMs: HOUR }, 2);
    rate.record('a', 0);
    rate.record('b', 1);
    rate.record('c', 2);
    assert.equal(rate.waitFor('a', 3), 0, 'a was forgotten');
    assert.ok(rate.waitFor('c', 3) > 0);
  });
});
