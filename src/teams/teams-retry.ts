/**
 * Countersign's one retry of Teams' answers (the connector clients try each call once:
 * connector-calls.ts). 429 and 412 say the call was not carried out, 502 and 504 that a gateway
 * failed; each is tried again up to 6 times in all, with exponential backoff and jitter from 0.5 s
 * up to 16 s, or after Teams' Retry-After (at most a minute). A new message whose answer was lost
 * reaches here without a status (connector-calls.ts), so it is never sent again.
 */

import { retryAfterMs } from '../retry-after';

const RETRYABLE = new Set([429, 412, 502, 504]);

export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const TEAMS_RETRY: RetryOptions = { attempts: 6, baseDelayMs: 500, maxDelayMs: 16000 };

/** Retries Teams' transient answers; honours Retry-After when the connector sends one. */
export async function withTeamsRetry<T>(fn: () => Promise<T>, options: RetryOptions = TEAMS_RETRY, sleep = delay): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const status = statusOf(err);
      if (!status || !RETRYABLE.has(status) || attempt >= options.attempts) throw err;
      const retryAfter = retryAfterOf(err);
      const backoff = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
      await sleep(retryAfter ?? backoff / 2 + Math.random() * (backoff / 2));
    }
  }
}

/** The HTTP status of a failed Bot Connector call, in whichever field botbuilder put it. */
export function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: number; status?: number; response?: { status?: number } };
  return e?.statusCode ?? e?.status ?? e?.response?.status;
}

/** The Retry-After of a failed Bot Connector call, in milliseconds (at most a minute). */
function retryAfterOf(err: unknown): number | undefined {
  const headers = (err as { response?: { headers?: { get?(n: string): string | undefined } } })?.response?.headers;
  return retryAfterMs(headers?.get?.('retry-after'));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
