/**
 * When a delegation ends, as people type it after `delegate @person`:
 *
 *   until 2026-12-24            the start of that day (00:00) in the sender's time zone
 *   until 2026-12-24T18:00      that local time in the sender's time zone
 *   until 2026-12-24T17:00Z     an ISO 8601 date-time with a zone (Z or ±hh:mm) is taken as given
 *   until 18:00                 the next 18:00 in the sender's time zone (today, or tomorrow if past)
 *   for 3d | for 8h | for 90m   from now
 *
 * The sender's zone is the IANA name Teams sends with the message (activity.localTimezone); without
 * one, UTC. The answer echoes the resolved instant in that zone and in UTC, so nobody has to guess.
 */
import { DURATION_UNITS } from './duration-text';

export type UntilParse = { ok: true; until: Date; zone: string } | { ok: false; problem: string };

/** How to say when a delegation ends, with examples a few days from now in the sender's zone (never a date already past). */
function usage(now: Date, zone: string): string {
  const day = exampleDay(now, zone, 3);
  return `say when it ends: "until ${day}", "until ${day}T18:00", "until 18:00" or "for 3d" (s, m, h or d)`;
}

/** The date `days` days after now in the zone, as YYYY-MM-DD: the date people would type in an example. */
export function exampleDay(now: Date, zone: string, days: number): string {
  const p = partsIn(new Date(now.getTime() + days * 86_400_000), zoneOrUtc(zone));
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** The validated IANA zone, or UTC when absent or unknown to this runtime. */
export function zoneOrUtc(zone: string | undefined): string {
  if (!zone) return 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return 'UTC';
  }
}

/** Reads the words after the mention: `until <time>` or `for <duration>`. */
export function parseUntil(words: string, now: Date, timeZone?: string): UntilParse {
  const zone = zoneOrUtc(timeZone);
  const m = /(?:^|\s)(until|for)\s+(\S+)\s*$/i.exec(words);
  // "until 2026-12-24 18:00": a date and its time as two words, said as such (with the word meant).
  const apart = /(?:^|\s)until\s+(\d{4}-\d{2}-\d{2})\s+(\d{1,2})(:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)\s*$/i.exec(words);
  if (apart) {
    const [, date, hour, rest] = apart;
    return { ok: false, problem: `"${date} ${hour}${rest}" is a date and a time as two words: write them as one, joined by T ("until ${date}T${hour.padStart(2, '0')}${rest}").` };
  }
  if (!m) {
    // What was typed, named ("for 2 days", "until 2026-12-09 please"): the answer says which words it could not read.
    const said = words.replace(/<at>[^<]*<\/at>/gi, ' ').trim().replace(/\s+/g, ' ');
    const what = said ? ` "${said.length > 60 ? `${said.slice(0, 60)}…` : said}" as` : '';
    return { ok: false, problem: `Countersign could not read${what} when the delegation ends: ${usage(now, zone)}.` };
  }
  // "until 2026-12-24 for 3d": only the last was read, the other end dropped unseen; which one is meant is the person's to say.
  const ends = [...words.matchAll(/(?:^|\s)(until|for)\s+(\S+)/gi)].filter(([, k, v]) => (k.toLowerCase() === 'for' ? relative(v, now) : readTime(v, now, zone)) !== undefined);
  if (ends.length > 1) {
    const typed = ends.map(([, k, v]) => `"${k} ${v.slice(0, 40)}"`);
    return { ok: false, problem: `When the delegation ends is given ${ends.length === 2 ? 'twice' : `${ends.length} times`} (${typed.slice(0, -1).join(', ')} and ${typed.at(-1)}): give it once, ${usage(now, zone).replace(/^say when it ends: /, '')}.` };
  }
  const [, keyword, value] = m;
  if (keyword.toLowerCase() === 'for' && /^0+(s|m|h|d)$/.test(value)) return { ok: false, problem: `"for ${value.slice(0, 40)}" would end the delegation at once: it must last longer than zero, e.g. "for 3d".` };
  const until = keyword.toLowerCase() === 'for' ? relative(value, now) : readTime(value, now, zone);
  if (!until || Number.isNaN(until.getTime())) return { ok: false, problem: `"${value.slice(0, 40)}" is not a time Countersign can read: ${usage(now, zone)}.` };
  return { ok: true, until, zone };
}

function relative(value: string, now: Date): Date | undefined {
  const m = /^([1-9][0-9]{0,5})(s|m|h|d)$/.exec(value);
  return m ? new Date(now.getTime() + Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS] * 1000) : undefined;
}

/** An instant as people type it: ISO 8601 with or without a zone, a date, or HH:MM (the next one) in the zone. */
export function readTime(value: string, now: Date, zone: string): Date | undefined {
  const withZone = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.exec(value);
  if (withZone) {
    // JavaScript's Date rolls a day the month does not have, or 24:00, over into the next ("2026-11-31" is
    // 1 December): refused, as the form without a zone is, rather than read as another date than typed.
    const [y, mo, d, h, mi, s = '0'] = withZone.slice(1);
    if (!validFields(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s))) return undefined;
    return new Date(value);
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value);
  if (local) {
    const [y, mo, d, h = '0', mi = '0', s = '0'] = local.slice(1);
    const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)] as const;
    if (!validFields(...fields)) return undefined;
    return zonedToUtc(fields, zone);
  }
  const clock = /^(\d{1,2}):(\d{2})$/.exec(value);
  if (clock) {
    const [h, mi] = [Number(clock[1]), Number(clock[2])];
    if (h > 23 || mi > 59) return undefined;
    const today = partsIn(now, zone);
    const candidate = zonedToUtc([today.year, today.month, today.day, h, mi, 0], zone);
    return candidate.getTime() > now.getTime() ? candidate : zonedToUtc([today.year, today.month, today.day + 1, h, mi, 0], zone);
  }
  return undefined;
}

function validFields(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h <= 23 && mi <= 59 && s <= 59;
}

interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function partsIn(at: Date, zone: string): ZonedParts {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** The zone's offset from UTC at that instant, in ms. */
export function offsetAt(at: Date, zone: string): number {
  const p = partsIn(at, zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - (at.getTime() - at.getUTCMilliseconds());
}

/**
 * A wall-clock time in the zone as an instant. A time skipped by a daylight-saving jump moves forward
 * by the jump (02:30 in New York on the spring-forward day is 03:30 EDT), a time that comes twice is
 * the first of the two, east or west of UTC alike (as Temporal's "compatible"): the offsets a day
 * either side are the two a jump can give (one when there is none).
 */
export function zonedToUtc([y, mo, d, h, mi, s]: readonly [number, number, number, number, number, number], zone: string): Date {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const candidates = [...new Set([offsetAt(new Date(wall - 86_400_000), zone), offsetAt(new Date(wall + 86_400_000), zone)])].map((offset) => wall - offset);
  const exact = candidates.filter((at) => at + offsetAt(new Date(at), zone) === wall);
  // None reads back as the wall time: it is in a jump's gap, and the offset before the jump carries it past.
  return new Date(exact.length > 0 ? Math.min(...exact) : Math.max(...candidates));
}

/** A stored ISO time as a person reads it in a message that may be read in any zone: "2026-12-24 17:00 UTC". */
export function utcText(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : describeUntil(at, 'UTC');
}

/**
 * A stored ISO time as the person it answers reads it, in their zone (validated; UTC when absent or
 * unknown) with the UTC instant beside it: "2026-12-24 18:00 Europe/Berlin (2026-12-24T17:00:00.000Z)".
 */
export function zonedText(iso: string, zone: string | undefined): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : describeUntil(at, zoneOrUtc(zone));
}

/**
 * "2026-12-24 18:00 Europe/Berlin (2026-12-24T17:00:00.000Z)"; a time between two minutes with the
 * second it falls in ("2026-12-07 07:14:57 UTC"): most of these times are deadlines (an expiry, a
 * review due, a delegation's end), and given as the minute before, "expired: nobody approved it before
 * 07:14" said the request ended earlier than it did. Not rounded up: "it may end by … at the latest"
 * is a deadline too, one a later second would overstate.
 */
export function describeUntil(until: Date, zone: string): string {
  const p = partsIn(until, zone);
  const two = (n: number) => String(n).padStart(2, '0');
  const local = `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}${p.second ? `:${two(p.second)}` : ''}`;
  return zone === 'UTC' ? `${local} UTC` : `${local} ${zone} (${until.toISOString()})`;
}
