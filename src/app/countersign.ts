/**
 * The use cases as the adapters see them: the Teams bot, the HTTP edge and the composition root call
 * these methods and nothing else of the app. The execution after the last approval is scheduled here,
 * so no adapter has to know that an approval starts anything.
 */
import type { CommandSpec } from '../domain/catalog';
import { ENDED_STATES, OPEN_STATES, type Actor, type ApprovalRequest, type Source } from '../domain/request';
import { withLogContext } from '../log/context';
import { describeUntil, exampleDay, zoneOrUtc } from '../domain/delegation-time';
import type { Delegation } from '../domain/delegation';
import { TenantGate, type Admission, type TenantClaims } from './access';
import { AuthRefusals, type RefusedActivity } from './auth-refusals';
import { recordCardPosted } from './card-binding';
import { admitClientText, type ClientInput } from './input-gate';
import { auditTypedReason, mayRequest, type RequestAttempt } from './request-gate';
import { checkRequestInput } from '../domain/request-input';
import type { ParameterCheck } from '../domain/catalog';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import type { AppDeps } from './context';
import { clickCard, type CardClick, type ClickResult } from './decisions';
import { delegateTo, delegationsText, listDelegations, revokeDelegation, sweepEndedDelegations, withdrawDelegatesCards, withdrawRanOutCards, type DelegateCommand, type DelegationAnswer, type RevokeCommand } from './delegations';
import { Executor, type ExecutorOptions } from './execution';
import { sweepEscalations } from './escalation';
import { sweepExpired } from './expiry';
import { inBackground, tellDeciders } from './notifications';
import { RoundsUnderWay } from './round';
import { sweepReminders } from './reminders';
import { sweepUnfinishedRounds } from './round-resume';
import { OUTCOME_MESSAGE, sendOwedOutcomeMessages } from './outcome-message';
import { sweepScheduled } from './schedule';
import { breakGlassGate, sweepBreakGlassReviews, tellBreakGlass } from './break-glass';
import { CommitOutcomeUnknownError, outsideTurn, type CardMessage, type StorageFault } from './ports';
import { cardViewers, personalView, refreshProblem, unseenText, type PersonalView } from './personal-view';
import { help, helpOn, pending, pendingIn, statusIn, usage, type HelpEntry, type HelpTopic, type PendingAnswer, type PendingView, type StatusAnswer } from './queries';
import { recordConfigLoaded } from './startup';
import { PersonRefusals, refuseFormAnswer, type FormAnswer } from './person-refusals';
import { endUnaskableAtStart } from './unaskable';
import { eachPage } from './sweep-each';
import { createRequest, runQuery, type CreateInput, type CreateResult } from './requests';
import { interpret, type Interpretation } from './interpret';
import { answerMessageChange, type ChangedMessage } from './message-changes';


/** How far back the start looks for ended requests whose cards may not show their end (Countersign.refreshCards); also how long an outcome message stays owed (OUTCOME_MESSAGE.withinMs). */
export const ENDED_CARDS_WINDOW_MS = 24 * 60 * 60 * 1000;
/** The same for requests still open: their next change brings their cards up to date anyway, so only the last hour's. */
export const OPEN_CARDS_WINDOW_MS = 60 * 60 * 1000;

/** Card updates the start's look keeps under way at once: each waits the notifier's settle time first, so one at a time took that long a card. */
const START_CARDS_AT_ONCE = 20;
/**
 * The open requests the start's look reads at a time. Each is held to the config (may it still be
 * asked for? endUnaskableAtStart) and its card looked at, about 60 µs a request: a page of the
 * sweeps' 500 held the event loop for some 30 ms right after the bot listened, and a readiness probe
 * or a first click waited behind it; 100 keep each turn to a few milliseconds.
 */
const OPEN_CARDS_PAGE = 100;

/**
 * Brings cards up to date (notifier.cardChanged) with at most `limit` requests' updates under way;
 * the first failure is thrown by idle(). Once `stop` is aborted (Countersign is stopping) it starts
 * no other update: those under way are the stop's to wait for, and the next start brings the rest.
 */
class CardsAtOnce {
  private readonly under = new Set<Promise<void>>();
  private failure: { err: unknown } | undefined;

  constructor(
    private readonly notifier: Pick<AppDeps['notifier'], 'cardChanged'>,
    private readonly limit: number,
    private readonly stop: AbortSignal | undefined,
  ) {}

  get stopped(): boolean {
    return this.stop?.aborted === true;
  }

  /** False when the update was not started: Countersign is stopping. */
  async change(r: ApprovalRequest): Promise<boolean> {
    while (this.under.size >= this.limit) await Promise.race(this.under);
    if (this.stopped) return false;
    const work: Promise<void> = this.notifier
      .cardChanged(r)
      .catch((err: unknown) => void (this.failure ??= { err }))
      .finally(() => this.under.delete(work));
    this.under.add(work);
    return true;
  }

  async idle(): Promise<void> {
    await Promise.all(this.under);
    if (this.failure) throw this.failure.err;
  }
}

/** Work under way that tells people, which a stop waits for (and then cuts: stopTelling, cutTelling). */
class Telling {
  private readonly under = new Set<Promise<unknown>>();

  /** Keeps `work` until it settles; returns it as it is. */
  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.under.add(settled);
    void settled.finally(() => this.under.delete(settled));
    return work;
  }

  async idle(): Promise<void> {
    while (this.under.size > 0) await Promise.all([...this.under]);
  }
}

export class Countersign {
  readonly executor: Executor;
  /** Approvers being told, in the background: of new requests, and by the sweeps under way. */
  private readonly telling = new Telling();
  /** The delegations in force at the last reach sweep: the open requests are read for lapsed approvals only when one ended. */
  private delegationsInForce: Set<string> | undefined;
  /** Some delegation whose time ran out had its delegate's cards not marked withdrawn yet at the last sweep: the next looks again. */
  private delegateCardsUnfinished = false;
  private readonly authRefusals: AuthRefusals;
  private readonly tenantGate: TenantGate;
  /** `status` of a request not seen, and answers to forms not the person's: recorded up to a budget a minute (person-refusals.ts). */
  private readonly unseenStatus: PersonRefusals;
  private readonly foreignForms: PersonRefusals;
  /** Refused card clicks, malformed ones too: recorded up to a budget a minute per person, then counted per request clicked (person-refusals.ts). */
  private readonly clickRefusals: PersonRefusals;

  constructor(
    private readonly deps: AppDeps,
    executorOptions: ExecutorOptions = {},
  ) {
    // Every round of messages sent through these deps is known, so that a graceful stop records it.
    deps.rounds ??= new RoundsUnderWay();
    this.executor = new Executor(deps, executorOptions);
    this.authRefusals = new AuthRefusals(deps);
    this.tenantGate = new TenantGate(deps);
    this.unseenStatus = new PersonRefusals(deps, 'status or card refresh of a request not seen (no such request, or not theirs to see)', { readOnly: true });
    this.foreignForms = new PersonRefusals(deps, 'answer to a form or confirmation not waiting for that person', { stage: 'form' });
    this.clickRefusals = new PersonRefusals(deps, 'card clicks refused', {}, 'click.refused');
  }

  /** The app's logger: the adapters log what they translate with the same ids and redaction. */
  get log(): AppDeps['log'] {
    return this.deps.log;
  }

  /** Whether an error a use case threw is the store failing (and how), so the person can be told so. */
  storageFault(err: unknown): StorageFault | undefined {
    return this.deps.store.storageFault(err);
  }

  /** True when Azure is the local sandbox: every answer says so. */
  get sandbox(): boolean {
    return this.deps.azure.sandbox;
  }

  /** Records the configuration this start runs with (its hash tells instances with different configs apart). */
  started(authentication: 'bot-framework' | 'off'): Promise<void> {
    return recordConfigLoaded(this.deps, authentication);
  }

  /** An activity the Bot Framework adapter refused: audited, with what it claimed kept apart (past a budget a minute, counted). */
  authRefused(attempt: RefusedActivity): Promise<void> {
    return this.authRefusals.record(attempt);
  }

  /**
   * At a stop: the refused authentications, the activities refused at the tenant gate, the `status`
   * of requests not seen, the answers to forms not the person's and the refused card clicks, counted
   * but not yet recorded, are recorded.
   */
  async flushRefusals(): Promise<void> {
    await Promise.all([this.authRefusals.flush(), this.tenantGate.flush(), this.unseenStatus.flush(), this.foreignForms.flush(), this.clickRefusals.flush()]);
  }

  /** The tenant gate every activity passes first (a refusal is audited; past a budget a minute, counted and not told). */
  admit(actor: Actor, source: Source, activityType: string, claims?: TenantClaims): Promise<Admission> {
    return this.tenantGate.admit(actor, source, activityType, claims);
  }

  /** Client-supplied text past its limits is refused before anything else (audited with a bounded prefix). */
  admitClientText(input: ClientInput): Promise<Refusal | undefined> {
    return admitClientText(this.deps, input, this.clickRefusals);
  }

  /**
   * An answer to a form or confirmation card that is not the one waiting for this person's answer
   * (someone else's in a shared conversation, or an old copy): refused, nothing requested, and
   * recorded (past a budget a minute, counted per person).
   */
  formAnswerRefused(answer: FormAnswer): Promise<Refusal> {
    return refuseFormAnswer(this.deps, this.foreignForms, answer);
  }

  /** Whether this person may ask for the command here and now (told before a form starts). */
  mayRequest(attempt: RequestAttempt): Promise<Refusal | undefined> {
    return mayRequest(this.deps, attempt);
  }

  /**
   * A submitted request form's values and reason, checked as a typed request's are; a reason the
   * policy refuses is audited (request.refused, reason-insufficient) while the form asks again.
   */
  async checkForm(attempt: RequestAttempt & { named: Record<string, string> }): Promise<ParameterCheck> {
    const check = checkRequestInput(attempt.command, { args: [], named: attempt.named, ...(attempt.reason ? { reason: attempt.reason } : {}) });
    if (!check.ok) await auditTypedReason(this.deps, { ...attempt, values: check.values }, 'form');
    return check;
  }

  interpret(text: string): Interpretation {
    return interpret(this.deps, text);
  }

  /** The command as configured now (after a restart with a new config, the new one). */
  command(name: string): CommandSpec | undefined {
    return this.deps.config.catalog.find(name);
  }

  /** Creates the request; the people who may decide it are told in the background (the requester's answer never waits). */
  async createRequest(input: CreateInput): Promise<CreateResult> {
    const result = await createRequest(this.deps, input);
    if (result.ok) this.tell(result.request.id, () => tellDeciders(this.deps, result.request, 'created'));
    return result;
  }

  /**
   * `break-glass <command> reason: ...`: created approved without approval when the policy allows it
   * and the person may, run at once, and announced loudly to the approvers and notice channels.
   */
  async breakGlass(input: CreateInput): Promise<CreateResult> {
    // The policy's maxUses is counted again as the use is stored (storeBreakGlassUse), across instances.
    const result = await createRequest(this.deps, input, true);
    if (!result.ok) return result;
    this.execute(result.request);
    this.tell(result.request.id, () => tellBreakGlass(this.deps, result.request, 'break-glass'));
    return result;
  }

  /**
   * Whether this person may use break-glass for the command at all (asked before saying what is
   * missing; a refusal is audited); a typed reason the policy refuses is audited too, as on the plain path.
   */
  async mayBreakGlass(attempt: RequestAttempt): Promise<Refusal | undefined> {
    const refused = await breakGlassGate(this.deps, attempt);
    if (!refused) await auditTypedReason(this.deps, attempt, 'before the form', { breakGlass: true });
    return refused;
  }

  /** Break-glass uses whose review is overdue are audited and escalated (once across instances). */
  sweepBreakGlassReviews(): Promise<string[]> {
    return this.telling.track(sweepBreakGlassReviews(this.deps));
  }

  /**
   * Takes the approvals of delegations whose time ran out off the requests still to be decided, takes
   * up again the rounds of messages a stop or a crash cut short, escalates the requests due, then
   * sends the reminders due (each once across instances).
   */
  sweepReach(): Promise<{ resumed: string[]; escalated: string[]; reminded: string[]; delegationsEnded: string[] }> {
    return this.telling.track(
      (async () => {
        // First what ended delegations no longer count for: a delegator whose delegate's approval lapsed is reminded again.
        const ended = await sweepEndedDelegations(this.deps, this.delegationsInForce, this.delegateCardsUnfinished);
        this.delegationsInForce = ended.inForce;
        this.delegateCardsUnfinished = ended.cardsUnfinished;
        // Delegations whose time ran out: their delegates' own cards lose their buttons, as after a revocation, in the
        // background; each delegation is marked once its cards were updated (a failure before leaves them to a later sweep).
        this.withdrawCardsOf(ended.ranOut, withdrawRanOutCards);
        // Each sweep whatever the one before met (a request's row locked past the wait): the first error is thrown at the end.
        const failed: { err: unknown }[] = [];
        const alone = (sweep: Promise<string[]>) => sweep.catch((err: unknown) => (failed.push({ err }), []));
        const resumed = await alone(sweepUnfinishedRounds(this.deps));
        const escalated = await alone(sweepEscalations(this.deps));
        const reminded = await alone(sweepReminders(this.deps));
        if (failed.length > 0) throw failed[0].err;
        return { resumed, escalated, reminded, delegationsEnded: ended.withdrawn };
      })(),
    );
  }

  /**
   * Waits until approvers of the requests created so far have been told, and the sweeps under way
   * (reminders, escalations, overdue break-glass reviews) have told theirs (shutdown, tests).
   */
  async tellingIdle(): Promise<void> {
    await this.telling.idle();
  }

  /**
   * At shutdown, once the grace period is over: the rounds of messages under way (new requests,
   * reminders, escalations, re-approvals) start no other message, each one not sent is recorded as
   * not reached, and every outcome known from now on is recorded at once.
   */
  stopTelling(): void {
    this.deps.rounds?.stop();
  }

  /**
   * At shutdown, last, before the store closes: everyone a round under way has no answer from Teams
   * for is recorded as not reached. Resolves once recorded; the rounds then end.
   */
  async cutTelling(): Promise<void> {
    this.stopTelling();
    await this.deps.rounds?.cut();
  }

  /** Background work, not held to the deadline of the turn that started it (turn-deadline.ts). */
  private tell(requestId: string, work: () => Promise<unknown>): void {
    void this.telling.track(outsideTurn(() => withLogContext({ requestId }, () => inBackground(this.deps, requestId, work))));
  }

  /**
   * Records a card message posted for a request: clicks count from it, and it is kept current.
   * `shows`: the version of the request the card shows (shownVersion), 0 when not known.
   */
  cardPosted(requestId: string, message: Partial<CardMessage>, shows?: number): Promise<void> {
    return recordCardPosted(this.deps, requestId, message, shows);
  }

  /** A click on a request's card; the last required approval starts the execution in the background. */
  async click(click: CardClick): Promise<ClickResult> {
    try {
      return await clickCard(this.deps, click, { onApproved: (r) => this.execute(r), refusals: this.clickRefusals });
    } catch (err) {
      if (!(err instanceof CommitOutcomeUnknownError)) throw err;
      return this.unconfirmed(click, err);
    }
  }

  /**
   * The commit's outcome cannot be known (the connection broke during it): read the request again on a
   * new connection and say what it shows, never "nothing changed". An approval that did land starts
   * the execution as usual; so does an approval whose request cannot be read again either: the start
   * reads it (trying again after its waits) and runs it only if it is approved.
   */
  private async unconfirmed(click: CardClick, err: CommitOutcomeUnknownError): Promise<ClickResult> {
    this.deps.log.warn({ requestId: click.requestId, verb: click.verb, err: err.message }, 'card action outcome unknown');
    const now = await this.deps.store.requests.get(click.requestId).catch(() => undefined);
    if (now ? now.state === 'approved' : click.verb === 'approve') this.execute({ id: click.requestId });
    const state = now ? ` It is now ${now.state.replace('_', ' ')}.` : '';
    const why = refusal(
      RefusalReason.OutcomeUnconfirmed,
      `Countersign could not confirm whether your ${click.verb} was recorded for request ${click.requestId} (the database connection broke while saving).${state} See "status ${click.requestId}".`,
      click.requestId,
    );
    return now ? { ok: false, refusal: why, request: now } : { ok: false, refusal: why };
  }

  /** How a command is typed ("resources <group>"), as help lists it. */
  usage(command: CommandSpec): string {
    return usage(command);
  }

  /** A message edited or deleted after it was read: what to tell its sender (a request made from it is unchanged), if anything. */
  messageChanged(m: ChangedMessage): Promise<string | undefined> {
    return answerMessageChange(this.deps, m);
  }

  /** What the requester is told when their request was created but its card could not be posted. */
  cardNotPostedText(request: ApprovalRequest): string {
    return `Request ${request.id} (${request.command}) was created and is waiting for approval, but its card could not be posted here, or Teams did not confirm it (a card that did arrive will not take clicks). Approvers can decide it from the card that "status ${request.id}" or "pending" posts.`;
  }

  /** The run time asked for, echoed in the sender's zone and UTC (undefined when none was asked for). */
  runAtText(request: ApprovalRequest, timeZone?: string): string | undefined {
    if (!request.requestedRunAt) return undefined;
    const when = describeUntil(new Date(request.requestedRunAt), zoneOrUtc(timeZone));
    const windowed = !!request.policy.schedule?.windows.length;
    const windows = windowed ? ', in the first maintenance window of its command from then' : '';
    const later = windowed ? 'If it is approved later, it runs as soon as a maintenance window of its command is open.' : 'If it is approved later, it runs at once.';
    return `Request ${request.id} will run, once approved, no earlier than ${when}${windows}. ${later}`;
  }

  /** `delegate @person until <time>`: the person is resolved by the Teams layer from the @mention. */
  async delegate(cmd: DelegateCommand): Promise<DelegationAnswer> {
    return this.withdrawingCards(await delegateTo(this.deps, cmd));
  }

  async revokeDelegation(cmd: RevokeCommand): Promise<DelegationAnswer> {
    return this.withdrawingCards(await revokeDelegation(this.deps, cmd));
  }

  /** The delegations a command ended: their delegates' own cards lose their buttons, in the background (the answer never waits for Teams). */
  private withdrawingCards(answer: DelegationAnswer): DelegationAnswer {
    if (answer.ok && answer.ended) this.withdrawCardsOf(answer.ended);
    return answer;
  }

  /** The cards the delegates of `ended` were sent in their personal chats lose their buttons, in the background (`withdraw`: how). */
  private withdrawCardsOf(ended: readonly Delegation[], withdraw: typeof withdrawDelegatesCards = withdrawDelegatesCards): void {
    if (ended.length === 0) return;
    const work = () => withdraw(this.deps, ended).catch((err: unknown) => this.deps.log.warn({ err: String(err) }, "could not take the buttons off former delegates' cards"));
    void this.telling.track(outsideTurn(() => withLogContext({ job: 'delegate-cards' }, work)));
  }

  /** The delegations in force this person gave and received (auditors, in a personal chat: all), in words. */
  async delegations(actor: Actor, where: Pick<Source, 'conversationType'>, timeZone?: string): Promise<string> {
    return delegationsText(await listDelegations(this.deps, actor, where, timeZone));
  }

  help(actor: Actor): Promise<HelpEntry[]> {
    return help(this.deps, actor);
  }

  /** `help <words>`: the commands those words name, or suggestions when they name none. */
  helpOn(actor: Actor, topic: string): Promise<HelpTopic> {
    return helpOn(this.deps, actor, topic);
  }

  /** A date `days` days from now in the zone (YYYY-MM-DD): what examples in answers use, never a date already past. */
  exampleDay(days: number, zone: string | undefined): string {
    return exampleDay(this.deps.clock.now(), zoneOrUtc(zone), days);
  }

  /** `where`: a group chat or channel lists only the requests that are there already (shownIn). */
  pending(actor: Actor, where?: Pick<Source, 'conversationId' | 'conversationType'>): Promise<PendingView> {
    return pending(this.deps, actor, where);
  }

  /** What is wrong with the request id a card refresh names (missing, not text), if anything. */
  refreshProblem(requestId: unknown): string | undefined {
    return refreshProblem(requestId);
  }

  /**
   * The request's card as this person sees it (only the buttons they can use). `refreshedFrom`: Teams
   * asked for it (the card's refresh), from there; one naming a request this person may not see, or
   * that none has, is then recorded as a `status` of it is (past a budget a minute, counted per person).
   */
  personalView(actor: Actor, requestId: string, refreshedFrom?: Source): Promise<PersonalView | undefined> {
    return personalView(this.deps, actor, requestId, refreshedFrom ? { source: refreshedFrom, unseen: this.unseenStatus } : undefined);
  }

  /** What a card's refresh or a click's answer that shows no request says. */
  unseenText(requestId: string): string {
    return unseenText(requestId);
  }

  /** Entra object ids of the people whose card is personal: the requester and the approvers. */
  cardViewers(request: ApprovalRequest): string[] {
    return cardViewers(this.deps, request);
  }

  /**
   * `status <id>` typed in a conversation: the card to post there, or why not. A request id this
   * person may not see, or that no request has, is answered alike and recorded as what it was
   * (past a budget a minute, counted per person).
   */
  statusIn(actor: Actor, requestId: string, where: Source): Promise<StatusAnswer> {
    return statusIn(this.deps, actor, requestId, where, this.unseenStatus);
  }

  /** `pending` typed in a conversation: the list, and the cards to post with it. */
  pendingIn(actor: Actor, where: Pick<Source, 'conversationId' | 'conversationType'>): Promise<PendingAnswer> {
    return pendingIn(this.deps, actor, where);
  }

  runQuery(command: CommandSpec, values: Record<string, string>, actor: Actor, source: Source): ReturnType<typeof runQuery> {
    return runQuery(this.deps, command, values, actor, source);
  }

  /**
   * At start: the cards of the requests that ended within the last ENDED_CARDS_WINDOW_MS, of every
   * request an accepted loss of audit records expired (whenever that was), and of those still open
   * that changed within the last OPEN_CARDS_WINDOW_MS, are brought to the request's state (run in
   * the background by the composition root: each card waits its turn under its conversation's
   * rate limit, never the start). A card update still waiting (to be tried again, or for its turn under Teams' rate limit)
   * when the last run stopped or died is otherwise lost: an ended request has no next change, and an
   * open one may wait long for it (a "Could not reach" line a stop recorded, an approval of two).
   * A card already showing its request's version is left as it is (its message's claim says so).
   * Of all those still waiting for approval (however long unchanged), one this config would never let
   * run (its command gone, its requester without the role, a rule of asking made stricter) is ended
   * first (unaskable.ts), as the reminder and escalation sweeps end one when they fall due on it;
   * returns how many requests' cards were brought up to date. Once `stop` is aborted (Countersign is
   * stopping) it starts no other card update and reads no other page: a stop soon after a start over
   * thousands of recent requests waited out its whole grace period for them; the next start brings
   * the rest up to date.
   */
  async refreshCards(stop?: AbortSignal): Promise<number> {
    const now = this.deps.clock.now().getTime();
    const cards = new CardsAtOnce(this.deps.notifier, START_CARDS_AT_ONCE, stop);
    // Only the ids of those brought up to date are kept: a start over tens of thousands of requests
    // holds one page of rows at a time, and answers probes and clicks between pages.
    const recent = new Set<string>();
    const ended = { states: [...ENDED_STATES], updatedSince: new Date(now - ENDED_CARDS_WINDOW_MS).toISOString() };
    await eachPage(this.deps, ended, async (page) => {
      for (const r of page) {
        if (cards.stopped) break;
        if (await cards.change(r)) recent.add(r.id);
      }
      return page.length;
    }, undefined, stop);
    // Every request still open, in one pass: those still waiting for approval that this config would
    // never let run end now (their end updates their cards): every one, however long unchanged, not
    // only the last hour's. The config is read at the start, so the start is where a request becomes
    // one it would never let run; one with no reminder or escalation to fall due would otherwise wait
    // for a click or its expiry. The last hour's others have their cards brought up to date.
    const openSince = new Date(now - OPEN_CARDS_WINDOW_MS).toISOString();
    await eachPage(this.deps, { states: [...OPEN_STATES] }, async (page) => {
      const unaskable = await endUnaskableAtStart(this.deps, page);
      for (const r of page) {
        if (cards.stopped) break;
        if (r.updatedAt < openSince) continue;
        if (unaskable.has(r.id) || (await cards.change(r))) recent.add(r.id);
      }
      // Those ended are no longer open: the next page starts that many rows earlier.
      return page.length - unaskable.size;
    }, OPEN_CARDS_PAGE, stop);
    const lost = cards.stopped ? [] : await this.expiredAtAuditLoss(recent);
    let lostChanged = 0;
    for (const r of lost) if (await cards.change(r)) lostChanged++;
    await cards.idle();
    return lostChanged + recent.size;
  }

  /**
   * The requests an accepted loss of audit records expired (accept-loss.ts), whenever that was: their
   * cards must lose their buttons however long Countersign stayed stopped after it (a card already
   * showing that is left alone by its claim). Read from the expired requests by the state index,
   * not the audit log (a scan of every record at every start). A failed read costs only them.
   */
  private async expiredAtAuditLoss(skip: ReadonlySet<string>): Promise<ApprovalRequest[]> {
    try {
      return (await this.deps.store.requests.list({ states: ['expired'], expiredAtAuditLoss: true })).filter((r) => !skip.has(r.id));
    } catch (err) {
      this.deps.log.error({ err: String(err) }, 'could not read which requests an accepted loss of audit records expired: their cards are not brought up to date this start');
      return [];
    }
  }

  /**
   * Sends the outcome messages ("Request … succeeded.") a run that died (or stopped) left owed, among
   * the requests changed within the last 24 h (at the start: 7 days, to give up the older ones with a
   * log line); answers the ids of those sent (outcome-message.ts). Once `stop` is aborted it takes no
   * other message (those left stay owed for the next start or another instance).
   */
  sendOwedMessages(atStart = false, stop?: AbortSignal): Promise<string[]> {
    return sendOwedOutcomeMessages(this.deps, atStart ? OUTCOME_MESSAGE.startLookBackMs : OUTCOME_MESSAGE.withinMs, stop);
  }

  /**
   * At start: requests approved before a restart but never claimed are executed now, expiry is
   * caught up, and the scheduled requests whose time came are started. Once `stop` is aborted (a
   * stop asked while starting) it starts nothing more and returns: the periodic sweeps of the next
   * start do the rest.
   */
  async catchUp(stop?: AbortSignal): Promise<void> {
    for (const r of await this.deps.store.requests.list({ states: ['approved'] })) {
      if (stop?.aborted) return;
      this.execute(r);
    }
    await sweepExpired(this.deps, stop);
    if (!stop?.aborted) await sweepScheduled(this.deps, (r) => this.execute(r), stop);
  }

  /**
   * Starts the scheduled requests whose time came (once across instances); expires those no longer
   * valid. Once `stop` is aborted it starts nothing more.
   */
  sweepScheduled(stop?: AbortSignal): Promise<string[]> {
    return sweepScheduled(this.deps, (r) => this.execute(r), stop);
  }

  /** Expires the requests whose time ran out; once `stop` is aborted it expires no other one. */
  sweepExpired(stop?: AbortSignal): Promise<string[]> {
    return sweepExpired(this.deps, stop);
  }

  /** Takes over executions whose lease expired (their run died or stopped). */
  resumeAbandoned(): Promise<string[]> {
    return this.executor.resumeAbandoned();
  }

  /** Starts the approved requests nobody runs (their start failed, or their instance died before claiming them). */
  runStranded(): Promise<string[]> {
    return this.executor.runStranded();
  }

  /** The execution runs on in the background; its log lines keep the click's ids and name the request. */
  private execute(request: Pick<ApprovalRequest, 'id'>): void {
    // Not held to the deadline of the turn whose click approved it: it runs for minutes.
    outsideTurn(() => withLogContext({ requestId: request.id }, () => this.executor.schedule(request)));
  }
}
