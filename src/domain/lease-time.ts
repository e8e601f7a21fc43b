/**
 * When an execution's lease holds, with wall clocks that can step. A lease is granted for one period
 * (expiry = the owner's now + period) and renewed every third of it, so by a clock that agrees with
 * the owner's its expiry is never more than one period ahead. One that is further ahead was recorded
 * before the clock stepped back (or by a clock far ahead of ours): waiting for it would stall the
 * takeover of a crashed execution by the size of the step, so it counts as lapsed. The owner, if it
 * is alive, loses nothing but the lease: the run that takes over follows the same ARM operation and
 * never starts it again.
 */

/** Whether the lease no longer holds at `now`, for leases granted for `periodMs`. */
export function leaseLapsed(expiresAt: string, now: Date, periodMs: number): boolean {
  const left = Date.parse(expiresAt) - now.getTime();
  return !(left > 0 && left <= periodMs);
}
