/**
 * A request card as one person sees it: Teams asks for it (the card's per-person refresh) for the
 * requester and the approvers, so each of them is shown only the buttons they can use. What a click
 * may do is still decided when it is clicked (decisions.ts); this only leaves out what would be refused.
 * Whoever may not see the request (see `status`) is told there is none.
 */
import type { ApprovalRequest, Actor, Source } from '../domain/request';
import { decidingRoles } from '../domain/policy';
import { reviewBreakGlass, type DecisionContext } from '../domain/lifecycle';
import type { AppDeps } from './context';
import { decisionsOf } from './decisions';
import { recordUnseen, statusSeen } from './queries';
import type { PersonRefusals } from './person-refusals';
import { canonicalRequestId, isRequestId } from '../domain/request-ids';

export interface PersonalView {
  request: ApprovalRequest;
  canApprove: boolean;
  canReject: boolean;
  canCancel: boolean;
  /** Ratify or flag a break-glass use after it ran. */
  canReview: boolean;
}

/** A card's refresh as Teams sent it: where from, and the budget its refusal is recorded through. */
export interface RefreshAsked {
  source: Source;
  unseen: PersonRefusals;
}

/** What a refresh (or a click's answer) that shows no request says. */
export function unseenText(requestId: string): string {
  return `There is no request ${requestId} that you can see.`;
}

/**
 * What is wrong with the request id a refresh names, if anything: Teams sends the id the card was
 * made with, so a missing or non-text one is named rather than looked up ("There is no request .").
 */
export function refreshProblem(requestId: unknown): string | undefined {
  if (requestId === undefined || requestId === null || requestId === '') return 'This card refresh names no request (its requestId is missing); nothing to show.';
  if (typeof requestId !== 'string') {
    const shown = writtenOut(requestId);
    return `This card refresh's requestId must be text, got ${shown.length > 64 ? `${shown.slice(0, 64)}…` : shown}; nothing to show.`;
  }
  return undefined;
}

/**
 * A value the client sent, written out as JSON. A list or object nested thousands of levels deep (a
 * few tens of kilobytes, well within the body's limit) cannot be written out: JSON.stringify exceeded
 * the call stack, and the refresh failed with 500 instead of being answered.
 */
function writtenOut(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return `${Array.isArray(value) ? 'a list' : 'an object'} nested too deeply to write out`;
  }
}

/**
 * The card for this person, or undefined when there is no such request or they may not see it: the
 * same rule as `status` (the requester, those who can decide it, auditors), so a refresh sent from
 * anywhere with any request id cannot show someone a request they could not ask about. With
 * `refresh` (Teams' refresh invoke, not the view a refused click is answered with), one that shows
 * nothing is recorded as a `status` that shows nothing is.
 */
export async function personalView(deps: AppDeps, actor: Actor, requestId: string, refresh?: RefreshAsked): Promise<PersonalView | undefined> {
  const { request, hidden, graphSaid } = await statusSeen(deps, actor, requestId);
  if (!request) {
    // A refresh Teams sent for this person, naming a request they may not see or that none has: recorded as a `status` of it would be.
    if (refresh && isRequestId(canonicalRequestId(requestId))) {
      await recordUnseen(refresh.unseen, { actor, source: refresh.source, typed: requestId, said: unseenText(requestId), ...(hidden ? { hidden } : {}), ...(graphSaid ? { graphSaid } : {}), command: 'refresh' });
    }
    return undefined;
  }
  // Each button is the domain's transition tried without saving, with the person's roles and
  // delegations as a click would resolve them (Entra groups included): the buttons shown are those
  // whose click would go through, by the same rule.
  const { would, access } = await decisionsOf(deps, actor);
  const ctx: DecisionContext = { now: deps.clock.now(), actor, isApprover: (a) => access.isApproverFor(decidingRoles(request), a) };
  return {
    request,
    canApprove: would(request, 'approve'),
    // Also whoever's approval would fill nothing still open (a quorum's met part), and an approver who
    // approved already and may still reject it while it waits for the others.
    canReject: would(request, 'reject'),
    // The requester while it is open; before a scheduled run, approvers and their delegates too (as a running deployment).
    canCancel: would(request, 'cancel'),
    canReview: reviewBreakGlass(request, ctx, 'ratified').ok,
  };
}

/**
 * Whose Teams client should ask for a personal view: the requester, every holder of an approver
 * role, then the auditors (who see the card with `status`, and may use none of its buttons). Teams
 * takes at most 60: those who decide come first.
 */
export function cardViewers(deps: Pick<AppDeps, 'config'>, request: ApprovalRequest): string[] {
  const ids = new Set<string>([request.requester.aadObjectId.toLowerCase()]);
  for (const role of decidingRoles(request)) for (const id of deps.config.access.roles.membersOf(role)) ids.add(id);
  for (const role of deps.config.auditorRoles) for (const id of deps.config.access.roles.membersOf(role)) ids.add(id);
  return [...ids];
}
