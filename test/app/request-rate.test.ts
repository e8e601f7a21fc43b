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

  it('slides over a long run with a high limit, letting times leave from the front', () => {
    const rate = new RequestRate({ max: 5000, perMs: 10_000 });
    // 4 requests a millisecond for 20 seconds: 40,000 in every 10 s window, far above 5,000.
    let refused = 0;
    for (let t = 0; t < 20_000; t++) {
      for (let i = 0; i < 4; i++) {
        if (rate.waitFor('bot', t) === 0) rate.record('bot', t);
        else refused++;
      }
    }
    // Each window of 10 s lets 5,000 through: two windows' worth in 20 s, the rest refused.
    assert.equal(refused, 80_000 - 10_000);
    assert.equal(rate.waitFor('bot', 20_000 + 10_000), 0, 'all left the window');
  });

  it('says how long until the oldest request in the window leaves it', () => {
    const rate = new RequestRate({ max: 2, perMs: 1000 });
    rate.record('a', 100);
    rate.record('a', 700);
    assert.equal(rate.waitFor('a', 900), 200);
    assert.equal(rate.waitFor('a', 1100), 0, 'the one at 100 left at 1100');
    rate.record('a', 1100);
    assert.equal(rate.waitFor('a', 1200), 500, 'now the one at 700 is the oldest');
  });

  it('counts a request made while the clock was set back from the last one, so none leaves early', () => {
    const rate = new RequestRate({ max: 2, perMs: 1000 });
    rate.record('a', 5000);
    rate.record('a', 4000);
    assert.equal(rate.waitFor('a', 5500), 500);
  });
});
