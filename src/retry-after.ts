/**
 * An HTTP `Retry-After` (RFC 9110 §10.2.3), read the same way wherever an answer carries one: the
 * Bot Connector's, ARM's and Microsoft Graph's. It is a number of seconds or an HTTP date; anything
 * else is no instruction. A wait is capped (a minute by default): every service Countersign calls
 * throttles in windows of a minute or less, and one answer asking for a day would otherwise hold a
 * drift check, a card update or a group lookup that long without a word, and past a stop.
 */

/** The longest wait one Retry-After may ask for. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * The wait a Retry-After asks for, in milliseconds, at most `maxMs`: 0 for a date already past,
 * undefined when the header is absent or unreadable (the caller's own backoff applies).
 */
export function retryAfterMs(header: string | null | undefined, maxMs = MAX_RETRY_AFTER_MS, now = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(value)) ms = Number(value) * 1000;
  else if (/[a-z]/i.test(value) && Number.isFinite(Date.parse(value))) ms = Math.max(0, Date.parse(value) - now);
  else return undefined;
  return Math.min(ms, maxMs);
}
