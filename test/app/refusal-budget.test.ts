/**
 * Refusals of callers nobody authenticated: recorded one by one up to a budget a minute, then
 * counted, the count recorded as one record when the minute is over or at a stop.
 */
import assert from 'node:assert/strict';
import { MAX_PEOPLE_WITH_OWN_ALLOWANCE, REFUSAL_BUDGET, RefusalBudget } from '../../src/app/refusal-budget';
import { repeatedText, type RepeatedRefusals } from '../../src/domain/repeated-refusals';
import { TestClock } from '../support/app-fakes';
import { eventually } from '../support/teams';

describe('the budget of refusals of unauthenticated callers', () => {
  const budget = { ...REFUSAL_BUDGET };
  afterEach(() => Object.assign(REFUSAL_BUDGET, budget));
  const START = new Date('2026-12-05T10:00:00.000Z');

  function counting(clock = new TestClock(START)) {
    const summaries: RepeatedRefusals[] = [];
    const failures: unknown[] = [];
    const gate = new RefusalBudget(clock, async (r) => void summaries.push(r), (err) => failures.push(err));
    return { clock, gate, summaries, failures };
  }

  it('records the first ones of a minute one by one, counts the rest, and records the count at the end of the minute', async () => {
    Object.assign(REFUSAL_BUDGET, { perMinute: 3 });
    const { clock, gate, summaries } = counting();
    const admitted = Array.from({ length: 10 }, (_, i) => {
      clock.advance(1000);
      return gate.admit(i % 2 ? 'invalid-token' : 'missing-token', i < 8 ? '10.0.0.1' : '10.0.0.2');
    });
    assert.deepEqual(admitted, [true, true, true, false, false, false, false, false, false, false]);
    assert.deepEqual(summaries, [], 'nothing recorded while the minute runs');
    clock.advance(60_000);
    assert.equal(gate.admit('missing-token', '10.0.0.3'), true, 'a new minute, a new budget');
    await gate.flush();
    assert.deepEqual(summaries, [
      {
        count: 7,
        from: '2026-12-05T10:00:04.000Z',
        to: '2026-12-05T10:00:10.000Z',
        reasons: { 'invalid-token': 4, 'missing-token': 3 },
        remoteAddresses: { '10.0.0.1': 5, '10.0.0.2': 2 },
        perMinute: 3,
      },
    ]);
    assert.equal(
      repeatedText(summaries[0]),
      '7 more from 2026-12-05T10:00:04.000Z to 2026-12-05T10:00:10.000Z were counted, not recorded one by one (at most 3 a minute are): invalid-token 4, missing-token 3; from 2 addresses',
    );
    await gate.flush();
    assert.equal(summaries.length, 1, 'a minute with nothing counted records nothing');
  });

  it('records the count when the minute is over even if no other refusal comes', async () => {
    Object.assign(REFUSAL_BUDGET, { perMinute: 1, windowMs: 50 });
    const { gate, summaries } = counting(new TestClock(START, { realTime: true }));
    gate.admit('missing-token', '10.0.0.1');
    gate.admit('missing-token', '10.0.0.1');
    await eventually('the count is recorded', () => summaries.length === 1 || undefined, 2000);
    assert.equal(summaries[0].count, 1);
  });

  it('names the 20 busiest addresses and counts the others together', async () => {
    Object.assign(REFUSAL_BUDGET, { perMinute: 0 });
    const { gate, summaries } = counting();
    for (let i = 0; i < 30; i++) for (let n = 0; n <= i; n++) gate.admit('missing-token', `10.0.0.${i}`);
    await gate.flush();
    const [r] = summaries;
    assert.equal(r.count, 465);
    assert.equal(Object.keys(r.remoteAddresses ?? {}).length, 20);
    assert.equal(r.remoteAddresses?.['10.0.0.29'], 30);
    assert.equal(r.otherAddresses, 55, 'the ten quietest: 1 + 2 + ... + 10');
    assert.match(repeatedText(r), /from 20 addresses and others$/);
  });

  it('says when a count could not be recorded, and goes on', async () => {
    Object.assign(REFUSAL_BUDGET, { perMinute: 0 });
    const clock = new TestClock(START);
    const failures: unknown[] = [];
    const gate = new RefusalBudget(clock, async () => { throw new Error('disk full'); }, (err) => failures.push(err));
    gate.admit('missing-token', undefined);
    await gate.flush();
    assert.equal(String(failures[0]), 'Error: disk full');
  });

  describe('counted per person', () => {
    function perPerson(clock = new TestClock(START)) {
      const summaries: RepeatedRefusals[] = [];
      const gate = new RefusalBudget(clock, async (r) => void summaries.push(r), () => undefined, 'person');
      return { clock, gate, summaries };
    }

    it("gives each person an allowance of their own: one person's flood does not silence another's refusals", async () => {
      Object.assign(REFUSAL_BUDGET, { perMinute: 3 });
      const { gate, summaries } = perPerson();
      const prober = Array.from({ length: 50 }, () => gate.admit('unknown-request', 'prober'));
      assert.deepEqual(prober.filter(Boolean).length, 3);
      assert.deepEqual([1, 2, 3, 4].map(() => gate.admit('not-allowed-to-see', 'carol')), [true, true, true, false]);
      await gate.flush();
      assert.deepEqual(summaries[0].people, { prober: 47, carol: 1 });
      assert.match(repeatedText(summaries[0]), /\(at most 3 a minute per person are\).*from 2 people$/);
    });

    it(`past ${MAX_PEOPLE_WITH_OWN_ALLOWANCE} people in a minute, those who come later share one allowance; those before keep theirs`, async () => {
      Object.assign(REFUSAL_BUDGET, { perMinute: 2 });
      const { gate, summaries } = perPerson();
      for (let i = 0; i < MAX_PEOPLE_WITH_OWN_ALLOWANCE; i++) assert.equal(gate.admit('unknown-request', `id-${i}`), true);
      // A flood of distinct ids past the bound: two of them recorded one by one, then the rest counted.
      const flood = Array.from({ length: 500 }, (_, i) => gate.admit('unknown-request', `flood-${i}`));
      assert.deepEqual(flood.slice(0, 3), [true, true, false]);
      assert.equal(flood.filter(Boolean).length, 2);
      assert.equal(gate.admit('unknown-request', 'id-7'), true, 'a person who came before the bound still has their own allowance');
      assert.equal(gate.admit('unknown-request', 'id-7'), false);
      await gate.flush();
      assert.equal(summaries[0].count, 499);
    });
  });
});
