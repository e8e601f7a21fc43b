import assert from 'node:assert/strict';
import { RequestRate } from '../../src/app/request-rate';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { alice } from '../support/people';
import { ask } from './steps';

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

  it('gives back a slot counted at a given time, and only that one', () => {
    const rate = new RequestRate({ max: 2, perMs: 1000 });
    const first = rate.record('a', 100);
    const second = rate.record('a', 200);
    assert.equal(rate.waitFor('a', 300), 800);
    rate.release('a', second);
    assert.equal(rate.waitFor('a', 300), 0);
    rate.release('a', first);
    rate.release('a', first);
    rate.release('nobody', 5);
    assert.equal(rate.record('a', 400), 400);
    assert.equal(rate.record('a', 500), 500);
    assert.equal(rate.waitFor('a', 600), 800, 'the two given back left nothing behind');
  });

  it('counts a request made while the clock was set back from the last one, so none leaves early', () => {
    const rate = new RequestRate({ max: 2, perMs: 1000 });
    rate.record('a', 5000);
    rate.record('a', 4000);
    assert.equal(rate.waitFor('a', 5500), 500);
  });
});

describe('the rate of new requests, through the use case', () => {
  const DELETE = 'delete resource group staging-old';

  /** Reading the target takes a while, as Azure does: every request is in flight at once. */
  function slowTargets(f: AppOnFakes, fail = false): void {
    const azure = f.azure;
    const snapshot = azure.snapshot.bind(azure);
    azure.snapshot = async (op) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (fail) throw new Error('the target could not be read');
      return snapshot(op);
    };
  }

  it('lets no more through than the limit when a person sends many at once', async () => {
    const f = appOnFakes();
    f.deps.requestRate = new RequestRate({ max: 3, perMs: 3_600_000 });
    slowTargets(f);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(f, alice, `${DELETE}-${i}`)));
    assert.equal(results.filter((r) => r.ok).length, 3);
    const refused = results.filter((r) => !r.ok && 'refusal' in r && r.refusal.reason === 'rate-limited');
    assert.equal(refused.length, 17);
    assert.equal((await f.audit({ types: ['request.created'] })).length, 3);
    assert.equal((await f.audit({ types: ['request.refused'] })).length, 17);
  });

  it('measures the hour on the clock that never steps: a wall-clock step back does not hold a person back for its length', async () => {
    const f = appOnFakes();
    f.deps.requestRate = new RequestRate({ max: 1, perMs: 3_600_000 });
    // The system clock's two faces: the wall time steps back an hour, the monotonic one goes on.
    let monotonic = 1_000_000;
    f.deps.clock = { now: () => f.clock.now(), elapsed: () => monotonic };
    assert.ok((await ask(f, alice, DELETE)).ok);
    f.clock.advance(-3_600_000);
    monotonic += 5 * 60_000;
    const held = await ask(f, alice, DELETE);
    assert.ok(!held.ok && 'refusal' in held);
    assert.match(held.refusal.message, /try again in 55 minute\(s\)/, 'the hour counts from the first request, not from the step');
    monotonic += 56 * 60_000;
    assert.ok((await ask(f, alice, `${DELETE}-2`)).ok, 'an hour after the first, whatever the wall clock says');
  });

  it('gives back the slot of a request that was not created (its target could not be read)', async () => {
    const f = appOnFakes();
    f.deps.requestRate = new RequestRate({ max: 1, perMs: 3_600_000 });
    slowTargets(f, true);
    const failed = await ask(f, alice, DELETE);
    assert.ok(!failed.ok && 'error' in failed && /could not read the target/.test(failed.error));
    assert.equal(f.deps.requestRate.waitFor(alice.aadObjectId, f.clock.now().getTime()), 0, 'the slot was given back');
  });
});
