/**
 * Sending a claimed execution to Azure and recording how it went: the operation is sent (or resumed
 * from the reference recorded when ARM accepted it), ARM's reference is recorded as soon as ARM
 * accepts, progress on the way, the lease renewed while it runs, and the outcome at the end, which
 * the requester is told (once, even across a death: outcome-message.ts). A send withheld because the lease may have passed takes the lease again or
 * leaves the execution to a takeover; an outcome this run can no longer record as the request's is
 * recorded beside it (`execution.lease_lost`), never dropped.
 */
import {
  finishExecution,
  leaseLostEvent,
  oweOutcomeMessage,
  recordProgress,
  recordStarted,
  releaseLease,
  renewLease,
} from '../domain/lifecycle';
import type { ArmOperationRef, ExecutionOutcome, OperationProgress } from '../domain/operation';
import { canonicalJson } from '../domain/canonical';
import type { ApprovalRequest } from '../domain/request';
import { transact } from './context';
import { LeaseHold, type LeaseReading } from './lease-hold';
import { stillAsApproved } from './execution-evidence';
import { sendOutcomeMessage } from './outcome-message';
import { leaseTime, save, saveWhileRunning, type ExecutionRunner, type LeaseTime } from './execution-runner';

/**
 * Azure accepted the operation, and the store refused to record that through every retry: the run
 * stops following it, and the request ends unknown saying so, not with the store's words alone
 * ("database or disk is full" read as Azure's answer on the card).
 */
class AcceptedNotRecordedError extends Error {
  readonly code = 'AcceptedNotRecorded';
  constructor(cause: unknown, correlationId: string | undefined) {
    const said = cause instanceof Error ? cause.message : String(cause);
    super(
      `Azure accepted the operation, but Countersign could not record that in its database (${said}) and stopped following it${correlationId ? `: look for correlation id ${correlationId} in the target's activity log` : ''}`,
    );
    this.name = 'AcceptedNotRecordedError';
  }
}

function sameRef(a: ArmOperationRef | undefined, b: ArmOperationRef): boolean {
  return a !== undefined && canonicalJson(a) === canonicalJson(b);
}

/** Least time between two recorded progress steps of one operation (card updates follow them). */
const PROGRESS_INTERVAL_MS = 1000;
/** How many times one run takes its lease again after a withheld send before it leaves the execution to a takeover. */
const MAX_WITHHELD_SENDS = 3;

/**
 * Runs (or resumes) the claimed execution under the lease granted at `leaseFrom`, and records how it
 * ended. `attempt` counts the calls of this run whose send was withheld (withheldSend).
 */
export async function runClaimed(runner: ExecutionRunner, claimed: ApprovalRequest, mode: 'start' | 'resume', leaseFrom: LeaseReading, attempt = 1): Promise<void> {
  const { deps, owner } = runner;
  const requestId = claimed.id;
  if (runner.stopping) {
    // The stop began after the claim (while it was written, or the checks after it ran): its abort
    // found no run to stop, so nothing is sent now; the lease is let go and the next start resumes it.
    await leaveForNextStart(runner, requestId);
    return;
  }
  const abort = new AbortController();
  runner.aborts.set(requestId, abort);
  let leaseLost = false;
  const hold = new LeaseHold(deps.clock, runner.leaseMs, leaseFrom);
  // Renewals that fail in a row (a full disk, a store out of reach) are logged once, with the first
  // error, and once more when one succeeds again: every third of the lease is too often to log.
  let renewalsFailed = 0;
  const renewal = setInterval(() => {
    leaseTime(deps).then(async ({ at, from }) => ({ from, renewed: await transact(deps, requestId, (r) => renewLease(r, owner, new Date(at.getTime() + runner.leaseMs), deps.clock.now()), { refreshCards: false }) })).then(
      ({ from, renewed }) => {
        if (renewalsFailed > 0) deps.log.info({ requestId, failed: renewalsFailed }, 'lease renewal works again');
        renewalsFailed = 0;
        if (renewed?.result.ok) return hold.renewed(from);
        leaseLost = true;
        hold.lost();
        abort.abort();
      },
      (err: unknown) => {
        if (renewalsFailed++ === 0) deps.log.warn({ requestId, err: String(err) }, 'lease renewal failed; trying again (said once until a renewal works again)');
      },
    );
  }, Math.max(100, Math.floor(runner.leaseMs / 3)));
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
      const saved = await saveWhileRunning(deps, requestId, 'recording what Azure accepted', (r) => recordStarted(r, acceptedRef, deps.clock.now(), owner), (r) => sameRef(r.execution?.ref, acceptedRef), { refreshCards: false }).catch((err: unknown) => {
        throw new AcceptedNotRecordedError(err, acceptedRef.correlationId ?? ref.correlationId);
      });
      if (!saved) throw new Error(`request ${requestId} is no longer executed by ${owner}`);
    },
    // Resumed with nothing recorded from Azure and the target untouched: the operation is about to
    // be sent for the first time, maybe hours after the drift check before the claim (a crash during
    // an outage). What it would do is checked again; a change stops it, nothing sent.
    ...(mode === 'resume' ? { beforeFirstSend: () => stillAsApproved(runner, claimed) } : {}),
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
      await save(deps, requestId, (r) => recordProgress(r, progress, deps.clock.now(), owner)).catch((err: unknown) => {
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
    const error = { code: err instanceof AcceptedNotRecordedError ? err.code : 'ExecutionError', message: err instanceof Error ? err.message : String(err) };
    outcome = started ? { status: 'unknown', ref: { resourceIds: [] }, error } : { status: 'failed', ref: { resourceIds: [] }, error };
  } finally {
    clearInterval(renewal);
    runner.aborts.delete(requestId);
  }
  const known = { sent: sent || (started && mode === 'start'), ref: accepted ?? ref };
  if (withheld !== undefined) {
    await withheldSend(runner, claimed, mode, withheld, known, attempt);
    return;
  }
  if (leaseLost) {
    deps.log.warn({ requestId, owner }, 'execution taken over by another run; this run stopped following it');
    return;
  }
  if (runner.stopping && abort.signal.aborted) {
    await leaveForNextStart(runner, requestId);
    return;
  }
  await finish(runner, requestId, outcome, known);
}

/**
 * A write of the execution was withheld (`reason`): the lease may have passed before it could
 * leave (this process stopped for a while, or its renewals failed). If the lease is still this
 * run's, it is taken again and the execution goes on: the same call again when nothing had been
 * sent, else resumed as a takeover would (what was sent is followed or read back, never sent
 * twice). If another run holds it, or it ended, this run's view is recorded beside the row
 * (`execution.lease_lost`) and nothing more is done.
 */
async function withheldSend(runner: ExecutionRunner, claimed: ApprovalRequest, mode: 'start' | 'resume', reason: string, known: { sent: boolean; ref: ArmOperationRef }, attempt: number): Promise<void> {
  const { deps, owner } = runner;
  const requestId = claimed.id;
  let lease: LeaseTime;
  let retaken: Awaited<ReturnType<typeof transact>>;
  try {
    lease = await leaseTime(deps);
    retaken = await transact(deps, requestId, (r) => renewLease(r, owner, new Date(lease.at.getTime() + runner.leaseMs), deps.clock.now()), { refreshCards: false });
  } catch (err) {
    deps.log.error({ requestId, owner, reason, sent: known.sent, err: String(err) }, 'execution not sent: its lease may have passed, and the store could not be asked whose it is; left for a takeover to resume');
    return;
  }
  if (retaken?.result.ok) {
    if (attempt < MAX_WITHHELD_SENDS && !runner.stopping) {
      deps.log.warn({ requestId, owner, reason, sent: known.sent }, 'execution not sent: its lease may have passed; it was still this run\'s and is taken again, and the execution goes on');
      // Nothing left yet: its first send is still to come, maybe days after the claim (this process
      // was stopped that long, and no other took it over). What it rests on is checked again first,
      // as before a takeover's first send: a change since the claim stops it, nothing sent.
      const stale = known.sent ? undefined : await stillAsApproved(runner, retaken.result.request);
      if (stale !== undefined) {
        await finish(runner, requestId, { status: 'failed', ref: known.ref, error: { code: 'NotSentOnResume', message: `Not executed: ${stale.replace(/[.\s]+$/, '')}. Nothing was sent to Azure; ask again.` } });
        return;
      }
      await runClaimed(runner, retaken.result.request, known.sent ? 'resume' : mode, lease.from, attempt + 1);
      return;
    }
    // Stopping, or withheld time after time (this process keeps stopping): the lease is given up at once.
    await save(deps, requestId, (r) => releaseLease(r, owner, deps.clock.now(), lease.at), { refreshCards: false });
    if (runner.stopping) deps.log.info({ requestId, reason }, leftAtStop(runner));
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

/** At a stop, nothing more sent: the lease given up at once, so that the next start resumes the execution. */
async function leaveForNextStart(runner: ExecutionRunner, requestId: string): Promise<void> {
  const { deps, owner } = runner;
  const { at } = await leaseTime(deps);
  await save(deps, requestId, (r) => releaseLease(r, owner, deps.clock.now(), at), { refreshCards: false });
  deps.log.info({ requestId }, leftAtStop(runner));
}

/** What becomes of an execution whose lease a stop let go: another instance takes it over at its next sweep, if any runs; else the next start. */
function leftAtStop(runner: Pick<ExecutionRunner, 'shared'>): string {
  return runner.shared ? 'execution let go at the stop: another instance takes it over, or the next start resumes it' : 'execution let go at the stop: the next start resumes it';
}

export async function finish(runner: ExecutionRunner, requestId: string, outcome: ExecutionOutcome, known = { sent: false, ref: outcome.ref }): Promise<void> {
  const { deps, owner } = runner;
  const finished = await saveWhileRunning(
    deps,
    requestId,
    'recording how the execution ended',
    (r) => oweOutcomeMessage(finishExecution(r, outcome, deps.clock.now(), owner), deps.clock.now()),
    (r) => r.state !== 'executing',
  );
  if (!finished) {
    // Another run took the execution over (or it ended) while this one waited for Azure: Azure's
    // answer to this run is recorded beside the row, not dropped.
    const current = await deps.store.requests.get(requestId);
    if (!current) return;
    deps.log.error({ requestId, owner, status: outcome.status, state: current.state, heldBy: current.execution?.lease?.owner }, 'execution outcome not recorded as the request\'s: another run holds it, or it ended');
    await deps.store.audit.append([leaseLostEvent(current, { owner, ...known, outcome }, deps.clock.now())]);
    return;
  }
  // The message was recorded as owed with the outcome: a death from here on leaves it for the sweep of owed messages.
  await sendOutcomeMessage(deps, finished);
  deps.log.info({ requestId, state: finished.state }, 'execution finished');
}
