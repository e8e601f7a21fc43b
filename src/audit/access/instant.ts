/** Reading the times people type (CLI options, the Teams `audit export` command) as audit times. */

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export class InstantError extends Error {
  constructor(
    readonly value: string,
    why = '',
  ) {
    super(`"${value}" is not a date Countersign reads${why}: write YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.fff]] with Z or ±HH:MM (UTC when there is none), e.g. 2026-11-02 or 2026-11-02T09:30:00Z.`);
    this.name = 'InstantError';
  }
}

/**
 * An ISO-8601 date (midnight UTC) or date-time, as a canonical UTC instant (Date#toISOString), the
 * form audit times are stored in. A date-time without a zone is taken as UTC, never local time.
 * Records are timed to the millisecond: a time given more finely is moved up to the next millisecond,
 * which keeps exactly the records the bound asked for (at or after a `from`, before a `to`).
 */
export function parseInstant(value: string): string {
  // RFC 3339 allows t and z in lower case.
  const text = value.trim().replace(/^(\d{4}-\d{2}-\d{2})t/, '$1T').replace(/z$/, 'Z');
  const m = ISO_INSTANT.exec(text);
  if (!m) throw new InstantError(value);
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone] = m;
  const daysInMonth = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > daysInMonth) throw new InstantError(value);
  if (Number(s) === 60) throw new InstantError(value, ' (a leap second: write :59.999, or the next second)');
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw new InstantError(value);
  const withZone = m[4] === undefined ? `${text}T00:00:00Z` : zone ? text : `${text}Z`;
  const ms = Date.parse(withZone);
  if (Number.isNaN(ms)) throw new InstantError(value);
  // Date.parse drops what is finer than a millisecond: anything there moves the bound up one.
  const finer = /[1-9]/.test(fraction.slice(3)) ? 1 : 0;
  const instant = new Date(ms + finer).toISOString();
  // Past 9999 (or before 0000) in UTC, toISOString writes +010000-… (-000001-…), which sorts before every
  // record's time: an export to such a bound held none of them, and was signed and recorded as complete.
  if (!/^\d{4}-/.test(instant)) throw new InstantError(value, ' (it falls outside the years 0000 to 9999, in UTC)');
  return instant;
}
