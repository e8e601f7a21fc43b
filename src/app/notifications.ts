/**
 * Telling the people who may decide a request that it needs them: when it is created, when it needs
 * approving again after drift, and when it is escalated. Each of them gets the request's card in a
 * personal chat with Countersign (unless the policy says `approvers: none`), the card goes to the
 * command's approval channels, and every card posted is bound to the request like any other copy:
 * its clicks count and it is kept current. The requester is never sent one. Whoever could not be
 * reached is audited and shown on the card.
 *
 * This runs after the change was committed, on the instance that committed it, in the background:
 * nobody's click or message waits for it. The messages of a round go out side by side (at most
 * ROUND.concurrency at once), so one person whose message is slow or hangs holds up nobody else, and
 * each outcome is recorded as it is known (round.ts).
 */
import { commandWords } from '../domain/command-words';
import { listedAs, sameChannel } from '../domain/conversation-ids';
import type { ReachOccasion, ReachOutcome, Transition } from '../domain/lifecycle';
import { breakGlassRound, changesRound, peopleToDecide, reachEvents, reachShown, recordReach, unreachableAfter, withRound } from '../domain/lifecycle';
import { decidingRoles, type Roles } from '../domain/policy';
import { delegatesToTell, onBehalfText, type Delegation, type DelegateToTell } from '../domain/delegation';
import { withDistinctNames } from '../domain/display-names';
import { isDecidable, shownVersion, type ApprovalRequest, type NotifyPolicy, type RoundOccasion, type Unreachable } from '../domain/request';
import { CARD_COPIES_PER_CONVERSATION, recordCardPosted } from './card-binding';
import { commandNamesOf, transact, type AppDeps } from './context';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommitOutcomeUnknownError, storeFaultWords, type CardMessage, type Delivery, type DeliveryOptions, type Recipient } from './ports';
import { zoneOrUtc } from '../domain/delegation-time';
import { refusal, RefusalReason } from '../domain/refusal';
import { eachAtMost, ROUND, Round, type Reached } from './round';
import { decidingRolesOfCommands, delegationsInForce } from './delegations';
import { eachMembership } from './group-access';

/** The line above a round's card: the same for everyone, or written for each reader's IANA zone. */
type RoundText = string | ((zone: string) => string);

/** Requests made before notify existed are treated as the default: personal chats, no channels. */
const DEFAULT_NOTIFY: NotifyPolicy = { approvers: 'personal', channels: [] };

export function notifyPolicy(r: ApprovalRequest): NotifyPolicy {
  return r.policy.notify ?? DEFAULT_NOTIFY;
}

/** Whom a round of messages goes to: people (object ids) in personal chats, and conversations. */
export interface Audience {
  people: string[];
  channels: string[];
}

type DecidersOccasion = Exclude<RoundOccasion, 'reminder' | 'break-glass' | 'review-overdue'>;

/**
 * The delegations in force, for telling delegates, and the roles as they stand for their delegators
 * and delegates: the config's, with their memberships in the Entra groups the deciding roles list. Who
 * decides through a group is not among the role's names and is sent no card (groups are not
 * enumerated), but their delegate may decide for them, so is sent one.
 */
export interface Delegations {
  inForce: readonly Delegation[];
  roles: Roles;
}

/** No delegate to tell: the config's roles as they are. */
export function noDelegations(deps: Pick<AppDeps, 'config'>): Delegations {
  return { inForce: [], roles: deps.config.access.roles };
}

/**
 * Everyone who may decide the request now (after escalation: only the escalation role's members),
 * and the delegates of those who delegated (`told`: the delegations in force, and the roles with
 * their delegators' group memberships), in personal chats unless the policy says `approvers: none`,
 * and the approval channels other than the one it was asked in.
 */
export function decidersAudience(deps: AppDeps, request: ApprovalRequest, occasion: RoundOccasion, told: Delegations = noDelegations(deps)): Audience {
  const notify = notifyPolicy(request);
  const onlyRole = occasion === 'escalated' ? request.escalation?.role : undefined;
  // On escalation, someone who also approves was told already.
  const deciding = (roles: Roles) => peopleToDecide(request, roles, onlyRole).filter((id) => !onlyRole || !roles.holdsAny(request.policy.approverRoles, id));
  const deciders = deciding(deps.config.access.roles);
  // The delegates of those, and of who decides through a group (sent no card themselves).
  const delegates = [...delegatesOf(deps, request, deciding(told.roles), told, onlyRole).keys()];
  return {
    people: notify.approvers === 'personal' ? [...deciders, ...delegates] : [],
    // Asked in a thread of an approval channel: the card is in that channel already (conversation-ids.ts).
    // A thread listed is only itself: a request asked in another thread of its channel is posted there.
    channels: notify.channels.filter((c) => !listedAs(c, request.source.conversationId)),
  };
}

/**
 * The delegates to send the request to for `delegators` (delegation.md; those who may decide it, a
 * member of a deciding role's group among them): each once, never one who is sent it in their own
 * right, asked for it or approved it already. On escalation (`onlyRole`), not those told already:
 * whoever approves the command, and the delegates of those who do.
 */
export function delegatesOf(deps: AppDeps, request: ApprovalRequest, delegators: readonly string[], told: Delegations, onlyRole?: string): Map<string, DelegateToTell> {
  const now = deps.clock.now();
  // Sent it in their own right: the people the roles name.
  const everyone = peopleToDecide(request, deps.config.access.roles);
  if (!onlyRole) return delegatesToTell(request, delegators, told.inForce, now, everyone);
  const approvers = peopleToDecide({ ...request, escalation: undefined }, told.roles);
  const toldBefore = [...delegatesToTell(request, approvers, told.inForce, now, everyone).keys()];
  return delegatesToTell(request, delegators, told.inForce, now, [...everyone, ...toldBefore]);
}

/**
 * The delegations in force now, for telling delegates of a request, with the roles as they stand
 * for their delegators and delegates (their memberships in the groups of `deciding`, looked up one
 * by one): none
 * without a way to message anyone, and none when the store cannot be read (the deciders are still
 * told, and the delegates find the request with `pending`), so that telling never stops at this
 * read. A delegator Graph cannot answer about keeps what they hold by name: their delegate is sent
 * the request only if that lets them decide it (logged).
 */
export async function delegationsToTell(deps: AppDeps, deciding: readonly string[] = decidingRolesOfCommands(deps)): Promise<Delegations> {
  if (!deps.messenger) return noDelegations(deps);
  const inForce = await delegationsInForce(deps, deps.clock.now()).catch((err: unknown) => {
    deps.log.warn({ err: String(err) }, 'could not read the delegations in force: delegates are not sent this round');
    return [];
  });
  // The delegates' too: one who decides through a group themselves decides as themselves (no on-behalf line).
  const people = [...new Map(inForce.flatMap((d) => [d.delegator, d.delegate]).map((p) => [p.aadObjectId.toLowerCase(), p])).values()];
  const { access, unknown } = await eachMembership(deps, people, deciding);
  if (unknown.length > 0) deps.log.warn({ problems: unknown }, 'could not check a delegator\'s Entra group memberships: the delegate of one who decides through a group is not sent this round');
  return { inForce, roles: access.roles };
}

/**
 * The request as it is to be written with the change that calls for telling its deciders: with the
 * round of messages recorded on it (whom it will tell), so that a round a stop or a crash cuts short
 * is taken up again (round-resume.ts). Without a way to message anyone, no round.
 */
export function announcing(deps: AppDeps, request: ApprovalRequest, occasion: RoundOccasion, now: Date, audience?: Audience): ApprovalRequest {
  if (!deps.messenger) return request;
  return withRound(request, occasion, audience ?? decidersAudience(deps, request, occasion), now.toISOString());
}

/** The same for a transition that calls for the round: its request carries the round when it succeeds. */
export function announcingAfter(deps: AppDeps, t: Transition, occasion: RoundOccasion, now: Date, audience?: (r: ApprovalRequest) => Audience): Transition {
  return t.ok ? { ...t, request: announcing(deps, t.request, occasion, now, audience?.(t.request)) } : t;
}

/** Who a round recorded on the request is for, when it is this occasion's. */
export function roundAudience(request: ApprovalRequest, occasion: ReachOccasion): Audience | undefined {
  const round = request.round;
  return round?.occasion === occasion ? { people: round.people, channels: round.channels } : undefined;
}

/**
 * Tells everyone who may decide the request now (after escalation: the escalation role's members)
 * and posts the card to the approval channels other than the one it was asked in: the round
 * recorded on the request when there is one.
 */
export async function tellDeciders(deps: AppDeps, request: ApprovalRequest, occasion: DecidersOccasion): Promise<void> {
  if (!deps.messenger) return;
  const audience = roundAudience(request, occasion) ?? decidersAudience(deps, request, occasion, await delegationsToTell(deps));
  if (audience.people.length === 0 && audience.channels.length === 0) {
    // Asked in (a thread of) its own approval channel: the card is there already, where approvals go.
    if (notifyPolicy(request).channels.some((c) => listedAs(c, request.source.conversationId))) return;
    return recordNobodySent(deps, request, occasion);
  }
  await reach(deps, request, occasion, audience);
}

/**
 * Nobody to send the request (or the break-glass use) to, and its command has no approval channel
 * (nor, for a break-glass use, a notice channel): because its policy says `approvers: none` (each
 * role that decides it now is recorded as not reached; a break-glass use goes to people all the
 * same), or because the roles that decide it now name nobody else and list Entra groups, whose
 * members Countersign does not enumerate (each group is). Audited as approver.unreachable, so the
 * card says nobody was sent it.
 */
export async function recordNobodySent(deps: AppDeps, request: ApprovalRequest, occasion: RoundOccasion): Promise<void> {
  const roles = deps.config.access.roles;
  const later = occasion === 'escalated' || occasion === 'review-overdue' ? request.escalation?.role : undefined;
  const deciding = later ? [later] : decidingRoles(request);
  const nobody = breakGlassRound(occasion)
    ? `"${request.command}" has no approval channel nor break-glass notice channel, so nobody was told of this break-glass use: share this card, or they find it by typing "pending"`
    : `"${request.command}" has no approval channel, so nobody was sent this request: share this card, or they find it by typing "pending"`;
  const unreachable =
    notifyPolicy(request).approvers === 'none' && !breakGlassRound(occasion)
      ? deciding.map((role) => ({ id: role, name: `role ${role}`, why: `notify.approvers is none, and ${nobody}` }))
      : roles.groupsOf(deciding).map((g) => ({ id: g, name: `group ${g} (${deciding.filter((role) => roles.groupsOf([role]).includes(g)).join(', ')})`, why: `its members are not sent cards, and ${nobody}` }));
  if (unreachable.length === 0) return;
  deps.log.warn({ requestId: request.id, occasion, unreached: unreachable.map((u) => u.id) }, 'nobody was sent the request: its approvers are only Entra groups or not to be messaged (notify.approvers: none), and it has no approval channel');
  await record(deps, request, { occasion, reached: [], unreachable });
}

/**
 * Posts the request's card to the audience (with `text` above it when given), binds every card
 * posted, and records who was reached and who was not, each as soon as it is known. Resolves once
 * everyone's outcome is recorded (or, at a stop, once the round was cut short and recorded).
 */
export async function reach(deps: AppDeps, request: ApprovalRequest, occasion: ReachOccasion, audience: Audience, text?: RoundText, options: DeliveryOptions = {}): Promise<ReachOutcome | undefined> {
  const messenger = deps.messenger;
  if (!messenger || (audience.people.length === 0 && audience.channels.length === 0)) return undefined;
  const roundText = text;
  const tenantId = request.requester.tenantId;
  // A channel, or a person's personal chat, holding as many copies of the card as one may
  // (card-binding.ts) gets the text alone, pointing to them: every copy is updated at each change,
  // inside the conversation's rate limit. (A store that cannot be read here costs the cap, not the
  // round: the card goes as before.)
  // A delegate is told, above the card, whom they may decide it for (their copy is otherwise everyone's).
  const onBehalf = await delegatesSent(deps, request, occasion, audience);
  // A person reads the times in their own zone (the one Teams last sent with their activity, kept
  // with their personal chat); a channel, read by many, in UTC.
  const inZone = (zone: string) => (typeof text === 'function' ? text(zone) : text);
  const zoneOf = async (person: Recipient): Promise<string> => zoneOrUtc(await messenger.timeZoneOf?.(person).catch(() => undefined));
  const textFor = (person: Recipient): string | undefined | Promise<string | undefined> => {
    const delegate = onBehalf.get(person.aadObjectId.toLowerCase());
    // Nothing to write in a zone: no lookup.
    if (typeof text !== 'function' && !delegate) return text;
    return zoneOf(person).then((zone) => (delegate ? [inZone(zone), onBehalfText(request, delegate, zone)].filter(Boolean).join(' ') : inZone(zone)));
  };
  // Every round (an escalation's and a re-approval's too, which have no text of their own) keeps to the cap.
  const bound = await deps.store.cards.getCardMessages(request.id).catch(() => []);
  const full = (id: string) => {
    // A card a resumed round finds bound there is that conversation's delivery (nothing is posted).
    if (options.unlessBoundIn?.some((m) => m.conversationId === id)) return undefined;
    const here = bound.filter((m) => sameChannel(m.conversationId, id));
    return here.length >= CARD_COPIES_PER_CONVERSATION ? here.at(-1) : undefined;
  };
  // Whether any conversation holds as many copies as it may (only then is a person's chat looked up).
  const someFull = bound.some((m) => bound.filter((o) => sameChannel(o.conversationId, m.conversationId)).length >= CARD_COPIES_PER_CONVERSATION);
  const toChannel = (id: string) => async (): Promise<Delivery> => {
    const text = inZone('UTC');
    const latest = full(id);
    if (!latest) return messenger.cardToConversation(request, id, text, options);
    const sent = await messenger.textToConversation(request, id, textWithCardAbove(text ?? textAlone(request, occasion, commandNamesOf(deps))));
    return sent.ok ? { ok: true, message: latest } : sent;
  };
  const toPerson = (id: string) => async (): Promise<Delivery> => {
    const person = { aadObjectId: id, tenantId };
    const wanted = textFor(person);
    const text = typeof wanted === 'object' ? await wanted : wanted;
    const chat = someFull ? await messenger.personalChatOf(person).catch(() => undefined) : undefined;
    const latest = chat ? full(chat) : undefined;
    if (!chat || !latest) return messenger.cardToPerson(request, person, text, options);
    // A round with no text of its own says what it is (a delegate's line alone would not).
    const said = roundText === undefined ? [textAlone(request, occasion, commandNamesOf(deps)), text].filter(Boolean).join(' ') : text ?? textAlone(request, occasion, commandNamesOf(deps));
    const sent = await messenger.textToConversation(request, chat, textWithCardAbove(said));
    return sent.ok ? { ok: true, message: latest } : sent;
  };
  const sends = [
    ...audience.people.map((id) => ({ id, send: toPerson(id) })),
    ...audience.channels.map((id) => ({ id, send: toChannel(id) })),
  ];
  // A card posted now shows this request; one a resumed round finds posted (bound or not yet) an earlier version of it, not known.
  const shows = (m: CardMessage) => (options.unlessBoundIn?.some((b) => b.conversationId === m.conversationId && b.activityId === m.activityId) ? 0 : shownVersion(request));
  const round = new Round(
    sends.map((s) => s.id),
    occasion,
    (part, cut) => recordPatiently(deps, request, part, cut),
    request.round?.occasion === occasion ? request.round.at : undefined,
  );
  deps.rounds?.add(round);
  // A reminder says the request still waits for a decision: once it was decided (by a click while the
  // round goes out), the rest of the round is not sent, and nothing is recorded of those left.
  let decided = false;
  const stillWaits = async (): Promise<boolean> => {
    if (occasion !== 'reminder' || decided) return !decided;
    const current = await deps.store.requests.get(request.id).catch(() => request);
    decided = current !== undefined && !isDecidable(current);
    return !decided;
  };
  try {
    // Not awaited: a send that hangs past a stop leaves the round cut short and recorded (round.ts).
    eachAtMost(sends.length, ROUND.concurrency, async (index) => {
      if (!(await stillWaits())) return round.drop(index);
      if (!round.begin(index)) return;
      round.note(index, await deliver(deps, request, sends[index].id, sends[index].send, () => round.waitsFor(index), () => round.binds(index), shows));
    }).catch((err: unknown) => deps.log.error({ requestId: request.id, err: String(err) }, 'telling approvers failed'));
    const outcome = await round.finished();
    deps.log.info({ requestId: request.id, occasion, reached: outcome.reached.length, unreachable: outcome.unreachable.length }, 'approvers told');
    return outcome;
  } finally {
    deps.rounds?.delete(round);
  }
}

/**
 * The delegates among a round's people, with whom each may decide the request for: only for a round
 * telling those who may decide it (a break-glass review is never made on someone's behalf).
 */
async function delegatesSent(deps: AppDeps, request: ApprovalRequest, occasion: ReachOccasion, audience: Audience): Promise<Map<string, DelegateToTell>> {
  if (breakGlassRound(occasion) || audience.people.length === 0) return new Map();
  const told = await delegationsToTell(deps, decidingRoles(request));
  // Not one who may decide it in their own right (through a group, too): they decide as themselves.
  const deciders = peopleToDecide(request, told.roles);
  const all = delegatesToTell(request, deciders, told.inForce, deps.clock.now(), deciders);
  const sent = new Set(audience.people.map((id) => id.toLowerCase()));
  return new Map([...all].filter(([id]) => sent.has(id)));
}

/**
 * What a round whose message has no text of its own (a new request's, a re-approval's, an escalation's)
 * says when it goes without its card, to a conversation holding as many copies as it may.
 */
export function textAlone(request: ApprovalRequest, occasion: ReachOccasion, commandNames: readonly string[]): string {
  // Namesakes on the request are told apart as on its card (display-names.ts).
  const r = withDistinctNames(request);
  const news =
    occasion === 'escalated'
      ? `was escalated: ${r.escalation?.role ?? 'the escalation role'} may decide it now too`
      : occasion === 'reapproval'
        ? 'needs approving again: what it would do changed since it was approved, and the earlier approvals no longer count'
        : 'is waiting for a decision';
  return `Request ${r.id} (${commandWords(r.command, r.parameters, commandNames)}) from ${r.requester.name} ${news}. Approve or reject it on the card below.`;
}

/** A round's text sent without its card: the card it names is the one above, not below. */
function textWithCardAbove(text: string): string {
  const above = 'on its card above (scroll up to the latest copy)';
  return / on the card below/.test(text) ? text.replace(/ on the card below/, ` ${above}`) : `${text} (Its card is above: scroll up to the latest copy.)`;
}

/**
 * Sends one message of a round and binds its card. `wanted` says whether the round still waits for
 * it: a card whose answer came after a stop cut the round short is not bound (it was recorded as not
 * reached). `binds` tells the round the binding starts, and its signal ends the binding's retries
 * when a stop cuts the round. `shows` is the version of the request the card delivered shows (0: not known).
 */
async function deliver(
  deps: AppDeps,
  request: ApprovalRequest,
  id: string,
  send: () => Promise<Delivery>,
  wanted: () => boolean,
  binds: () => AbortSignal,
  shows: (message: CardMessage) => number,
): Promise<Reached> {
  const delivery = await Promise.resolve()
    .then(send)
    .catch((err: unknown): Delivery => ({ ok: false, why: err instanceof Error ? err.message : String(err) }));
  const name = delivery.name ? { name: delivery.name } : {};
  // Not sent only because Countersign's database failed: the round keeps them, to send it again once it works.
  if (!delivery.ok) return { unreachable: { id, ...name, why: delivery.why.slice(0, 200) }, ...(delivery.storeFault ? { missed: {} } : {}) };
  if (!wanted()) return { reached: { id, ...name } };
  // The card went out: it must be bound to count. A write that still fails after the retries leaves
  // this person with a card whose buttons are refused: they count as not reached (card and audit
  // say so), and the round goes on to the others.
  const cut = binds();
  return persistently(deps, request.id, 'recording a card sent to an approver', () => recordCardPosted(deps, request.id, delivery.message, shows(delivery.message)), cut).then(
    (): Reached => {
      // Bound after the cut's wait was over: the record (written, or about to be) says not reached.
      if (!wanted()) deps.log.warn({ requestId: request.id, who: id }, 'a card was bound after the stop recorded its approver as not reached: its buttons work');
      return { reached: { id, ...name } };
    },
    (err: unknown): Reached => {
      // The store's own failure in words (the log has the error): a card never shows the driver's message.
      const fault = deps.store.storageFault(err);
      const cause = fault ? `Countersign's database failed: ${storeFaultWords(fault)}` : err instanceof Error ? err.message : String(err);
      // Only a failure of the database (or a stop cutting the binding's retries) keeps the card in the
      // round (taken up again, it records this card rather than send a second one): one refused for good
      // (a message id longer than Countersign takes) would be refused again at each resume, each said
      // to be the database's.
      const kept = fault !== undefined || cut.aborted;
      return { unreachable: { id, ...name, why: `the card was sent but could not be recorded, so its buttons will be refused (${cause})`.slice(0, 200) }, ...(kept ? { missed: { card: delivery.message } } : {}) };
    },
  );
}

/**
 * How long to wait before each retry of a round's store write (ms): a write lock another process
 * holds, or a moment of failing storage, should not lose what the messages already did.
 */
export const ROUND_WRITE_RETRY_MS = [1000, 4000, 15000];

/**
 * Runs a store write of a round, again after each of ROUND_WRITE_RETRY_MS while it fails; an
 * outcome unknown is never retried, and neither is a write once `cut` is aborted.
 */
async function persistently<T>(deps: AppDeps, requestId: string, what: string, write: () => Promise<T>, cut?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const wait = ROUND_WRITE_RETRY_MS[attempt];
      if (wait === undefined || err instanceof CommitOutcomeUnknownError || cut?.aborted) throw err;
      deps.log.warn({ requestId, err: String(err), retryInMs: wait }, `${what} failed; trying again`);
      // Unreferenced: a retry waiting at shutdown does not keep the process alive.
      await sleep(wait, undefined, { ref: false, ...(cut ? { signal: cut } : {}) }).catch(() => {
        throw new Error('Countersign was stopping');
      });
    }
  }
}

/**
 * Records a part of the round (record), and when its write still fails with the database after its
 * retries, tries it again every ROUND.recordRetryMs while the round stands as it was, until
 * ROUND.resumeAfterMs after the round began (from then on the sweep of any instance takes the round
 * up as one whose instance died, as it does when this instance dies meanwhile). The round stays under
 * way on this instance meanwhile, so this instance's sweep does not take it up; another instance's
 * does not either: those without a recorded outcome are still in the round and not among its
 * `missed`, so it is not due before that time. Once recorded, whom the database kept from being
 * reached is taken up by the next sweep (round-resume.ts), and nobody the round reached is sent
 * anything again. An outcome the database may have committed (CommitOutcomeUnknownError) is not tried
 * again, nor one once a stop cuts the round.
 */
async function recordPatiently(deps: AppDeps, sent: ApprovalRequest, outcome: ReachOutcome, cut: AbortSignal): Promise<void> {
  const began = outcome.round === undefined ? Number.NaN : Date.parse(outcome.round);
  // Only what the database's own failure kept from being written, of a round recorded on the request.
  const patient = (err: unknown) => !(err instanceof CommitOutcomeUnknownError) && !cut.aborted && !Number.isNaN(began) && ![undefined, 'unconfirmed'].includes(deps.store.storageFault(err));
  let last: unknown;
  try {
    await record(deps, sent, outcome);
    return;
  } catch (err) {
    if (!patient(err)) throw err;
    last = err;
  }
  const until = new Date(began + ROUND.resumeAfterMs).toISOString();
  deps.log.warn({ requestId: sent.id, err: String(last), retryEveryMs: ROUND.recordRetryMs, until }, 'recording who was reached keeps failing with the database: trying again while the round stands');
  while (deps.clock.now().getTime() < began + ROUND.resumeAfterMs) {
    try {
      await sleep(ROUND.recordRetryMs, undefined, { ref: false, signal: cut });
    } catch {
      throw last;
    }
    try {
      const recorded = await record(deps, sent, outcome, { late: true });
      if (recorded) deps.log.info({ requestId: sent.id }, 'who was reached is recorded now that the database works again');
      else deps.log.warn({ requestId: sent.id, round: outcome.round }, 'the round was taken up or replaced before its outcome could be recorded: that outcome is left out');
      return;
    } catch (err) {
      if (!patient(err)) throw err;
      last = err;
    }
  }
  throw last;
}

/**
 * Audits the round. When who cannot be reached changed, the request records it (a compare-and-swap;
 * every card shows it while the request can be decided); otherwise only the audit records are
 * appended. Either way, a card posted from a version that changed meanwhile is brought up to date.
 * `late` (a try after the write's retries): written once, and only while the request's round is still
 * the one the outcome belongs to (a round taken up again since, or replaced by another, may have told
 * the same people since); returns whether it was recorded.
 */
async function record(deps: AppDeps, sent: ApprovalRequest, outcome: ReachOutcome, options: { late?: boolean } = {}): Promise<boolean> {
  const now = deps.clock.now();
  const current = (await deps.store.requests.get(sent.id)) ?? sent;
  const stands = (r: ApprovalRequest) => !options.late || (outcome.round !== undefined && r.round?.at === outcome.round);
  const write = <T>(what: () => Promise<T>): Promise<T> => (options.late ? what() : persistently(deps, sent.id, 'recording who was reached', what));
  if (!stands(current)) return false;
  if (!sameUnreachable(current.unreachable, unreachableAfter(current, outcome)) || changesRound(current, outcome)) {
    // The round recorded on the request lets go of those with an outcome: no card shows it, nor who
    // could not be reached once the request was approved. Such a write is bookkeeping (recordReach):
    // it does not move the request's updatedAt.
    // A write no card shows meanwhile (the requester's owed message settled) leaves the card as posted.
    const refreshCards = reachShown(current, outcome) || shownVersion(current) !== shownVersion(sent);
    const done = await write(() =>
      transact(deps, sent.id, (r) => (stands(r) ? recordReach(r, now, outcome) : { ok: false, refusal: refusal(RefusalReason.AlreadyDecided, `Request ${r.id} has another round of messages now.`, r.id) }), { refreshCards }),
    );
    return done?.result.ok ?? false;
  }
  await write(() => deps.store.audit.append(reachEvents(current, now.toISOString(), outcome)));
  if (shownVersion(current) !== shownVersion(sent)) void deps.notifier.cardChanged(current);
  return true;
}

function sameUnreachable(a: Unreachable[] | undefined, b: Unreachable[]): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b);
}

/** Runs a round of messages in the background, logging (never throwing) what went wrong. */
export function inBackground(deps: AppDeps, requestId: string, work: () => Promise<unknown>): Promise<void> {
  return work().then(
    () => undefined,
    (err: unknown) => deps.log.error({ requestId, err: String(err) }, 'telling approvers failed'),
  );
}
