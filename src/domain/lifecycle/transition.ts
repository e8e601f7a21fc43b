/**
 * What every transition of the lifecycle returns, and the two ways it ends: the next version of the
 * request, or a typed refusal naming it.
 */
import type { AuditEventDraft } from '../audit';
import { type Refusal, type RefusalReason, refusal } from '../refusal';
import type { AskingRules, CommandGone } from './asking-now';
import { shownVersion, type Actor, type ApprovalRequest, type Source } from '../request';

/**
 * A change of the request with its records, or a refusal. A change may carry a refusal too (`refused`):
 * the act asked for is refused, and the request changed for it all the same (an approval of a request
 * the current config would no longer let run ends it: decision.ts).
 */
export type Transition =
  | { ok: true; request: ApprovalRequest; events: AuditEventDraft[]; refused?: Refusal }
  | { ok: false; refusal: Refusal };

export interface DecisionContext {
  now: Date;
  actor: Actor;
  source?: Source;
  /**
   * The IANA zone Teams sent with the click: a refusal naming a time names it there, with the UTC
   * instant beside it (the refusal is also the audit's detail). Absent: UTC.
   */
  zone?: string;
  /** Does this person hold one of the request's approver roles (tenant included)? */
  isApprover(actor: Actor): boolean;
  /**
   * Does this person hold any of these roles (tenant included)? Says which quorum requirements an
   * approval may fill; absent, a person who may decide may fill any requirement.
   */
  holdsAny?(roles: readonly string[], actor: Actor): boolean;
  /** The operation hash the clicked card showed; a different one means the card is stale. */
  cardHash?: string;
  /** The actor is a delegate deciding with this person's authority (domain/delegation.ts authorityFor). */
  onBehalfOf?: Actor;
  delegationId?: string;
  /** When that delegation ends: the approval counts until then (domain/lifecycle/decision.ts lapsedDelegations). */
  delegationUntil?: string;
  /** What the current config says of asking for the request's command: gone, or its rules (requester's role, reason, conversations) now (absent: not checked). */
  askingRules?: AskingRules | CommandGone;
}

/**
 * The request after a transition: version + 1, updated now. Its card shows this version: a
 * `cardVersion` the request had is dropped (bookkeeping() keeps it for the writes the card does not show).
 */
export function next(r: ApprovalRequest, now: Date, changes: Partial<ApprovalRequest>): ApprovalRequest {
  const { cardVersion: _shown, ...rest } = r;
  return { ...rest, ...changes, version: r.version + 1, updatedAt: now.toISOString() };
}

/**
 * The request after a write its card does not show (an owed outcome message taken or settled, a
 * round of messages' outcome that changes nothing the card shows, a round taken up again: reach.ts):
 * version + 1 (the compare-and-swap of every write checks it as before), with `cardVersion` still
 * naming the version the card shows, so that the start's card catch-up does not send every recently
 * ended request's card again, unchanged; and `updatedAt` still the time of its last change (what
 * the start's card catch-up and the owed-message sweep look back by). How long an approved request
 * has waited unstarted is counted from its approval, whatever is written after (schedule.ts
 * lastApprovedAt, execution.ts runStranded).
 */
export function bookkeeping(r: ApprovalRequest, now: Date, changes: Partial<ApprovalRequest>): ApprovalRequest {
  return { ...next(r, now, changes), updatedAt: r.updatedAt, cardVersion: shownVersion(r) };
}

/**
 * Two transitions as one change of the request: `second` applied to what `first` made, one version
 * on from the request `first` started from (a store moves a request by exactly one version per
 * write), with the records of both in order.
 */
export function andThen(first: Extract<Transition, { ok: true }>, from: ApprovalRequest, second: (r: ApprovalRequest) => Transition): Transition {
  const then = second(first.request);
  if (!then.ok) return then;
  return { ok: true, request: { ...then.request, version: from.version + 1 }, events: [...first.events, ...then.events], ...(then.refused ? { refused: then.refused } : {}) };
}

export function refuse(r: ApprovalRequest, reason: RefusalReason, message: string): Transition {
  return { ok: false, refusal: refusal(reason, message, r.id) };
}
