/**
 * A checkpoint at least every N records: the store is wrapped so that every write that appended
 * audit records (any method resolving to records: requests, audit, compliance) counts them, and
 * once N have been appended since the last checkpoint, `due` is called (it signs the head). With
 * the timer (audit.checkpointInterval) and the checkpoint at every start and shutdown, this bounds
 * how much of the log's end could be cut off without a checkpoint showing it.
 */
import type { Store } from '../../app/ports';
import type { AuditStore } from '../ports';

function auditRecordsIn(value: unknown): number {
  if (!Array.isArray(value)) return 0;
  let n = 0;
  for (const r of value as { seq?: unknown; hash?: unknown; type?: unknown }[]) {
    if (typeof r?.seq === 'number' && typeof r.hash === 'string' && r.type !== 'audit.checkpoint') n++;
  }
  return n;
}

export function checkpointEveryRecords<S extends Store & AuditStore>(store: S, every: number, due: () => Promise<unknown>): S {
  let since = 0;
  let signing = false;
  const counted = (value: unknown) => {
    since += auditRecordsIn(value);
    if (since < every || signing) return;
    since = 0;
    signing = true;
    void due().finally(() => (signing = false));
  };
  const wrap = <T extends object>(part: T): T =>
    new Proxy(part, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) return result.then((v: unknown) => (counted(v), v));
          return result;
        };
      },
    });
  const parts = { requests: wrap(store.requests), audit: wrap(store.audit), compliance: wrap(store.compliance) };
  return new Proxy(store, {
    get(target, key) {
      if (key in parts) return parts[key as keyof typeof parts];
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
