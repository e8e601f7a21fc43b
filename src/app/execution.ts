/**
 * Running an approved request, in the background (never inside a click's invoke).
 *
 *  1. Drift check: is what would happen still what was approved? If not, nothing runs and the request
 *     needs approving again.
 *  2. Claim: approved → executing is a compare-and-swap, so however many approvals race, one execution
 *     runs. The claim takes a lease (this run's name, an expiry) and records the correlation id before
 *     any ARM call.
 *  3. Execute, recording ARM's reference as soon as ARM accepts (the SDK poller's state or the
 *     async-operation URL), renewing the lease while it runs.
 *
 * A run that dies leaves its lease to expire; any run then takes the execution over and resumes the same
 * ARM operation from the recorded reference (or reconciles from the target's state); it never starts the
 * operation again. A graceful stop releases the lease so the next start resumes at once.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { withLogContext } from '../log/context';
import {
  detectDrift,
  finishExecution,
  leaseLostEvent,
  missedWindow,
  notExecutedText,
  recordProgress,
  recordStarted,
  readyToRun,
  refuseUnaudited,
  releaseLease,
  renewLease,
  resumeExecution,
  startExecution,
  type DelegationEnd,
  howItEnded,
  type Transition,
} from '../domain/lifecycle';
import { leaseLapsed } from '../domain/lease-time';
import { requestShapeProblem } from '../domain/request-shape';
import { RefusalReason, refusal } from '../domain/refusal';
import { decidingRoles, type AccessPolicy } from '../domain/policy';
import { documentationLinks, failureCause } from '../domain/failure-cause';
import type { ArmOperationRef, ExecutionOutcome, OperationProgress } from '../domain/operation';
import { deciderText } from '../domain/delegation';
import { requirementsOf } from '../domain/quorum';
import { canonicalJson } from '../domain/canonical';
import type { Actor, Approval, ApprovalRequest, Requirement } from '../domain/request';
import type { CommandSpec } from '../domain/catalog';
import { currentCommand, transact, type AppDeps, type TransactOptions } from './context';
import { CommitOutcomeUnknownError, elapsedOn } from './ports';
import { checkDrift, type DriftCheck } from './drift';
import { accessWithGroups, approversAccess, rolesStillApproving } from './group-access';
import { waitForNextOpening } from './schedule';
import { LeaseHold, leaseReadingNow, type LeaseReading } from './lease-hold';
import { announcingAfter, inBackground, tellDeciders } from './notifications';
import { readRequestTrail, REQUEST_INDEX, trailProblem, type RequestTrail } from './request-trail';

/**
 * How long to wait before each retry of a store write while an operation runs in Azure (ms): a lock
 * another process holds past COUNTERSIGN_STORE_LOCK_WAIT, or a connection lost, is not the
 * operation's outcome.
 */
export const EXECUTION_WRITE_RETRY_MS = [1000, 4000, 15000];

function sameRef(a: ArmOperationRef | undefined, b: ArmOperationRef): boolean {
  return a !== undefined && canonicalJson(a) === canonicalJson(b);
}

/** Least time between two recorded progress steps of one operation (card updates follow them). */
const PROGRESS_INTERVAL_MS = 1000;
/** How many times one run takes its lease again after a withheld send before it leaves the execution to a takeover. */
const MAX_WITHHELD_SENDS = 3;
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

/** A time read off the clock leases run on, and this instance's clocks right before it was read. */
interface LeaseTime {
  at: Date;
  from: LeaseReading;
}

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
}

export class Executor {
  private readonly running = new Map<string, Promise<void>>();
  private readonly aborts = new Map<string, AbortController>();
  readonly owner: string;
  readonly leaseMs: number;
  private readonly newCorrelationId: () => string;
  private readonly driftRetryDelaysMs: readonly number[];
  private readonly strandedAfterMs: number;
  /** Each approved request the sweep saw, at which version, since when (on the clock's monotonic time, elapsedOn). */
  private approvedSeen = new Map<string, { version: number; at: number }>();
  private stopping = false;
  /** A sweep for abandoned executions is under way (resumeAbandoned). */
  private resuming = false;
  /** Aborted by stop(): ends the waits between drift checks. */
  private readonly stopped = new AbortController();

  constructor(
    private readonly deps: AppDeps,
    options: ExecutorOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.newCorrelationId = options.correlationId ?? randomUUID;
    this.driftRetryDelaysMs = options.driftRetryDelaysMs ?? DEFAULT_DRIFT_RETRY_DELAYS_MS;
    this.strandedAfterMs = options.strandedAfterMs ?? DEFAULT_STRANDED_AFTER_MS;
  }

  /**
   * Starts executing an approved request in the background; safe to call more than once for the same
   * request. It begins on the next turn of the event loop: the click that approved it is answered
   * first, and the execution's reads, drift check and claim do not hold up that answer (measured at
   * 200 clicks a second: the median click about 0.17 ms sooner). `idle()` counts it from now.
   */
  schedule(request: Pick<ApprovalRequest, 'id'>): void {
    this.track(request.id, async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      await this.run(request.id);
    });
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
      return await this.takeOverAbandoned();
    } finally {
      this.resuming = false;
    }
  }

  private async takeOverAbandoned(): Promise<string[]> {
    const executing = await this.deps.store.requests.list({ states: ['executing'] });
    if (executing.length === 0) return [];
    const { at: now } = await this.leaseTime();
    const abandoned = executing.filter((r) => !this.running.has(r.id) && (!r.execution?.lease || leaseLapsed(r.execution.lease.expiresAt, now, this.leaseMs)));
    const taken: string[] = [];
    for (const r of abandoned) {
      const trail = await this.auditOf(r.id);
      // Started here meanwhile (a click's run, a stranded request's): it is not abandoned.
      if (this.running.has(r.id)) continue;
      const lease = await this.leaseTime();
      const claim = await transact(this.deps, r.id, (current) => {
        // Only while it is still the execution found above (another instance may have moved it since).
        const problem = current.state === 'executing' ? (requestShapeProblem(current) ?? trailProblem(current, trail, 'resume')) : undefined;
        return problem ? this.unaudited(current, problem, trail) : resumeExecution(current, this.claim(lease.at), this.deps.clock.now());
      });
      if (!claim?.result.ok || claim.result.request.state !== 'executing') continue;
      taken.push(r.id);
      const resumed = claim.result.request;
      this.deps.log.warn({ requestId: r.id, previousOwner: r.execution?.lease?.owner, owner: this.owner }, 'execution resumed after its lease expired');
      this.track(r.id, () => this.follow(resumed, 'resume', lease.from));
    }
    return taken;
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
    // How long a request has been approved is read off its updatedAt, or off how long this instance
    // has seen it approved (at that version), whichever is longer: after the wall clock stepped back
    // an hour, updatedAt lies ahead of now and the request would wait that hour more.
    const at = elapsedOn(this.deps.clock);
    const seen = new Map<string, { version: number; at: number }>();
    for (const r of approved) {
      const before = this.approvedSeen.get(r.id);
      seen.set(r.id, before?.version === r.version ? before : { version: r.version, at });
    }
    this.approvedSeen = seen;
    const age = (r: ApprovalRequest) => Math.max(now - Date.parse(r.updatedAt), at - (seen.get(r.id)?.at ?? at));
    const stranded = approved.filter((r) => !this.running.has(r.id) && age(r) >= this.strandedAfterMs);
    for (const r of stranded) {
      this.deps.log.warn({ requestId: r.id, approvedAt: r.updatedAt }, 'approved request not executed yet: starting it again');
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

  /** A lease for this run from `at`, a time read off leaseTime(). */
  private claim(at: Date, correlationId?: string) {
    return {
      owner: this.owner,
      at,
      leaseUntil: new Date(at.getTime() + this.leaseMs),
      ...(correlationId ? { correlationId } : {}),
    };
  }

  /**
   * The time leases are granted and judged by: the database's clock where instances share one, so
   * that hosts whose clocks differ (by up to the 5 s a start allows) agree on when a lease lapsed;
   * this instance's own clock otherwise (one instance: SQLite). `from`: this instance's clocks right
   * before it was read, from which a lease granted at `at` is surely this run's (LeaseHold).
   */
  private async leaseTime(): Promise<LeaseTime> {
    const { store, clock } = this.deps;
    const from = leaseReadingNow(clock);
    return { at: store.requests.databaseTime ? await store.requests.databaseTime() : clock.now(), from };
  }

  private async run(requestId: string): Promise<void> {
    const { deps } = this;
    const approved = await deps.store.requests.get(requestId);
    // A row edited into another shape is refused before anything else reads it, as a row its audit
    // trail does not back: read further, it would throw at each start and stay approved, unexplained.
    if (approved && unreadableToRun(approved) !== undefined) {
      await this.refuseUnreadable(requestId);
      return;
    }
    // Approved inside its window, and not started before the window closed: it waits for the next opening.
    if (approved && missedWindow(approved, deps.clock.now())) {
      await waitForNextOpening(deps, requestId);
      return;
    }
    // A scheduled request is run only once its time came; the claim below makes it run once.
    if (!approved || !readyToRun(approved, deps.clock.now())) return;
    // What the row claims (approved, by whom, which operation) must be in the request's audit records.
    // A row they do not back goes straight to the claim below, which refuses it: it is neither read
    // in Azure nor moved to needs_reapproval by a drift, which would hide the forgery.
    const trail = await this.auditOf(requestId);
    const forged = trailProblem(approved, trail, 'start') !== undefined;
    // A command no longer configured as a sensitive one runs nothing more: the claim below fails it,
    // before Azure is read for a drift that would ask its approvers again for nothing.
    const commandLeft = currentCommand(deps, approved.command)?.policy !== undefined;
    const drift: DriftCheck | undefined = forged || !commandLeft ? { drifted: false } : await this.checkDriftPatiently(approved);
    // Stopped while waiting to check again, or while Azure took its time to answer the check: the
    // request stays approved, for the next start. Nothing new starts once a stop began.
    if (!drift || this.stopping) return;
    if (drift.drifted === true) {
      // The re-approval's round is recorded with it (round-resume.ts takes it up again if cut short).
      const saved = await this.save(requestId, (r) => announcingAfter(deps, detectDrift(r, drift.found, deps.clock.now()), 'reapproval', deps.clock.now()));
      if (!saved) return;
      deps.log.warn({ requestId, changes: drift.found.changes.length }, 'drift detected: not executed, needs approving again');
      await deps.notifier.tellRequester(
        saved,
        `Request ${saved.id} (${saved.command}) was not executed: what it would do changed since it was approved (${drift.found.changes.join('; ')}). It needs approving again on its card.`,
      );
      // This run's write moved it to needs_reapproval, so this run tells the people who decide again.
      await inBackground(deps, requestId, () => tellDeciders(deps, saved, 'reapproval'));
      return;
    }
    // An approval given on someone's behalf counts only while its delegation is still in force.
    const delegations = new Set((await deps.store.delegations.inForce(deps.clock.now().toISOString())).map((d) => d.id));
    const ended = await this.delegationEnds(approved, delegations);
    // Approvers' Entra group memberships, looked up again (within the cache lifetime); unknown ones fail the run below.
    // While they are unknown every approval is let through the claim only so that the run fails right after it, before Azure.
    const commandNow = currentCommand(deps, approved.command);
    const policyNow = commandNow?.policy;
    const approvers = await approversAccess(deps, approved, policyNow?.approverRoles ?? []);
    // The requester's memberships in the groups of the current requester roles: asking, too, must still be theirs.
    const requester = approvers.ok ? await accessWithGroups(deps, [approved.requester], policyNow?.requesterRoles ?? [], approved.id, false) : undefined;
    const membership = requester && !requester.ok ? requester : approvers;
    if (this.stopping) return;
    const lease = await this.leaseTime();
    const claim = await transact(deps, requestId, (r) => {
      // Only while it is still ready to run: another instance may have claimed it since the records were read.
      const problem = unreadableToRun(r) ?? (readyToRun(r, deps.clock.now()) ? trailProblem(r, trail, 'start') : undefined);
      if (problem) return this.unaudited(r, problem, trail);
      return startExecution(
        r,
        deps.clock.now(),
        (actor: Actor, approval: Approval, requirement: Requirement) =>
          approval.delegationId !== undefined && !delegations.has(approval.delegationId)
            ? (ended.get(approval.delegationId) ?? { how: 'ended' })
            : !membership.ok || this.stillApprover(r, actor, requirement, membership.access),
        this.claim(lease.at, this.newCorrelationId()),
        // The command's policy now: what the approvals must also meet (while memberships are unknown, the run fails below anyway).
        !commandNow || !policyNow
          ? { commandGone: commandNow ? `"${r.command}" is now a read-only command in the config: nothing it asked for runs any more` : `the command "${r.command}" is no longer in the config` }
          : membership.ok
          ? {
              requirements: requirementsOf(policyNow),
              mayFill: (actor: Actor, requirement: Requirement) => membership.access.isApproverFor(decidingRoles(r, requirement.roles), actor),
              requesterMay: policyNow.requesterRoles.length === 0 || (requester ?? membership).access.roles.holdsAny(policyNow.requesterRoles, r.requester.aadObjectId),
              ...breakGlassNow(commandNow, r, deps.config.access),
            }
          : undefined,
      );
    });
    if (!claim || !claim.result.ok) return; // someone else claimed it, or it is no longer approved
    const claimed = claim.result.request;
    if (claimed.state !== 'executing') {
      await deps.notifier.tellRequester(claimed, notExecutedText(claimed));
      return;
    }
    // A delegation that ended while the claim was being committed: the approval it carried no longer counts.
    const lapsed = await this.lapsedDelegations(claimed);
    if (lapsed.length > 0) {
      const error = { code: 'DelegationEnded', message: `Not executed: the delegation behind the approval of ${lapsed.join(', ')} ended before the execution started. Nothing was sent to Azure; ask again.` };
      await this.finish(requestId, { status: 'failed', ref: claimed.execution?.ref ?? { resourceIds: [] }, error });
      return;
    }
    if (!membership.ok) {
      const error = { code: 'MembershipCheckFailed', message: `Not executed: ${membership.problem.replace(/[.\s]+$/, '')}. Nothing was sent to Azure; ask again.` };
      await this.finish(requestId, { status: 'failed', ref: claimed.execution?.ref ?? { resourceIds: [] }, error });
      return;
    }
    if (drift.drifted === 'unknown') {
      const error = { code: 'DriftCheckFailed', message: `Not executed: ${drift.reason.replace(/[.\s]+$/, '')}. Nothing was sent to Azure; ask again once the target can be read.` };
      await this.finish(requestId, { status: 'failed', ref: claimed.execution?.ref ?? { resourceIds: [] }, error });
      return;
    }
    await this.follow(claimed, 'start', lease.from);
  }

  /**
   * Runs (or resumes) the claimed execution under the lease granted at `leaseFrom`, and records how it
   * ended. `attempt` counts the calls of this run whose send was withheld (withheldSend).
   */
  private async follow(claimed: ApprovalRequest, mode: 'start' | 'resume', leaseFrom: LeaseReading, attempt = 1): Promise<void> {
    const { deps, owner } = this;
    const requestId = claimed.id;
    const abort = new AbortController();
    this.aborts.set(requestId, abort);
    let leaseLost = false;
    const hold = new LeaseHold(deps.clock, this.leaseMs, leaseFrom);
    const renewal = setInterval(() => {
      this.leaseTime().then(async ({ at, from }) => ({ from, renewed: await transact(deps, requestId, (r) => renewLease(r, owner, new Date(at.getTime() + this.leaseMs), deps.clock.now()), { refreshCards: false }) })).then(
        ({ from, renewed }) => {
          if (renewed?.result.ok) return hold.renewed(from);
          leaseLost = true;
          hold.lost();
          abort.abort();
        },
        (err: unknown) => deps.log.warn({ requestId, err: String(err) }, 'lease renewal failed; trying again'),
      );
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    deps.log.info({ requestId, kind: claimed.operation.kind, mode }, mode === 'start' ? 'execution started' : 'execution resumed');
    let started = mode === 'resume';
    let lastProgressAt = 0;
    let lastProgressKey = '';
    const ref = claimed.execution?.ref ?? { resourceIds: [] };
    // What this call sent (a write let go), and why a write was withheld: once one is, every later one is too.
    let sent = false;
    let withheld: string | undefined;
    let accepted: ArmOperationRef | undefined;
    const hooks = {
      signal: abort.signal,
      ...(ref.correlationId ? { correlationId: ref.correlationId } : {}),
      onStarted: async (acceptedRef: ArmOperationRef) => {
        started = true;
        accepted = acceptedRef;
        // The operation runs in Azure whatever the store does: a store that cannot take the write for
        // a moment (a lock held past the wait, a connection lost) is tried again, not made its outcome.
        const saved = await this.saveWhileRunning(requestId, 'recording what Azure accepted', (r) => recordStarted(r, acceptedRef, deps.clock.now(), owner), (r) => sameRef(r.execution?.ref, acceptedRef), { refreshCards: false });
        if (!saved) throw new Error(`request ${requestId} is no longer executed by ${owner}`);
      },
      // Resumed with nothing recorded from Azure and the target untouched: the operation is about to
      // be sent for the first time, maybe hours after the drift check before the claim (a crash during
      // an outage). What it would do is checked again; a change stops it, nothing sent.
      ...(mode === 'resume' ? { beforeFirstSend: () => this.stillAsApproved(claimed) } : {}),
      // The last word before each write leaves (after its token and any read before it): only while
      // the lease is surely this run's, however long this process was stopped since it was granted.
      maySend: () => {
        withheld ??= hold.sendWithheld(owner);
        if (withheld === undefined) sent = true;
        return withheld;
      },
      onProgress: async (progress: OperationProgress) => {
        const key = `${progress.state}/${progress.done ?? ''}/${progress.total ?? ''}`;
        const now = deps.clock.now().getTime();
        if (key === lastProgressKey || now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
        lastProgressKey = key;
        lastProgressAt = now;
        // Progress is what the card shows on the way: one the store cannot take is skipped (the next one, or the end, is recorded).
        await this.save(requestId, (r) => recordProgress(r, progress, deps.clock.now(), owner)).catch((err: unknown) => {
          lastProgressKey = '';
          deps.log.warn({ requestId, err: String(err) }, 'recording the progress of an execution failed; the operation goes on');
        });
      },
    };
    let outcome: ExecutionOutcome;
    try {
      outcome = mode === 'start' ? await deps.azure.execute(claimed.operation, hooks) : await deps.azure.resume(claimed.operation, ref, hooks);
    } catch (err) {
      // The gateway reports ARM errors as outcomes; a throw is unexpected. Once ARM accepted the
      // operation we cannot know how it ended, and never claim success.
      const error = { code: 'ExecutionError', message: err instanceof Error ? err.message : String(err) };
      outcome = started ? { status: 'unknown', ref: { resourceIds: [] }, error } : { status: 'failed', ref: { resourceIds: [] }, error };
    } finally {
      clearInterval(renewal);
      this.aborts.delete(requestId);
    }
    const known = { sent: sent || (started && mode === 'start'), ref: accepted ?? ref };
    if (withheld !== undefined) {
      await this.withheldSend(claimed, mode, withheld, known, attempt);
      return;
    }
    if (leaseLost) {
      deps.log.warn({ requestId, owner }, 'execution taken over by another run; this run stopped following it');
      return;
    }
    if (this.stopping && abort.signal.aborted) {
      const { at } = await this.leaseTime();
      await this.save(requestId, (r) => releaseLease(r, owner, deps.clock.now(), at), { refreshCards: false });
      deps.log.info({ requestId }, 'execution left for the next start to resume');
      return;
    }
    await this.finish(requestId, outcome, known);
  }

  /**
   * A write of the execution was withheld (`reason`): the lease may have passed before it could
   * leave (this process stopped for a while, or its renewals failed). If the lease is still this
   * run's, it is taken again and the execution goes on: the same call again when nothing had been
   * sent, else resumed as a takeover would (what was sent is followed or read back, never sent
   * twice). If another run holds it, or it ended, this run's view is recorded beside the row
   * (`execution.lease_lost`) and nothing more is done.
   */
  private async withheldSend(claimed: ApprovalRequest, mode: 'start' | 'resume', reason: string, known: { sent: boolean; ref: ArmOperationRef }, attempt: number): Promise<void> {
    const { deps, owner } = this;
    const requestId = claimed.id;
    let lease: LeaseTime;
    let retaken: Awaited<ReturnType<typeof transact>>;
    try {
      lease = await this.leaseTime();
      retaken = await transact(deps, requestId, (r) => renewLease(r, owner, new Date(lease.at.getTime() + this.leaseMs), deps.clock.now()), { refreshCards: false });
    } catch (err) {
      deps.log.error({ requestId, owner, reason, sent: known.sent, err: String(err) }, 'execution not sent: its lease may have passed, and the store could not be asked whose it is; left for a takeover to resume');
      return;
    }
    if (retaken?.result.ok) {
      if (attempt < MAX_WITHHELD_SENDS && !this.stopping) {
        deps.log.warn({ requestId, owner, reason, sent: known.sent }, 'execution not sent: its lease may have passed; it was still this run\'s and is taken again, and the execution goes on');
        await this.follow(retaken.result.request, known.sent ? 'resume' : mode, lease.from, attempt + 1);
        return;
      }
      // Stopping, or withheld time after time (this process keeps stopping): the lease is given up at once.
      await this.save(requestId, (r) => releaseLease(r, owner, deps.clock.now(), lease.at), { refreshCards: false });
      if (this.stopping) deps.log.info({ requestId, reason }, 'execution left for the next start to resume');
      else deps.log.error({ requestId, owner, reason, sent: known.sent, attempt }, 'execution not sent: its lease may have passed, again and again; left for a takeover to resume');
      return;
    }
    const current = retaken?.before;
    deps.log.error(
      { requestId, owner, reason, sent: known.sent, state: current?.state, heldBy: current?.execution?.lease?.owner },
      'execution not sent: its lease had passed, and another run holds it or it ended',
    );
    if (current) await deps.store.audit.append([leaseLostEvent(current, { owner, ...known, withheld: reason }, deps.clock.now())]);
  }

  private async finish(requestId: string, outcome: ExecutionOutcome, known = { sent: false, ref: outcome.ref }): Promise<void> {
    const { deps, owner } = this;
    const finished = await this.saveWhileRunning(requestId, 'recording how the execution ended', (r) => finishExecution(r, outcome, deps.clock.now(), owner), (r) => r.state !== 'executing');
    if (!finished) {
      // Another run took the execution over (or it ended) while this one waited for Azure: Azure's
      // answer to this run is recorded beside the row, not dropped.
      const current = await deps.store.requests.get(requestId);
      if (!current) return;
      deps.log.error({ requestId, owner, status: outcome.status, state: current.state, heldBy: current.execution?.lease?.owner }, 'execution outcome not recorded as the request\'s: another run holds it, or it ended');
      await deps.store.audit.append([leaseLostEvent(current, { owner, ...known, outcome }, deps.clock.now())]);
      return;
    }
    await deps.notifier.tellRequester(finished, completionText(finished));
    deps.log.info({ requestId, state: finished.state }, 'execution finished');
  }

  /** Why a resumed execution must not send its operation now (the drift check), or undefined. */
  private async stillAsApproved(r: ApprovalRequest): Promise<string | undefined> {
    const drift = await this.checkDriftPatiently(r);
    if (!drift) return 'Countersign is stopping';
    if (drift.drifted === 'unknown') return `the target could not be read to check that it is still as approved before sending the operation on resuming it (${drift.reason})`;
    if (!drift.drifted) return undefined;
    this.deps.log.warn({ requestId: r.id, changes: drift.found.changes.length }, 'drift found before a resumed execution sent its operation: not sent');
    return `what it would do changed since it was approved (${drift.found.changes.join('; ')}), found before its operation was first sent on resuming it`;
  }

  /** How each delegation that approvals on the request were given under, and that is no longer in force, ended (revoked, replaced, ran out). */
  private async delegationEnds(r: ApprovalRequest, inForce: ReadonlySet<string>): Promise<Map<string, DelegationEnd>> {
    const ids = new Set(r.approvals.flatMap((a) => (a.delegationId !== undefined && !inForce.has(a.delegationId) ? [a.delegationId] : [])));
    const ends = new Map<string, DelegationEnd>();
    for (const id of ids) {
      const d = await this.deps.store.delegations.get(id);
      if (d) ends.set(id, howItEnded(d));
    }
    return ends;
  }

  /** The approvals given under a delegation no longer in force ("Carol on behalf of Bob"), read after the claim. */
  private async lapsedDelegations(r: ApprovalRequest): Promise<string[]> {
    const delegated = r.approvals.filter((a) => a.delegationId !== undefined);
    if (delegated.length === 0) return [];
    const inForce = new Set((await this.deps.store.delegations.inForce(this.deps.clock.now().toISOString())).map((d) => d.id));
    return delegated.filter((a) => !inForce.has(a.delegationId!)).map((a) => deciderText(a));
  }

  /**
   * The drift check, tried again after driftRetryDelaysMs while it cannot read Azure for a passing
   * reason (a refusal, such as a missing permission, fails at once); undefined when the executor
   * stopped meanwhile.
   */
  private async checkDriftPatiently(r: ApprovalRequest): Promise<DriftCheck | undefined> {
    let drift = await checkDrift(this.deps.azure, r);
    for (const wait of this.driftRetryDelaysMs) {
      if (drift.drifted !== 'unknown' || !drift.transient) return drift;
      this.deps.log.warn({ requestId: r.id, reason: drift.reason, retryInMs: wait }, 'drift check could not read Azure; trying again');
      try {
        await sleep(wait, undefined, { signal: this.stopped.signal });
      } catch {
        return undefined;
      }
      drift = await checkDrift(this.deps.azure, r);
    }
    return drift;
  }

  /** The request's records, an index that leaves some out found out (request-trail.ts). */
  private auditOf(requestId: string): Promise<RequestTrail> {
    return readRequestTrail(this.deps.store.audit, requestId);
  }

  /** Fails an approved or scheduled request whose row does not read as a request (unreadableToRun), and tells its requester. */
  private async refuseUnreadable(requestId: string): Promise<void> {
    const refused = await transact(this.deps, requestId, (r) => {
      const problem = unreadableToRun(r);
      return problem !== undefined ? this.unaudited(r, problem) : { ok: false, refusal: refusal(RefusalReason.AlreadyDecided, `Request ${requestId} reads as a request now.`, requestId) };
    });
    if (!refused?.result.ok) return;
    const failed = refused.result.request;
    await this.deps.notifier.tellRequester(failed, `Request ${requestId} was not executed. ${failed.outcomeDetail ?? ''}`.trim());
  }

  /** The row claims what its audit records do not hold: it fails, loudly, with nothing sent to Azure. */
  private unaudited(r: ApprovalRequest, problem: string, trail?: RequestTrail): Transition {
    if (trail && trail.leftOut.length > 0) {
      this.deps.log.error(
        { requestId: r.id, index: REQUEST_INDEX, leftOut: trail.leftOut.map((x) => x.seq) },
        `the audit log's index ${REQUEST_INDEX} leaves out records of this request that the log holds: someone with write access to the database made it again without them, and reads through it cannot be trusted. Run countersign audit verify (it names the index), rebuild it (REINDEX ${REQUEST_INDEX}) and find out who changed it`,
      );
    }
    this.deps.log.error({ requestId: r.id, state: r.state, problem }, 'not executed: the request\'s stored row does not match its audit trail');
    return refuseUnaudited(r, this.deps.clock.now(), problem);
  }

  private stillApprover(r: ApprovalRequest, actor: Actor, requirement: Requirement, access: AccessPolicy): boolean {
    const current = currentCommand(this.deps, r.command)?.policy?.approverRoles ?? [];
    // The requirement's roles that the current config still names as approving, and the escalation role when the request was escalated.
    return access.isApproverFor(decidingRoles(r, rolesStillApproving(requirement, current)), actor);
  }

  /**
   * A write of an execution under way (what Azure accepted, how it ended), tried again after each of
   * EXECUTION_WRITE_RETRY_MS while the store cannot take it. A commit whose outcome is unknown is
   * read back first: `landed` says whether the row already shows it. Throws once the retries are
   * spent (the lease then lapses, and the takeover asks Azure again).
   */
  private async saveWhileRunning(
    requestId: string,
    what: string,
    fn: (current: ApprovalRequest) => Transition,
    landed: (current: ApprovalRequest) => boolean,
    options?: TransactOptions,
  ): Promise<ApprovalRequest | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.save(requestId, fn, options);
      } catch (err) {
        const wait = EXECUTION_WRITE_RETRY_MS[attempt];
        if (wait === undefined) throw err;
        this.deps.log.warn({ requestId, err: String(err), retryInMs: wait }, `${what} failed; trying again`);
        await sleep(wait, undefined, { ref: false });
        if (err instanceof CommitOutcomeUnknownError) {
          const current = await this.deps.store.requests.get(requestId).catch(() => undefined);
          if (current && landed(current)) return current;
        }
      }
    }
  }

  private async save(requestId: string, fn: (current: ApprovalRequest) => Transition, options?: TransactOptions): Promise<ApprovalRequest | undefined> {
    const outcome = await transact(this.deps, requestId, fn, options);
    return outcome?.result.ok ? outcome.result.request : undefined;
  }
}

/**
 * Why a row the executor would run (approved or scheduled) does not read as a request
 * (request-shape.ts), or undefined; rows in other states are not the executor's to fail.
 */
function unreadableToRun(r: ApprovalRequest): string | undefined {
  return r.state === 'approved' || r.state === 'scheduled' ? requestShapeProblem(r) : undefined;
}

/** What the requester is told at the end (the notifier marks sandbox requests as such). */
function completionText(r: ApprovalRequest): string {
  if (r.state === 'succeeded') return `Request ${r.id} (${r.command}) succeeded.${r.outcomeDetail ? ` ${r.outcomeDetail}` : ''}`;
  if (r.state === 'failed') {
    // Azure's cause in one line (not the "DeploymentFailed" wrapper), and Microsoft's page on it when Azure named one.
    const error = r.execution?.error;
    const link = error ? documentationLinks(error)[0] : undefined;
    return `Request ${r.id} (${r.command}) failed: ${error ? failureCause(error) : (r.outcomeDetail ?? 'unknown error')}.${link ? ` Microsoft's documentation: ${link}` : ''}`;
  }
  if (r.state === 'cancelled') return `Request ${r.id} (${r.command}) was cancelled. ${r.outcomeDetail ?? ''}`.trimEnd();
  return `Request ${r.id} (${r.command}) ended in an unknown state: ${(r.outcomeDetail ?? '').replace(/[.\s]+$/, '')}. Check the target in Azure before retrying.`;
}

/**
 * The current config's word on a break-glass use about to run (a crash between its use and its run
 * can put a restart, with another config, in between): why it no longer holds, if so.
 */
function breakGlassNow(command: CommandSpec, r: ApprovalRequest, access: AccessPolicy): { breakGlassWithdrawn?: string } {
  if (!r.breakGlass) return {};
  const policy = command.policy?.breakGlass;
  if (!policy) return { breakGlassWithdrawn: `"${command.name}" no longer allows break-glass` };
  if (!access.roles.holdsAny(policy.roles, r.requester.aadObjectId)) {
    return { breakGlassWithdrawn: `${r.requester.name} no longer holds a break-glass role of "${command.name}" (${policy.roles.join(', ')})` };
  }
  return {};
}
