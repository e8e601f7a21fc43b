/**
 * The store as the composition root hands it to the use cases, with every audit append timed and
 * counted. A failed append is timed and rethrown untouched: telemetry never changes an outcome.
 */
import type { AuditLog, RequestStore, Store } from '../app/ports';
import type { AuditRecord } from '../domain/audit';
import type { CountersignMetrics } from './metrics';

type Operation = 'append' | 'insert' | 'update';

async function measured(metrics: CountersignMetrics, operation: Operation, work: () => Promise<AuditRecord[]>): Promise<AuditRecord[]> {
  const started = performance.now();
  let records: AuditRecord[];
  try {
    records = await work();
  } catch (err) {
    metrics.appendTook(performance.now() - started, operation, 'error');
    throw err;
  }
  metrics.appendTook(performance.now() - started, operation, 'ok');
  try {
    metrics.appended(records);
  } catch {
    // A metric that cannot be recorded must not fail an append that is already durable.
  }
  return records;
}

/** A view of `target` whose methods stay bound to it, with some members replaced. */
function overlay<T extends object>(target: T, replaced: Partial<T>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.prototype.hasOwnProperty.call(replaced, prop)) return replaced[prop as keyof T];
      const value = Reflect.get(t, prop, t) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
}

const INSTRUMENTED = Symbol('countersign.telemetry');

/** True when the store is (or wraps) one `instrumentStore` made: telemetry is on. */
export function isInstrumented(store: object): boolean {
  return (store as { [INSTRUMENTED]?: boolean })[INSTRUMENTED] === true;
}

export function instrumentStore<S extends Store>(store: S, metrics: CountersignMetrics): S {
  // Every argument is passed on as given, not listed again here: a parameter a port gains later
  // (as insert's break-glass limit) would otherwise be dropped without a compile error.
  const audit = overlay<AuditLog>(store.audit, {
    append: (...args) => measured(metrics, 'append', () => store.audit.append(...args)),
  });
  const requests = overlay<RequestStore>(store.requests, {
    insert: (...args) => measured(metrics, 'insert', () => store.requests.insert(...args)),
    update: (...args) => measured(metrics, 'update', () => store.requests.update(...args)),
  });
  return overlay<S>(store, { audit, requests, [INSTRUMENTED]: true } as unknown as Partial<S>);
}
