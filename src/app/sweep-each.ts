/**
 * A sweep's requests, each on its own: a request whose write fails (its row held by another
 * session past the store's lock wait, say) is given up for this sweep only, and the sweep goes on
 * with the others, rather than stopping at it, sweep after sweep, while every request after it in
 * the list waits (to expire, to be escalated or reminded, its execution to be taken over). The sweep
 * still fails in the end, with the first error, after one log line naming every request given up.
 */
import type { AppDeps } from './context';

export async function eachRequest<R extends { id: string }>(
  deps: Pick<AppDeps, 'log'>,
  what: string,
  requests: readonly R[],
  work: (r: R) => Promise<void>,
  stop?: AbortSignal,
): Promise<void> {
  const failed: { requestId: string; err: string }[] = [];
  let first: { err: unknown } | undefined;
  for (const r of requests) {
    if (stop?.aborted) break;
    try {
      await work(r);
    } catch (err) {
      first ??= { err };
      failed.push({ requestId: r.id, err: String(err) });
    }
  }
  if (!first) return;
  deps.log.error({ requestIds: failed.map((f) => f.requestId), failed }, `${what}: ${failed.length} of ${requests.length} request(s) could not be done this time; the next sweep tries again`);
  throw first.err;
}
