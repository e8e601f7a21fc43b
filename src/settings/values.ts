/**
 * How a variable's text is read, for every setting: empty is not set; a port, a URL, a count or a
 * duration is read strictly, and a wrong one is a SettingsError naming the variable and what it must be.
 */

export class SettingsError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'SettingsError';
  }
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A variable's value; an empty one is not set. */
export function variable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function readPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = variable(env, name);
  // In digits: Number() would read " " as 0 (a random port), "0x50" as 80 and "8e3" as 8000.
  const port = text === undefined ? fallback : /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SettingsError(name, `must be a port number from 0 to 65535, in digits, got "${text}"`);
  return port;
}

/** The URL a variable holds, or a SettingsError saying what it must be. */
export function urlIn(variable: string, text: string, expected: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new SettingsError(variable, `must be ${expected}, got "${text}"`);
  }
}

/** A whole number from 1 to `max`, written in digits (not 1e9 or 0x50). */
export function readCount(variable: string, text: string | undefined, fallback: number, max: number): number {
  if (!text) return fallback;
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new SettingsError(variable, `must be a whole number from 1 to ${max.toLocaleString('en-US')}, in digits, got "${text}"`);
  return n;
}

/** The longest a timer waits (Node runs one set longer at once, every millisecond). */
export const TIMER_MAX_MS = 2_147_483_647;

/**
 * `250ms`, `90s`, `30m`, `2h`, `1d`; at least `minMs` (one second unless said otherwise). A wrong value is
 * answered with `examples`: values of the setting's own scale (a wait of seconds is not offered hours).
 */
export function readDuration(variable: string, text: string | undefined, fallback: number, { minMs = 1000, maxMs = 24 * 3_600_000, maxText = '24h', examples }: { minMs?: number; maxMs?: number; maxText?: string; examples: string }): number {
  if (!text) return fallback;
  // The units of the YAML config's durations too (d included), and ms: a setting written as the config writes it is taken.
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'] : NaN;
  const least = minMs === 0 ? '' : ` of at least ${minMs % 1000 === 0 ? `${minMs / 1000}s` : `${minMs}ms`}`;
  if (!(ms >= minMs)) throw new SettingsError(variable, `must be a duration${least} such as ${examples} (a whole number followed by ms, s, m, h or d), got "${text}"`);
  if (ms > Math.min(maxMs, TIMER_MAX_MS)) throw new SettingsError(variable, `must be at most ${maxText} (such as ${examples}), got "${text}"`);
  return ms;
}
