/**
 * Running approved requests, in the background (never inside a click's invoke): the Executor starts
 * them, keeps one run of each request at a time in this process, runs the sweeps that pick up what no
 * run follows, and stops gracefully.
 *
 *  1. Start (execution-start.ts): the evidence that it may still run (execution-evidence.ts: its audit
 *     trail, drift, delegations, memberships), then the claim: approved → executing is a
 *     compare-and-swap with a lease, so however many approvals race, one execution runs.
 *  2. Send (execution-send.ts): the operation goes to Azure, ARM's reference is recorded as soon as ARM
 *     accepts (the SDK poller's state or the async-operation URL), the lease is renewed while it runs,
 *     and the outcome is recorded.
 *  3. Takeover (execution-takeover.ts): a run that dies leaves its lease to expire; any run then takes
 *     the execution over and resumes the same ARM operation from the recorded reference (or reconciles
 *     from the target's state); it never starts the operation again. A graceful stop releases the
 *     lease so the next start resumes at once.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { withLogContext } from '../log/context';
import type { ApprovalRequest } from '../domain/request';
import { lastApprovedAt } from '../domain/lifecycle';
import type { AppDeps } from './context';
import { elapsedOn } from './ports';
import { startApproved } from './execution-start';
import { runClaimed } from './execution-send';
import { takeOverAbandoned } from './execution-takeover';
import type { ExecutionRunner } from './execution-runner';

const DEFAULT_LEASE_MS = 60_000;
/**
 * Waits before each new try of a drift check that could not read Azure (a throttled or failing
 * what-if or read): a few seconds of trouble in Azure do not cost an approved request its approvals.
 */
const DEFAULT_DRIFT_RETRY_DELAYS_MS = [2000, 5000, 10_000];
/**
 * How long a request may stay approved with no run of this instance on it before the periodic sweep
 * starts it again: well past a drift check's tries (2 + 5 + 10 s) and Azure's slowest what-if.
 */
const DEFAULT_STRANDED_AFTER_MS = 120_000;
/**
 * Waits before each new try, on this instance, of a start that failed before its claim (a read or
 * the claim's write refused or cut: a connection reset, a failover, a lock held past the wait): a
 * moment's trouble with the store does not leave an approved request to the stranded sweep's 2
 * minutes. The claim decides which run goes ahead, so a start tried again still sends once.
 */
export const DEFAULT_START_RETRY_DELAYS_MS: readonly number[] = [1000, 4000, 15_000];

export interface ExecutorOptions {
  /** How long a claim holds without renewal; renewed every third of it while the operation runs. */
  leaseMs?: number;
  /** This run's name in leases (default host:pid:random). */
  owner?: string;
  /** Correlation ids for new executions (default random UUIDs). */
  correlationId?: () => string;
  /** Waits before each new try of a drift check that could not read Azure (default 2, 5 and 10 s). */
  driftRetryDelaysMs?: readonly number[];
  /** How long a request may stay approved, run by no one here, before runStranded starts it (default 2 minutes). */
  strandedAfterMs?: number;
  /** Waits before each new try of a start that failed before its claim (default 1, 4 and 15 s). */
  startRetryDelaysMs?: readonly number[];
  /** How many instances share the store (COUNTERSIGN_INSTANCES, default 1): the logs of a stop and a takeover say whether another instance takes or took the execution. */
  instances?: number;
}

/** Runs approved requests in the background, one run of each at a time in this process. */
export class Executor {
  private readonly running = new Map<string, Promise<void>>();
  private readonly aborts = new Map<string, AbortController>();
  readonly owner: string;
  readonly leaseMs: number;
  private readonly strandedAfterMs: number;
  private readonly startRetryDelaysMs: readonly number[];
  /** Each approved request the sweep saw, at which version, since when (on the clock's monotonic time, elapsedOn). */
  private approvedSeen = new Map<string, { version: number; at: number }>();
  private stopping = false;
  /** A sweep for abandoned executions is under way (resumeAbandoned). */
  private resuming = false;
  /** Aborted by stop(): ends the waits between drift checks. */
  private readonly stopped = new AbortController();
  /** This executor as the steps of its runs see it. */
  private readonly runner: ExecutionRunner;

  constructor(
    private readonly deps: AppDeps,
    options: ExecutorOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.strandedAfterMs = options.strandedAfterMs ?? DEFAULT_STRANDED_AFTER_MS;
    this.startRetryDelaysMs = options.startRetryDelaysMs ?? DEFAULT_START_RETRY_DELAYS_MS;
    const stopping = () => this.stopping;
    this.runner = {
      deps,
      owner: this.owner,
      leaseMs: this.leaseMs,
      shared: (options.instances ?? 1) > 1,
      get stopping() {
        return stopping();
      },
      stopped: this.stopped.signal,
      driftRetryDelaysMs: options.driftRetryDelaysMs ?? DEFAULT_DRIFT_RETRY_DELAYS_MS,
      newCorrelationId: options.correlationId ?? randomUUID,
      aborts: this.aborts,
      isRunning: (requestId) => this.running.has(requestId),
      track: (requestId, work) => this.track(requestId, work),
    };
  }

  /**
   * Starts executing an approved request in the background; safe to call more than once for the same
   * request. It begins on the next turn of the event loop: the click that approved it is answered
   * first, and the execution's reads, drift check and claim do not hold up that answer (measured at
   * 200 clicks a second: the median click about 0.17 ms sooner). `idle()` counts it from now.
   * A start that fails before its operation is sent (the store cut or refusing) is tried again here
   * after each of startRetryDelaysMs; only then is it left to the stranded sweep.
   */
  schedule(request: Pick<ApprovalRequest, 'id'>): void {
    this.track(request.id, async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const claimed = await this.startPatiently(request.id);
      if (claimed) await runClaimed(this.runner, claimed.request, 'start', claimed.leaseFrom);
    });
  }

  /**
   * startApproved, tried again after each of startRetryDelaysMs while it throws. Nothing went to
   * Azure yet, and a try that finds the request claimed (by an earlier try whose commit's answer was
   * lost, or another instance) or no longer approved does nothing. A stop ends the waits, and the
   * request stays approved for the next start.
   */
  private async startPatiently(requestId: string): ReturnType<typeof startApproved> {
    for (const wait of [...this.startRetryDelaysMs, undefined]) {
      try {
        return await startApproved(this.runner, requestId);
      } catch (err) {
        if (wait === undefined) throw err;
        this.deps.log.warn({ requestId, err: String(err), retryInMs: wait }, 'starting an approved request failed; trying again');
        try {
          await sleep(wait, undefined, { signal: this.stopped.signal, ref: false });
        } catch {
          return undefined; // stopping: it stays approved, for the next start
        }
      }
    }
  }

  /**
   * Takes over executions whose lease expired (their run died or stopped) and resumes them. Returns
   * the ids taken over. Called at startup and periodically.
   */
  async resumeAbandoned(): Promise<string[]> {
    // One sweep at a time: one still waiting for a store held by another process when the next
    // begins would take the same executions over a second time.
    if (this.stopping || this.resuming) return [];
    this.resuming = true;
    try {
      return await takeOverAbandoned(this.runner);
    } finally {
      this.resuming = false;
    }
  }

  /**
   * Starts again the approved requests nobody runs: one whose start failed here (its claim could not
   * be written: a lock held past the wait, a connection lost, a full disk) or whose instance died
   * before claiming it. Only those approved for longer than strandedAfterMs and not being run here,
   * so a run still in its drift check is left alone; if another instance's is, its claim or this
   * one's wins and the other stops, so the operation is still sent once. Returns the ids started.
   * Called periodically (with the lease sweep); at start, every approved request is started.
   */
  async runStranded(): Promise<string[]> {
    if (this.stopping) return [];
    const now = this.deps.clock.now().getTime();
    const approved = await this.deps.store.requests.list({ states: ['approved'] });
    // How long a request has been approved is read off when it was approved (its last approval, or its
    // break-glass use: lastApprovedAt), not its updatedAt, which a later write moves (the outcome of a
    // break-glass use's notice its card shows), or off how long this instance has seen it approved (at
    // that version), whichever is longer: after the wall clock stepped back an hour, the approval lies
    // ahead of now and the request would wait that hour more.
    const at = elapsedOn(this.deps.clock);
    const seen = new Map<string, { version: number; at: number }>();
    for (const r of approved) {
      const before = this.approvedSeen.get(r.id);
      seen.set(r.id, before?.version === r.version ? before : { version: r.version, at });
    }
    this.approvedSeen = seen;
    const age = (r: ApprovalRequest) => Math.max(now - Date.parse(lastApprovedAt(r)), at - (seen.get(r.id)?.at ?? at));
    const stranded = approved.filter((r) => !this.running.has(r.id) && age(r) >= this.strandedAfterMs);
    for (const r of stranded) {
      this.deps.log.warn({ requestId: r.id, approvedAt: lastApprovedAt(r) }, 'approved request not executed yet: starting it again');
      withLogContext({ requestId: r.id }, () => this.schedule(r));
    }
    return stranded.map((r) => r.id);
  }

  /** Resolves when every execution started so far has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** Graceful stop: stops waiting for Azure, releases the leases (the next start resumes), waits. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    for (const abort of this.aborts.values()) abort.abort();
    await this.idle();
  }

  private track(requestId: string, work: () => Promise<void>): void {
    if (this.running.has(requestId) || this.stopping) return;
    const run = work()
      .catch((err: unknown) => this.deps.log.error({ requestId, err: String(err) }, 'execution crashed'))
      .finally(() => this.running.delete(requestId));
    this.running.set(requestId, run);
  }
}
