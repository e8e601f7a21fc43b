/**
 * Deciding a request: approve, reject, cancel, expire.
 *
 *   pending → approved | rejected | cancelled | expired
 *   needs_reapproval → approved | rejected | cancelled | expired
 *   pending | needs_reapproval → scheduled (the last approval, when the request may only run later)
 *   scheduled → cancelled (requester or approver) | expired (the approval's validity ran out unstarted)
 *   approved | scheduled → failed (a delegation an approval needed was revoked or replaced before it started)
 *   pending | needs_reapproval → failed (an approval clicked once the config as it is now no longer lets it
 *     run: its command is gone, its requester lost the role, or its reason or conversation rule no longer
 *     allows what was asked: the approval is refused, the request ends; or Countersign itself finds it
 *     so, before reminding of it or escalating it, or at the start: endIfUnaskable)
 */
import { requestEvent, type AuditEventDraft } from '../audit';
import { authorityCounted, deciderText, type Delegation } from '../delegation';
import { distinctNamer } from '../display-names';
import { decidingRoles, rolesText } from '../policy';
import { RefusalReason, refusal } from '../refusal';
import { askingRuleBroken, askingRuleDetail, type AskingRules, type BrokenAskingRule, type CommandGone } from './asking-rules';
import { assign, eligibleRequirements, filledBy, outstandingText, principalOf, progress, progressText, requirementLabel, requirementsOf } from '../quorum';
import { type Actor, type Approval, type ApprovalRequest, isDecidable, standing } from '../request';
import { runsOnBreakGlass } from './break-glass';
import { scheduleIfLater } from './schedule';
import { andThen, type DecisionContext, next, refuse, type Transition } from './transition';
import { utcText, zonedText } from '../delegation-time';

export function isPastExpiry(r: ApprovalRequest, now: Date): boolean {
  return now.getTime() >= Date.parse(r.expiresAt);
}

/** Checks shared by approve and reject: state, expiry, stale card, self, role. */
function checkDecider(r: ApprovalRequest, ctx: DecisionContext, verb: 'approve' | 'reject'): Transition | undefined {
  if (!isDecidable(r)) {
    return refuse(r, r.state === 'expired' ? RefusalReason.Expired : RefusalReason.AlreadyDecided, `Request ${r.id} ${standing(r.state)}; it can no longer be ${verb === 'approve' ? 'approved' : 'rejected'}.`);
  }
  if (isPastExpiry(r, ctx.now)) {
    return refuse(r, RefusalReason.Expired, `Request ${r.id} expired at ${zonedText(r.expiresAt, ctx.zone)}; ask for it again if it is still needed.`);
  }
  if (ctx.cardHash !== undefined && ctx.cardHash !== r.operationHash) {
    if (ctx.cardHash.length > 0 && ctx.cardHash.length < r.operationHash.length && r.operationHash.startsWith(ctx.cardHash.toLowerCase())) {
      return refuse(
        r,
        RefusalReason.StaleCard,
        `This click for request ${r.id} carries a shortened operation hash (${ctx.cardHash.length} characters); send the card's full data.hash (${r.operationHash.length} characters).`,
      );
    }
    return refuse(r, RefusalReason.StaleCard, `This card for request ${r.id} is out of date; the operation it shows is not the one pending. Use the latest card.`);
  }
  if (ctx.actor.aadObjectId.toLowerCase() === r.requester.aadObjectId.toLowerCase()) {
    return refuse(
      r,
      RefusalReason.SelfApproval,
      verb === 'approve'
        ? `You asked for request ${r.id}, so you cannot approve it: a second person must.`
        : `You asked for request ${r.id}; use Cancel to withdraw it.`,
    );
  }
  if (ctx.onBehalfOf && ctx.onBehalfOf.aadObjectId.toLowerCase() === r.requester.aadObjectId.toLowerCase()) {
    // A delegate who shares the requester's display name is told which of the two asked (display-names.ts).
    const requester = distinctNamer(r, [ctx.actor])(r.requester).name;
    return refuse(r, RefusalReason.OnBehalfOfRequester, `${requester} asked for request ${r.id}, so you cannot decide it on their behalf.`);
  }
  if (!ctx.isApprover(ctx.onBehalfOf ?? ctx.actor)) {
    return refuse(r, RefusalReason.NotAnApprover, `You cannot ${verb} request ${r.id}: it needs ${rolesText(decidingRoles(r))}.`);
  }
  return undefined;
}

export function approve(r: ApprovalRequest, ctx: DecisionContext): Transition {
  const denied = checkDecider(r, ctx, 'approve');
  if (denied) return denied;
  const actorId = ctx.actor.aadObjectId.toLowerCase();
  if (r.approvals.some((a) => a.approver.aadObjectId.toLowerCase() === actorId)) {
    return refuse(r, RefusalReason.AlreadyApprovedByYou, `You already approved request ${r.id}; it needs ${r.policy.approvals} approval(s) from different people.`);
  }
  // Each person's authority counts once, whether they used it or their delegate did.
  const principal = ctx.onBehalfOf ?? ctx.actor;
  // A namesake of the person clicking (or of whoever they act for) on the request is told apart (display-names.ts).
  const named = distinctNamer(r, clickers(ctx));
  if (authorityCounted(r.approvals, ctx.actor) || authorityCounted(r.approvals, principal)) {
    return refuse(r, RefusalReason.AuthorityAlreadyCounted, `${named(principal).name}'s approval of request ${r.id} already counts (given by them or on their behalf); it needs ${r.policy.approvals} approval(s) from different people.`);
  }
  const at = ctx.now.toISOString();
  const given = { approver: ctx.actor, at, operationHash: r.operationHash, ...onBehalf(ctx) };
  const placed = placeApprovals(r, [...r.approvals, given], ctx);
  if (placed.filled <= placeApprovals(r, r.approvals, ctx).filled) {
    return refuse(
      r,
      RefusalReason.FillsNoRequirement,
      `Your approval of request ${r.id} would fill no requirement still open: what ${principal === ctx.actor ? 'you hold' : `${named(principal).name} holds`} is already met. Still needed: ${outstandingText(r)}.`,
    );
  }
  // Checked last, so that only an approval that would otherwise count ends the request.
  const broken = ctx.askingRules ? askingRuleBroken(r, ctx.askingRules, clickers(ctx)) : undefined;
  if (broken) return endUnaskable(r, ctx, broken);
  const approvals = placed.approvals;
  const complete = progress({ policy: r.policy, approvals }).every((p) => p.met);
  const approved = next(r, ctx.now, { approvals, state: complete ? 'approved' : r.state });
  // Approved now, run later: the time asked for or the next maintenance window.
  const later = complete ? scheduleIfLater(approved, ctx.now) : undefined;
  const updated = later?.request ?? approved;
  const extra = { actor: ctx.actor, ...(ctx.source ? { source: ctx.source } : {}), ...onBehalfData(ctx) };
  // The records' words name namesakes on the request as its card does (display-names.ts).
  const recorded = distinctNamer(updated);
  const by = ctx.onBehalfOf ? ` by ${deciderText({ approver: ctx.actor, onBehalfOf: ctx.onBehalfOf }, recorded)}` : '';
  // A quorum's records say which requirement each approval filled (the older one-requirement form needs no saying).
  const quorum = r.policy.requirements !== undefined;
  const index = filledBy(approvals.at(-1)!);
  const label = requirementLabel(requirementsOf(r.policy)[index]);
  const events = [
    requestEvent(
      updated,
      'approval.granted',
      at,
      { result: 'ok', detail: `approval ${approvals.length} of ${r.policy.approvals}${by}${quorum ? `, for ${label}` : ''}` },
      quorum ? { ...extra, data: { ...onBehalf(ctx), requirement: label, requirementIndex: index } } : extra,
    ),
  ];
  if (complete) {
    const met = quorum ? { detail: progressText(updated, (a) => deciderText(a, recorded)) } : {};
    events.push(requestEvent(updated, 'request.approved', at, { result: 'ok', ...met }, quorum ? { ...extra, data: { ...onBehalf(ctx), requirements: requirementsData(updated) } } : extra));
  }
  if (later) events.push(later.event);
  return { ok: true, request: updated, events };
}

/**
 * An approval of a request the config as it is now would not let run (asking-rules.ts: its command
 * taken out or made read-only, its requester no longer holding a requester role, or its reason or
 * conversation rule made stricter since it was asked for): refused, naming why, and the request ends as
 * the claim would end it (failed, nothing sent to Azure, its requester told why, and how to ask again
 * when that helps), now rather than after every approval it needs was given for nothing. Rejecting or
 * cancelling it is not refused.
 */
function endUnaskable(r: ApprovalRequest, ctx: DecisionContext, broken: BrokenAskingRule): Transition {
  const told = broken.askAgain ? `is told to ask again, ${broken.askAgain}` : 'is told why';
  // An approver who shares the requester's display name is told which of the two asked (display-names.ts).
  const requester = distinctNamer(r, clickers(ctx))(r.requester).name;
  const message = `Request ${r.id} can no longer be approved: ${broken.rule}. It has ended without running (nothing was sent to Azure); ${requester}, who asked for it, ${told}.`;
  return { ...unaskableEnd(r, ctx.now, broken), refused: refusal(broken.reason, message, r.id) };
}

/** The person clicking, and whoever they act for: namesakes of the requester among them are told apart from the requester. */
function clickers(ctx: Pick<DecisionContext, 'actor' | 'onBehalfOf'>): Actor[] {
  return ctx.onBehalfOf ? [ctx.actor, ctx.onBehalfOf] : [ctx.actor];
}

/**
 * A request still to be decided that the config as it is now would not let run, ended by Countersign
 * itself, nobody having clicked (a reminder or its escalation falling due, the start): as an approval
 * of it ends it (endUnaskable), with the same outcome and `approval.revoked` record, by no actor (as
 * expiry), so that nobody is asked again to approve what can never run. Refused when it may still
 * run, is no longer to be decided, or is past its expiry (expiry ends it).
 */
export function endIfUnaskable(r: ApprovalRequest, now: Date, current: AskingRules | CommandGone): Transition {
  if (!isDecidable(r)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} ${standing(r.state)}; there is nothing to end.`);
  if (isPastExpiry(r, now)) return refuse(r, RefusalReason.Expired, `Request ${r.id} expired at ${utcText(r.expiresAt)}; expiry ends it.`);
  const broken = askingRuleBroken(r, current);
  if (!broken) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} may still run under the config as it is now.`);
  return unaskableEnd(r, now, broken);
}

/** The request failed for a broken rule of asking, in the claim's words, audited as approval.revoked with its reason. */
function unaskableEnd(r: ApprovalRequest, now: Date, broken: BrokenAskingRule): Extract<Transition, { ok: true }> {
  const detail = askingRuleDetail(broken);
  const updated = next(r, now, { state: 'failed', outcomeDetail: detail });
  const event = requestEvent(updated, 'approval.revoked', now.toISOString(), { result: 'refused', reason: broken.reason, detail });
  return { ok: true, request: updated, events: [event] };
}

/**
 * Whether this person's own approval would fill a requirement still open (as `approve` decides it):
 * in a quorum, someone whose roles are met already can no longer approve, so is not asked to.
 */
export function fillsOpenRequirement(r: ApprovalRequest, person: Actor, holdsAny: (roles: readonly string[], a: Actor) => boolean): boolean {
  const ctx = { holdsAny, isApprover: (a: Actor) => holdsAny(decidingRoles(r), a) };
  const given: Approval = { approver: person, at: '', operationHash: r.operationHash };
  return placeApprovals(r, [...r.approvals, given], ctx).filled > placeApprovals(r, r.approvals, ctx).filled;
}

/**
 * The approvals placed on requirements (each approval with the requirement it fills), and how many
 * fill one. Requests of the older one-requirement form store no placement: every approval fills it.
 */
function placeApprovals(r: ApprovalRequest, approvals: Approval[], ctx: Pick<DecisionContext, 'holdsAny' | 'isApprover'>): { approvals: Approval[]; filled: number } {
  const holdsAny = ctx.holdsAny ?? ((_roles: readonly string[], a: Actor) => ctx.isApprover(a));
  // An approval already placed keeps its requirement among its choices: it was checked when it was
  // given (a role held through an Entra group is resolved only for the person clicking now).
  const eligible = approvals.map((a) => {
    const now = eligibleRequirements(r, (roles) => holdsAny(roles, principalOf(a)));
    return a.requirement !== undefined && !now.includes(a.requirement) ? [...now, a.requirement] : now;
  });
  const placed = assign(eligible, requirementsOf(r.policy).map((req) => req.count));
  const filled = placed.filter((p) => p !== undefined).length;
  if (r.policy.requirements === undefined) return { approvals, filled };
  return {
    filled,
    approvals: approvals.map((a, i) => {
      const { requirement: _old, ...rest } = a;
      return placed[i] === undefined ? rest : { ...rest, requirement: placed[i] };
    }),
  };
}

/** Each requirement and who filled it, as the audit record's data. */
function requirementsData(r: ApprovalRequest): { roles: string[]; count: number; filledBy: { approver: string; onBehalfOf?: string }[] }[] {
  return progress(r).map((p) => ({
    roles: p.requirement.roles,
    count: p.requirement.count,
    filledBy: p.approvals.map((a) => ({ approver: a.approver.aadObjectId, ...(a.onBehalfOf ? { onBehalfOf: a.onBehalfOf.aadObjectId } : {}) })),
  }));
}

export function reject(r: ApprovalRequest, ctx: DecisionContext, comment: string | undefined): Transition {
  const denied = checkDecider(r, ctx, 'reject');
  if (denied) return denied;
  const at = ctx.now.toISOString();
  const text = comment?.trim() ? comment.trim().slice(0, 1000) : undefined;
  const updated = next(r, ctx.now, { state: 'rejected', rejection: { by: ctx.actor, at, ...(text ? { comment: text } : {}), ...onBehalf(ctx) } });
  const event = requestEvent(updated, 'request.rejected', at, { result: 'ok', ...(text ? { detail: text } : {}) }, {
    actor: ctx.actor,
    ...(ctx.source ? { source: ctx.source } : {}),
    ...onBehalfData(ctx),
  });
  return { ok: true, request: updated, events: [event] };
}

/** Whether the request can still be cancelled by someone (open, or scheduled and not started): what a shared card shows its Cancel button for; `cancel` decides who. */
export function cancellable(r: ApprovalRequest): boolean {
  return isDecidable(r) || r.state === 'scheduled';
}

export function cancel(r: ApprovalRequest, ctx: Omit<DecisionContext, 'isApprover'> & Partial<Pick<DecisionContext, 'isApprover'>>): Transition {
  if (r.state === 'scheduled') return cancelScheduled(r, ctx);
  // A finished request can be cancelled by nobody: said first, so that no one reads that its
  // requester still could (as for an approval).
  if (!isDecidable(r)) {
    return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} ${standing(r.state)}; it can no longer be cancelled.`);
  }
  if (ctx.actor.aadObjectId.toLowerCase() !== r.requester.aadObjectId.toLowerCase()) {
    return refuse(r, RefusalReason.NotRequester, `Only ${distinctNamer(r, [ctx.actor])(r.requester).name}, who asked for request ${r.id}, can cancel it.`);
  }
  if (isPastExpiry(r, ctx.now)) {
    return refuse(r, RefusalReason.Expired, `Request ${r.id} expired at ${zonedText(r.expiresAt, ctx.zone)}.`);
  }
  const at = ctx.now.toISOString();
  const updated = next(r, ctx.now, { state: 'cancelled', cancellation: { by: ctx.actor, at } });
  const event = requestEvent(updated, 'request.cancelled', at, { result: 'ok' }, {
    actor: ctx.actor,
    ...(ctx.source ? { source: ctx.source } : {}),
  });
  return { ok: true, request: updated, events: [event] };
}

/**
 * A scheduled request is withdrawn before it starts: by its requester, or by an approver (as for a
 * running deployment), or by an approver's delegate on their behalf (`ctx.onBehalfOf`, as a rejection).
 */
function cancelScheduled(r: ApprovalRequest, ctx: Omit<DecisionContext, 'isApprover'> & Partial<Pick<DecisionContext, 'isApprover'>>): Transition {
  const isRequester = ctx.actor.aadObjectId.toLowerCase() === r.requester.aadObjectId.toLowerCase();
  if (!isRequester && !ctx.isApprover?.(ctx.onBehalfOf ?? ctx.actor)) {
    return refuse(r, RefusalReason.NotAllowedToCancel, `Only ${distinctNamer(r, [ctx.actor])(r.requester).name}, who asked for request ${r.id}, or someone with ${rolesText(decidingRoles(r))} can cancel it before it runs.`);
  }
  const at = ctx.now.toISOString();
  // A canceller who shares a display name with the requester (or an approver) is told apart (display-names.ts).
  const named = distinctNamer(r, clickers(ctx));
  const by = isRequester ? named(ctx.actor).name : deciderText({ by: ctx.actor, ...(ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf } : {}) }, named);
  const detail = `Cancelled by ${by} before its scheduled run at ${r.runAt ?? '(unknown)'}; nothing was sent to Azure.`;
  const onBehalfOf = isRequester ? {} : onBehalf(ctx);
  const updated = next(r, ctx.now, { state: 'cancelled', cancellation: { by: ctx.actor, at, ...onBehalfOf }, outcomeDetail: detail });
  const event = requestEvent(updated, 'request.cancelled', at, { result: 'ok', detail }, { actor: ctx.actor, ...(ctx.source ? { source: ctx.source } : {}), ...(isRequester ? {} : onBehalfData(ctx)) });
  return { ok: true, request: updated, events: [event] };
}

export function expire(r: ApprovalRequest, now: Date): Transition {
  if (r.state === 'scheduled') return expireSchedule(r, now);
  if (!isDecidable(r)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is ${r.state}, not pending.`);
  if (!isPastExpiry(r, now)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has not expired yet.`);
  const at = now.toISOString();
  const detail = `No decision before ${utcText(r.expiresAt)}.`;
  const updated = next(r, now, { state: 'expired', outcomeDetail: detail });
  return { ok: true, request: updated, events: [requestEvent(updated, 'request.expired', at, { result: 'ok', detail })] };
}

/**
 * Why a scheduled request expired unstarted, its times as `at` writes them: in UTC in the request's
 * stored detail and its `request.expired` record (the same for every reader); in the reader's zone
 * in a message to its requester, built again from the request's times (decisions.ts, expireNow).
 */
export function scheduleLapsedText(r: Pick<ApprovalRequest, 'runAt' | 'expiresAt'>, at: (iso: string) => string = utcText): string {
  return `Not executed: it was scheduled for ${r.runAt ? at(r.runAt) : '(unknown)'} but had not started when its approval stopped being valid at ${at(r.expiresAt)}. Ask again.`;
}

/** The approval's validity ran out before the scheduled run started (Countersign was not running, say). */
function expireSchedule(r: ApprovalRequest, now: Date): Transition {
  if (!isPastExpiry(r, now)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is still valid until ${utcText(r.expiresAt)}.`);
  const detail = scheduleLapsedText(r);
  const updated = next(r, now, { state: 'expired', outcomeDetail: detail });
  return { ok: true, request: updated, events: [requestEvent(updated, 'request.expired', now.toISOString(), { result: 'ok', detail })] };
}

/** The approval's or rejection's on-behalf fields, when a delegate decided. */
function onBehalf(ctx: Pick<DecisionContext, 'onBehalfOf' | 'delegationId' | 'delegationUntil'>): { onBehalfOf?: Actor; delegationId?: string; delegationUntil?: string } {
  return ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf, ...(ctx.delegationId ? { delegationId: ctx.delegationId } : {}), ...(ctx.delegationUntil ? { delegationUntil: ctx.delegationUntil } : {}) } : {};
}

/** The same, as the audit record's data. */
function onBehalfData(ctx: Pick<DecisionContext, 'onBehalfOf' | 'delegationId' | 'delegationUntil'>): { data?: Record<string, unknown> } {
  return ctx.onBehalfOf ? { data: onBehalf(ctx) } : {};
}

/** Why the delegations ended: their delegator revoked or replaced them, or their time ran out. */
/** How a delegation stopped counting: revoked or replaced by someone, its time ran out, or delegation is turned off in the config. */
export type DelegationEnd = { how: 'revoked' | 'replaced'; by: Actor } | { how: 'ended' } | { how: 'turned-off' };

/** Why an approval given under a delegation that is turned off no longer counts. */
const TURNED_OFF = 'delegation is turned off in the config (delegation.enabled: false)';

/** How a stored delegation ended, as of now: revoked or replaced by someone, else its time ran out. */
export function howItEnded(d: Delegation): DelegationEnd {
  return d.ended ? { how: d.ended.reason, by: d.ended.by } : { how: 'ended' };
}

/** "the approval of Carol NoRole on behalf of Bob Approver no longer counts: the delegation it was given under was revoked by Bob Approver". */
export function voidedApprovalsText(r: ApprovalRequest, gone: readonly Approval[], end: DelegationEnd): string {
  const one = gone.length === 1;
  // Namesakes on the request (and who ended the delegation) told apart, as on its card (display-names.ts).
  const named = distinctNamer(r, 'by' in end ? [end.by] : []);
  const approvals = `the approval${one ? '' : 's'} of ${gone.map((a) => deciderText(a, named)).join(', ')} no longer count${one ? 's' : ''}`;
  if (end.how === 'turned-off') return `${approvals}: ${TURNED_OFF}`;
  const how = end.how === 'ended' ? 'ended' : end.how === 'revoked' ? `was revoked by ${named(end.by).name}` : `was replaced by ${named(end.by).name}'s next delegation`;
  return `${approvals}: the delegation ${one ? 'it was' : 'they were'} given under ${how}`;
}

/**
 * The approvals given under delegations that ended, taken off a request still to be decided and
 * audited as approval.revoked: they no longer count, and its card then shows what still does, so
 * the next approver does not complete it on an approval that would fail it at execution, and the
 * delegator (or their next delegate) may decide it again.
 *
 * A request approved (or scheduled) and not yet started that those approvals completed can no longer
 * run: it fails now, nothing sent to Azure, rather than at its execution, so that its requester and
 * approvers learn it while there is time to ask again, and no card promises a run that cannot happen.
 */
export function withdrawDelegatedApprovals(r: ApprovalRequest, ended: ReadonlySet<string>, now: Date, end: DelegationEnd): Transition {
  const gone = r.approvals.filter((a) => a.delegationId !== undefined && ended.has(a.delegationId));
  if ((r.state === 'approved' || r.state === 'scheduled') && gone.length > 0) return failApproved(r, gone, now, end);
  if (!isDecidable(r) || gone.length === 0) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} holds no approval given under that delegation that is still to count.`);
  const updated = next(r, now, { approvals: r.approvals.filter((a) => !gone.includes(a)) });
  // Namesakes on the request (and who ended the delegation) told apart, as voidedApprovalsText names them.
  const named = distinctNamer(r, 'by' in end ? [end.by] : []);
  const why = end.how === 'ended' ? 'the delegation it was given under ended' : end.how === 'turned-off' ? TURNED_OFF : `${named(end.by).name} ${end.how} the delegation`;
  const detail = `${gone.map((a) => deciderText(a, named)).join(', ')}: no longer count(s), as ${why}; ${outstandingText(updated) || 'still to be decided'}.`;
  return { ok: true, request: updated, events: [voidedEvent(updated, gone, now, end, detail)] };
}

/** An approved or scheduled request left short by approvals that no longer count: failed, nothing run (as the re-check at execution would). */
function failApproved(r: ApprovalRequest, gone: Approval[], now: Date, end: DelegationEnd): Transition {
  const valid = r.approvals.filter((a) => !gone.includes(a));
  if (runsOnBreakGlass(r) || progress({ policy: r.policy, approvals: valid }).every((p) => p.met)) {
    return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is still approved without the approvals given under that delegation.`);
  }
  const detail = `Not executed: ${voidedApprovalsText(r, gone, end)}; ${valid.length} of ${r.policy.approvals} approval(s) still count. Nothing was sent to Azure; ask again.`;
  const updated = next(r, now, { state: 'failed', outcomeDetail: detail });
  return { ok: true, request: updated, events: [voidedEvent(updated, gone, now, end, detail)] };
}

function voidedEvent(r: ApprovalRequest, gone: Approval[], now: Date, end: DelegationEnd, detail: string): AuditEventDraft {
  const byNobody = end.how === 'ended' || end.how === 'turned-off';
  const reason = byNobody ? RefusalReason.DelegationEnded : RefusalReason.DelegationRevoked;
  // Which delegations' approvals came off, by id: what the approvals' own records name.
  const data = { delegationIds: [...new Set(gone.map((a) => a.delegationId!))] };
  return requestEvent(r, 'approval.revoked', now.toISOString(), { result: 'refused', reason, detail }, byNobody ? { data } : { actor: end.by, data });
}

/**
 * How old an approval must be before a delegation missing from the ones in force read at `now`
 * counts as ended for it: one created after that read, and an approval under it committed before
 * the change is made, must not be taken for one revoked (instances' clocks differ by up to 5 s).
 */
const NEWER_THAN_THE_READ_MS = 60_000;

/**
 * The delegations that approvals on this request were given under and that no longer count: whose
 * time ran out (at or before `now`), or, when `inForce` (the ids in force read at `now`) is given,
 * that are not among them (revoked or replaced, their approvals not taken off: a stop cut the
 * withdrawal short, or a click raced the revocation), for approvals older than a minute.
 */
export function lapsedDelegations(r: ApprovalRequest, now: Date, inForce?: ReadonlySet<string>): Set<string> {
  const at = now.getTime();
  const ended = (a: Approval) =>
    (a.delegationUntil !== undefined && Date.parse(a.delegationUntil) <= at) || (inForce !== undefined && !inForce.has(a.delegationId!) && Date.parse(a.at) < at - NEWER_THAN_THE_READ_MS);
  return new Set(r.approvals.filter((a) => a.delegationId !== undefined && ended(a)).map((a) => a.delegationId!));
}

/**
 * `decide` on the request as it stands once the approvals of delegations that ended are taken off
 * (both in one change; `inForce` as for lapsedDelegations): a delegator back from their absence may
 * approve, and the next approver does not complete a request on an approval that no longer counts.
 */
export function withoutLapsedApprovals(r: ApprovalRequest, now: Date, decide: (r: ApprovalRequest) => Transition, inForce?: ReadonlySet<string>, end: DelegationEnd = { how: 'ended' }): Transition {
  const lapsed = lapsedDelegations(r, now, inForce);
  const withdrawn = lapsed.size > 0 && isDecidable(r) ? withdrawDelegatedApprovals(r, lapsed, now, end) : undefined;
  return withdrawn?.ok ? andThen(withdrawn, r, decide) : decide(r);
}
