/** Read-only answers: help from the catalog, the pending list, a request's status. */
import type { CommandSpec, RequesterRule } from '../domain/catalog';
import { formatDuration, plural } from '../domain/duration-text';
import { sameChannel } from '../domain/conversation-ids';
import { decidingRoles, describeKind } from '../domain/policy';
import { reminderWords, whoMustApprove } from '../domain/policy-text';
import { breakGlassWords, whenItMayRun } from '../domain/policy-words';
import { ENDED_STATES, isDecidable, OPEN_STATES, type Actor, type ApprovalRequest, type Source } from '../domain/request';
import { commandNamesOf, readableRequests, readRequest, type AppDeps } from './context';
import { decider } from './delegations';
import { decisionsOf } from './decisions';
import { cardCopyRefusal, copiesInThisThread } from './card-binding';
import { accessForView, viewAccess } from './group-access';
import { notifyPolicy } from './notifications';
import { canonicalRequestId, isRequestId, requestIdAsNamed } from '../domain/request-ids';
import { namesTopic } from '../domain/command-words';
import { interpret } from './interpret';
import { RefusalReason, refusal } from '../domain/refusal';
import type { PersonRefusals } from './person-refusals';

export interface HelpEntry {
  usage: string;
  description: string;
  /** e.g. "needs 1 approval from platform-approvers", or "read-only". */
  approval: string;
  allowed: boolean;
}

export async function help(deps: Pick<AppDeps, 'config' | 'directory' | 'log'>, actor: Actor): Promise<HelpEntry[]> {
  // Requester roles may list Entra groups: the person's memberships are looked up (group-access.ts).
  // A read-only command's policy (its readers) names who may run it, as a sensitive one's who may ask.
  const rule = (c: CommandSpec) => c.policy ?? c.readers;
  const roles = (await accessForView(deps, [actor], deps.config.catalog.commands.flatMap((c) => rule(c)?.requesterRoles ?? []))).roles;
  return deps.config.catalog.commands.map((c) => ({
    usage: usage(c),
    description: c.description,
    approval: c.policy
      ? `needs ${c.policy.requirements ? `${whoMustApprove(c.policy)},` : `${plural(c.policy.approvals, 'approval')} from ${c.policy.approverRoles.join(' or ')}`} within ${formatDuration(c.policy.ttlSeconds)}${c.policy.reason?.required ? '; a reason is required' : ''}${whereText(c.policy)}${reachText(c.policy)}`
      : `read-only, no approval${c.readers ? whereText(c.readers) : ''}`,
    allowed: (rule(c)?.requesterRoles.length ?? 0) === 0 || roles.holdsAny(rule(c)!.requesterRoles, actor.aadObjectId),
  }));
}

/** What `help <words>` shows: the commands its words are about, or, for none, what they may have meant. */
export interface HelpTopic {
  commands: HelpEntry[];
  suggestions: string[];
}

/**
 * The commands `help <words>` is about: those whose name begins with the words ("help delete": every
 * delete), or whose name the words begin with ("help deploy production api-service": deploy).
 */
export async function helpOn(deps: Pick<AppDeps, 'config' | 'directory' | 'log'>, actor: Actor, topic: string): Promise<HelpTopic> {
  const all = await help(deps, actor);
  const commands = all.filter((_, i) => namesTopic(deps.config.catalog.commands[i].name, topic));
  if (commands.length > 0) return { commands, suggestions: [] };
  const what = interpret(deps, topic);
  return { commands, suggestions: what.kind === 'unknown' ? what.suggestions : [] };
}

/** Where the command may be asked for, when not everywhere: its conversation types, or the conversations it names. */
function whereText(rule: RequesterRule): string {
  const parts: string[] = [];
  if (rule.conversationTypes.length > 0 && rule.conversationTypes.length < 3) parts.push(`asked only in a ${rule.conversationTypes.map(describeKind).join(' or ')}`);
  if (rule.conversationIds.length > 0) parts.push(`only in ${plural(rule.conversationIds.length, 'conversation')} its policy names`);
  return parts.length ? `; ${parts.join(', ')}` : '';
}

/** How approvers hear of a request, in help's words: reminders and escalation (personal chats are the default, not repeated). */
function reachText(p: NonNullable<CommandSpec['policy']>): string {
  const parts: string[] = [];
  if (p.notify?.approvers === 'none') parts.push('approvers are not messaged personally');
  if (p.notify?.channels.length) parts.push(`card also posted to ${plural(p.notify.channels.length, 'approval channel')}`);
  if (p.reminders) parts.push(reminderWords(p.reminders));
  if (p.escalation) parts.push(`escalates to ${p.escalation.role} after ${formatDuration(p.escalation.afterSeconds)}`);
  if (p.schedule?.windows.length) parts.push(whenItMayRun(p));
  if (p.breakGlass) parts.push(breakGlassWords(p));
  return parts.length ? `; ${parts.join('; ')}` : '';
}

/** How a command is typed: its name and each parameter in order, `<a|b>` for a choice. */
export function usage(c: CommandSpec): string {
  const params = c.parameters.map((p) => (p.type === 'enum' && p.allowed ? `<${p.allowed.join('|')}>` : `<${p.name}>`));
  return [c.name, ...params].join(' ');
}

/**
 * Whether a request's card may be posted in this conversation for someone who may see the request:
 * in a personal chat always; in a group chat or channel only where the request already is (asked
 * there, or one of the conversations its cards go to), since everyone there reads what is posted.
 */
function shownIn(r: ApprovalRequest, where: Pick<Source, 'conversationId' | 'conversationType'>): boolean {
  if (where.conversationType === 'personal') return true;
  // Any thread of the channel it is in: everyone in a channel reads all of its threads (conversation-ids.ts).
  const here = (c: string) => sameChannel(c, where.conversationId);
  return here(r.source.conversationId) || notifyPolicy(r).channels.some(here) || (!!r.breakGlass && (r.policy.breakGlass?.notify ?? []).some(here));
}

export interface PendingView {
  /** Pending requests this person can approve or reject: the oldest, at most PENDING_SHOWN. */
  toDecide: ApprovalRequest[];
  /** How many there are in all. */
  toDecideCount: number;
  /** This person's own open requests: the oldest, at most PENDING_SHOWN. */
  mine: ApprovalRequest[];
  mineCount: number;
  /** Break-glass uses that ran and wait for this person's review (ratify or flag): the oldest, at most PENDING_SHOWN. */
  toReview?: ApprovalRequest[];
  toReviewCount?: number;
  /** Those not listed because they were asked in (and sent to) other conversations: a shared one shows only its own. */
  elsewhereCount: number;
  /**
   * The Entra group memberships Microsoft Graph could not confirm (what could not be checked, and
   * Graph's answer): the requests this person decides only through them are not listed.
   */
  membershipUnknown?: string;
  /** The catalog's command names, so each line writes its request's command as it would be typed again (commandWords). */
  commandNames?: readonly string[];
  /** Said when the request store cannot be trusted (requests lost under it): the lists may leave out open requests. */
  untrusted?: string;
}

/**
 * What `pending` and `status` say while a request this instance saw stored is gone from the database
 * or back at an earlier version (RequestStore.lostRequests): an empty list would be false comfort.
 */
export const UNTRUSTED_STORE =
  'Countersign\'s request store cannot be trusted right now: a request it had stored is missing from its database or back at an earlier version (rows deleted or the table emptied while it ran), so open requests may be left out and a request may show as it was before its latest decisions. ' +
  'Countersign is not ready until its database is restored (its /readyz says why): tell the team that runs Countersign; `countersign audit verify` names every request lost.';

/** UNTRUSTED_STORE when the store says requests were lost under it, else undefined. */
async function untrustedStore(deps: AppDeps): Promise<string | undefined> {
  return (await deps.store.requests.lostRequests?.()) ? UNTRUSTED_STORE : undefined;
}

/** Where `pending` lists everything the person may see. */
const PERSONAL = { conversationId: '', conversationType: 'personal' } as const;

/** Requests of each kind `pending` returns (the rest are counted): what one card can show. */
export const PENDING_SHOWN = 25;
/** Open requests read at a time: a long queue is paged through, never held whole. */
const PENDING_PAGE = 500;

/**
 * What is waiting for this person and what they asked for. The open requests are read a page at a
 * time and only the oldest PENDING_SHOWN of each kind are kept, so ten thousand waiting cost one
 * page of memory. (A request that changes state while the pages are read may be counted once too
 * often or not at all: a count of a moving queue.)
 */
export async function pending(deps: AppDeps, actor: Actor, where: Pick<Source, 'conversationId' | 'conversationType'> = PERSONAL): Promise<PendingView> {
  const now = deps.clock.now().getTime();
  const me = actor.aadObjectId.toLowerCase();
  // Waiting for their decision: what their approval would fill now (decisions.ts), not a copy of its rule.
  const { would, unknown } = await decisionsOf(deps, actor);
  const commandNames = commandNamesOf(deps);
  const untrusted = await untrustedStore(deps);
  const view: PendingView = { toDecide: [], toDecideCount: 0, mine: [], mineCount: 0, toReview: [], toReviewCount: 0, elsewhereCount: 0, commandNames, ...(unknown ? { membershipUnknown: unknown } : {}), ...(untrusted ? { untrusted } : {}) };
  const here = (r: ApprovalRequest) => shownIn(r, where) || (view.elsewhereCount++, false);
  for (let offset = 0; ; offset += PENDING_PAGE) {
    const page = await deps.store.requests.list({ states: [...OPEN_STATES], limit: PENDING_PAGE, offset });
    for (const r of readableRequests(deps, page)) {
      if (isDecidable(r) && Date.parse(r.expiresAt) <= now) continue; // expired, not yet swept
      if (would(r, 'approve') && here(r)) {
        if (view.toDecideCount++ < PENDING_SHOWN) view.toDecide.push(r);
      }
      if (r.requester.aadObjectId.toLowerCase() === me && here(r)) {
        if (view.mineCount++ < PENDING_SHOWN) view.mine.push(r);
      }
    }
    if (page.length < PENDING_PAGE) break;
  }
  // Break-glass uses that ran without approval wait for a second person's review: theirs to give too.
  for (let offset = 0; ; offset += PENDING_PAGE) {
    const page = await deps.store.requests.list({ states: [...ENDED_STATES], reviewWaiting: true, limit: PENDING_PAGE, offset });
    for (const r of readableRequests(deps, page)) {
      if (!would(r, 'ratify') || !here(r)) continue;
      view.toReviewCount = (view.toReviewCount ?? 0) + 1;
      if (view.toReviewCount <= PENDING_SHOWN) view.toReview?.push(r);
    }
    if (page.length < PENDING_PAGE) return view;
  }
}

/** How many request cards `pending` posts into the asking conversation, besides its list. */
const PENDING_CARDS = 5;

/** What `pending` shows in a conversation: the list, and the cards to post with it. */
export interface PendingAnswer {
  view: PendingView;
  /** The cards of requests to decide to post here (at most PENDING_CARDS). */
  cards: ApprovalRequest[];
  /** Said when some of those were not posted: this conversation holds their card as often as it may. */
  held?: string;
}

/**
 * `pending` in a conversation: the list, and the cards of the first requests to decide, so approvers
 * decide from wherever they asked; a request whose card the conversation holds enough copies of
 * already (cardCopyRefusal) gets no other, and that is said.
 */
export async function pendingIn(deps: AppDeps, actor: Actor, where: Pick<Source, 'conversationId' | 'conversationType'>): Promise<PendingAnswer> {
  const view = await pending(deps, actor, where);
  const wanted = await Promise.all([...view.toDecide, ...(view.toReview ?? [])].slice(0, PENDING_CARDS).map(async (r) => ((await cardCopyRefusal(deps, r.id, where)) ? r.id : r)));
  const cards = wanted.filter((r): r is ApprovalRequest => typeof r !== 'string');
  const held = wanted.filter((r): r is string => typeof r === 'string');
  if (held.length === 0) return { view, cards };
  const many = held.length > 1;
  // In a thread of a channel, copies in its other threads are not above: "scroll up" would find none.
  const allAbove = (await Promise.all(held.map((id) => copiesInThisThread(deps, id, where)))).every((n) => n > 0);
  const look = allAbove ? 'in this conversation as many times as one holds already' : 'in this channel as many times as one holds already, in other threads than this one too';
  return {
    view,
    cards,
    held: `The card${many ? 's' : ''} of ${held.join(', ')} ${many ? 'are' : 'is'} ${look}, so ${many ? 'they were' : 'it was'} not posted again: ${allAbove ? 'scroll up to' : 'open the thread of'} the latest copy (every copy is kept current).`,
  };
}

/** What `status <id>` does in a conversation: post the request's card there, or say why not. */
export type StatusAnswer = { show: ApprovalRequest } | { say: string };

/**
 * `status <id>` in a conversation: the request's card when this person may see it (status), it may
 * be shown here (shownIn: a shared conversation only where the request is already) and the
 * conversation does not hold enough copies of it (cardCopyRefusal); otherwise why not, in words.
 * With `unseen`, a request id this person may not see, or that no request has, is recorded there
 * (person-refusals.ts) as what it was, though both are answered alike: probing for ids shows in the
 * audit trail. What is not shaped as a request id at all (a typo) is not recorded.
 */
export async function statusIn(deps: AppDeps, actor: Actor, requestId: string, where: Source, unseen: PersonRefusals): Promise<StatusAnswer> {
  // Requests lost under the store: "not found", or a card at an earlier version, would mislead.
  const untrusted = await untrustedStore(deps);
  if (untrusted) return { say: untrusted };
  const { request: r, graphSaid, hidden } = await statusSeen(deps, actor, requestId);
  if (!r) {
    const say = notSeenText(requestId) + (graphSaid ? ` Countersign could not check your Entra group memberships (${graphSaid.replace(/[.\s]+$/, '')}), so a request you decide through a group is not shown: try again in a minute.` : '');
    if (isRequestId(canonicalRequestId(requestId))) await recordUnseen(unseen, { actor, source: where, typed: requestId, said: say, hidden, graphSaid, command: 'status' });
    return { say };
  }
  if (!shownIn(r, where)) {
    return { say: `Request ${r.id} was not asked in this conversation, so its card is not posted here, where everyone would read it. Type "status ${r.id}" in your personal chat with Countersign.` };
  }
  const enough = await cardCopyRefusal(deps, r.id, where);
  return enough ? { say: enough } : { show: r };
}

/** A look at one request that showed nothing, as recordUnseen records it. */
export interface UnseenLook {
  actor: Actor;
  source: Source;
  /** The request id as the person sent it. */
  typed: string;
  /** The words they were answered. */
  said: string;
  /** The request they may not see, when there is one. */
  hidden?: ApprovalRequest;
  graphSaid?: string;
  /** `status`, or `refresh` (a card's per-person refresh). */
  command: 'status' | 'refresh';
}

/**
 * The record of a `status` (or a card's refresh) that showed nothing: `unknown-request` when no
 * request has the id, `not-allowed-to-see` (or `membership-unknown`, when Graph could not confirm
 * the groups that may have let them) when one does, with that request, so the attempt is in its trail.
 */
export function recordUnseen(unseen: PersonRefusals, look: UnseenLook): Promise<void> {
  const id = canonicalRequestId(look.typed);
  const reason = !look.hidden ? RefusalReason.UnknownRequest : look.graphSaid ? RefusalReason.MembershipUnknown : RefusalReason.NotAllowedToSee;
  return unseen.record({ actor: look.actor, source: look.source, refusal: refusal(reason, look.said, id), ...(look.hidden ? { request: look.hidden } : {}), data: { command: look.command, readOnly: true, requestId: id } });
}

/**
 * Why `status <id>` shows nothing: no request this person may see, or, for what has not the shape
 * of a request id at all (no request has it, so saying so tells nothing), what one looks like.
 */
function notSeenText(typed: string): string {
  const shown = typed.trim().slice(0, 64);
  const id = canonicalRequestId(typed);
  // Named as read, with the look-alike letters said when one was read as its digit (CS-NOPE… is CS-N0PE…).
  if (isRequestId(id)) return `There is no request ${requestIdAsNamed(typed)} that you can see.`;
  // The id without its "CS-" (or with another separator): the 8 letters and digits after it.
  const digits = /^(?:cs[\s_–—.:]*)?([0-9a-z]{8})$/i.exec(shown.replace(/[.,;:!?]+$/, ''))?.[1];
  const meant = digits && isRequestId(canonicalRequestId(`CS-${digits}`)) ? ` Did you mean ${canonicalRequestId(`CS-${digits}`)}?` : '';
  return `"${shown}" is not a request id: request ids are CS- and 8 letters or digits, such as CS-7K3M9QXW.${meant} Type "pending" to see your open requests.`;
}

/**
 * The request `status <id>` shows this person: only to the requester, anyone who can decide it and
 * auditors (anyone else is told it does not exist, so ids cannot be probed). When it shows nothing
 * and Microsoft Graph could not confirm the person's group memberships, what Graph answered (`graphSaid`). Their memberships in every role's groups are
 * looked up (once, as for `pending`) whether the request exists or not, and what is said names no
 * group, so the answer tells nothing of the request.
 */
export async function statusSeen(deps: AppDeps, actor: Actor, requestId: string): Promise<{ request?: ApprovalRequest; graphSaid?: string; hidden?: ApprovalRequest }> {
  const id = canonicalRequestId(requestId);
  const r = await readRequest(deps, id);
  // What is not even shaped as a request id is answered as such (notSeenText): nothing to look up for it.
  if (!r && !isRequestId(id)) return {};
  const { access, graphSaid } = await viewAccess(deps, [actor], deps.config.access.roles.names);
  const unconfirmed = graphSaid ? { graphSaid } : {};
  if (!r) return unconfirmed;
  const me = actor.aadObjectId.toLowerCase();
  const visible =
    r.requester.aadObjectId.toLowerCase() === me ||
    access.isApproverFor(decidingRoles(r), actor) ||
    access.isApproverFor(deps.config.auditorRoles, actor) ||
    (await decider(deps, actor))(r);
  // `hidden`: the request this person may not see, for its record alone (never shown or told).
  return visible ? { request: r } : { ...unconfirmed, hidden: r };
}
