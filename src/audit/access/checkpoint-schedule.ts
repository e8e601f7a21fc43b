/**
 * When a checkpoint is signed besides the timer (audit.checkpointInterval) and every start and
 * shutdown. The store is wrapped so that every write that appended audit records (any method
 * resolving to records: requests, audit, auditAccess) is seen:
 *
 * - once N records (audit.checkpointEveryRecords) have been appended since the last checkpoint;
 * - soon after a record saying Azure is being or was changed (an execution's start and outcome):
 *   at once when none was signed for that reason in the last `gapMs`, else when that much has
 *   passed, so that under load they come at most about once a `gapMs`. A crash that takes the end of
 *   the log with it (a write-ahead log cut short) can then no longer make an executed operation
 *   vanish unnoticed beyond that moment.
 *
 * With the timer and the checkpoints at start and shutdown, this bounds how much of the log's end
 * could be cut off without a checkpoint showing it.
 */
import type { Store } from '../../app/ports';
import { changesAzure } from '../../domain/audit';
import type { AuditStore } from '../ports';

export interface CheckpointSchedule<S> {
  /** The store to use: its writes are counted. */
  store: S;
  /** No more checkpoints from here (one that is due now is dropped: the stop signs its own). */
  stop(): void;
}

export interface CheckpointScheduleOptions {
  /** A checkpoint once this many records were appended since the last. */
  every: number;
  /** Signs the head, saying why (never throws: failures are the caller's to log). */
  due: (trigger: 'records' | 'execution') => Promise<unknown>;
  /** At most one checkpoint for a change to Azure this often (ms, default 1000). */
  gapMs?: number;
  /** A monotonic clock in ms (default `performance.now`): a gap is an interval, never a wall time. */
  now?: () => number;
}

function seen(value: unknown): { records: number; azure: boolean } {
  let records = 0;
  let azure = false;
  if (!Array.isArray(value)) return { records, azure };
  for (const r of value as { seq?: unknown; hash?: unknown; type?: unknown }[]) {
    if (typeof r?.seq !== 'number' || typeof r.hash !== 'string' || r.type === 'audit.checkpoint') continue;
    records++;
    if (typeof r.type === 'string' && changesAzure(r.type)) azure = true;
  }
  return { records, azure };
}

export function checkpointSchedule<S extends Store & AuditStore>(store: S, options: CheckpointScheduleOptions): CheckpointSchedule<S> {
  const gapMs = options.gapMs ?? 1000;
  // Not Date.now: after the wall clock stepped back an hour, "the last one began in the future"
  // held every execution checkpoint back for that hour.
  const now = options.now ?? (() => performance.now());
  let since = 0;
  let signing = false;
  let stopped = false;
  /** When the last checkpoint for a change to Azure began; one waiting for its gap, if any. */
  let lastForAzure = -Infinity;
  let waiting: NodeJS.Timeout | undefined;
  const sign = (trigger: 'records' | 'execution') => {
    if (stopped) return;
    since = 0;
    signing = true;
    void options.due(trigger).finally(() => (signing = false));
  };
  const forAzure = () => {
    waiting = undefined;
    if (stopped) return;
    // One checkpoint at a time: a change seen while one is being signed gets the next.
    if (signing) {
      (waiting = setTimeout(forAzure, 20)).unref();
      return;
    }
    lastForAzure = now();
    sign('execution');
  };
  const counted = (value: unknown) => {
    const { records, azure } = seen(value);
    since += records;
    if (azure && !waiting) {
      const wait = lastForAzure + gapMs - now();
      if (wait <= 0) forAzure();
      else (waiting = setTimeout(forAzure, wait)).unref();
      return;
    }
    if (since < options.every || signing) return;
    sign('records');
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
  const parts = { requests: wrap(store.requests), audit: wrap(store.audit), auditAccess: wrap(store.auditAccess) };
  const wrapped = new Proxy(store, {
    get(target, key) {
      if (key in parts) return parts[key as keyof typeof parts];
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    store: wrapped,
    stop() {
      stopped = true;
      clearTimeout(waiting);
    },
  };
}
