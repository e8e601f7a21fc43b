/**
 * Whether the store can take a durable write now, as /readyz and the expiry sweep ask it, with the
 * log told when that changes. Wired by the composition root (src/composition-root.ts).
 */
import type { AppDeps } from '../app/context';
import type { Logger } from '../log/context';

/** Whether the store can take a durable write now (its files checked too), logged when that changes. */
export function storeReadiness(deps: Pick<AppDeps, 'store'>, log: Logger): () => Promise<boolean> {
  let storeWasOk = true;
  return async (): Promise<boolean> => {
    const storeOk = await deps.store.ping().catch(() => false);
    if (storeOk !== storeWasOk) logReadiness(log, deps.store, storeOk);
    storeWasOk = storeOk;
    return storeOk;
  };
}

/** When readiness changes, the log says why (the stores can tell: full, locked, closed, read-only). */
function logReadiness(log: Logger, store: object, ok: boolean): void {
  const problem = (store as Partial<{ writeReadiness(): { problem?: string } }>).writeReadiness?.().problem;
  if (ok) log.info({}, 'store ready for writes again');
  else log.warn({ problem }, 'store not ready for writes: /readyz answers 503');
}
