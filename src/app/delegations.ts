/**
 * Delegation for absence, as use cases: `delegate @person until <time>`, `revoke delegation
 * [@person]`, `delegations`. The Teams layer resolves the @mention to a person (their Entra object
 * id) and hands it here; every rule is in domain/delegation.ts, every audit append is here.
 * A change and its audit records are committed together; a change that raced another one by the
 * same person is decided again on a fresh read. A typed message Teams sends again (same conversation
 * and activity id) is answered from what its first sending did, and changes nothing more.
 */
import { randomUUID } from 'node:crypto';
import { neutralise } from '../domain/audit';
import { authorityFor, delegate, delegatesToTell, DEFAULT_DELEGATION_POLICY, revoke, samePerson as same, type Delegation, type DelegationPolicy, type DelegationResult } from '../domain/delegation';
import { decidingRoles, type Roles } from '../domain/policy';
import { describeUntil, exampleDay, parseUntil, zonedText, zoneOrUtc } from '../domain/delegation-time';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import { lapsedDelegations, notExecutedText, oweOutcomeMessage, peopleToDecide, withdrawDelegatedApprovals, type DelegationEnd } from '../domain/lifecycle';
import { DECIDABLE_STATES, type Actor, type ApprovalRequest, type Source } from '../domain/request';
import { transact, type AppDeps } from './context';
import { accessForView, accessWithGroups } from './group-access';
import { delegationIdFor, revocationIdFor } from './ids';
import { DelegationConflictError } from './ports';
import { sendEndingMessage } from './outcome-message';
import { requestsWhere } from './sweep-each';

/** The person named by @mention, or why the Teams layer could not tell who they are. */
export type NamedPerson = Actor | { unresolved: string };

export interface DelegateCommand {
  actor: Actor;
  source: Source;
  delegate: NamedPerson | undefined;
  /** The words after the mention: `until <time>` or `for <duration>`. */
  when: string;
  /** The sender's IANA time zone, when Teams sent it. */
  timeZone?: string;
  /**
   * The typed message's key (its conversation and activity id), when Teams gave it one. Teams sends
   * a message again, with the same id, when its turn took more than about 15 s, to this instance or
   * another: the delegation's id is derived from the key, so the second sending meets the first's.
   */
  message?: string;
}

export interface RevokeCommand {
  actor: Actor;
  source: Source;
  /** Only the delegation to this person (`revoke delegation @person`). */
  delegate?: NamedPerson;
  /** As DelegateCommand's: kept on the delegations it ends, by which a second sending is known. */
  message?: string;
  /** The sender's IANA time zone, when Teams sent it: the answer names times in it. */
  timeZone?: string;
}

/** What the person is told; `ended`: the delegations the command ended (revoked or replaced), whose delegates' cards lose their buttons. */
export type DelegationAnswer = { ok: true; text: string; ended?: Delegation[] } | { ok: false; refusal: Refusal };

const MAX_ATTEMPTS = 10;

function delegationPolicy(deps: Pick<AppDeps, 'config'>): DelegationPolicy {
  return deps.config.delegation ?? DEFAULT_DELEGATION_POLICY;
}

/**
 * The delegations in force at `at`: none while delegation is turned off in the config
 * (`delegation.enabled: false`), whatever the store holds, so that no approval given on someone's
 * behalf counts then, at a click, in the sweep or at execution.
 */
export async function delegationsInForce(deps: Pick<AppDeps, 'config' | 'store'>, at: Date): Promise<Delegation[]> {
  return delegationPolicy(deps).enabled ? deps.store.delegations.inForce(at.toISOString()) : [];
}

/**
 * A delegation to `actor`, from someone who may decide the request, that was in force at some moment
 * since the request was made and no longer is: revoked, replaced by its delegator's next one, or run
 * out. Why a delegate's card no longer lets them decide (its Approve was live when it was sent, or
 * when `pending` posted it). The one that ended last; undefined when there is none, delegation is
 * turned off, or the store cannot say.
 */
export async function delegationEndedFor(deps: Pick<AppDeps, 'config' | 'store'>, actor: Actor, r: ApprovalRequest, now: Date): Promise<Delegation | undefined> {
  if (!delegationPolicy(deps).enabled) return undefined;
  const received = await deps.store.delegations.receivedSince(actor.aadObjectId, r.createdAt).catch(() => []);
  const endOf = (d: Delegation) => Math.min(Date.parse(d.until), d.ended ? Date.parse(d.ended.at) : Infinity);
  return received
    .filter((d) => endOf(d) <= now.getTime() && Date.parse(d.createdAt) <= now.getTime() && deps.config.access.roles.holdsAny(decidingRoles(r), d.delegator.aadObjectId))
    .sort((a, b) => endOf(a) - endOf(b))
    .at(-1);
}

/** " Your delegation from Bob Approver was revoked by Bob Approver at …, so you can no longer decide it on their behalf." (`ended at …` when its time ran out). */
export function delegationEndedText(d: Delegation, zone: string | undefined): string {
  const ended = !d.ended || Date.parse(d.until) <= Date.parse(d.ended.at) ? `ended at ${zonedText(d.until, zone)}` : d.ended.reason === 'revoked' ? `was revoked by ${d.ended.by.name} at ${zonedText(d.ended.at, zone)}` : `was replaced by ${d.ended.by.name}'s next delegation at ${zonedText(d.ended.at, zone)}`;
  return ` Your delegation from ${d.delegator.name} ${ended}, so you can no longer decide it on their behalf.`;
}

/** How a delegation no longer in force ended when nothing says otherwise: its time ran out, or delegation is turned off. */
export function lapsedEnd(deps: Pick<AppDeps, 'config'>): DelegationEnd {
  return delegationPolicy(deps).enabled ? { how: 'ended' } : { how: 'turned-off' };
}

/** Delegations in force now that name this person as the delegate. */
async function delegationsReceived(deps: AppDeps, actor: Actor, now: Date): Promise<Delegation[]> {
  return (await delegationsAt(deps, actor, now)).received;
}

/**
 * What a decision needs of the delegations, from one read: those in force that name this person as
 * the delegate, and the ids of all in force (approvals under any other no longer count).
 */
export async function delegationsAt(deps: AppDeps, actor: Actor, now: Date): Promise<{ received: Delegation[]; inForce?: ReadonlySet<string>; end?: DelegationEnd }> {
  // Turned off: none is in force, and the approvals given under one no longer count.
  if (!delegationPolicy(deps).enabled) return { received: [], inForce: new Set(), end: lapsedEnd(deps) };
  const me = actor.aadObjectId.toLowerCase();
  const all = await deps.store.delegations.inForce(now.toISOString());
  return { received: all.filter((d) => d.delegate.aadObjectId.toLowerCase() === me), inForce: new Set(all.map((d) => d.id)) };
}

/**
 * Whether this person may decide a request now, themselves or on someone's behalf: what `pending`,
 * `status` and the personal card show. Each click is still decided when it is made.
 */
export async function decider(deps: AppDeps, actor: Actor): Promise<(r: ApprovalRequest) => boolean> {
  const now = deps.clock.now();
  const received = await delegationsReceived(deps, actor, now);
  // Memberships in the groups any role lists, looked up once for every request shown.
  const access = await accessForView(deps, [actor, ...received.map((d) => d.delegator)], deps.config.access.roles.names);
  return (r) => {
    const isApprover = (a: Actor) => access.isApproverFor(decidingRoles(r), a);
    if (isApprover(actor)) return true;
    const authority = authorityFor(r, actor, 'approve', received, now, isApprover);
    return authority.ok && authority.onBehalfOf !== undefined;
  };
}

export async function delegateTo(deps: AppDeps, cmd: DelegateCommand): Promise<DelegationAnswer> {
  const id = cmd.message ? delegationIdFor(cmd.message) : deps.ids.delegationId ? deps.ids.delegationId() : `DG-${randomUUID()}`;
  // A message sent again meets the delegation its first sending made, before anything is checked or changed.
  const sentBefore = cmd.message ? () => delegatedBefore(deps, id, cmd.timeZone) : undefined;
  const again = await sentBefore?.();
  if (again) return again;
  const person = cmd.delegate;
  if (person === undefined) {
    const example = `delegate @person until ${exampleDay(deps.clock.now(), cmd.timeZone ?? 'UTC', 3)}`;
    // A personal chat with Countersign has nobody else in it to @mention: say where it can be done.
    const text =
      cmd.source.conversationType === 'personal'
        ? `Name the person who decides for you with @mention, in a channel or group chat they are in (a personal chat with Countersign has nobody else to mention): "@Countersign ${example}".`
        : `Name the person who decides for you with @mention: "${example}".`;
    return refuse(deps, cmd, refusal(RefusalReason.DelegationMalformed, text));
  }
  if ('unresolved' in person) return refuse(deps, cmd, refusal(RefusalReason.DelegateUnknown, person.unresolved));
  const now = deps.clock.now();
  const when = parseUntil(cmd.when, now, cmd.timeZone);
  if (!when.ok) return refuse(deps, cmd, refusal(RefusalReason.DelegationMalformed, when.problem));
  // Who may delegate: an approver of some command, possibly through an Entra group (looked up first).
  // Someone who approves by name needs no lookup, so a Graph outage does not stop them delegating.
  const byName = deps.config.access.isApproverFor(decidingRolesOfCommands(deps), cmd.actor);
  const resolved = byName ? undefined : await accessWithGroups(deps, [cmd.actor], decidingRolesOfCommands(deps));
  if (resolved && !resolved.ok) return refuse(deps, cmd, resolved.refusal);
  const access = resolved?.access ?? deps.config.access;
  const result = await commit(deps, now, sentBefore, (inForce) =>
    delegate({
      id,
      now,
      delegator: cmd.actor,
      delegate: person,
      until: when.until,
      policy: delegationPolicy(deps),
      delegatorIsApprover: access.isApproverFor(decidingRolesOfCommands(deps), cmd.actor),
      delegatorIsDelegate: inForce.some((d) => same(d.delegate, cmd.actor)),
      tenantAllowed: (t) => access.tenantAllowed(t),
      zone: when.zone,
      current: inForce.filter((d) => same(d.delegator, cmd.actor)),
      source: cmd.source,
    }),
  );
  if ('already' in result) return result.already;
  if (!result.ok) return refuse(deps, cmd, result.refusal);
  // The replaced delegation's approvals stop counting, as a revoked one's do: taken off what still waits.
  const { withdrawn, failed } = result.change.ended.length > 0 ? await withdrawFromOpenRequests(deps, new Set(result.change.ended.map((d) => d.id)), { how: 'replaced', by: cmd.actor }) : { withdrawn: [], failed: [] };
  const taken = withdrawn.length > 0 ? ` The approvals ${result.change.ended.map((d) => d.delegate.name).join(', ')} gave for you were taken off ${withdrawn.join(', ')}, which wait for other approvers again.` : '';
  const replaced = result.change.ended.map((d) => ` It replaces your delegation to ${d.delegate.name}.`).join('') + taken + failedText(failed, when.zone);
  deps.log.info({ delegationId: id, until: when.until.toISOString() }, 'delegation created');
  const waiting = await waitingFor(deps, { id, delegator: cmd.actor, delegate: person, createdAt: now.toISOString(), until: when.until.toISOString() }, access.roles);
  return {
    ok: true,
    text: `${person.name} can now approve and reject requests on your behalf, with your own approver roles, until ${describeUntil(when.until, when.zone)}.${replaced}${waiting} Type "revoke delegation" to end it sooner.`,
    ...(result.change.ended.length > 0 ? { ended: result.change.ended } : {}),
  };
}

export async function revokeDelegation(deps: AppDeps, cmd: RevokeCommand): Promise<DelegationAnswer> {
  const revocationId = cmd.message ? revocationIdFor(cmd.message) : undefined;
  // A message sent again is answered with what its first sending ended, before anything is checked or changed.
  const sentBefore = revocationId ? () => revokedBefore(deps, cmd.actor, revocationId) : undefined;
  const again = await sentBefore?.();
  if (again) return again;
  const person = cmd.delegate;
  if (person && 'unresolved' in person) return refuse(deps, cmd, refusal(RefusalReason.DelegateUnknown, person.unresolved));
  const now = deps.clock.now();
  const result = await commit(deps, now, sentBefore, (inForce) => revoke(cmd.actor, inForce, now, person, cmd.source, revocationId));
  if ('already' in result) return result.already;
  if (!result.ok) return refuse(deps, cmd, result.refusal);
  const names = result.change.ended.map((d) => d.delegate.name).join(', ');
  const { withdrawn, failed } = await withdrawFromOpenRequests(deps, new Set(result.change.ended.map((d) => d.id)), { how: 'revoked', by: cmd.actor });
  const taken = withdrawn.length > 0 ? ` Taken off ${withdrawn.join(', ')}, which wait for other approvers again.` : '';
  return {
    ok: true,
    text: `Revoked: ${names} can no longer decide on your behalf. Approvals they gave for you on requests not yet executed no longer count.${taken}${failedText(failed, zoneOrUtc(cmd.timeZone))}`,
    ended: result.change.ended,
  };
}

/**
 * The cards the delegates of `ended` (revoked, replaced, or run out: ranOutToWithdraw) were sent in their personal chats, of the
 * requests not yet started that the delegator could decide and that they can no longer decide
 * (themselves, or under another delegation): each shown as it now is, without its buttons, saying
 * why. Only the card in the delegate's own chat: a card in a channel is everyone's. A later change of
 * a request still open brings it the card everyone shares again (a click is then refused, saying
 * why: decisions.ts). Returns how many cards were updated.
 */
export async function withdrawDelegatesCards(deps: AppDeps, ended: readonly Delegation[]): Promise<number> {
  return (await withdrawCards(deps, ended)).updated;
}

/** withdrawDelegatesCards, answering also the delegations with a card whose update failed for now (cardWithoutButtons false). */
async function withdrawCards(deps: AppDeps, ended: readonly Delegation[]): Promise<{ updated: number; failed: Set<string> }> {
  const show = deps.notifier.cardWithoutButtons?.bind(deps.notifier);
  const failed = new Set<string>();
  if (!show || !deps.messenger || ended.length === 0) return { updated: 0, failed };
  const open = await openForCards(deps);
  let updated = 0;
  for (const d of ended) {
    const person = { aadObjectId: d.delegate.aadObjectId, tenantId: d.delegate.tenantId };
    const chat = await deps.messenger.personalChatOf(person);
    if (!chat) continue;
    const zone = zoneOrUtc(await deps.messenger.timeZoneOf?.(person).catch(() => undefined));
    const mayDecide = await decider(deps, d.delegate);
    const theirs = open.filter((r) => deps.config.access.roles.holdsAny(decidingRoles(r), d.delegator.aadObjectId) && !same(r.requester, d.delegate) && !mayDecide(r));
    for (const r of theirs) {
      for (const message of (await deps.store.cards.getCardMessages(r.id)).filter((m) => m.conversationId === chat)) {
        if (await show(r, message, `${delegationEndedText(d, zone).trim()} This card no longer takes your decision on request ${r.id}.`)) updated++;
        else failed.add(d.id);
      }
    }
  }
  return { updated, failed };
}

/** The requests whose delegates' cards may lose their buttons: not started, and not approved (whose card offers no decision). */
async function openForCards(deps: AppDeps): Promise<ApprovalRequest[]> {
  return (await deps.store.requests.list({ states: NOT_STARTED })).filter((r) => r.state !== 'approved');
}

/** How long a sweep that took on the withdrawal of a delegate's cards may still be updating them before another takes it on again. */
export const DELEGATE_CARDS_HOLD_MS = 10 * 60_000;

/**
 * The delegations whose time ran out and whose delegate's cards were not yet withdrawn, each taken
 * on in the store first (DelegationStore.takeCardsWithdrawal: one instance at a time), and marked
 * withdrawn only once the cards were updated (withdrawRanOutCards), so that a run that died or
 * failed between leaves them to be taken on again: after DELEGATE_CARDS_HOLD_MS, or at once by the
 * only instance on the store when the run that took them was before its start. Returns those this
 * call took on, for withdrawRanOutCards, and whether any was not marked withdrawn yet (taken on
 * here, or by a sweep that may still be at it, or that failed or died): the sweep then looks again
 * until none is. Only delegations that may have a card of a request still
 * open: their time ran out after the oldest such request was made (a card is sent to a delegate
 * while the delegation is in force). None while delegation is turned off in the config.
 */
async function ranOutToWithdraw(deps: AppDeps, now: Date): Promise<{ taken: Delegation[]; unfinished: boolean }> {
  if (!delegationPolicy(deps).enabled || !deps.notifier.cardWithoutButtons || !deps.messenger) return { taken: [], unfinished: false };
  const open = await openForCards(deps);
  if (open.length === 0) return { taken: [], unfinished: false };
  const oldest = open.map((r) => r.createdAt).reduce((a, b) => (a < b ? a : b));
  const held = now.getTime() - DELEGATE_CARDS_HOLD_MS;
  const since = deps.onlyInstanceSince?.getTime();
  const staleBefore = new Date(since !== undefined && since - 1 > held ? since - 1 : held).toISOString();
  const taken: Delegation[] = [];
  const notWithdrawn = await deps.store.delegations.ranOutSince(oldest, now.toISOString());
  for (const d of notWithdrawn) {
    if (await deps.store.delegations.takeCardsWithdrawal(d.id, now.toISOString(), staleBefore)) taken.push(d);
  }
  return { taken, unfinished: notWithdrawn.length > 0 };
}

/**
 * The cards of the delegates of `ranOut` (ranOutToWithdraw took them on) lose their buttons
 * (withdrawDelegatesCards), then each delegation is marked as having had its cards withdrawn: not
 * before, so that a failure or a death between leaves them to a later sweep rather than a card
 * showing live buttons while the delegation says they were taken off. A delegation with a card whose
 * update failed for now (the notifier logs it and answers false: it never throws) is not marked
 * either, and is taken on again once its taking is old. Returns how many cards were updated.
 */
export async function withdrawRanOutCards(deps: AppDeps, ranOut: readonly Delegation[]): Promise<number> {
  const { updated, failed } = await withdrawCards(deps, ranOut);
  for (const d of ranOut) if (!failed.has(d.id)) await deps.store.delegations.markCardsWithdrawn(d.id, deps.clock.now().toISOString());
  return updated;
}

/**
 * What waits already for the delegator's decision, told to the delegate in the answer (they are in
 * the conversation): the requests they may now decide on the delegator's behalf. The requests to
 * come are sent to them as to the delegator (notifications.ts); these are found with `pending`.
 * `roles`: the config's, with the delegator's memberships in the groups looked up to let them
 * delegate. A store that cannot be read here costs the line, not the delegation.
 */
async function waitingFor(deps: AppDeps, d: Delegation, roles: Roles): Promise<string> {
  const now = deps.clock.now();
  const theirs = (r: ApprovalRequest) => delegatesToTell(r, peopleToDecide(r, roles), [d], now).has(d.delegate.aadObjectId.toLowerCase());
  const waiting = await requestsWhere(deps, { states: [...DECIDABLE_STATES] }, theirs).catch(() => undefined);
  if (!waiting) return '';
  const ids = waiting.map((r) => r.id);
  if (ids.length === 0) return '';
  const shown = ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ');
  const one = ids.length === 1;
  return ` ${ids.length} request${one ? '' : 's'} already wait${one ? 's' : ''} for your decision (${shown}): ${d.delegate.name}, type "pending" to see ${one ? 'it' : 'them'} and decide on ${d.delegator.name}'s behalf; new ones are sent to you as they come.`;
}

/** The answer to a `delegate` message sent again: the delegation its first sending made, if it did. */
async function delegatedBefore(deps: AppDeps, id: string, timeZone: string | undefined): Promise<DelegationAnswer | undefined> {
  const d = await deps.store.delegations.get(id);
  if (!d) return undefined;
  const zone = zoneOrUtc(timeZone);
  const since = d.ended ? ` It has since been ${d.ended.reason}, at ${describeUntil(new Date(d.ended.at), zone)}.` : '';
  return { ok: true, text: `This message already delegated to ${d.delegate.name}, until ${describeUntil(new Date(d.until), zone)} (delegation ${d.id}); nothing more was done.${since} Type "delegations" to see what is in force.` };
}

/**
 * The answer to a `revoke delegation` message sent again: the delegations its first sending ended,
 * if it ended any. Found by the person's `delegation.revoked` records (few: one a revocation), each
 * delegation asked whether this message ended it.
 */
async function revokedBefore(deps: AppDeps, actor: Actor, revocationId: string): Promise<DelegationAnswer | undefined> {
  const ended: Delegation[] = [];
  for await (const r of deps.store.audit.read({ actorId: actor.aadObjectId, types: ['delegation.revoked'] })) {
    const id = (r.data as { delegationId?: unknown } | undefined)?.delegationId;
    const d = typeof id === 'string' ? await deps.store.delegations.get(id) : undefined;
    if (d?.ended?.revocationId === revocationId && !ended.some((e) => e.id === d.id)) ended.push(d);
  }
  if (ended.length === 0) return undefined;
  const what = ended.map((d) => `your delegation to ${d.delegate.name} (delegation ${d.id})`).join(', ');
  return { ok: true, text: `This message already revoked ${what}; nothing more was done. Type "delegations" to see what is in force.` };
}

/** " CS-… was approved (scheduled for …) on such an approval: it will not run, and its requester was told to ask again." */
function failedText(failed: readonly ApprovalRequest[], zone: string): string {
  if (failed.length === 0) return '';
  const each = failed.map((r) => `${r.id} (${r.command}${r.runAt ? `, scheduled for ${zonedText(r.runAt, zone)}` : ''})`);
  return ` ${each.join(', ')} ${failed.length === 1 ? 'was' : 'were'} approved with such an approval and had not started: ${failed.length === 1 ? 'it' : 'they'} will not run (failed now, nothing sent to Azure), and the requester was told to ask again.`;
}

/**
 * The approvals the ended delegations carried, taken off every request still to be decided (each
 * audited, its cards updated): `withdrawn`. A request approved or scheduled on them and not yet
 * started can no longer run: it fails now, and its requester is told (`failed`, as it stood before).
 */
async function withdrawFromOpenRequests(deps: AppDeps, ended: ReadonlySet<string>, end: DelegationEnd): Promise<{ withdrawn: string[]; failed: ApprovalRequest[] }> {
  const open = await deps.store.requests.list({ states: NOT_STARTED });
  const carrying = open.filter((r) => r.approvals.some((a) => a.delegationId !== undefined && ended.has(a.delegationId)));
  const withdrawn: string[] = [];
  const failed: ApprovalRequest[] = [];
  for (const r of carrying) {
    const before = await withdrawOn(deps, r.id, () => ended, end);
    if (before?.state === 'approved' || before?.state === 'scheduled') failed.push(before);
    else if (before) withdrawn.push(r.id);
  }
  return { withdrawn, failed };
}

/** Requests whose approvals may still be withdrawn: waiting for approval, or approved and not started. */
const NOT_STARTED = [...DECIDABLE_STATES, 'approved' as const, 'scheduled' as const];

/**
 * Takes the approvals of the delegations `ended` picks off one request (a request approved on them
 * fails, and its requester is told); returns the request as it was before, when something changed.
 */
async function withdrawOn(deps: AppDeps, requestId: string, ended: (r: ApprovalRequest) => ReadonlySet<string>, end: DelegationEnd): Promise<ApprovalRequest | undefined> {
  // A request that fails for it owes its requester the message, from this write (outcome-message.ts).
  const outcome = await transact(deps, requestId, (current) =>
    oweOutcomeMessage(withdrawDelegatedApprovals(current, ended(current), deps.clock.now(), end), deps.clock.now(), (r) => (r.state === 'failed' ? notExecutedText(r) : undefined)),
  );
  if (!outcome?.result.ok) return undefined;
  const after = outcome.result.request;
  sendEndingMessage(deps, after, outcome.before);
  return outcome.before;
}

/**
 * The approvals of delegations whose time ran out, taken off the requests still to be decided (each
 * audited, `delegation-ended`, its cards updated), so that cards, reminders and `pending` show what
 * still counts; a request approved on them and not yet started fails then, as it would at execution. `seen`: the delegations in force at the last sweep; the open requests are read only
 * when one of those has ended since (or at the first sweep, `seen` undefined). Returns the
 * delegations in force now and the requests changed. (A click decides on the request as if this had
 * run: decisions.ts takes lapsed approvals off in the same change.) `ranOut`: the delegations whose
 * time ran out that this sweep took on (ranOutToWithdraw), whose delegates' cards the caller updates
 * with withdrawRanOutCards, as after a revocation, marking them withdrawn after. `cardsUnfinished`
 * (given back for the next sweep): some such delegation was not marked withdrawn yet, so the next
 * sweep looks at them again even when no delegation ended since.
 */
export async function sweepEndedDelegations(
  deps: AppDeps,
  seen: ReadonlySet<string> | undefined,
  cardsUnfinished = false,
): Promise<{ inForce: Set<string>; withdrawn: string[]; ranOut: Delegation[]; cardsUnfinished: boolean }> {
  const now = deps.clock.now();
  const inForce = new Set((await delegationsInForce(deps, now)).map((d) => d.id));
  const ended = !seen || ![...seen].every((id) => inForce.has(id));
  if (!ended && !cardsUnfinished) return { inForce, withdrawn: [], ranOut: [], cardsUnfinished: false };
  const withdrawn: string[] = [];
  for (const r of ended ? await deps.store.requests.list({ states: NOT_STARTED }) : []) {
    if (lapsedDelegations(r, now, inForce).size === 0) continue;
    if (await withdrawOn(deps, r.id, (current) => lapsedDelegations(current, now, inForce), lapsedEnd(deps))) withdrawn.push(r.id);
  }
  if (withdrawn.length > 0) deps.log.info({ withdrawn }, 'approvals of ended delegations taken off');
  const { taken: ranOut, unfinished } = await ranOutToWithdraw(deps, now);
  if (ranOut.length > 0) deps.log.info({ delegations: ranOut.map((d) => d.id) }, "delegations ran out: their delegates' cards lose their buttons");
  return { inForce, withdrawn, ranOut, cardsUnfinished: unfinished };
}

export interface DelegationsView {
  given: Delegation[];
  received: Delegation[];
  /** Every delegation in force, for auditors (audit.auditorRoles) in a personal chat; absent otherwise. */
  all?: Delegation[];
  /** An auditor asked in a channel or group chat: the full list is shown in a personal chat only. */
  allInPersonalChat?: true;
  /** Delegation is turned off in the config: none is in force, whatever was delegated before. */
  turnedOff?: true;
  zone: string;
}

/**
 * The delegations in force that this person gave and received; auditors see all of them, in a
 * personal chat only: who stands in for which approver, and until when, is not for everyone in a
 * shared conversation (as the audit export is not).
 */
export async function listDelegations(deps: AppDeps, actor: Actor, where: Pick<Source, 'conversationType'>, timeZone?: string): Promise<DelegationsView> {
  const inForce = await delegationsInForce(deps, deps.clock.now());
  const auditor = deps.config.access.isApproverFor(deps.config.auditorRoles, actor);
  const personal = where.conversationType === 'personal';
  return {
    given: inForce.filter((d) => same(d.delegator, actor)),
    received: inForce.filter((d) => same(d.delegate, actor)),
    ...(auditor && personal ? { all: inForce } : {}),
    ...(auditor && !personal ? { allInPersonalChat: true as const } : {}),
    ...(delegationPolicy(deps).enabled ? {} : { turnedOff: true as const }),
    zone: zoneOrUtc(timeZone),
  };
}

/** The view in words (Teams shows it as a message). */
export function delegationsText(view: DelegationsView): string {
  const line = (d: Delegation) => `- ${d.delegate.name} on behalf of ${d.delegator.name}, until ${describeUntil(new Date(d.until), view.zone)}`;
  const section = (title: string, list: Delegation[]) => [`${title}:`, ...(list.length ? list.map(line) : ['- none'])].join('\n');
  const sections = [section('You delegated', view.given), section('Delegated to you', view.received)];
  if (view.all) sections.push(section('All delegations in force (you are an auditor)', view.all));
  if (view.allInPersonalChat) sections.push('All delegations in force (you are an auditor): type "delegations" in your personal chat with Countersign to see them; they are not listed here, where others can read them.');
  if (view.turnedOff) sections.unshift("Delegation is turned off in this Countersign (delegation.enabled in the config): no delegation is in force, and no approval given on someone's behalf counts.");
  // A blank line between sections: Teams' markdown would carry a title straight after a list item on into that item.
  return sections.join('\n\n');
}

/**
 * The roles that decide requests of some command: its approver roles, and its escalation role (whose
 * members decide its escalated requests; their delegate then does, on their behalf, as for any role).
 */
export function decidingRolesOfCommands(deps: Pick<AppDeps, 'config'>): string[] {
  return [...new Set(deps.config.catalog.commands.flatMap((c) => [...(c.policy?.approverRoles ?? []), ...(c.policy?.escalation ? [c.policy.escalation.role] : [])]))];
}

/**
 * Decides on a fresh read of the delegations in force at `now` (the instant the change is made at,
 * the same on every attempt) and commits; a concurrent change means deciding again. `sentBefore`
 * (a typed message): the same message on another instance may have made this change since it was
 * looked for, so a refusal (nothing left to revoke) or a conflict (its delegation in force, or its
 * id taken) is first asked whether it was that, and then answered as the second sending.
 */
async function commit(
  deps: AppDeps,
  now: Date,
  sentBefore: (() => Promise<DelegationAnswer | undefined>) | undefined,
  decide: (inForce: Delegation[]) => DelegationResult,
): Promise<DelegationResult | { already: DelegationAnswer }> {
  for (let attempt = 0; ; attempt++) {
    const result = decide(await deps.store.delegations.inForce(now.toISOString()));
    if (!result.ok) {
      const first = await sentBefore?.();
      return first ? { already: first } : result;
    }
    try {
      await deps.store.delegations.record(result.change);
      return result;
    } catch (err) {
      if (!(err instanceof DelegationConflictError) || attempt + 1 >= MAX_ATTEMPTS) throw err;
      const first = await sentBefore?.();
      if (first) return { already: first };
    }
  }
}

async function refuse(deps: AppDeps, cmd: { actor: Actor; source: Source; delegate?: NamedPerson }, why: Refusal): Promise<DelegationAnswer> {
  const named = cmd.delegate && !('unresolved' in cmd.delegate) ? { delegate: cmd.delegate } : {};
  await deps.store.audit.append([
    neutralise({
      type: 'delegation.refused' as const,
      time: deps.clock.now().toISOString(),
      actor: cmd.actor,
      source: cmd.source,
      outcome: { result: 'refused' as const, reason: why.reason, detail: why.message },
      data: { command: 'when' in cmd ? 'delegate' : 'revoke delegation', ...named },
    }),
  ]);
  deps.log.warn({ reason: why.reason }, 'delegation refused');
  return { ok: false, refusal: why };
}
