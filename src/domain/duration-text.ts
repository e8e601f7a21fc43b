/**
 * Durations said the same way everywhere (cards, chat, config messages): "4 hours", "1 hour 30
 * minutes", "45 seconds".
 */

/** A count with its noun in the right number: plural(1, 'approval') is "1 approval". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

/** Seconds in each unit of a duration such as 30m, 4h or 2d. */
export const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** Seconds in words, in at most two units (days and hours, hours and minutes, ...). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [size, name] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || (parts.length === 0 && size === 1)) {
      parts.push(plural(n, name));
      rest -= n * size;
    }
    if (parts.length > 0 && (rest === 0 || parts.length === 2)) break;
  }
  return parts.join(' ');
}
