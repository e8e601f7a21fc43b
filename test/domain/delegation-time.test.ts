import assert from 'node:assert/strict';
import { describeUntil, parseUntil } from '../../src/domain/delegation-time';

const NOW = new Date('2026-12-04T17:00:00.000Z');

function until(words: string, zone?: string): string {
  const r = parseUntil(words, NOW, zone);
  if (!r.ok) assert.fail(r.problem);
  return r.until.toISOString();
}

describe('when a delegation ends', () => {
  it('reads a date as the start of that day in the sender\'s time zone, or UTC without one', () => {
    assert.equal(until('until 2026-12-24'), '2026-12-24T00:00:00.000Z');
    assert.equal(until('until 2026-12-24', 'Europe/Berlin'), '2026-12-23T23:00:00.000Z');
    assert.equal(until('until 2026-07-01', 'Europe/Berlin'), '2026-06-30T22:00:00.000Z');
  });

  it('reads a local date-time in the sender\'s zone, and a date-time with a zone as given', () => {
    assert.equal(until('until 2026-12-24T18:00', 'America/New_York'), '2026-12-24T23:00:00.000Z');
    assert.equal(until('until 2026-12-24T18:00:00+01:00', 'America/New_York'), '2026-12-24T17:00:00.000Z');
    assert.equal(until('until 2026-12-24T18:00Z'), '2026-12-24T18:00:00.000Z');
  });

  it('moves a local time a daylight-saving jump skips forward, and takes the first of a time that comes twice, east or west of UTC', () => {
    // New York: 02:30 on 2027-03-14 does not exist (02:00 EST jumps to 03:00 EDT): 03:30 EDT, not 01:30 EST.
    assert.equal(until('until 2027-03-14T02:30', 'America/New_York'), '2027-03-14T07:30:00.000Z');
    // London: 01:30 on 2027-03-28 does not exist (01:00 GMT jumps to 02:00 BST): 02:30 BST.
    assert.equal(until('until 2027-03-28T01:30', 'Europe/London'), '2027-03-28T01:30:00.000Z');
    // 01:30 comes twice when the clocks go back: the first, in summer time, in either zone.
    assert.equal(until('until 2027-11-07T01:30', 'America/New_York'), '2027-11-07T05:30:00.000Z');
    assert.equal(until('until 2027-10-31T01:30', 'Europe/London'), '2027-10-31T00:30:00.000Z');
  });

  it('reads a clock time as its next occurrence in the sender\'s zone', () => {
    assert.equal(until('until 19:00', 'Europe/Berlin'), '2026-12-04T18:00:00.000Z');
    assert.equal(until('until 17:30', 'Europe/Berlin'), '2026-12-05T16:30:00.000Z');
  });

  it('reads a relative form from now', () => {
    assert.equal(until('for 3d'), '2026-12-07T17:00:00.000Z');
    assert.equal(until('<at>Carol</at> for 90m'), '2026-12-04T18:30:00.000Z');
  });

  it('says how to write it when it cannot read it, and treats an unknown zone as UTC', () => {
    for (const words of ['', 'tomorrow', 'until next week', 'until 2026-02-30', 'until 2026-11-31T18:00Z', 'until 2026-12-06T24:00+01:00', 'until 25:00', 'for 3w']) {
      const r = parseUntil(words, NOW);
      assert.ok(!r.ok, words);
      // Its example is a few days from now, never a date already past.
      assert.match(r.problem, /"until 2026-12-07", "until 2026-12-07T18:00"/);
    }
    const later = parseUntil('until soon', new Date('2027-03-30T23:30:00Z'), 'Europe/Berlin');
    assert.ok(!later.ok && /"until 2027-04-03"/.test(later.problem), 'the example date is the sender\'s, a few days on');
    assert.equal(until('until 2026-12-24', 'Mars/Olympus'), '2026-12-24T00:00:00.000Z');
  });

  it('names the words it could not read as the end, when there are some', () => {
    for (const [words, named] of [['for 2 days', '"for 2 days"'], ['<at>Carol</at> until 2026-12-09 please', '"until 2026-12-09 please"']]) {
      const r = parseUntil(words, NOW);
      assert.ok(!r.ok);
      assert.match(r.problem, new RegExp(`^Countersign could not read ${named} as when the delegation ends: say when it ends`));
    }
    const none = parseUntil('<at>Carol</at>', NOW);
    assert.ok(!none.ok && none.problem.startsWith('Countersign could not read when the delegation ends: say when it ends'));
  });

  it('refuses the end given twice, naming both, instead of reading only the last', () => {
    const r = parseUntil('<at>Carol</at> until 2026-12-24 for 3d', NOW);
    assert.ok(!r.ok);
    assert.equal(r.problem, 'When the delegation ends is given twice ("until 2026-12-24" and "for 3d"): give it once, "until 2026-12-07", "until 2026-12-07T18:00", "until 18:00" or "for 3d" (s, m, h or d).');
    const thrice = parseUntil('for 1d until 18:00 for 2h', NOW);
    assert.ok(!thrice.ok && thrice.problem.startsWith('When the delegation ends is given 3 times ("for 1d", "until 18:00" and "for 2h")'));
    // Words that are no end are not a second one: "for the holidays" is read as before.
    assert.equal(until('for the holidays until 2026-12-24'), '2026-12-24T00:00:00.000Z');
  });

  it('says a date and its time typed as two words are one, joined by T', () => {
    const r = parseUntil('<at>Carol</at> until 2026-12-24 9:30', NOW);
    assert.ok(!r.ok);
    assert.equal(r.problem, '"2026-12-24 9:30" is a date and a time as two words: write them as one, joined by T ("until 2026-12-24T09:30").');
  });

  it('says a delegation must last longer than zero, rather than that it cannot read "for 0d"', () => {
    for (const words of ['for 0d', 'for 00h']) {
      const r = parseUntil(words, NOW);
      assert.ok(!r.ok);
      assert.match(r.problem, /would end the delegation at once: it must last longer than zero, e\.g\. "for 3d"/);
    }
  });

  it('echoes the instant in the sender\'s zone and in UTC', () => {
    assert.equal(describeUntil(new Date('2026-12-24T17:00:00Z'), 'Europe/Berlin'), '2026-12-24 18:00 Europe/Berlin (2026-12-24T17:00:00.000Z)');
    assert.equal(describeUntil(new Date('2026-12-24T17:00:00Z'), 'UTC'), '2026-12-24 17:00 UTC');
  });

  it('gives the seconds of a time between two minutes, not only the minute before it (an expiry at 07:14:57 is not "before 07:14")', () => {
    assert.equal(describeUntil(new Date('2026-12-07T07:14:57Z'), 'UTC'), '2026-12-07 07:14:57 UTC');
    // The second it falls in; a whole minute as before.
    assert.equal(describeUntil(new Date('2026-12-07T07:14:57.600Z'), 'UTC'), '2026-12-07 07:14:57 UTC');
    assert.equal(describeUntil(new Date('2026-12-07T07:15:00.600Z'), 'UTC'), '2026-12-07 07:15 UTC');
    assert.equal(describeUntil(new Date('2026-12-07T07:14:57Z'), 'Europe/Berlin'), '2026-12-07 08:14:57 Europe/Berlin (2026-12-07T07:14:57.000Z)');
  });
});
