/**
 * The keys that say how approvers are reached (notify, reminders, escalation), under a command's
 * policy or under `defaults`: built into the command's policy and checked against its time to live
 * and the declared roles. A problem is reported where the key is written (for a default, naming the
 * command it does not fit).
 */
import type { CommandPolicy } from '../domain/catalog';
import { formatDuration } from '../domain/duration-text';
import { parseDuration } from './duration';
import { REMINDER_LEAST } from './duration-floors';
import { undeclaredRole } from './suggest';
import type { RawCommand, RawConfig, RawReach } from './types';
import type { At } from './validate';

/** Where a reach key of a command comes from: its own policy, or the defaults. */
function pick<K extends keyof RawReach>(name: K, c: RawCommand, i: number, input: RawConfig): { value: RawReach[K]; key: (string | number)[]; forCommand: string; own: string } | undefined {
  const written = c.policy?.[name];
  // A default that does not fit a command is mended by the command's own key (there is no "none").
  if (written) return { value: written, key: ['commands', i, 'policy', name], forCommand: '', own: '' };
  const fallback = input.defaults?.[name];
  return fallback ? { value: fallback, key: ['defaults', name], forCommand: ` (for command "${c.name}")`, own: `, or give "${c.name}" its own policy.${name}` } : undefined;
}

export function buildReach(c: RawCommand, i: number, input: RawConfig, policy: Pick<CommandPolicy, 'approverRoles' | 'ttlSeconds'>, at: At): Pick<CommandPolicy, 'notify' | 'reminders' | 'escalation'> {
  const notify = pick('notify', c, i, input)?.value;
  const reminders = buildReminders(pick('reminders', c, i, input), policy.ttlSeconds, at);
  const escalation = buildEscalation(pick('escalation', c, i, input), policy, Object.keys(input.roles), at);
  return {
    notify: { approvers: notify?.approvers ?? 'personal', channels: notify?.channels ?? [] },
    ...(reminders ? { reminders } : {}),
    ...(escalation ? { escalation } : {}),
  };
}

function buildReminders(raw: ReturnType<typeof pick<'reminders'>>, ttlSeconds: number, at: At): CommandPolicy['reminders'] {
  if (!raw?.value) return undefined;
  const { value, key, forCommand, own } = raw;
  const seconds: number[] = [];
  value.at.forEach((point, j) => {
    const percent = /^([1-9][0-9]?)%$/.exec(point);
    const s = percent ? Math.round((ttlSeconds * Number(percent[1])) / 100) : safeDuration(point);
    if (s === undefined) return; // the schema reported it
    // A time to live of 0 is one the schema refused (and reported): nothing to compare with.
    if (ttlSeconds > 0 && s >= ttlSeconds) at([...key, 'at', j], `reminder point ${point} is not before expiry${forCommand}: the time to live is ${formatDuration(ttlSeconds)}${own}`);
    else if (ttlSeconds > 0 && (percent ? s < REMINDER_LEAST.seconds : false)) {
      // One written as a duration under the least is said by duration-floors.ts, without the time to live.
      at([...key, 'at', j], `reminder point ${point} falls ${formatDuration(s)} before expiry${forCommand}, the time to live being ${formatDuration(ttlSeconds)}: a reminder point must be at least ${REMINDER_LEAST.text} before expiry: ${REMINDER_LEAST.why}${own}`);
    } else if (ttlSeconds > 0 && ttlSeconds - s < REMINDER_LEAST.seconds) {
      at([...key, 'at', j], `reminder point ${point} falls ${formatDuration(ttlSeconds - s)} after the request is asked${forCommand}, the time to live being ${formatDuration(ttlSeconds)}: a reminder point must be at least ${REMINDER_LEAST.text} after it: ${REMINDER_LEAST.whyAfter}${own}`);
    } else if (s > 0 && !seconds.includes(s)) seconds.push(s);
  });
  const max = value.max ?? seconds.length;
  if (max > value.at.length) at([...key, 'max'], `max ${max} is more than the ${value.at.length} point(s) in at: one reminder at most is sent per point`);
  return seconds.length > 0 ? { beforeExpirySeconds: seconds.sort((a, b) => b - a), max } : undefined;
}

function buildEscalation(
  raw: ReturnType<typeof pick<'escalation'>>,
  policy: Pick<CommandPolicy, 'approverRoles' | 'ttlSeconds'>,
  declared: string[],
  at: At,
): CommandPolicy['escalation'] {
  if (!raw?.value) return undefined;
  const { value, key, forCommand, own } = raw;
  if (!declared.includes(value.role)) {
    at([...key, 'role'], undeclaredRole(value.role, declared));
  } else if (policy.approverRoles.includes(value.role)) {
    at([...key, 'role'], `role "${value.role}" already approves${forCommand}: escalating to it would change nothing; name another role${own}`);
  }
  const afterSeconds = safeDuration(value.after);
  if (afterSeconds === undefined) return undefined;
  if (policy.ttlSeconds > 0 && afterSeconds >= policy.ttlSeconds) {
    at([...key, 'after'], `escalation after ${value.after} comes at or after expiry${forCommand}: the time to live is ${formatDuration(policy.ttlSeconds)}; make it shorter${own}`);
  }
  return { role: value.role, afterSeconds };
}

function safeDuration(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}
