/**
 * What must still hold for an approved request to run, beyond its approvals: the row reads as a
 * request and its audit trail backs it, what it would do has not drifted since it was approved, the
 * delegations its approvals were given under are still in force, its approvers still approve under
 * the current config, a break-glass use is still allowed, and what was asked (its reason, its
 * conversation) still meets the command's rules. The start (execution-start.ts) reads
 * them before its claim, and the domain's claim (startExecution) judges them; a resumed execution
 * checks drift again before its first send (execution-send.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { claimedApprovalValidUntil, howItEnded, oweOutcomeMessage, refuseUnaudited, whyNotToRun, windowOpen, type CommandGone, type DelegationEnd, type Transition } from '../domain/lifecycle';
import { requestShapeProblem } from '../domain/request-shape';
import { RefusalReason, refusal } from '../domain/refusal';
import { decidingRoles, type AccessPolicy, type Roles } from '../domain/policy';
import { deciderText } from '../domain/delegation';
import { distinctNamer } from '../domain/display-names';
import { requirementsOf } from '../domain/quorum';
import type { Actor, Approval, ApprovalRequest, Requirement } from '../domain/request';
import type { CommandPolicy, CommandSpec } from '../domain/catalog';
import type { ReasonPolicy } from '../domain/reason';
import { currentCommand, transact, type AppDeps } from './context';
import { delegationsInForce, lapsedEnd } from './delegations';
import { checkDrift, type DriftCheck } from './drift';
import { accessWithGroups, approversAccess, rolesStillApproving } from './group-access';
import { REQUEST_INDEX, type RequestTrail } from './request-trail';
import { sendOutcomeMessage } from './outcome-message';
import type { ExecutionRunner } from './execution-runner';

/**
 * Why a row the executor would run (approved or scheduled) does not read as a request
 * (request-shape.ts), or undefined; rows in other states are not the executor's to fail.
 */
export function unreadableToRun(r: ApprovalRequest): string | undefined {
  return r.state === 'approved' || r.state === 'scheduled' ? requestShapeProblem(r) : undefined;
}

/** Fails an approved or scheduled request whose row does not read as a request (unreadableToRun), and tells its requester. */
export async function refuseUnreadable(deps: AppDeps, requestId: string): Promise<void> {
  const refused = await transact(deps, requestId, (r) => {
    const problem = unreadableToRun(r);
    if (problem === undefined) return { ok: false, refusal: refusal(RefusalReason.AlreadyDecided, `Request ${requestId} reads as a request now.`, requestId) };
    // Its requester's message is owed from this write (outcome-message.ts).
    return oweOutcomeMessage(unaudited(deps, r, problem), deps.clock.now(), (failed) => `Request ${requestId} was not executed. ${failed.outcomeDetail ?? ''}`.trim());
  });
  if (!refused?.result.ok) return;
  await sendOutcomeMessage(deps, refused.result.request);
}

/** The row claims what its audit records do not hold: it fails, loudly, with nothing sent to Azure. */
export function unaudited(deps: AppDeps, r: ApprovalRequest, problem: string, trail?: RequestTrail): Transition {
  if (trail && trail.leftOut.length > 0) {
    deps.log.error(
      { requestId: r.id, index: REQUEST_INDEX, leftOut: trail.leftOut.map((x) => x.seq) },
      `the audit log's index ${REQUEST_INDEX} leaves out records of this request that the log holds: someone with write access to the database made it again without them, and reads through it cannot be trusted. Run countersign audit verify (it names the index), rebuild it (REINDEX ${REQUEST_INDEX}) and find out who changed it`,
    );
  }
  deps.log.error({ requestId: r.id, state: r.state, problem }, 'not executed: the request\'s stored row does not match its audit trail');
  return refuseUnaudited(r, deps.clock.now(), problem);
}

/**
 * The drift check, tried again after driftRetryDelaysMs while it cannot read Azure for a passing
 * reason (a refusal, such as a missing permission, fails at once); undefined when the executor
 * stopped meanwhile.
 */
export async function checkDriftPatiently(runner: ExecutionRunner, r: ApprovalRequest): Promise<DriftCheck | undefined> {
  let drift = await checkDrift(runner.deps.azure, r);
  for (const wait of runner.driftRetryDelaysMs) {
    if (drift.drifted !== 'unknown' || !drift.transient) return drift;
    runner.deps.log.warn({ requestId: r.id, reason: drift.reason, retryInMs: wait }, 'drift check could not read Azure; trying again');
    try {
      await sleep(wait, undefined, { signal: runner.stopped });
    } catch {
      return undefined;
    }
    drift = await checkDrift(runner.deps.azure, r);
  }
  return drift;
}

/**
 * Why a resumed execution must not send its operation now, or undefined. It is sent for the first
 * time, maybe days after its claim (the run died in between, and nothing ran for a while): what the
 * claim checked is checked again with the config, delegations and memberships of now (the approval
 * still valid, its approvers still approving, its delegations in force, its requester and a
 * break-glass use still allowed), then what it would do (drift).
 */
export async function stillAsApproved(runner: ExecutionRunner, r: ApprovalRequest): Promise<string | undefined> {
  const unauthorized = await noLongerAuthorized(runner.deps, r);
  if (unauthorized) return unauthorized;
  const drift = await checkDriftPatiently(runner, r);
  if (!drift) return 'Countersign is stopping';
  if (drift.drifted === 'unknown') return `the target could not be read to check that it is still as approved before sending the operation on resuming it (${drift.reason})`;
  if (!drift.drifted) return undefined;
  runner.deps.log.warn({ requestId: r.id, changes: drift.found.changes.length }, 'drift found before a resumed execution sent its operation: not sent');
  return `what it would do changed since it was approved (${drift.found.changes.join('; ')}), found before its operation was first sent on resuming it`;
}

/** How each delegation that approvals on the request were given under, and that is no longer in force, ended (revoked, replaced, ran out). */
export async function delegationEnds(deps: AppDeps, r: ApprovalRequest, inForce: ReadonlySet<string>): Promise<Map<string, DelegationEnd>> {
  const ids = new Set(r.approvals.flatMap((a) => (a.delegationId !== undefined && !inForce.has(a.delegationId) ? [a.delegationId] : [])));
  const ends = new Map<string, DelegationEnd>();
  for (const id of ids) {
    const d = await deps.store.delegations.get(id);
    // Revoked or replaced says so; otherwise its time ran out, or delegation is turned off in the config.
    if (d) ends.set(id, d.ended ? howItEnded(d) : lapsedEnd(deps));
  }
  return ends;
}

/** The approvals given under a delegation no longer in force ("Carol on behalf of Bob"), read after the claim. */
export async function lapsedDelegations(deps: AppDeps, r: ApprovalRequest): Promise<string[]> {
  const delegated = r.approvals.filter((a) => a.delegationId !== undefined);
  if (delegated.length === 0) return [];
  const inForce = new Set((await delegationsInForce(deps, deps.clock.now())).map((d) => d.id));
  return delegated.filter((a) => !inForce.has(a.delegationId!)).map((a) => deciderText(a, distinctNamer(r)));
}

export function stillApprover(deps: AppDeps, r: ApprovalRequest, actor: Actor, requirement: Requirement, access: AccessPolicy): boolean {
  const current = currentCommand(deps, r.command)?.policy?.approverRoles ?? [];
  // The requirement's roles that the current config still names as approving, and the escalation role when the request was escalated.
  return access.isApproverFor(decidingRoles(r, rolesStillApproving(requirement, current)), actor);
}

/** The current config no longer has the request's command as a sensitive one (taken out, or made read-only): why, as the claim and an approval say it. */
export function commandGoneNow(name: string, commandNow: CommandSpec | undefined): CommandGone {
  return { commandGone: commandNow ? `"${name}" is now a read-only command in the config: nothing it asked for runs any more` : `the command "${name}" is no longer in the config` };
}

/** The roles whose Entra groups say whether the requester may still ask for it: the command's requester roles now and, for a break-glass use, its break-glass roles (an on-call rota). */
export function askingRolesOf(policy: CommandPolicy, r: ApprovalRequest): string[] {
  return [...policy.requesterRoles, ...(r.breakGlass ? (policy.breakGlass?.roles ?? []) : [])];
}

/** Whether the requester still holds one of the command's requester roles now (or it has none), with `access`'s memberships. */
export function requesterMayNow(policy: CommandPolicy, r: ApprovalRequest, access: RolesHeld): boolean {
  return policy.requesterRoles.length === 0 || access.roles.holdsAny(policy.requesterRoles, r.requester.aadObjectId);
}

/** Whose roles a check of asking reads: an access policy, or what stands in for one (an approval's, decisions.ts). */
type RolesHeld = { roles: Pick<Roles, 'holdsAny'> };

/**
 * The current config's word on a break-glass use about to run (a crash between its use and its run
 * can put a restart, with another config, in between): why it no longer holds, if so.
 */
export function breakGlassNow(command: CommandSpec, r: ApprovalRequest, access: RolesHeld): { breakGlassWithdrawn?: string } {
  if (!r.breakGlass) return {};
  const policy = command.policy?.breakGlass;
  if (!policy) return { breakGlassWithdrawn: `"${command.name}" no longer allows break-glass` };
  if (!access.roles.holdsAny(policy.roles, r.requester.aadObjectId)) {
    return { breakGlassWithdrawn: `${r.requester.name} no longer holds a break-glass role of "${command.name}" (${policy.roles.join(', ')})` };
  }
  return {};
}

/**
 * The command's rules on what is asked, as configured now (its reason rule, where it may be asked
 * for): a request asked for under looser ones runs only if it still meets them (the claim's whyNotToRun).
 */
export function askingRulesNow(policy: CommandPolicy): { reason?: ReasonPolicy; conversations: Pick<CommandPolicy, 'conversationTypes' | 'conversationIds'> } {
  return { ...(policy.reason ? { reason: policy.reason } : {}), conversations: { conversationTypes: policy.conversationTypes, conversationIds: policy.conversationIds } };
}

/** The claim's checks (startExecution) made again for a request claimed long ago: why it may no longer run, or undefined. */
async function noLongerAuthorized(deps: AppDeps, r: ApprovalRequest): Promise<string | undefined> {
  const now = deps.clock.now();
  const validUntil = claimedApprovalValidUntil(r);
  if (now.getTime() >= validUntil.getTime()) {
    return `its approval stopped being valid at ${validUntil.toISOString()} (maxScheduleAhead), before its operation was first sent on resuming it`;
  }
  // Claimed inside a maintenance window that has closed since: never run outside one.
  if (!windowOpen(r, now)) return 'its command runs only in its maintenance windows, and none was open when its operation was first to be sent, on resuming it';
  const delegations = new Set((await delegationsInForce(deps, now)).map((d) => d.id));
  const ended = await delegationEnds(deps, r, delegations);
  const commandNow = currentCommand(deps, r.command);
  const policyNow = commandNow?.policy;
  const approvers = await approversAccess(deps, r, policyNow?.approverRoles ?? []);
  if (!approvers.ok) return approvers.problem;
  // The requester's groups of the current requester roles and, for a break-glass use, of its break-glass roles.
  const requester = await accessWithGroups(deps, [r.requester], policyNow ? askingRolesOf(policyNow, r) : [], r.id, false);
  if (!requester.ok) return requester.problem;
  const stopped = whyNotToRun(
    r,
    (actor: Actor, approval: Approval, requirement: Requirement) =>
      approval.delegationId !== undefined && !delegations.has(approval.delegationId) ? (ended.get(approval.delegationId) ?? lapsedEnd(deps)) : stillApprover(deps, r, actor, requirement, approvers.access),
    !commandNow || !policyNow
      ? commandGoneNow(r.command, commandNow)
      : {
          requirements: requirementsOf(policyNow),
          mayFill: (actor: Actor, requirement: Requirement) => approvers.access.isApproverFor(decidingRoles(r, requirement.roles), actor),
          requesterMay: requesterMayNow(policyNow, r, requester.access),
          ...breakGlassNow(commandNow, r, requester.access),
          ...askingRulesNow(policyNow),
        },
  );
  // The claim's words ("Not executed: …. Nothing was sent to Azure…") as the reason the send is withheld for.
  return stopped?.detail.replace(/^Not executed:\s*/, '').replace(/\s*Nothing was sent to Azure.*$/, '').replace(/[.\s]+$/, '');
}
