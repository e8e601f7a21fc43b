/**
 * When a command may run and whether break-glass is allowed, in words: for `help` and for
 * `countersign config check`'s account of each command's effective policy (which adds who may ask
 * and who must approve).
 */
import type { CommandPolicy } from './catalog';
import { formatDuration, plural } from './duration-text';
import type { ReasonPolicy } from './reason';
import { DEFAULT_MAX_AHEAD_SECONDS, type MaintenanceWindow } from './schedule';

/** "when it may run: ..." for the command's policy. */
export function whenItMayRun(p: CommandPolicy): string {
  const validity = formatDuration(p.schedule?.maxAheadSeconds ?? DEFAULT_MAX_AHEAD_SECONDS);
  const windows = p.schedule?.windows ?? [];
  const where = windows.length
    ? `only in its maintenance window(s) ${windowsText(windows)}`
    : 'at once when approved';
  return `when it may run: ${where}, or later with "at <time>"; an approval stays valid ${validity}`;
}

/** "sat/sun 02:00-05:00 Europe/London, mon 22:00-23:00 UTC". */
export function windowsText(windows: readonly MaintenanceWindow[]): string {
  return windows.map((w) => `${w.days.join('/')} ${w.from}-${w.to} ${w.zone}`).join(', ');
}

/** The reason rule: "required, at least 20 characters, saying something (no placeholders or repeats)", or "optional". */
export function reasonRuleWords(rule: ReasonPolicy | undefined): string {
  return rule?.required ? `required, at least ${plural(rule.minLength, 'character')}, saying something (no placeholders or repeats)` : 'optional';
}

/** "break-glass: ..." for the command's policy. */
export function breakGlassWords(p: CommandPolicy): string {
  const b = p.breakGlass;
  if (!b) return 'break-glass: not allowed';
  const notice = b.notify.length ? `, notice to ${b.notify.length} channel(s)` : '';
  const limit = b.maxUses ? `, at most ${b.maxUses.count} use(s) per person in ${formatDuration(b.maxUses.perSeconds)}` : '';
  return `break-glass: allowed for ${b.roles.join(' or ')} with a reason, reviewed by an approver within ${formatDuration(b.reviewWithinSeconds)}${notice}${limit}`;
}
