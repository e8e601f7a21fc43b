/**
 * A sweep's requests, each on its own: a request whose write fails (its row held by another
 * session past the store's lock wait, say) is given up for this sweep only, and the sweep goes on
 * with the others, rather than stopping at it, sweep after sweep, while every request after it in
 * the list waits (to expire, to be escalated or reminded, its execution to be taken over). The sweep
 * still fails in the end, with the first error, after one log line naming every request given up.
 */
import type { ApprovalRequest } from '../domain/request';
import type { AppDeps } from './context';
import type { RequestQuery } from './ports';

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

/** Requests read at a time by a look over every request in some states: probes and clicks are answered between pages. */
const REQUEST_PAGE = 500;

/**
 * Reads the requests `query` matches page by page (`pageSize` at a time), oldest first, giving each page to `work`, which
 * answers how far the next page starts (the page's length, less those it took out of the query's
 * states); the event loop gets a turn between pages, and only one page is held. A request that
 * changes between two pages may be read twice or not at all: each such look is a sweep (or the
 * start's catching up), and the next one, or the request's next change, finds it. Once `stop` is
 * aborted no other page is read.
 */
export async function eachPage(
  deps: Pick<AppDeps, 'store'>,
  query: RequestQuery,
  work: (page: ApprovalRequest[]) => Promise<number>,
  pageSize = REQUEST_PAGE,
  stop?: AbortSignal,
): Promise<void> {
  for (let offset = 0; !stop?.aborted; ) {
    const page = await deps.store.requests.list({ ...query, limit: pageSize, offset });
    const advance = await work(page);
    if (page.length < pageSize) return;
    offset += advance;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Those of the requests `query` matches that `keep` picks, read page by page (eachPage): a sweep over
 * ten thousand requests waiting for approval holds the few that are due, and does not keep clicks
 * and probes waiting while it reads the rest.
 */
export async function requestsWhere(deps: Pick<AppDeps, 'store'>, query: RequestQuery, keep: (r: ApprovalRequest) => boolean): Promise<ApprovalRequest[]> {
  const kept: ApprovalRequest[] = [];
  await eachPage(deps, query, async (page) => {
    for (const r of page) if (keep(r)) kept.push(r);
    return page.length;
  });
  return kept;
}
