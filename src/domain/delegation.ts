/**
 * Delegation for absence: an approver lets one named person decide with the approver's own roles
 * until a set time. Pure rules: who may delegate to whom and for how long, what replaces or revokes
 * a delegation, and with whose authority a person decides a request.
 *
 * - Only someone who holds an approver role themselves may delegate, never to themselves, only to a
 *   person of an allowed tenant, for a bounded time in the future.
 * - One delegation in force per delegator: a new one replaces the old (audited).
 * - No chains: a delegate decides with the delegator's own roles as the config holds them, never with
 *   rights the delegator received by delegation (the roles in the config are the only source).
 * - A person who holds a deciding role themselves decides as themselves.
 * - A delegate never decides a request they asked for, nor one asked for by the delegator; the
 *   delegator's authority counts once (lifecycle/decision.ts checks the approvals already given).
 */
import { neutralise, type AuditEventDraft } from './audit';
import { describeUntil } from './delegation-time';
import { distinctNamer } from './display-names';
import { formatDuration } from './duration-text';
import { RefusalReason, refusal, type Refusal } from './refusal';
import type { Actor, Approval, ApprovalRequest, Source } from './request';

/** Why a delegation ended before its time. */
export type DelegationEnd = 'revoked' | 'replaced';

export interface Delegation {
  id: string;
  delegator: Actor;
  delegate: Actor;
  createdAt: string;
  /** ISO-8601 UTC: the delegation is in force strictly before this instant. */
  until: string;
  /**
   * Set once it was revoked, or replaced by the delegator's next delegation. `revocationId`: the
   * typed `revoke delegation` that ended it, when Teams gave the message an id (app/ids.ts), by
   * which the same message sent again is known.
   */
  ended?: { at: string; by: Actor; reason: DelegationEnd; revocationId?: string };
  /**
   * Set once, when the sweep had taken the buttons off the cards its delegate was sent in their
   * personal chat after its time ran out (ISO-8601 UTC): after the cards were updated, so that a run
   * that died between leaves them to another (DelegationStore.markCardsWithdrawn).
   */
  cardsWithdrawnAt?: string;
  /**
   * When a sweep last took that withdrawal on (ISO-8601 UTC), before updating the cards: of several
   * instances one takes it (DelegationStore.takeCardsWithdrawal); one taken and never marked
   * withdrawn (its run died, or failed) is taken again once the taking is old.
   */
  cardsTakenAt?: string;
}

/** The `delegation` block of the config. */
export interface DelegationPolicy {
  enabled: boolean;
  /** The longest a delegation may last, from the moment it is made. */
  maxDurationSeconds: number;
}

export const DEFAULT_DELEGATION_POLICY: DelegationPolicy = { enabled: true, maxDurationSeconds: 14 * 86400 };

function isInForce(d: Delegation, now: Date): boolean {
  return !d.ended && now.getTime() < Date.parse(d.until);
}

/** The same person: Entra object ids compared without regard to letter case. */
export function samePerson(a: Pick<Actor, 'aadObjectId'>, b: Pick<Actor, 'aadObjectId'>): boolean {
  return a.aadObjectId.toLowerCase() === b.aadObjectId.toLowerCase();
}
const same = samePerson;

/** A change of delegations and the audit records that go with it, committed together. */
export interface DelegationChange {
  created?: Delegation;
  ended: Delegation[];
  events: AuditEventDraft[];
}

export type DelegationResult = { ok: true; change: DelegationChange } | { ok: false; refusal: Refusal };

export interface DelegateInput {
  id: string;
  now: Date;
  delegator: Actor;
  delegate: Actor;
  until: Date;
  policy: DelegationPolicy;
  /** Does the delegator hold, themselves, an approver role of some command? */
  delegatorIsApprover: boolean;
  /** Has the delegator received a delegation now in force (said when refusing a would-be chain)? */
  delegatorIsDelegate: boolean;
  tenantAllowed(tenantId: string): boolean;
  /** The sender's time zone, in which a time they typed is told back to them (UTC when absent). */
  zone?: string;
  /** The delegator's delegations in force now (at most one; it is replaced). */
  current: Delegation[];
  source?: Source;
}

const no = (reason: RefusalReason, message: string): DelegationResult => ({ ok: false, refusal: refusal(reason, message) });

export function delegate(input: DelegateInput): DelegationResult {
  const { now, delegator, delegate: to, until, policy } = input;
  if (!policy.enabled) return no(RefusalReason.DelegationDisabled, 'Delegation is turned off in this Countersign (delegation.enabled in the config).');
  if (!input.delegatorIsApprover) {
    return input.delegatorIsDelegate
      ? no(RefusalReason.DelegationChain, 'You hold no approver role of your own: rights you received by delegation cannot be passed on.')
      : no(RefusalReason.NotAnApprover, 'Only someone who holds an approver role can delegate it, and you hold none.');
  }
  if (same(delegator, to)) return no(RefusalReason.SelfDelegation, 'You cannot delegate to yourself: name someone else with @mention.');
  if (!input.tenantAllowed(to.tenantId)) return no(RefusalReason.TenantNotAllowed, `${to.name} is not in a tenant allowed to use Countersign, so they cannot be your delegate.`);
  if (until.getTime() <= now.getTime()) return no(RefusalReason.DelegationNotInFuture, `${describeUntil(until, input.zone ?? 'UTC')} is not in the future: a delegation must end later than now.`);
  if (until.getTime() - now.getTime() > policy.maxDurationSeconds * 1000) {
    const zone = input.zone ?? 'UTC';
    const latest = new Date(now.getTime() + policy.maxDurationSeconds * 1000);
    return no(
      RefusalReason.DelegationTooLong,
      `A delegation may last at most ${formatDuration(policy.maxDurationSeconds)} (delegation.maxDuration); ${describeUntil(until, zone)} is later than that: it may end by ${describeUntil(latest, zone)} at the latest.`,
    );
  }
  const at = now.toISOString();
  const created: Delegation = { id: input.id, delegator, delegate: to, createdAt: at, until: until.toISOString() };
  const ended = input.current.map((d) => ({ ...d, ended: { at, by: delegator, reason: 'replaced' as const } }));
  // Two people of one display name in a record's words (the delegator, the delegate, the one replaced) are told apart (display-names.ts).
  const named = distinctNamer(undefined, [delegator, to, ...ended.map((d) => d.delegate)]);
  const events = [
    ...ended.map((d) => delegationEvent('delegation.replaced', d, at, delegator, `replaced by delegation ${created.id} to ${named(to).name}`, input.source)),
    delegationEvent('delegation.created', created, at, delegator, `${named(to).name} decides on behalf of ${named(delegator).name} until ${created.until}`, input.source),
  ];
  return { ok: true, change: { created, ended, events } };
}

/** Ends the actor's delegations in force (only the one to `delegate` when named); `revocationId` is kept on each. */
export function revoke(actor: Actor, current: Delegation[], now: Date, delegate?: Actor, source?: Source, revocationId?: string): DelegationResult {
  const mine = current.filter((d) => same(d.delegator, actor) && isInForce(d, now) && (!delegate || same(d.delegate, delegate)));
  if (mine.length === 0) {
    return no(RefusalReason.NoDelegation, delegate ? `You have no delegation in force to ${delegate.name}.` : 'You have no delegation in force to revoke.');
  }
  const at = now.toISOString();
  const ended = mine.map((d) => ({ ...d, ended: { at, by: actor, reason: 'revoked' as const, ...(revocationId ? { revocationId } : {}) } }));
  const named = (d: Delegation) => distinctNamer(undefined, [actor, d.delegate, d.delegator]);
  return { ok: true, change: { ended, events: ended.map((d) => delegationEvent('delegation.revoked', d, at, actor, `${named(d)(d.delegate).name} no longer decides on behalf of ${named(d)(d.delegator).name}`, source)) } };
}

function delegationEvent(
  type: 'delegation.created' | 'delegation.revoked' | 'delegation.replaced',
  d: Delegation,
  time: string,
  actor: Actor,
  detail: string,
  source?: Source,
): AuditEventDraft {
  return neutralise({
    type,
    time,
    actor,
    ...(source ? { source } : {}),
    outcome: { result: 'ok' as const, detail },
    data: { delegationId: d.id, delegator: d.delegator, delegate: d.delegate, until: d.until },
  });
}

/** With whose authority a person decides a request. */
export type Authority = { ok: true; onBehalfOf?: Actor; delegationId?: string; delegationUntil?: string } | { ok: false; refusal: Refusal };

/**
 * Whose authority `actor` decides `r` with: their own when they hold a deciding role themselves;
 * otherwise that of a delegator whose delegation to them is in force and who holds a deciding role
 * themselves (their own roles: `isApprover` reads the config, never delegations, so nothing chains),
 * did not ask for the request, and (to approve) whose authority has not counted yet. When several
 * delegators qualify, the oldest delegation is used. When none does, the refusal says why.
 */
export function authorityFor(
  r: ApprovalRequest,
  actor: Actor,
  verb: 'approve' | 'reject',
  received: Delegation[],
  now: Date,
  isApprover: (a: Actor) => boolean,
): Authority {
  if (isApprover(actor) || same(actor, r.requester)) return { ok: true };
  const usable = received.filter((d) => same(d.delegate, actor) && isInForce(d, now) && isApprover(d.delegator)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  if (usable.length === 0) return { ok: true };
  const notRequester = usable.filter((d) => !same(d.delegator, r.requester));
  if (notRequester.length === 0) {
    return { ok: false, refusal: refusal(RefusalReason.OnBehalfOfRequester, `${distinctNamer(r, [actor])(r.requester).name} asked for request ${r.id}, so you cannot decide it on their behalf.`, r.id) };
  }
  const free = verb === 'approve' ? notRequester.filter((d) => !authorityCounted(r.approvals, d.delegator)) : notRequester;
  if (free.length === 0) {
    return { ok: false, refusal: refusal(RefusalReason.AuthorityAlreadyCounted, `${distinctNamer(r, [actor, notRequester[0].delegator])(notRequester[0].delegator).name} already approved request ${r.id} (or someone did on their behalf); each person's authority counts once.`, r.id) };
  }
  return { ok: true, onBehalfOf: free[0].delegator, delegationId: free[0].id, delegationUntil: free[0].until };
}

/** Has this person's authority counted already: approved themselves, or someone approved on their behalf? */
export function authorityCounted(approvals: readonly Approval[], person: Pick<Actor, 'aadObjectId'>): boolean {
  return approvals.some((a) => same(a.approver, person) || (a.onBehalfOf !== undefined && same(a.onBehalfOf, person)));
}

/**
 * "Bob Approver", or "Carol NoRole on behalf of Bob Approver"; `named`: how the request names each
 * person (display-names.ts distinctNamer: a namesake with the start of their object id).
 */
export function deciderText(d: { approver?: Actor; by?: Actor; onBehalfOf?: Actor }, named: (a: Actor) => Actor = (a) => a): string {
  const decider = d.approver ?? d.by;
  const who = decider ? named(decider).name : 'someone';
  return d.onBehalfOf ? `${who} on behalf of ${named(d.onBehalfOf).name}` : who;
}

/** A delegate to send a request's card to, and the delegators they may decide it for (oldest delegation first). */
export interface DelegateToTell {
  delegate: Actor;
  onBehalfOf: Delegation[];
}

/**
 * The delegates to tell of a request besides the people who may decide it themselves: the delegate
 * of each delegator among `delegators` (object ids: those the request is sent to for themselves)
 * whose delegation is in force at `now`, each once, keyed by lowercase object id. Not a delegate who
 * is told already (`told`: those sent the card in their own right), who asked for the request (nobody
 * decides their own), who already approved it (people stay distinct: one person, one approval), nor
 * one standing in only for the requester (whoever asked cannot be decided for).
 */
export function delegatesToTell(
  r: Pick<ApprovalRequest, 'requester' | 'approvals'>,
  delegators: readonly string[],
  inForce: readonly Delegation[],
  now: Date,
  told: readonly string[] = delegators,
): Map<string, DelegateToTell> {
  const who = new Set(delegators.map((id) => id.toLowerCase()));
  const already = new Set(told.map((id) => id.toLowerCase()));
  const out = new Map<string, DelegateToTell>();
  const usable = inForce.filter((d) => isInForce(d, now) && who.has(d.delegator.aadObjectId.toLowerCase()) && !samePerson(d.delegator, r.requester)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const d of usable) {
    const key = d.delegate.aadObjectId.toLowerCase();
    if (already.has(key) || samePerson(d.delegate, r.requester) || r.approvals.some((a) => samePerson(a.approver, d.delegate))) continue;
    const entry = out.get(key) ?? { delegate: d.delegate, onBehalfOf: [] };
    entry.onBehalfOf.push(d);
    out.set(key, entry);
  }
  return out;
}

/**
 * What a delegate sent a request's card reads above it: whom they may decide it for, and until when
 * (in the delegate's `zone`). A delegator who shares a display name with someone on the request (its
 * requester, an approver) is named with the start of their object id, as the card names them.
 */
export function onBehalfText(r: ApprovalRequest, t: DelegateToTell, zone = 'UTC'): string {
  const named = distinctNamer(r, t.onBehalfOf.map((d) => d.delegator));
  const names = t.onBehalfOf.map((d) => `${named(d.delegator).name} (delegated to you until ${describeUntil(new Date(d.until), zone)})`).join(' or ');
  return `You are sent this request because you may decide it on behalf of ${names}: your approval or rejection on this card is recorded as yours on their behalf.`;
}
