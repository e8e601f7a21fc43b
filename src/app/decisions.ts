/**
 * A click on a request's card: approve, reject or cancel. Only the request id and the verb come
 * from the card; who clicked comes from the authenticated activity, everything else from the
 * stored request. Refused clicks are audited like accepted ones. Cancel on a running deployment
 * (requester or approver) asks Azure to stop it; the request ends when Azure says how it ended.
 */
import { authorityFor, deciderText, samePerson, type Delegation } from '../domain/delegation';
import { zonedText, zoneOrUtc } from '../domain/delegation-time';
import { withDistinctNames } from '../domain/display-names';
import { approve, cancel, cancelRefused, expire, isPastExpiry, notExecutedText, oweOutcomeMessage, owedByChange, reject, requestCancellation, reviewBreakGlass, scheduleLapsedText, stillUnreached, withoutLapsedApprovals, type AskingRules, type CommandGone, type DecisionContext, type DelegationEnd, type Transition } from '../domain/lifecycle';
import { decidingRoles, type AccessPolicy } from '../domain/policy';
import { outstandingText } from '../domain/quorum';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import { isDecidable, type Actor, type ApprovalRequest, type Source } from '../domain/request';
import { commentOnOneLine } from '../domain/text-safety';
import { cardOf } from './card-binding';
import { transact, type AppDeps } from './context';
import { askingNowFor, askingNowIn } from './unaskable';
import { outsideTurn } from './turn-deadline';
import { sendEndingMessage, sendOutcomeMessage } from './outcome-message';
import { commentRefusal } from './input-gate';
import { delegationEndedFor, delegationEndedText, delegationsAt } from './delegations';
import { accessForDecision, viewAccess } from './group-access';
import { refusalAfterAuditLoss } from './accept-loss';
import { refusedEvent, type PersonRefusals } from './person-refusals';

export type Verb = 'approve' | 'reject' | 'cancel' | 'ratify' | 'flag';

export interface Click {
  requestId: string;
  verb: string;
  /** The operation hash the card showed, when it carries one. */
  cardHash?: string;
  comment?: string;
  actor: Actor;
  source: Source;
  /** The IANA zone Teams sent with the click, in which a refusal names a time (UTC when absent). */
  timeZone?: string;
}

export type ClickResult =
  | { ok: true; request: ApprovalRequest; verb: Verb }
  | { ok: false; refusal: Refusal; request?: ApprovalRequest };

export interface DecisionHooks {
  /** Called after the last required approval is committed: start execution in the background. */
  onApproved(request: ApprovalRequest): void;
  /** The budget refused clicks are recorded through, per person a minute (person-refusals.ts); none: each recorded one by one. */
  refusals?: PersonRefusals;
}

const VERBS: Verb[] = ['approve', 'reject', 'cancel', 'ratify', 'flag'];

/** Refusals a membership of the escalation role's groups could have turned into a decision (who decides, with whose authority). */
const ROLE_REFUSALS: ReadonlySet<RefusalReason> = new Set([
  RefusalReason.NotAnApprover,
  RefusalReason.FillsNoRequirement,
  RefusalReason.NotAllowedToCancel,
  RefusalReason.AuthorityAlreadyCounted,
  RefusalReason.OnBehalfOfRequester,
]);

/** A click as it arrives from a card: the verb and request id come from client-controlled card data. */
export interface CardClick extends Click {
  /** The conversation the clicked card is in, and the card message's id (from the authenticated activity). */
  conversationId: string;
  replyToId?: string;
  /**
   * It came as a message carrying the action (an Action.Submit or messageBack), not as the
   * Action.Execute invoke of a request card's button: no such button sends one, so it is refused.
   */
  submitted?: true;
}

/**
 * A click on a card, from the top: a click that names no request or no action is refused; a click
 * from a card not posted for the request it names is refused; an approval or rejection that does not
 * carry the operation hash its card shows is refused; anything else is decided.
 */
export async function clickCard(deps: AppDeps, click: CardClick, hooks: DecisionHooks): Promise<ClickResult> {
  if (click.submitted) {
    const named = click.requestId ? ` for ${click.requestId}` : '';
    const next = click.requestId ? `Use the buttons of its card ("status ${click.requestId}" posts one).` : 'Use the buttons of the request\'s card.';
    const why = refusal(RefusalReason.UnknownAction, `This was sent as a message${click.verb ? `, saying "${click.verb}"${named}` : named}, not by a button of a request card, so it decides nothing; nothing was changed. ${next}`, click.requestId || undefined);
    const request = click.requestId ? await deps.store.requests.get(click.requestId) : undefined;
    await refuseClick(deps, hooks.refusals, { ...click, requestId: click.requestId || '(none)', verb: click.verb || '(none)' }, why, request);
    return { ok: false, refusal: why };
  }
  if (!click.requestId || !click.verb) {
    const malformed = { ...click, requestId: click.requestId || '(none)', verb: click.verb || '(none)' };
    return refuseClick(deps, hooks.refusals, malformed, refusal(RefusalReason.UnknownAction, 'This card action is malformed (it names no request or no action); nothing was changed.'));
  }
  const notItsCard = `This card does not belong to request ${click.requestId}; nothing was changed. Type "status ${click.requestId}" for a card you can use.`;
  const card = await cardOf(deps, click.requestId, { conversationId: click.conversationId, conversationType: click.source.conversationType }, click.replyToId);
  if (card === 'foreign') {
    const why = refusal(RefusalReason.CardMismatch, notItsCard, click.requestId);
    await refuseClick(deps, hooks.refusals, click, why, await deps.store.requests.get(click.requestId));
    // The named request's card is not shown: the card clicked is not one of its cards.
    return { ok: false, refusal: why };
  }
  if (card === 'no-request') {
    // A click naming no request there is came from no card of it either: answered in the very words
    // of a card of another request, so that clicks with edited ids cannot tell which ids exist (and
    // "status" answers both alike). The audit records what it was.
    return refuseClick(deps, hooks.refusals, click, refusal(RefusalReason.UnknownRequest, notItsCard, click.requestId));
  }
  if ((click.verb === 'approve' || click.verb === 'reject') && click.cardHash === undefined) {
    // Every card Countersign posts carries the operation hash on its buttons: a decision binds to
    // the operation the person saw, and a click without one was not made on such a card. (Checked
    // after the card check, so the request's card is shown only on one of its own cards.)
    const request = await deps.store.requests.get(click.requestId);
    if (request) {
      const why = refusal(
        RefusalReason.StaleCard,
        `This click does not carry the operation hash its card shows, so it cannot be bound to what would run; nothing was changed. Use the request's latest card ("status ${click.requestId}" posts it).`,
        click.requestId,
      );
      return refuseClick(deps, hooks.refusals, click, why, request);
    }
  }
  return decide(deps, click, hooks);
}

/** Who decides, with what: the roles they hold now (Entra groups resolved) and the delegations they received. */
export interface Decider {
  actor: Actor;
  access: Pick<AccessPolicy, 'isApproverFor'>;
  received: Delegation[];
  /** The ids of every delegation in force at `now` (none with delegation turned off). */
  inForce?: ReadonlySet<string>;
  /** How an approval under a delegation not among them stopped counting, when not by its time (delegation turned off). */
  end?: DelegationEnd;
  now: Date;
  source?: Source;
  cardHash?: string | undefined;
  /** The zone a refusal names times in (the click's). */
  timeZone?: string;
  /** What the current config says of asking for a request, which an approval checks (absent: not checked). */
  askingNow?: (r: ApprovalRequest) => AskingRules | CommandGone;
}

function decisionContext(r: ApprovalRequest, who: Omit<Decider, 'received'>): DecisionContext {
  return {
    now: who.now,
    actor: who.actor,
    ...(who.source ? { source: who.source } : {}),
    ...(who.timeZone ? { zone: who.timeZone } : {}),
    // The roles named when the request was made, held according to the current config.
    isApprover: (a: Actor) => who.access.isApproverFor(decidingRoles(r), a),
    // Which quorum requirements a person's roles fill, held according to the current config (groups resolved).
    holdsAny: (roles: readonly string[], a: Actor) => who.access.isApproverFor(roles, a),
    ...(who.cardHash !== undefined ? { cardHash: who.cardHash } : {}),
    ...rulesOf(r, who),
  };
}

function rulesOf(r: ApprovalRequest, who: Pick<Decider, 'askingNow'>): { askingRules?: AskingRules | CommandGone } {
  return who.askingNow ? { askingRules: who.askingNow(r) } : {};
}

/**
 * The approval or rejection this person's click would be: the one rule a click applies and that
 * `pending` and the personal card ask without saving, so that what they offer is what goes through.
 */
function decision(request: ApprovalRequest, verb: 'approve' | 'reject', who: Decider, comment?: string): Transition {
  // Approvals whose delegation ended are taken off first, in the same change.
  return withoutLapsedApprovals(request, who.now, (r) => decisionOn(r, verb, who, comment), who.inForce, who.end);
}

function decisionOn(r: ApprovalRequest, verb: 'approve' | 'reject', who: Decider, comment?: string): Transition {
  const ctx = decisionContext(r, who);
  // A delegate decides with the delegator's authority (domain/delegation.ts).
  const authority = authorityFor(r, who.actor, verb, who.received, who.now, ctx.isApprover);
  if (!authority.ok) {
    // A closed, expired or stale request is refused as such; otherwise for the delegation's reason.
    const plain = verb === 'approve' ? approve(r, ctx) : reject(r, ctx, comment);
    return !plain.ok && plain.refusal.reason !== RefusalReason.NotAnApprover ? plain : authority;
  }
  const decider = {
    ...ctx,
    ...(authority.onBehalfOf ? { onBehalfOf: authority.onBehalfOf } : {}),
    ...(authority.delegationId ? { delegationId: authority.delegationId } : {}),
    ...(authority.delegationUntil ? { delegationUntil: authority.delegationUntil } : {}),
  };
  return verb === 'approve' ? approve(r, decider) : reject(r, decider, comment);
}

/**
 * A cancel: the requester's while the request is open; before a scheduled run, or of a running
 * deployment, also an approver's, or their delegate's on their behalf (as a rejection is: anyone who
 * may decide the request may stop it, and the delegate stands in for the approver who is away).
 */
function cancellation(r: ApprovalRequest, who: Decider): Transition {
  const ctx = decisionContext(r, who);
  const plain = (c: DecisionContext) => (r.state === 'executing' ? requestCancellation(r, c) : cancel(r, c));
  const own = plain(ctx);
  if (own.ok || own.refusal.reason !== RefusalReason.NotAllowedToCancel) return own;
  const authority = authorityFor(r, who.actor, 'reject', who.received, who.now, ctx.isApprover);
  if (!authority.ok) return authority;
  if (!authority.onBehalfOf) return own;
  return plain({ ...ctx, onBehalfOf: authority.onBehalfOf, ...(authority.delegationId ? { delegationId: authority.delegationId } : {}) });
}

/**
 * For `pending` and the personal card: whether this person's approve, reject, cancel (or break-glass review) of a request
 * would go through now (their roles and delegations looked up once for every request asked about).
 * `unknown` says which Entra group memberships Graph could not confirm: what they would allow is not counted.
 */
export async function decisionsOf(
  deps: AppDeps,
  actor: Actor,
): Promise<{ would: (r: ApprovalRequest, verb: 'approve' | 'reject' | 'cancel' | 'ratify') => boolean; access: Pick<AccessPolicy, 'isApproverFor'>; unknown?: string }> {
  const now = deps.clock.now();
  const { received, inForce, end } = await delegationsAt(deps, actor, now);
  // Every role's groups, looked up once: the caller's other checks use the same answer.
  const { access, unknown } = await viewAccess(deps, [actor, ...received.map((d) => d.delegator)], deps.config.access.roles.names);
  // The requesters' roles by name: a requester who could hold theirs through an Entra group is taken as
  // holding it (Graph is asked at the click, for that one request, not here for every request listed).
  const who = { actor, access, received, now, askingNow: askingNowIn(deps, deps.config.access, false), ...(inForce ? { inForce } : {}), ...(end ? { end } : {}) };
  // A break-glass review is the approver's own (no delegate), as a click on Ratify is taken.
  const review = (r: ApprovalRequest) => reviewBreakGlass(r, decisionContext(r, who), 'ratified');
  // An approval that would end the request instead (the config as it is now would not let it run) would not go through.
  const goes = (t: Transition) => t.ok && !t.refused;
  return { would: (r, verb) => goes(verb === 'cancel' ? cancellation(r, who) : verb === 'ratify' ? review(r) : decision(r, verb, who)), access, ...(unknown ? { unknown } : {}) };
}

export async function decide(deps: AppDeps, click: Click, hooks: DecisionHooks): Promise<ClickResult> {
  const now = deps.clock.now();
  // Refused before the request is read: still recorded as a click on it (when it exists), so that the
  // refusal is in the request's own trail (its evidence bundle, an export by request), not only in the log.
  const named = async () => deps.store.requests.get(click.requestId);
  if (!VERBS.includes(click.verb as Verb)) {
    return refuseClick(deps, hooks.refusals, click, refusal(RefusalReason.UnknownAction, `"${click.verb}" is not an action on a Countersign card.`, click.requestId), await named());
  }
  // A comment of several lines is taken on one line (text-safety.ts); any other control character is refused.
  const comment = click.comment === undefined ? undefined : commentOnOneLine(click.comment);
  const denied = deps.config.access.checkActor(click.actor) ?? commentRefusal(comment, click.requestId);
  if (denied) return refuseClick(deps, hooks.refusals, click, { ...denied, requestId: click.requestId }, await named());
  const verb = click.verb as Verb;
  const { received, inForce, end } = verb === 'approve' || verb === 'reject' || verb === 'cancel' ? await delegationsAt(deps, click.actor, now) : { received: [], inForce: undefined, end: undefined };
  // Entra group memberships are looked up before deciding; a lookup that fails refuses (group-access.ts).
  const resolved = await accessForDecision(deps, click, received, now);
  if (!resolved.ok) return refuseClick(deps, hooks.refusals, click, resolved.refusal, resolved.request);
  const zone = click.timeZone ? { timeZone: click.timeZone } : {};
  // An approval checks what the current config says of asking for the request (its requester's groups looked up).
  const askingNow = verb === 'approve' ? await askingNowFor(deps, resolved.request) : undefined;
  // A cancellation's message names its run time in the requester's zone (written with the change, below).
  const at = verb === 'cancel' ? await requesterTimeOf(deps, await named()) : utcTime;
  const change = (r: ApprovalRequest): Transition => {
    const ctx = decisionContext(r, { actor: click.actor, access: resolved.access, now, source: click.source, cardHash: click.cardHash, ...zone });
    if (verb === 'cancel') return cancellation(r, { actor: click.actor, access: resolved.access, received, now, source: click.source, ...zone });
    // A break-glass use is reviewed by an approver in person (no delegate): ratified or flagged.
    if (verb === 'ratify' || verb === 'flag') return reviewBreakGlass(r, ctx, verb === 'ratify' ? 'ratified' : 'flagged', comment);
    return decision(r, verb, { actor: click.actor, access: resolved.access, received, ...(inForce ? { inForce } : {}), ...(end ? { end } : {}), now, source: click.source, cardHash: click.cardHash, ...(askingNow ? { askingNow } : {}), ...zone }, comment);
  };
  // A decision that ends the request records the message its requester is owed with it (outcome-message.ts),
  // as does a break-glass use flagged (a ratified one is told nothing).
  const apply = (r: ApprovalRequest): Transition => {
    const t = change(r);
    if (verb === 'flag') return oweOutcomeMessage(t, now, flaggedText);
    // Only a change of state: a review of a break-glass use that ended (ratified) ends nothing.
    return oweOutcomeMessage(t, now, (ended) => (ended.state === r.state ? undefined : endingText(ended, t.ok && t.refused !== undefined, at)));
  };
  let outcome = await transact(deps, click.requestId, apply);
  if (!outcome) {
    // The click came from a recorded card of this request (checked above), so the request was made and
    // its row is gone: deleted outside Countersign (a DELETE or TRUNCATE), as audit verify reports.
    const missing = `Request ${click.requestId} is missing from Countersign's database: this is one of its cards, but its record was deleted outside Countersign, so it can no longer be decided; nothing was changed. Tell the team that runs Countersign: "countersign audit verify" names the requests deleted, to be restored from a backup.`;
    return refuseClick(deps, hooks.refusals, click, refusal(RefusalReason.UnknownRequest, missing, click.requestId));
  }
  if (!outcome.result.ok && outcome.result.refusal.reason === RefusalReason.Expired && isDecidable(outcome.before) && isPastExpiry(outcome.before, now)) {
    const after = await expireNow(deps, outcome.before);
    if (!after || after.state === 'expired') return refuseClick(deps, hooks.refusals, click, outcome.result.refusal, after ?? outcome.before);
    // Another decision landed before the expiry could be recorded (an approval given in time): the
    // click is judged again on what is stored, not answered "expired" for a request that is not.
    outcome = (await transact(deps, click.requestId, apply)) ?? outcome;
  }
  if (!outcome.result.ok) {
    // Refused for want of a role whose group Graph could not confirm: said as that, not as "not an approver".
    let why = resolved.unknown && ROLE_REFUSALS.has(outcome.result.refusal.reason) ? resolved.unknown : outcome.result.refusal;
    // A card whose buttons outlived an accepted loss of audit records (its refresh not yet done): why it expired.
    if (why.reason === RefusalReason.Expired || why.reason === RefusalReason.AlreadyDecided) why = refusalAfterAuditLoss(outcome.before, verb) ?? why;
    // A former delegate's card may still offer its buttons once their delegation was revoked, replaced
    // or ran out: say which, not only the roles it needs.
    if (why.reason === RefusalReason.NotAnApprover || why.reason === RefusalReason.NotAllowedToCancel) {
      const ended = await delegationEndedFor(deps, click.actor, outcome.before, now);
      if (ended) why = { ...why, message: `${why.message}${delegationEndedText(ended, click.timeZone)}` };
    }
    return refuseClick(deps, hooks.refusals, click, why, outcome.before);
  }
  const request = outcome.result.request;
  if (outcome.result.refused) {
    // An approval that ended the request (the config as it is now would not let it run): refused to the
    // approver, naming why; its requester is told why (and how to ask again), as after a failed claim.
    sendEndingMessage(deps, request, outcome.before);
    // The approval ended the request (a change stored with its own records): its refusal is recorded one by one, whatever the budget.
    return refuseClick(deps, undefined, click, outcome.result.refused, request);
  }
  // Logged on the next turn of the event loop, once the answer has gone: the person waits for the
  // durable decision, not for the line (formatting it and handing it to the log's writer thread).
  setImmediate(() => deps.log.info({ requestId: request.id, verb, state: request.state, by: click.actor.aadObjectId }, 'card action accepted'));
  if (request.state === 'approved') hooks.onApproved(request);
  // Every other end is told to the requester (endingText): a rejection, given from a personal copy of
  // the card or in a busy channel, too; a scheduled request someone else cancelled; and a break-glass
  // use flagged: the person who used it hears that it was questioned, and why.
  sendEndingMessage(deps, request, outcome.before);
  // Asked after the answer, not held to the click's deadline (a write to Azure: its tries keep their time).
  if (request.state === 'executing' && verb === 'cancel') outsideTurn(() => void cancelInAzure(deps, request));
  return { ok: true, request, verb };
}

/**
 * The message a decision that ended the request owes its requester, or undefined: an approval refused
 * that ended it (its command's rules no longer allow it: to ask again, as after a failed claim), a
 * rejection, and a cancellation by someone else (they are waiting for it to run). The requester
 * who cancelled their own request is told nothing more.
 */
function endingText(r: ApprovalRequest, refused: boolean, at: (iso: string) => string): string | undefined {
  if (refused && r.state === 'failed') return notExecutedText(r);
  // Namesakes on the request are told apart as on its card (display-names.ts).
  if (r.state === 'rejected') return rejectedText(withDistinctNames(r));
  if (r.state === 'cancelled' && r.cancellation && !samePerson(r.cancellation.by, r.requester)) return cancelledText(withDistinctNames(r), at);
  return undefined;
}

/** "Request CS-… was rejected by Bob Approver (for Dave Lead): not before the audit closes." */
function rejectedText(r: ApprovalRequest): string {
  const by = r.rejection?.by.name ?? 'an approver';
  const forWhom = r.rejection?.onBehalfOf ? ` on behalf of ${r.rejection.onBehalfOf.name}` : '';
  const comment = r.rejection?.comment ? `: ${r.rejection.comment}${/[.!?]$/.test(r.rejection.comment) ? '' : '.'}` : '.';
  return `Request ${r.id} was rejected by ${by}${forWhom}${comment} Nothing was run.`;
}

/** "Break-glass request CS-… (delete resource group) was flagged by Bob Approver: no incident open. …" */
function flaggedText(r: ApprovalRequest): string {
  const review = withDistinctNames(r).breakGlass?.review;
  const comment = review?.comment ? `: ${review.comment}${/[.!?]$/.test(review.comment) ? '' : '.'}` : ' (no comment given).';
  return `Break-glass request ${r.id} (${r.command}) was flagged by ${review?.by.name ?? 'an approver'}${comment} Its use is recorded as questioned in the audit trail.`;
}

/** "Request CS-… was cancelled by Carol NoRole on behalf of Bob Approver before it ran (it was to run at …). Nothing was run." */
function cancelledText(r: ApprovalRequest, at: (iso: string) => string): string {
  const by = r.cancellation ? deciderText(r.cancellation) : 'someone';
  const when = r.runAt ? ` (it was to run at ${at(r.runAt)})` : '';
  return `Request ${r.id} was cancelled by ${by} before it ran${when}. Nothing was run.`;
}

/**
 * Asks Azure to stop the running deployment, after the click was answered (never inside the invoke).
 * A refusal (it already ended, the right is missing) is audited and owed to the requester in one
 * write (cancelRefused, oweOutcomeMessage), then told: a run killed before Teams took the message
 * leaves it owed, and the sweep of owed messages sends it (outcome-message.ts). Only when that write
 * fails is the requester told at once, as before. The execution ends as Azure says.
 */
async function cancelInAzure(deps: AppDeps, request: ApprovalRequest): Promise<void> {
  if (request.operation.kind !== 'deployTemplate') return;
  try {
    await deps.azure.cancel(request.operation);
    deps.log.info({ requestId: request.id }, 'Azure asked to cancel the deployment');
  } catch (err) {
    const detail = `Azure did not cancel the deployment: ${err instanceof Error ? err.message : String(err)}`;
    const text = `Request ${request.id}: ${detail}`;
    deps.log.warn({ requestId: request.id, err: String(err) }, 'cancellation refused by Azure');
    const saved = await transact(deps, request.id, (r) => oweOutcomeMessage(cancelRefused(r, deps.clock.now(), detail), deps.clock.now(), () => text), { refreshCards: false }).catch((storeErr: unknown) => {
      deps.log.error({ requestId: request.id, err: String(storeErr) }, 'could not record the refused cancellation: its requester is told once, now');
      return undefined;
    });
    if (saved?.result.ok) {
      if (owedByChange(saved.before, saved.result.request)) await sendOutcomeMessage(deps, saved.result.request);
      return;
    }
    await deps.notifier.tellRequester(request, text);
  }
}

/**
 * The zone the requester reads a message Countersign sends them on its own in: theirs (kept with
 * their personal chat) when they asked in that chat; UTC where many read it (a channel, a group chat).
 */
async function requesterZone(deps: AppDeps, r: ApprovalRequest): Promise<string> {
  if (r.source.conversationType !== 'personal' || !deps.messenger?.timeZoneOf) return 'UTC';
  return zoneOrUtc(await deps.messenger.timeZoneOf(r.requester).catch(() => undefined));
}

/**
 * Writes a stored time as the requester reads it in a message Countersign sends them on its own
 * (requesterZone: their zone with the UTC instant beside it, or UTC). A stored detail (the request's,
 * its audit record's) keeps its times in UTC, the same for every reader; what the requester is told
 * is built again from the request's times with this, never by rewriting the stored text.
 */
export async function requesterTime(deps: AppDeps, r: ApprovalRequest): Promise<(iso: string) => string> {
  const zone = await requesterZone(deps, r);
  return (iso) => zonedText(iso, zone);
}

/** requesterTime of a request that may not exist; UTC then. */
async function requesterTimeOf(deps: AppDeps, r: ApprovalRequest | undefined): Promise<(iso: string) => string> {
  return r ? await requesterTime(deps, r) : utcTime;
}

function utcTime(iso: string): string {
  return zonedText(iso, 'UTC');
}

/**
 * Moves a pending request past its expiry to expired; returns the stored result. `read`: the request
 * as last read (whose requester, in which zone, is told); the expiry is judged on the stored one, and
 * the message its requester is owed written with it (outcome-message.ts).
 */
export async function expireNow(deps: AppDeps, read: ApprovalRequest): Promise<ApprovalRequest | undefined> {
  const at = await requesterTime(deps, read);
  const outcome = await transact(deps, read.id, (r) => oweOutcomeMessage(expire(r, deps.clock.now()), deps.clock.now(), () => expiredText(r, at)), { readBackUnknownCommit: true });
  if (outcome?.result.ok) {
    sendEndingMessage(deps, outcome.result.request, outcome.before);
    return outcome.result.request;
  }
  return outcome ? await deps.store.requests.get(read.id) : undefined;
}

/** "Request CS-… expired: nobody approved it before …", from the request as it stood before it expired. */
function expiredText(before: ApprovalRequest, at: (iso: string) => string): string {
  const until = at(before.expiresAt);
  // Approved in part (a quorum, or a second approval not yet given): said as it stood, not "nobody".
  const nobody = before.state === 'needs_reapproval' ? `nobody approved it again, after what it would do changed, before ${until}.` : `nobody approved it before ${until}.`;
  const why = before.state === 'scheduled' ? scheduleLapsedText(before, at) : before.approvals.length > 0 ? `it did not get every approval it needs before ${until}: still needed ${outstandingText(before)}.` : nobody;
  return `Request ${before.id} expired: ${why}${before.state === 'scheduled' ? '' : unreachedText(before)}`;
}

/**
 * " Countersign could not reach Bob Approver (app not installed), …": once it expired its card no
 * longer says so, and its requester may see that they can be reached before asking again.
 */
function unreachedText(r: ApprovalRequest): string {
  const missed = stillUnreached(r);
  if (missed.length === 0) return '';
  const shown = missed.slice(0, 5).map((u) => `${u.name ?? u.id} (${u.why})`);
  const more = missed.length > 5 ? ` and ${missed.length - 5} more` : '';
  return ` Countersign could not reach ${shown.join(', ')}${more}, so they may not have known of it: see that they can be reached (why is in brackets) before you ask again.`;
}

/**
 * Records a refused click (audited like any decision; through the person's budget when given, so a
 * script repeating forged clicks is counted past it, not recorded one by one) and returns the
 * refusal, the same whether it was recorded or counted.
 */
async function refuseClick(deps: AppDeps, budget: PersonRefusals | undefined, click: Click, why: Refusal, request?: ApprovalRequest): Promise<ClickResult> {
  const refused = { actor: click.actor, source: click.source, refusal: why, ...(request ? { request } : {}), detail: why.message, data: { verb: String(click.verb).slice(0, 40), requestId: String(click.requestId).slice(0, 80) } };
  if (budget) await budget.record(refused);
  else await deps.store.audit.append([refusedEvent('click.refused', deps.clock.now().toISOString(), refused)]);
  deps.log.warn({ requestId: click.requestId, verb: click.verb, reason: why.reason, by: click.actor.aadObjectId }, 'card action refused');
  return request ? { ok: false, refusal: why, request } : { ok: false, refusal: why };
}
