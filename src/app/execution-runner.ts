/**
 * What each step of an execution's run (its start, its send, a takeover) shares with the Executor
 * that runs it: the executor as the steps see it, the time its leases are granted and judged by, the
 * lease a claim writes, and the store writes of an execution under way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Transition } from '../domain/lifecycle';
import type { ApprovalRequest } from '../domain/request';
import { transact, type AppDeps, type TransactOptions } from './context';
import { CommitOutcomeUnknownError } from './ports';
import { leaseReadingNow, type LeaseReading } from './lease-hold';

/**
 * How long to wait before each retry of a store write while an operation runs in Azure (ms): a lock
 * another process holds past COUNTERSIGN_STORE_LOCK_WAIT, or a connection lost, is not the
 * operation's outcome.
 */
export const EXECUTION_WRITE_RETRY_MS = [1000, 4000, 15000];

/** The Executor as the steps of a run see it. */
export interface ExecutionRunner {
  readonly deps: AppDeps;
  /** This run's name in leases. */
  readonly owner: string;
  /** How long a claim holds without renewal. */
  readonly leaseMs: number;
  /**
   * Whether other instances share this store (and its executions): then an execution this one lets
   * go is taken over by another, or by the next start; one taken over here was another's. Logs say which.
   */
  readonly shared: boolean;
  /** A graceful stop began: nothing new starts, and a run cut short leaves its lease for the next start. */
  readonly stopping: boolean;
  /** Aborted by stop(): ends the waits between drift checks. */
  readonly stopped: AbortSignal;
  /** Waits before each new try of a drift check that could not read Azure. */
  readonly driftRetryDelaysMs: readonly number[];
  /** A correlation id for a new execution. */
  newCorrelationId(): string;
  /** The abort of each execution followed here, by request id: stop() aborts them. */
  readonly aborts: Map<string, AbortController>;
  /** Whether a run of the request is under way here. */
  isRunning(requestId: string): boolean;
  /** Runs `work` for the request in the background, unless a run of it is under way here or a stop began. */
  track(requestId: string, work: () => Promise<void>): void;
}

/** A time read off the clock leases run on, and this instance's clocks right before it was read. */
export interface LeaseTime {
  at: Date;
  from: LeaseReading;
}

/** A lease for this run from `at`, a time read off leaseTime(). */
export function leaseClaim(runner: ExecutionRunner, at: Date, correlationId?: string) {
  return {
    owner: runner.owner,
    at,
    leaseUntil: new Date(at.getTime() + runner.leaseMs),
    ...(correlationId ? { correlationId } : {}),
  };
}

/**
 * The time leases are granted and judged by: the database's clock where instances share one, so
 * that hosts whose clocks differ (by up to the 5 s a start allows) agree on when a lease lapsed;
 * this instance's own clock otherwise (one instance: SQLite). `from`: this instance's clocks right
 * before it was read, from which a lease granted at `at` is surely this run's (LeaseHold).
 */
export async function leaseTime(deps: AppDeps): Promise<LeaseTime> {
  const { store, clock } = deps;
  const from = leaseReadingNow(clock);
  return { at: store.requests.databaseTime ? await store.requests.databaseTime() : clock.now(), from };
}

/**
 * A write of an execution under way (what Azure accepted, how it ended), tried again after each of
 * EXECUTION_WRITE_RETRY_MS while the store cannot take it. A commit whose outcome is unknown is
 * read back first: `landed` says whether the row already shows it; when that read fails too, a
 * later try refused is read back again, so a write that had landed is not taken for a lost lease. Throws once the retries are
 * spent (the lease then lapses, and the takeover asks Azure again).
 */
export async function saveWhileRunning(
  deps: AppDeps,
  requestId: string,
  what: string,
  fn: (current: ApprovalRequest) => Transition,
  landed: (current: ApprovalRequest) => boolean,
  options?: TransactOptions,
): Promise<ApprovalRequest | undefined> {
  // A commit whose answer was lost may have landed: a later try that is refused then finds it stored.
  let mayHaveLanded = false;
  for (let attempt = 0; ; attempt++) {
    try {
      const saved = await save(deps, requestId, fn, options);
      if (saved || !mayHaveLanded) return saved;
      // Refused after a lost answer (the read back failed too): what refused it may be this write itself.
      const current = await deps.store.requests.get(requestId);
      return current && landed(current) ? current : undefined;
    } catch (err) {
      const wait = EXECUTION_WRITE_RETRY_MS[attempt];
      if (wait === undefined) throw err;
      deps.log.warn({ requestId, err: String(err), retryInMs: wait }, `${what} failed; trying again`);
      await sleep(wait, undefined, { ref: false });
      if (err instanceof CommitOutcomeUnknownError) {
        mayHaveLanded = true;
        const current = await deps.store.requests.get(requestId).catch(() => undefined);
        if (current && landed(current)) return current;
      }
    }
  }
}

/** Commits the transition if it applies: the request as stored, or undefined when it was refused. */
export async function save(deps: AppDeps, requestId: string, fn: (current: ApprovalRequest) => Transition, options?: TransactOptions): Promise<ApprovalRequest | undefined> {
  const outcome = await transact(deps, requestId, fn, options);
  return outcome?.result.ok ? outcome.result.request : undefined;
}
