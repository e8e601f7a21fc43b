/**
 * Expiry is durable: pending requests past their time to live are found in the store (so a
 * restart loses nothing) and moved to expired, with their cards updated and requesters told.
 */
import { DECIDABLE_STATES } from '../domain/request';
import type { AppDeps } from './context';
import { expireNow } from './decisions';
import { eachRequest } from './sweep-each';

export async function sweepExpired(deps: AppDeps, stop?: AbortSignal): Promise<string[]> {
  const due = await deps.store.requests.list({ states: [...DECIDABLE_STATES], expiringBefore: deps.clock.now().toISOString() });
  const expired: string[] = [];
  try {
    // A stop asked: those not reached yet are expired by the next sweep (or start), one write at a time.
    await eachRequest(
      deps,
      'expiry sweep',
      due,
      async (r) => {
        const after = await expireNow(deps, r);
        if (after?.state === 'expired') expired.push(r.id);
      },
      stop,
    );
  } finally {
    if (expired.length > 0) deps.log.info({ expired }, 'requests expired');
  }
  return expired;
}
