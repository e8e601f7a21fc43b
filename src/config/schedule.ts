/**
 * The keys that say when a command may run: `windows` (maintenance windows) and `maxScheduleAhead`
 * (how long an approval stays valid, under a command's policy or `defaults`; default 7d). A zone
 * this runtime's Intl does not know, an empty window, or a validity shorter than the longest wait
 * for a window is reported where it is written. And `breakGlass`, the exception to "approved first":
 * off unless `allowed: true`, for declared roles only.
 */
import { formatDuration } from '../domain/duration-text';
import { DEFAULT_MAX_AHEAD_SECONDS, longestWait, type SchedulePolicy } from '../domain/schedule';
import type { BreakGlassPolicy } from '../domain/request';
import { didYouMean } from './suggest';
import { parseDuration } from './duration';
import type { RawCommand, RawConfig } from './types';

type At = (key: (string | number)[], problem: string) => void;

function knownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
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
  const maxAheadSeconds = written ? parseDuration(written) : DEFAULT_MAX_AHEAD_SECONDS;
  const wait = longestWait(windows);
  if (wait > maxAheadSeconds) {
    const where = own ? [...key, 'maxScheduleAhead'] : written ? ['defaults', 'maxScheduleAhead'] : [...key, 'windows'];
    at(where, `an approval valid for ${formatDuration(maxAheadSeconds)} can run out before the next window opens (up to ${formatDuration(wait)} apart)${own ? '' : ` for command "${c.name}"`}; make maxScheduleAhead at least ${formatDuration(wait)}`);
  }
  if (windows.length === 0 && !written) return undefined;
  return { windows: windows.map((w) => ({ days: [...w.days], from: w.from, to: w.to, zone: w.zone })), maxAheadSeconds };
}

/** Undefined unless the policy says `breakGlass: { allowed: true, ... }`. */
export function buildBreakGlass(c: RawCommand, i: number, input: RawConfig, at: At): BreakGlassPolicy | undefined {
  const raw = c.policy?.breakGlass;
  if (!raw?.allowed) return undefined;
  const key = ['commands', i, 'policy', 'breakGlass'];
  const declared = Object.keys(input.roles);
  raw.roles.forEach((r, j) => {
    if (!declared.includes(r)) at([...key, 'roles', j], `role "${r}" is not declared under roles${didYouMean(r, declared)} (declared: ${declared.join(', ')})`);
  });
  return {
    roles: [...raw.roles],
    reviewWithinSeconds: parseDuration(raw.reviewWithin),
    notify: [...(raw.notify ?? [])],
    ...(raw.maxUses ? { maxUses: { count: raw.maxUses.count, perSeconds: parseDuration(raw.maxUses.per) } } : {}),
  };
}
