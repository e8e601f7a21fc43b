/**
 * The keys that say when a command may run: `windows` (maintenance windows) and `maxScheduleAhead`
 * (how long an approval stays valid, under a command's policy or `defaults`; default 7d). A zone
 * this runtime's Intl does not know, an empty window, a validity shorter than the longest wait
 * for a window or longer than 90 days is reported where it is written. And `breakGlass`, the
 * exception to "approved first": off unless `allowed: true`, for declared roles only, its durations
 * bounded too.
 */
import { formatDuration } from '../domain/duration-text';
import { DEFAULT_MAX_AHEAD_SECONDS, longestWait, type SchedulePolicy } from '../domain/schedule';
import type { BreakGlassPolicy } from '../domain/request';
import { undeclaredRole } from './suggest';
import { parseDuration } from './duration';
import type { RawCommand, RawConfig } from './types';
import type { At } from './validate';

/**
 * Upper bounds of the duration keys here. Past them a value is no longer a policy but a typo, and
 * far past them (999999999d) the dates computed from it are invalid and the request fails on a
 * person's turn instead of at load.
 */
const DAY = 86400;
/** An approval used months after it was given approves what may no longer be meant (as `ttl`). */
const MAX_SCHEDULE_AHEAD_SECONDS = 90 * DAY;
/** A break-glass use left unreviewed for more than a month has not been reviewed. */
const MAX_REVIEW_WITHIN_SECONDS = 30 * DAY;
/** "At most once a year" is the longest rate of break-glass uses worth counting. */
const MAX_USES_PER_SECONDS = 365 * DAY;

function knownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Seconds as a duration the config takes, rounded up to the unit that writes it whole or the hour: 7d, 169h. */
function durationText(seconds: number): string {
  if (seconds % DAY === 0) return `${seconds / DAY}d`;
  return `${Math.ceil(seconds / 3600)}h`;
}

/** Undefined when the command says nothing of when it runs (any time; approvals valid for the default 7 days). */
export function buildSchedule(c: RawCommand, i: number, input: RawConfig, at: At): SchedulePolicy | undefined {
  const key = ['commands', i, 'policy'];
  const windows = c.policy?.windows ?? [];
  windows.forEach((w, j) => {
    if (!knownZone(w.zone)) at([...key, 'windows', j, 'zone'], `"${w.zone}" is not a time zone this runtime knows; use an IANA name such as Europe/London or UTC`);
    if (w.from === w.to) at([...key, 'windows', j, 'to'], `the window opens and closes at ${w.from}: it would never be open; give it a length`);
  });
  const own = c.policy?.maxScheduleAhead;
  const written = own ?? input.defaults?.maxScheduleAhead;
  // (A zone Intl does not know is said above; its window cannot be placed.)
  const wait = longestWait(windows.filter((w) => knownZone(w.zone)));
  // Not written: 7 days, or the longest wait when longer (a weekly window shorter than the autumn's jump), rounded up to the hour.
  const maxAheadSeconds = written ? parseDuration(written) : Math.max(DEFAULT_MAX_AHEAD_SECONDS, Math.ceil(wait / 3600) * 3600);
  const where = own ? [...key, 'maxScheduleAhead'] : written ? ['defaults', 'maxScheduleAhead'] : [...key, 'windows'];
  if (maxAheadSeconds > MAX_SCHEDULE_AHEAD_SECONDS) {
    at(where, `an approval may stay valid at most 90d: one used months after it was given approves what may no longer be meant (got ${written})`);
  } else if (wait > maxAheadSeconds) {
    at(where, `an approval valid for ${formatDuration(maxAheadSeconds)} can run out before the next window opens (up to ${formatDuration(wait)} from a window's close to the next opening, daylight saving included)${own ? '' : ` for command "${c.name}"`}; make maxScheduleAhead at least ${durationText(wait)}`);
  }
  if (windows.length === 0 && !written) return undefined;
  return { windows: windows.map((w) => ({ days: [...w.days], from: w.from, to: w.to, zone: w.zone })), maxAheadSeconds };
}

/** Undefined unless the policy says `breakGlass: { allowed: true, ... }`; a block turned off is checked all the same. */
export function buildBreakGlass(c: RawCommand, i: number, input: RawConfig, at: At): BreakGlassPolicy | undefined {
  const raw = c.policy?.breakGlass;
  if (!raw) return undefined;
  const key = ['commands', i, 'policy', 'breakGlass'];
  const declared = Object.keys(input.roles);
  raw.roles.forEach((r, j) => {
    if (!declared.includes(r)) at([...key, 'roles', j], undeclaredRole(r, declared));
  });
  const reviewWithinSeconds = parseDuration(raw.reviewWithin);
  if (reviewWithinSeconds > MAX_REVIEW_WITHIN_SECONDS) {
    at([...key, 'reviewWithin'], `a break-glass use must be reviewed within at most 30d: one left unreviewed longer has not been reviewed (got ${raw.reviewWithin})`);
  }
  const perSeconds = raw.maxUses ? parseDuration(raw.maxUses.per) : 0;
  if (perSeconds > MAX_USES_PER_SECONDS) {
    at([...key, 'maxUses', 'per'], `uses are counted over at most 365d, such as 24h, 7d or 30d (got ${raw.maxUses!.per})`);
  }
  // Checked all the same when turned off: a typo there would go live, unseen, the day it is turned on.
  if (!raw.allowed) return undefined;
  return {
    roles: [...raw.roles],
    reviewWithinSeconds,
    notify: [...(raw.notify ?? [])],
    ...(raw.maxUses ? { maxUses: { count: raw.maxUses.count, perSeconds } } : {}),
  };
}
