/**
 * Claiming an approved request for execution, or finding it drifted:
 *
 *   approved → executing (claimed under a lease; every approval checked again against the current config)
 *   approved → failed (an approval no longer counts, the command's policy now asks for more, or its reason or
 *     conversation rule now refuses what was asked)
 *   approved → needs_reapproval (drift: what would happen changed)
 *   scheduled, once due: as approved
 *
 * What happens once it is executing (the lease renewed, released, taken over; what Azure accepted,
 * progress, the outcome) is execution.ts.
 */
import { requestEvent } from '../audit';
import { reapprovalHash, type TargetSnapshot } from '../drift';
import type { WhatIfSummary } from '../operation';
import { filledBy, principalOf, progress, requirementsOf, requirementsText, unmetBy } from '../quorum';
import { RefusalReason } from '../refusal';
import { deciderText } from '../delegation';
import { distinctNamer } from '../display-names';
import type { Actor, Approval, ApprovalRequest, Execution, Requirement } from '../request';
import { runsOnBreakGlass } from './break-glass';
import { type DelegationEnd, voidedApprovalsText } from './decision';
import { approvalLapsed, scheduleDue, windowOpen } from './schedule';
import { nextWindowMoment, type MaintenanceWindow } from '../schedule';
import { windowsText } from '../policy-words';
import { askingRuleBroken, askingRuleDetail, commandGoneRule, type AskingRules, type CommandGone } from './asking-rules';
import { next, refuse, type Transition } from './transition';


/** Who claims an execution, until when, and the correlation id its ARM calls will carry. */
export interface ExecutionClaim {
  owner: string;
  leaseUntil: Date;
  /**
   * The time on the clock leases are judged by (the database's, when instances share one), read
   * for this claim: another run's lease is judged lapsed or not at it. Absent: `now`.
   */
  at?: Date;
  /** Recorded before any ARM call, so a run that dies before hearing back can still find its operation. */
  correlationId?: string;
}

/** The command's policy in the current config, as execution checks the approvals against it too. */
export interface CurrentPolicy {
  requirements: Requirement[];
  /** Whether this person (whose authority an approval carries) holds one of the requirement's roles now. */
  mayFill: (actor: Actor, requirement: Requirement) => boolean;
  /** Whether the requester still holds one of the command's requester roles (or it has none). */
  requesterMay: boolean;
  /** For a break-glass use: why the current config no longer lets the requester use it, if so. */
  breakGlassWithdrawn?: AskingRules['breakGlassWithdrawn'];
  /** The command's maintenance windows now (none: any time): added or narrowed since the request was made, they hold for it too. */
  windows?: readonly MaintenanceWindow[];
  /** The command's reason rule now (absent: a reason is optional): made stricter since the request was made, it holds for it too. */
  reason?: AskingRules['reason'];
  /** Where the command may be asked for now (absent: anywhere): a conversation taken out of it since, it runs nothing asked for there. */
  conversations?: AskingRules['conversations'];
}

/** Whether an approval still counts at execution: yes; no, its person no longer holds the role; or no, the delegation it was given under ended (how). */
export type StillCounts = boolean | DelegationEnd;

/**
 * Claims an approved request for execution. Approvers' roles are checked again here (the
 * configuration may have changed since they clicked); approvals that no longer count can leave
 * the request short, and then it fails without touching Azure. So does a command whose policy now
 * asks for more than those approvals give (`current`): a policy tightened after the approval (a
 * change freeze, a second requirement) holds for what has not run yet, a scheduled run included.
 */
export function startExecution(
  r: ApprovalRequest,
  now: Date,
  stillApprover: (actor: Actor, approval: Approval, requirement: Requirement) => StillCounts,
  claim?: ExecutionClaim,
  current?: CurrentPolicy | CommandGone,
): Transition {
  if (!readyToRun(r, now)) return notReady(r);
  const at = now.toISOString();
  const stopped = whyNotToRun(r, stillApprover, current);
  if (stopped) {
    const updated = next(r, now, { state: 'failed', outcomeDetail: stopped.detail });
    // Which approvals no longer count, one by one, when that is why (the rest still count): the trail alone then says so.
    const data = stopped.lapsed ? { data: { approvals: stopped.lapsed } } : {};
    return { ok: true, request: updated, events: [requestEvent(updated, 'approval.revoked', at, { result: 'refused', reason: stopped.reason, detail: stopped.detail }, data)] };
  }
  // Windows given to the command since (a freeze on weekdays): what has not run yet runs only inside them
  // too. A break-glass use runs at once or not at all, as with the windows it was made under.
  const windows = current && 'windows' in current ? (current.windows ?? []) : [];
  if (!runsOnBreakGlass(r) && windows.length > 0 && nextWindowMoment(windows, now)?.getTime() !== now.getTime()) {
    const detail = `Not executed: "${r.command}" may now run only in its maintenance windows (${windowsText(windows)}), and none is open; its policy changed after it was approved. Nothing was sent to Azure: ask again, to have it run in one.`;
    const updated = next(r, now, { state: 'failed', outcomeDetail: detail });
    return { ok: true, request: updated, events: [requestEvent(updated, 'approval.revoked', at, { result: 'refused', reason: RefusalReason.PolicyTightened, detail })] };
  }
  const execution: Execution = {
    startedAt: at,
    ref: { ...(claim?.correlationId ? { correlationId: claim.correlationId } : {}), resourceIds: [] },
    ...(claim ? { lease: { owner: claim.owner, expiresAt: claim.leaseUntil.toISOString() } } : {}),
  };
  const updated = next(r, now, { state: 'executing', execution });
  return {
    ok: true,
    request: updated,
    events: [
      requestEvent(updated, 'execution.started', at, { result: 'ok' }, {
        execution: { ...(claim?.correlationId ? { correlationId: claim.correlationId } : {}), status: 'started' },
      }),
    ],
  };
}

/**
 * An approval that no longer counts at the claim, as its `approval.revoked` record names it: the
 * approval.granted record's actor (`approver`), on whose behalf (`onBehalfOf`) and time (`at`), all
 * an approval history needs to tell it from the approvals that still count; and why (a RefusalReason:
 * its person lost the role, the delegation it was given under was revoked or ended, or it approved
 * another operation than the request's).
 */
interface LapsedApproval {
  approver: string;
  onBehalfOf?: string;
  at: string;
  why: string;
}

function lapsedApproval(a: Approval, r: ApprovalRequest, verdict: StillCounts | undefined): LapsedApproval {
  const why = typeof verdict === 'object'
    ? verdict.how === 'revoked' || verdict.how === 'replaced' ? RefusalReason.DelegationRevoked : RefusalReason.DelegationEnded
    : a.operationHash !== r.operationHash ? RefusalReason.DriftDetected : RefusalReason.ApproverLostRole;
  return { approver: a.approver.aadObjectId, ...(a.onBehalfOf ? { onBehalfOf: a.onBehalfOf.aadObjectId } : {}), at: a.at, why };
}

/**
 * Why an approved request may not run now, with the current config (`current`) and each approval's
 * standing (`stillApprover`), or undefined when it may: the checks of the claim (startExecution), and
 * of a resumed execution about to send its operation for the first time, maybe days after its claim.
 */
export function whyNotToRun(
  r: ApprovalRequest,
  stillApprover: (actor: Actor, approval: Approval, requirement: Requirement) => StillCounts,
  current?: CurrentPolicy | CommandGone,
): { reason: RefusalReason; detail: string; lapsed?: LapsedApproval[] } | undefined {
  // A command taken out of the config (or made read-only) runs nothing more, whatever its approvals (asking-rules.ts).
  if (current && 'commandGone' in current) {
    const gone = commandGoneRule(current);
    return { reason: gone.reason, detail: askingRuleDetail(gone) };
  }
  // Each approval is checked against the requirement it filled, with the role of the person whose
  // authority it carries (an approval on behalf of someone: that person's; the app checks its delegation).
  const requirements = requirementsOf(r.policy);
  const verdicts = new Map(r.approvals.map((a) => [a, a.operationHash === r.operationHash ? stillApprover(principalOf(a), a, requirements[filledBy(a)] ?? { roles: [], count: 0 }) : false]));
  const valid = r.approvals.filter((a) => verdicts.get(a) === true);
  const short = progress({ policy: r.policy, approvals: valid }).filter((p) => !p.met);
  // The one exception to the two-person rule: a break-glass use runs without approval and is reviewed after,
  // unless it drifted: then it was approved again, and those approvals are checked like any (break-glass.ts).
  if (!runsOnBreakGlass(r) && short.length > 0) {
    // Each approval that no longer counts, said for what it is: its person lost the role, or its delegation ended (and how).
    const lost = r.approvals.filter((a) => verdicts.get(a) === false);
    // Namesakes on the request told apart, as on its card (display-names.ts).
    const named = distinctNamer(r);
    const why = [
      ...(lost.length > 0 ? [`${lost.map((a) => deciderText(a, named)).join(', ')} no longer hold(s) the approver role`] : []),
      ...r.approvals.flatMap((a) => {
        const verdict = verdicts.get(a);
        return typeof verdict === 'object' ? [voidedApprovalsText(r, [a], verdict)] : [];
      }),
    ];
    const still = r.policy.requirements ? ` (${short.map((p) => `${p.label} ${p.approvals.length} of ${p.requirement.count}`).join(', ')})` : '';
    return {
      reason: RefusalReason.ApproverLostRole,
      detail: `Not executed: ${why.join('; ')}; ${valid.length} of ${r.policy.approvals} approval(s) still count${still}.`,
      lapsed: r.approvals.filter((a) => verdicts.get(a) !== true).map((a) => lapsedApproval(a, r, verdicts.get(a))),
    };
  }
  // Asking, too, must still be allowed: its requester's role (a break-glass use's break-glass), its reason, its conversation.
  const rule = current ? askingRuleBroken(r, current) : undefined;
  if (rule) return { reason: rule.reason, detail: askingRuleDetail(rule) };
  const unmet = !runsOnBreakGlass(r) && current ? unmetBy(valid, current.requirements, current.mayFill) : [];
  if (unmet.length > 0) {
    const meets = unmet.map((u) => `${u.filled} of ${u.requirement.count} from ${u.requirement.roles.join(' or ')}`).join(', ');
    return {
      reason: RefusalReason.PolicyTightened,
      detail: `Not executed: the policy of "${r.command}" changed after it was approved and now needs ${requirementsText(current!.requirements)}; the ${valid.length} approval(s) it has give ${meets}. Nothing was sent to Azure: ask again, to have it approved under the current policy.`,
    };
  }
  return undefined;
}

/** What the requester is told of a request that ended without running: "Request CS-… was not executed: <why>" (its detail's "Not executed:" said once). */
export function notExecutedText(r: Pick<ApprovalRequest, 'id' | 'outcomeDetail'>): string {
  const why = (r.outcomeDetail ?? '').replace(/^Not executed:\s*/, '').trim();
  return why ? `Request ${r.id} was not executed: ${why}` : `Request ${r.id} was not executed.`;
}

/** What may be claimed for execution (or found drifted): approved (inside its maintenance window, when its command has any), or scheduled and due. */
export function readyToRun(r: ApprovalRequest, now: Date): boolean {
  return (r.state === 'approved' && windowOpen(r, now) && !approvalLapsed(r, now)) || scheduleDue(r, now);
}

function notReady(r: ApprovalRequest): Transition {
  const detail = r.state === 'scheduled' ? `scheduled for ${r.runAt ?? '(unknown)'}` : r.state;
  return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${detail}, not approved.`);
}

/** What drift detection found right before execution, and what approvers will now see. */
export interface DriftFound {
  changes: string[];
  /** The what-if as it is now (deployments). */
  whatIf?: WhatIfSummary;
  /** The target as it is now (other operations). */
  baseline?: TargetSnapshot;
}

/**
 * What would happen is no longer what was approved: nothing executes, the approvals no longer count,
 * and the request needs deciding again against what is true now (a fresh hash, a fresh time to live).
 */
export function detectDrift(r: ApprovalRequest, found: DriftFound, now: Date): Transition {
  if (!readyToRun(r, now)) return notReady(r);
  if (found.changes.length === 0) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has not drifted.`);
  const at = now.toISOString();
  const whatIf = found.whatIf ?? r.whatIf;
  const baseline = found.baseline ?? r.baseline;
  const expectation = whatIf ? { whatIf } : baseline ? { baseline } : { baseline: { exists: false, facts: {} } };
  const updated = next(r, now, {
    state: 'needs_reapproval',
    operationHash: reapprovalHash(r.operationHash, expectation),
    approvals: [],
    ...(whatIf ? { whatIf } : {}),
    ...(baseline ? { baseline } : {}),
    drift: { detectedAt: at, changes: found.changes, previousOperationHash: r.operationHash },
    expiresAt: new Date(now.getTime() + r.policy.ttlSeconds * 1000).toISOString(),
  });
  // A new time to live, a new set of reminders: those sent before the approval do not use up the ones it needs now.
  delete updated.reminders;
  const detail = `Not executed: what would happen changed since it was approved (${found.changes.length} difference(s)); it needs approving again.`;
  const event = requestEvent(updated, 'drift.detected', at, { result: 'refused', reason: RefusalReason.DriftDetected, detail }, {
    data: { changes: found.changes, previousOperationHash: r.operationHash, voidedApprovals: r.approvals.map((a) => a.approver.aadObjectId) },
  });
  return { ok: true, request: updated, events: [event] };
}
