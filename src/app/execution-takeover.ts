/**
 * Resuming after a crash: an execution whose run died (or stopped) keeps its lease until it expires;
 * then any run takes it over (resumeExecution, a compare-and-swap, so one run does) and follows the
 * same ARM operation from the reference recorded when ARM accepted it, or reconciles from the
 * target's state. It never starts the operation again. A row its audit trail does not back is failed
 * instead of resumed.
 */
import { resumeExecution } from '../domain/lifecycle';
import { leaseLapsed } from '../domain/lease-time';
import { requestShapeProblem } from '../domain/request-shape';
import type { ExecutionLease } from '../domain/request';
import { transact } from './context';
import { readRequestTrail, trailProblem } from './request-trail';
import { unaudited } from './execution-evidence';
import { runClaimed } from './execution-send';
import { leaseClaim, leaseTime, type ExecutionRunner } from './execution-runner';
import { eachRequest, requestsWhere } from './sweep-each';

/**
 * The log line of a takeover: from another instance (several share the store) or from an earlier run
 * of this installation (one instance: a crash, a kill or a stop before this start), whose lease was
 * let go (a graceful stop, or a run that could not send) or expired (it died, or stopped answering).
 */
function takenOverText(runner: Pick<ExecutionRunner, 'shared' | 'owner'>, previous: ExecutionLease | undefined): string {
  if (!previous) return 'execution taken over: no run held it';
  // This run let it go itself (its sends withheld time after time) and its own sweep took it up.
  if (previous.owner === runner.owner) return 'execution taken up again by the run that let its lease go';
  const from = runner.shared ? 'another instance' : 'an earlier run';
  return previous.releasedAt ? `execution taken over from ${from}, which let its lease go` : `execution taken over from ${from}, whose lease expired`;
}

/** Takes over the executions whose lease expired and resumes them, each in the background; returns the ids taken over. */
export async function takeOverAbandoned(runner: ExecutionRunner): Promise<string[]> {
  const { deps } = runner;
  // Those this run follows are left out as they are read (page by page: an instance following
  // thousands of executions does not hold the event loop while it reads them every few seconds).
  const executing = await requestsWhere(deps, { states: ['executing'] }, (r) => !runner.isRunning(r.id));
  if (executing.length === 0) return [];
  const { at: now } = await leaseTime(deps);
  const abandoned = executing.filter((r) => !runner.isRunning(r.id) && (!r.execution?.lease || leaseLapsed(r.execution.lease.expiresAt, now, runner.leaseMs)));
  const taken: string[] = [];
  // One whose takeover cannot be written now (its row locked by another session) holds up none of the others.
  await eachRequest(deps, 'execution takeover', abandoned, async (r) => {
    const trail = await readRequestTrail(deps.store.audit, r.id);
    // Started here meanwhile (a click's run, a stranded request's): it is not abandoned.
    if (runner.isRunning(r.id)) return;
    const lease = await leaseTime(deps);
    const claim = await transact(deps, r.id, (current) => {
      // Only while it is still the execution found above (another instance may have moved it since).
      const problem = current.state === 'executing' ? (requestShapeProblem(current) ?? trailProblem(current, trail, 'resume')) : undefined;
      return problem ? unaudited(deps, current, problem, trail) : resumeExecution(current, leaseClaim(runner, lease.at), deps.clock.now());
    });
    if (!claim?.result.ok || claim.result.request.state !== 'executing') return;
    taken.push(r.id);
    const resumed = claim.result.request;
    const previous = r.execution?.lease;
    deps.log.warn({ requestId: r.id, previousOwner: previous?.owner, owner: runner.owner, ...(previous?.releasedAt ? { releasedAt: previous.releasedAt } : {}) }, takenOverText(runner, previous));
    // A stop that began while the takeover was written refuses new runs (track): runClaimed() then lets
    // the lease go at once, rather than holding it unfollowed until it runs out.
    if (runner.stopping) await runClaimed(runner, resumed, 'resume', lease.from);
    else runner.track(r.id, () => runClaimed(runner, resumed, 'resume', lease.from));
  });
  return taken;
}
