/**
 * Reading the status of an operation ARM has accepted. Once accepted, the operation runs in Azure
 * whatever happens to our reads of its status, so an error reading it (a 429, a 5xx, a broken
 * connection, even a 403) says nothing about how the operation ends: it is never its failure. Reads
 * that fail for a passing reason are tried again, backing off and honouring Retry-After, for as long
 * as `patienceMs` allows since the last read that worked; after that, or on an error that waiting
 * will not cure, the outcome is unknown (never failed, never succeeded), and the person is told to
 * look in Azure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isRestError } from '@azure/core-rest-pipeline';
import type { ArmError } from '../../domain/operation';
import { retryAfterMs } from '../../retry-after';
import { ArmRequestError, isPassing as passing, STATUS_UNREADABLE, toArmError } from '../errors';

/** How long an accepted operation's status may stay unreadable before its outcome is called unknown. */
export const DEFAULT_STATUS_PATIENCE_MS = 15 * 60_000;

/** The longest wait between two tries of a status read, Retry-After included. */
const MAX_BACKOFF_MS = 60_000;

export class StatusReads {
  private failingSince: number | undefined;
  private attempt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly patienceMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly describe: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A read of the status worked: the patience starts again. */
  worked(): void {
    this.failingSince = undefined;
    this.attempt = 0;
  }

  /**
   * After a failed read: waits before the next try, or throws the unknown outcome's error when
   * waiting will not help. `retryAfterMs` is ARM's Retry-After, when it gave one.
   */
  async failed(error: ArmError, retryAfterMs?: number): Promise<void> {
    const now = this.now();
    this.failingSince ??= now;
    const waited = now - this.failingSince;
    if (!passing(error) || waited >= this.patienceMs) {
      const why = passing(error) ? `for ${Math.round(waited / 1000)} s` : 'and trying again would not help';
      throw new ArmRequestError({
        code: STATUS_UNREADABLE,
        message:
          `Azure accepted ${this.describe}, but its status could not be read ${why} (last answer: ${error.message}). ` +
          'It may still be running, or have ended either way: how it ended is unknown, so check it in Azure.',
        details: [`${error.code}${error.httpStatus !== undefined ? ` (HTTP ${error.httpStatus})` : ''}: ${error.message}`],
      });
    }
    const backoff = Math.min(MAX_BACKOFF_MS, this.intervalMs * 2 ** this.attempt);
    this.attempt += 1;
    // Retry-After is honoured up to the backoff's ceiling, so that the patience keeps its length.
    const wait = Math.max(backoff, Math.min(retryAfterMs ?? 0, MAX_BACKOFF_MS));
    // An abort (a graceful stop, a lost lease) ends the wait with an AbortError, as it ends a poll.
    await sleep(wait, undefined, this.signal ? { signal: this.signal } : {});
  }
}

/**
 * An SDK error that is a read failing for a passing reason (a 429, a 5xx, an answer whose body could
 * not be read, a broken connection), with ARM's Retry-After; undefined for anything else: another 4xx
 * (a Location poll answers a failed operation with its error status; a 404 is read by the callers),
 * the operation's own failure or cancellation, an abort (none of these is a RestError with such a status).
 */
export function passingReadError(e: unknown): { error: ArmError; retryAfterMs?: number } | undefined {
  if (!isRestError(e)) return undefined;
  const error = toArmError(e);
  if (!passing(error)) return undefined;
  const after = retryAfterMs(e.response?.headers.get('retry-after'));
  return { error, ...(after !== undefined ? { retryAfterMs: after } : {}) };
}

/** One read of an accepted operation or its target, tried again through passing failures (`reads`). */
export async function readThrough<T>(reads: StatusReads, read: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      const value = await read();
      reads.worked();
      return value;
    } catch (e) {
      const unread = passingReadError(e);
      if (!unread) throw e;
      await reads.failed(unread.error, unread.retryAfterMs);
    }
  }
}

