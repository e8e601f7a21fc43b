/**
 * When an approved request may run: at the time its requester asked for (`... at <time>`), inside
 * one of its command's maintenance windows, or both (the first window moment at or after the time
 * asked for). Pure: the caller supplies now.
 *
 * A window opens on each of its days at `from` and closes at `to`, wall-clock time in its zone; a
 * `to` at or before `from` closes the next day (a window over midnight). A daylight-saving jump
 * moves a skipped wall-clock time forward, as everywhere else in Countersign; a window whose `from`
 * it skips moves forward whole, for its written length, so that every window opens every week
 * (02:30-03:00 when 02:00 jumps to 03:00 opens 03:30-04:00: read with `to` as written it would have
 * no time at all, and a request approved the week before would wait two weeks, past its approval).
 */
import { describeUntil, exampleDay, offsetAt, partsIn, readTime, zonedToUtc, zoneOrUtc } from './delegation-time';
import { formatDuration } from './duration-text';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface MaintenanceWindow {
  days: Weekday[];
  /** HH:MM, wall-clock time in `zone`. */
  from: string;
  to: string;
  /** IANA zone name (validated with Intl when the config is loaded). */
  zone: string;
}

/** The command's scheduling rules as the request recorded them. */
export interface SchedulePolicy {
  /** Empty: any time. */
  windows: MaintenanceWindow[];
  /** How long an approval stays valid; a requested run time further ahead than this is refused. */
  maxAheadSeconds: number;
}

/**
 * Seven days: a weekly window opens within it, but for one shorter than a daylight-saving jump in
 * the autumn's week; a command with windows and no validity written gets the longest wait for
 * them when that is longer (config/schedule.ts).
 */
export const DEFAULT_MAX_AHEAD_SECONDS = 7 * 86_400;

function hm(text: string): [number, number] {
  const [h, m] = text.split(':').map(Number);
  return [h, m];
}

/** The windows' openings around `at`: [start, end) pairs from the day before to eight days after. */
function spans(windows: readonly MaintenanceWindow[], at: Date): { start: Date; end: Date }[] {
  const out: { start: Date; end: Date }[] = [];
  for (const w of windows) {
    const today = partsIn(at, w.zone);
    const [fh, fm] = hm(w.from);
    const [th, tm] = hm(w.to);
    const overnight = th * 60 + tm <= fh * 60 + fm;
    for (let d = -1; d <= 8; d++) {
      const day = new Date(Date.UTC(today.year, today.month - 1, today.day + d));
      if (!w.days.includes(WEEKDAYS[day.getUTCDay()])) continue;
      const [y, mo, dd] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
      const start = zonedToUtc([y, mo, dd, fh, fm, 0], w.zone);
      const opened = partsIn(start, w.zone);
      const skipped = opened.hour !== fh || opened.minute !== fm;
      const length = (th * 60 + tm - (fh * 60 + fm) + (overnight ? 1440 : 0)) * 60_000;
      const end = skipped ? new Date(start.getTime() + length) : zonedToUtc([y, mo, dd + (overnight ? 1 : 0), th, tm, 0], w.zone);
      out.push({ start, end });
    }
  }
  return out;
}

/** The first moment at or after `at` inside a window (`at` itself when a window is open then); undefined if none opens within eight days. */
export function nextWindowMoment(windows: readonly MaintenanceWindow[], at: Date): Date | undefined {
  let best: number | undefined;
  for (const { start, end } of spans(windows, at)) {
    if (end.getTime() <= at.getTime()) continue;
    const moment = Math.max(start.getTime(), at.getTime());
    if (best === undefined || moment < best) best = moment;
  }
  return best === undefined ? undefined : new Date(best);
}

/**
 * When a request approved now runs: not before the time asked for, not before now, and inside a
 * window when the policy names any. Equal to now: at once.
 */
export function plannedRun(schedule: SchedulePolicy | undefined, requestedRunAt: string | undefined, now: Date): Date {
  const earliest = new Date(Math.max(now.getTime(), requestedRunAt ? Date.parse(requestedRunAt) : 0));
  if (!schedule || schedule.windows.length === 0) return earliest;
  return nextWindowMoment(schedule.windows, earliest) ?? earliest;
}

export type RunAtParse = { ok: true; runAt: Date } | { ok: false; problem: string };

/** How to say when to run, with examples tomorrow in the sender's zone (never a date already past). */
function usage(now: Date, zone: string): string {
  const day = exampleDay(now, zone, 1);
  return `say when it should run: "at ${day}T02:00", "at ${day}T02:00Z" or "at 02:00" (the next 02:00 in your time zone)`;
}

/** Reads the time after `at`, in the sender's zone, and checks it is in the future and within the approval's validity. */
export function parseRunAt(value: string, now: Date, zone: string, maxAheadSeconds: number): RunAtParse {
  const runAt = readTime(value, now, zone);
  if (!runAt || Number.isNaN(runAt.getTime())) return { ok: false, problem: `"${value.slice(0, 40)}" is not a time Countersign can read: ${usage(now, zone)}.` };
  if (runAt.getTime() <= now.getTime()) return { ok: false, problem: `${describeUntil(runAt, zoneOrUtc(zone))} is not in the future; ${usage(now, zone)}.` };
  if (runAt.getTime() > now.getTime() + maxAheadSeconds * 1000) {
    const at = zoneOrUtc(zone);
    return { ok: false, problem: `${describeUntil(runAt, at)} is too far ahead: an approval stays valid for ${formatDuration(maxAheadSeconds)} (maxScheduleAhead), so ask for a time before ${describeUntil(new Date(now.getTime() + maxAheadSeconds * 1000), at)}.` };
  }
  return { ok: true, runAt };
}

const WEEK_MINUTES = 7 * 1440;

/** The zone's offsets from UTC in minutes in January and in July: two apart by its daylight-saving jump, or one twice. */
function offsetsOf(zone: string): [number, number] {
  const at = (month: number) => offsetAt(new Date(Date.UTC(2026, month, 15)), zone) / 60_000;
  return [at(0), at(6)];
}

/**
 * The longest an approval can wait for a window, in seconds: from a window's close to the next
 * opening, round the week (a weekly 02:00-05:00: 7 days less 3 hours), and longer by a
 * daylight-saving jump (the autumn's hour comes twice: a weekly 02:00-02:30 in New York is 7 days
 * and 30 minutes from the one before that week). Windows in several zones are placed by their
 * winter offsets, and each side of a wait may then be a jump off: counted twice. An approval must
 * stay valid at least this long, or a window may never come in time.
 */
export function longestWait(windows: readonly MaintenanceWindow[]): number {
  const spans: [number, number][] = [];
  const zones = new Set(windows.map((w) => w.zone));
  let jump = 0;
  for (const w of windows) {
    const [winter, summer] = offsetsOf(w.zone);
    jump = Math.max(jump, Math.abs(summer - winter));
    const [fh, fm] = hm(w.from);
    const [th, tm] = hm(w.to);
    const length = (th * 60 + tm - (fh * 60 + fm) + 1440) % 1440 || 1440;
    for (const d of w.days) {
      const open = (((WEEKDAYS.indexOf(d) * 1440 + fh * 60 + fm - winter) % WEEK_MINUTES) + WEEK_MINUTES) % WEEK_MINUTES;
      spans.push([open, open + length], [open + WEEK_MINUTES, open + length + WEEK_MINUTES]);
    }
  }
  if (spans.length === 0) return 0;
  spans.sort((a, b) => a[0] - b[0]);
  // Two weeks of openings in a row: the wait round the end of the week is one between them.
  let longest = 0;
  let reach = spans[0][1];
  for (const [open, close] of spans.slice(1)) {
    longest = Math.max(longest, open - reach);
    reach = Math.max(reach, close);
  }
  return (longest + jump * (zones.size > 1 ? 2 : 1)) * 60;
}
