/**
 * Starting an approved request: from `approved` to a claimed execution, then its send.
 *
 * Before anything is claimed, the evidence that it may still run is gathered (execution-evidence.ts):
 * its audit trail backs the row, what it would do has not drifted (a drift moves it to
 * needs_reapproval, nothing run), the delegations and group memberships its approvals rest on. The
 * claim (approved → executing) is a compare-and-swap, so however many approvals race, one execution
 * runs; the domain's startExecution judges the evidence in it, takes a lease (this run's name, an
 * expiry) and records the correlation id before any ARM call. What the claim could not see in time
 * (a delegation ended while it committed, memberships or the target that could not be read) fails the
 * execution right after it, before Azure.
 */
import {
  approvalLapsed,
  detectDrift,
  approvalLapsedText,
  expireUnstarted,
  missedWindow,
  notExecutedText,
  oweOutcomeMessage,
  readyToRun,
  startExecution,
  type Transition,
} from '../domain/lifecycle';
import { decidingRoles } from '../domain/policy';
import { requirementsOf } from '../domain/quorum';
import type { Actor, Approval, Requirement } from '../domain/request';
import { currentCommand, transact, type AppDeps } from './context';
import { sendOutcomeMessage } from './outcome-message';
import { delegationsInForce, lapsedEnd } from './delegations';
import type { DriftCheck } from './drift';
import { accessWithGroups, approversAccess } from './group-access';
import { requesterTime } from './decisions';
import { waitForNextOpening } from './schedule';
import { announcingAfter, decidersAudience, delegationsToTell, inBackground, tellDeciders } from './notifications';
import { readRequestTrail, trailProblem } from './request-trail';
import {
  askingRolesOf,
  askingRulesNow,
  commandGoneNow,
  requesterMayNow,
  breakGlassNow,
  checkDriftPatiently,
  delegationEnds,
  lapsedDelegations,
  refuseUnreadable,
  stillApprover,
  unaudited,
  unreadableToRun,
} from './execution-evidence';
import { finish } from './execution-send';
import type { LeaseReading } from './lease-hold';
import type { ApprovalRequest } from '../domain/request';
import { leaseClaim, leaseTime, save, type ExecutionRunner } from './execution-runner';

/**
 * A claim that refused to run the request (it ended it: an approver who no longer may, a command gone)
 * owes its requester "Request … was not executed: …", recorded with it; one that started it owes
 * nothing yet (its outcome will).
 */
function oweNotExecuted(deps: AppDeps, t: Transition): Transition {
  return oweOutcomeMessage(t, deps.clock.now(), (r) => (r.state === 'executing' ? undefined : notExecutedText(r)));
}

/**
 * Checks and claims the approved (or due scheduled) request once: drift check, evidence, claim.
 * Returns the claim to run (the caller sends it: runClaimed, execution-send.ts), or undefined when there is
 * nothing to run. Followed by the caller, not here: what these checks read (the audit trail, the
 * approvers' access, the claim's records) is then let go while the operation runs in Azure, which
 * may take minutes, instead of staying reachable from this function's suspended frame.
 */
export async function startApproved(runner: ExecutionRunner, requestId: string): Promise<{ request: ApprovalRequest; leaseFrom: LeaseReading } | undefined> {
  const { deps } = runner;
  const approved = await deps.store.requests.get(requestId);
  // A row edited into another shape is refused before anything else reads it, as a row its audit
  // trail does not back: read further, it would throw at each start and stay approved, unexplained.
  if (approved && unreadableToRun(approved) !== undefined) {
    await refuseUnreadable(deps, requestId);
    return;
  }
  // Approved so long ago that its approval no longer holds (nothing started it in time): it expires unstarted.
  if (approved && approvalLapsed(approved, deps.clock.now())) {
    // Told from the request's times as it stood approved, in the requester's zone (the stored detail
    // keeps UTC); the message is owed from the write that ends it (outcome-message.ts).
    const at = await requesterTime(deps, approved);
    const lapsedText = (r: ApprovalRequest) => notExecutedText({ id: r.id, outcomeDetail: approvalLapsedText(r, at) });
    const expired = await save(deps, requestId, (r) => oweOutcomeMessage(expireUnstarted(r, deps.clock.now()), deps.clock.now(), () => lapsedText(r)));
    if (expired) {
      deps.log.warn({ requestId, approvedAt: approved.updatedAt }, 'an approved request was not started while its approval held: expired unstarted');
      await sendOutcomeMessage(deps, expired);
    }
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
  const trail = await readRequestTrail(deps.store.audit, requestId);
  const forged = trailProblem(approved, trail, 'start') !== undefined;
  // A command no longer configured as a sensitive one runs nothing more: the claim below fails it,
  // before Azure is read for a drift that would ask its approvers again for nothing.
  const commandLeft = currentCommand(deps, approved.command)?.policy !== undefined;
  const drift: DriftCheck | undefined = forged || !commandLeft ? { drifted: false } : await checkDriftPatiently(runner, approved);
  // Stopped while waiting to check again, or while Azure took its time to answer the check: the
  // request stays approved, for the next start. Nothing new starts once a stop began.
  if (!drift || runner.stopping) return;
  if (drift.drifted === true) {
    // The re-approval's round is recorded with it (round-resume.ts takes it up again if cut short), and
    // its requester's message as owed (outcome-message.ts): a run killed before it went still sends it.
    const inForce = await delegationsToTell(deps);
    const reapprovalText = (r: ApprovalRequest) =>
      `Request ${r.id} (${r.command}) was not executed: what it would do changed since it was approved (${drift.found.changes.join('; ')}). It needs approving again on its card.`;
    const saved = await save(deps, requestId, (r) =>
      oweOutcomeMessage(announcingAfter(deps, detectDrift(r, drift.found, deps.clock.now()), 'reapproval', deps.clock.now(), (x) => decidersAudience(deps, x, 'reapproval', inForce)), deps.clock.now(), reapprovalText),
    );
    if (!saved) return;
    deps.log.warn({ requestId, changes: drift.found.changes.length }, 'drift detected: not executed, needs approving again');
    await sendOutcomeMessage(deps, saved);
    // This run's write moved it to needs_reapproval, so this run tells the people who decide again.
    await inBackground(deps, requestId, () => tellDeciders(deps, saved, 'reapproval'));
    return;
  }
  // An approval given on someone's behalf counts only while its delegation is still in force.
  const delegations = new Set((await delegationsInForce(deps, deps.clock.now())).map((d) => d.id));
  const ended = await delegationEnds(deps, approved, delegations);
  // Approvers' Entra group memberships, looked up again (within the cache lifetime); unknown ones fail the run below.
  // While they are unknown every approval is let through the claim only so that the run fails right after it, before Azure.
  const commandNow = currentCommand(deps, approved.command);
  const policyNow = commandNow?.policy;
  const approvers = await approversAccess(deps, approved, policyNow?.approverRoles ?? []);
  // The requester's memberships in the groups of the current requester roles: asking, too, must still be theirs.
  // And, for a break-glass use, in the groups of the current break-glass roles (breakGlassNow).
  const requester = approvers.ok ? await accessWithGroups(deps, [approved.requester], policyNow ? askingRolesOf(policyNow, approved) : [], approved.id, false) : undefined;
  const membership = requester && !requester.ok ? requester : approvers;
  if (runner.stopping) return;
  const lease = await leaseTime(deps);
  const claim = await transact(deps, requestId, (r) => {
    // Only while it is still ready to run: another instance may have claimed it since the records were read.
    const problem = unreadableToRun(r) ?? (readyToRun(r, deps.clock.now()) ? trailProblem(r, trail, 'start') : undefined);
    if (problem) return oweOutcomeMessage(unaudited(deps, r, problem, trail), deps.clock.now(), notExecutedText);
    return oweNotExecuted(deps, startExecution(
      r,
      deps.clock.now(),
      (actor: Actor, approval: Approval, requirement: Requirement) =>
        approval.delegationId !== undefined && !delegations.has(approval.delegationId)
          ? (ended.get(approval.delegationId) ?? lapsedEnd(deps))
          : !membership.ok || stillApprover(deps, r, actor, requirement, membership.access),
      leaseClaim(runner, lease.at, runner.newCorrelationId()),
      // The command's policy now: what the approvals must also meet (while memberships are unknown, the run fails below anyway).
      !commandNow || !policyNow
        ? commandGoneNow(r.command, commandNow)
        : membership.ok
        ? {
            requirements: requirementsOf(policyNow),
            mayFill: (actor: Actor, requirement: Requirement) => membership.access.isApproverFor(decidingRoles(r, requirement.roles), actor),
            requesterMay: requesterMayNow(policyNow, r, (requester ?? membership).access),
            ...breakGlassNow(commandNow, r, (requester ?? membership).access),
            ...askingRulesNow(policyNow),
            windows: policyNow.schedule?.windows ?? [],
          }
        : undefined,
    ));
  });
  if (!claim || !claim.result.ok) return; // someone else claimed it, or it is no longer approved
  const claimed = claim.result.request;
  if (claimed.state !== 'executing') {
    await sendOutcomeMessage(deps, claimed);
    return;
  }
  // A delegation that ended while the claim was being committed: the approval it carried no longer counts.
  const lapsed = await lapsedDelegations(deps, claimed);
  if (lapsed.length > 0) {
    const error = { code: 'DelegationEnded', message: `Not executed: the delegation behind the approval of ${lapsed.join(', ')} ended before the execution started. Nothing was sent to Azure; ask again.` };
    await finish(runner, requestId, { status: 'failed', ref: claimed.execution?.ref ?? { resourceIds: [] }, error });
    return;
  }
  if (!membership.ok) {
    const error = { code: 'MembershipCheckFailed', message: `Not executed: ${membership.problem.replace(/[.\s]+$/, '')}. Nothing was sent to Azure; ask again.` };
    await finish(runner, requestId, { status: 'failed', ref: claimed.execution?.ref ?? { resourceIds: [] }, error });
    return;
  }
  if (drift.drifted === 'unknown') {
    const error = { code: 'DriftCheckFailed', message: `Not executed: ${drift.reason.replace(/[.\s]+$/, '')}. Nothing was sent to Azure; ask again once the target can be read.` };
    await finish(runner, requestId, { status: 'failed', ref: claimed.execution?.ref ?? { resourceIds: [] }, error });
    return;
  }
  return { request: claimed, leaseFrom: lease.from };
}
