/** Durations as written in the config: a whole number, then s, m, h or d. */
export function parseDuration(text: string): number {
  const m = /^([1-9][0-9]*)(s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** A duration the schema refused (and reported) builds as 0, so the rest of the file is still checked. */
export function durationOrZero(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    return 0;
  }
}
