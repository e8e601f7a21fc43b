import assert from 'node:assert/strict';
import { InFlight } from '../../src/store/sqlite/in-flight';

describe('InFlight (the writer thread\'s unanswered writes)', () => {
  it('gives each entry back once, by id, in any order', () => {
    const f = new InFlight<string>();
    for (let id = 1; id <= 5; id++) f.add(id, `w${id}`);
    assert.equal(f.size, 5);
    assert.equal(f.take(3), 'w3');
    assert.equal(f.take(3), undefined);
    assert.equal(f.take(1), 'w1');
    assert.equal(f.take(5), 'w5');
    assert.equal(f.size, 2);
    assert.deepEqual(f.takeAll(), [[2, 'w2'], [4, 'w4']]);
    assert.equal(f.size, 0);
  });

  it('knows nothing of ids it was never given, or before its oldest', () => {
    const f = new InFlight<number>();
    f.add(10, 1);
    f.add(14, 2);
    for (const id of [0, 9, 11, 13, 15, 1e9, -1]) assert.equal(f.take(id), undefined, `id ${id}`);
    assert.equal(f.take(14), 2);
    assert.equal(f.take(10), 1);
  });

  it('refuses an id that is not greater than the ones before it', () => {
    const f = new InFlight<number>();
    f.add(7, 1);
    assert.throws(() => f.add(7, 2), /in-flight id 7 is not greater/);
    assert.throws(() => f.add(3, 2), /in-flight id 3 is not greater/);
    assert.throws(() => f.add(Number.NaN, 2), /not greater/);
  });

  it('keeps the right entries across the compaction of a long run of answered ids', () => {
    const f = new InFlight<number>();
    const open = new Set<number>();
    let next = 1;
    // 50 in flight at a time, answered out of order, 100,000 in all; every 997th is left unanswered.
    for (let round = 0; round < 2000; round++) {
      const batch: number[] = [];
      for (let i = 0; i < 50; i++) {
        const id = next++;
        f.add(id, id * 2);
        batch.push(id);
        open.add(id);
      }
      for (const id of batch.reverse()) {
        if (id % 997 === 0) continue;
        assert.equal(f.take(id), id * 2);
        open.delete(id);
      }
    }
    assert.equal(f.size, open.size);
    assert.deepEqual(f.takeAll(), [...open].map((id) => [id, id * 2]));
  });

  it('starts over at a new id once nothing is in flight', () => {
    const f = new InFlight<string>();
    f.add(1, 'a');
    f.take(1);
    f.add(1_000_000, 'b');
    assert.equal(f.take(1_000_000), 'b');
    assert.throws(() => f.add(1_000_000, 'c'), /not greater/);
  });
});
