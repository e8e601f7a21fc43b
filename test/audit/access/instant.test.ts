/** The times people type as export bounds: read as audit times, to the millisecond records carry. */
import assert from 'node:assert/strict';
import { InstantError, parseInstant } from '../../../src/audit/access/instant';

describe('reading an export bound', () => {
  it('reads a date as midnight UTC and a date-time without a zone as UTC', () => {
    assert.equal(parseInstant('2026-11-02'), '2026-11-02T00:00:00.000Z');
    assert.equal(parseInstant('2026-11-02T09:30'), '2026-11-02T09:30:00.000Z');
    assert.equal(parseInstant('2026-11-02T09:30:00+01:00'), '2026-11-02T08:30:00.000Z');
  });

  it('moves a time given finer than a millisecond up to the next one, so the bound keeps exactly the records asked for', () => {
    // A record at .446 is before a from of .4461 (left out), and one at .999 is before a to of .9991 (kept).
    assert.equal(parseInstant('2026-12-06T02:45:50.4461Z'), '2026-12-06T02:45:50.447Z');
    assert.equal(parseInstant('2026-12-06T02:45:55.9991Z'), '2026-12-06T02:45:56.000Z');
    assert.equal(parseInstant('2026-12-06T02:45:50.446000001Z'), '2026-12-06T02:45:50.447Z');
    // Zeros past the millisecond are the millisecond itself.
    assert.equal(parseInstant('2026-12-06T02:45:50.446000Z'), '2026-12-06T02:45:50.446Z');
    assert.equal(parseInstant('2026-12-06T02:45:50.4Z'), '2026-12-06T02:45:50.400Z');
  });

  it('refuses what is not an ISO-8601 date or date-time, or does not exist', () => {
    for (const bad of ['last tuesday', '2026-02-30', '2026-11-02T24:00', '2026-11-02T09:30:00.1234567890Z']) assert.throws(() => parseInstant(bad), InstantError, bad);
  });

  it('refuses a bound that falls outside the years 0000 to 9999: written +010000-… or -000001-…, it would sort before every record\'s time', () => {
    // Records are selected by comparing their times as text: "+010000-01-01T00:00:00.000Z" < "2026-…", so an
    // export "to" it held none of them, signed and recorded as complete.
    for (const bad of ['9999-12-31T23:59:59.9999Z', '9999-12-31T23:30:00-01:00', '0000-01-01T00:00:00+01:00']) {
      assert.throws(() => parseInstant(bad), /is not a date Countersign reads \(it falls outside the years 0000 to 9999, in UTC\)/, bad);
    }
    assert.equal(parseInstant('9999-12-31T23:59:59.999Z'), '9999-12-31T23:59:59.999Z');
    assert.equal(parseInstant('0000-01-01'), '0000-01-01T00:00:00.000Z');
  });

  it('reads t and z in lower case (RFC 3339), says what a leap second is, and gives the forms it reads', () => {
    assert.equal(parseInstant('2026-12-06t04:58:09z'), '2026-12-06T04:58:09.000Z');
    assert.throws(() => parseInstant('2026-12-31T23:59:60Z'), /^InstantError: "2026-12-31T23:59:60Z" is not a date Countersign reads \(a leap second: write :59\.999, or the next second\): write YYYY-MM-DD, or YYYY-MM-DDTHH:MM\[:SS\[\.fff\]\] with Z or ±HH:MM/);
    assert.throws(() => parseInstant('20261206'), /"20261206" is not a date Countersign reads: write YYYY-MM-DD/);
  });
});
