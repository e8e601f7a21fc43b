/**
 * Proactive messages: card updates for everyone and words for the requester, sent through the
 * Bot Connector with the conversation references Countersign stored. Each card message of a request
 * is updated on its own (one slow or failing card holds up none of the others); the updates of one
 * card are serialised and coalesced (only the newest version is sent), so a slow update never
 * overwrites a newer card. Across instances sharing one database, each card message's version is
 * claimed in the store before it is sent, with a lease held until Teams answered: a version goes out
 * once, and no instance sends a newer one while another's older update may still be on its way (it
 * waits, then sends the newest it knows). An update that failed gives its version back and is tried
 * again later with the request's state by then, until the card shows the newest or the retries are
 * spent. Each conversation is held to this instance's share of Teams' rate limits (7 messages a
 * second, 60 in 30 s, divided among the instances), and Teams' transient answers are retried
 * (teams-retry.ts).
 */
import { randomUUID } from 'node:crypto';
import { CardFactory, type Activity, type CloudAdapter, type ConversationReference, type TurnContext } from 'botbuilder';
import type { CardBindingStore, CardMessage, RequestNotifier, Told } from '../app/ports';
import type { CardLease, CardVersionClaims, ConversationReferenceStore } from './ports';

/**
 * Where the notifier finds a request's cards (the app's bindings), claims the version it sends to
 * each (shared by every instance), and how to reach their conversations.
 */
export type NotifierStores = Pick<ConversationReferenceStore, 'getReference' | 'storageFault'> &
  Pick<CardBindingStore, 'getCardMessages'> &
  Omit<CardVersionClaims, 'getSettledCardMessages'> &
  // Absent (a stand-in that keeps no claims): every card message is claimed before it is left alone.
  Partial<Pick<CardVersionClaims, 'getSettledCardMessages'>>;
import type { Logger } from '../log/context';
import { shownVersion, type ApprovalRequest } from '../domain/request';
import { sandboxText } from '../domain/sandbox-text';
import { requestCard, type RequestCardOptions } from '../cards/request-card';
import { ConversationRateLimiter, SendAbandonedError } from './rate-limit';
import { delay, statusOf, TEAMS_RETRY, withTeamsRetry, type RetryOptions } from './teams-retry';

/** A card message as the notifier looks it up: with the version it is settled at, when the store can say (getSettledCardMessages). */
type LookedUpCard = CardMessage & { settledVersion?: number };

/** See TeamsNotifier's settleMs. */
const CARD_UPDATE_SETTLE_MS = 150;

/**
 * How long a claimed card version stays this instance's without renewal. The claim is renewed every
 * third of it while its update travels to Teams (taken before each attempt, released when Teams
 * answered), so an instance that dies holding one delays the card's next update by at most this
 * long; a live one keeps it for as long as Teams takes. Shorter with a short execution lease
 * (cardLeaseMs), so that a dead instance's claim has lapsed by the time its executions are taken over.
 */
const CARD_LEASE_MS = 30_000;

/**
 * A card claim's lease for an execution lease of `executionLeaseMs`: at most two thirds of it. An
 * execution lease lapses at least two thirds of a lease after its owner's last renewal, so the card
 * claims of an instance that died are gone by then too, and the instance taking its executions over
 * shows their progress at once, not only after CARD_LEASE_MS (a deployment shorter than that showed
 * nothing from the takeover to its end).
 */
export function cardLeaseMs(executionLeaseMs: number): number {
  return Math.min(CARD_LEASE_MS, Math.floor((executionLeaseMs * 2) / 3));
}

/** How long an update waits, claiming again, while another instance's older update is on its way, before it gives up and tries again later. */
const CARD_BUSY_GIVE_UP_MS = 3 * CARD_LEASE_MS;

/** How long to wait before claiming again while another instance's older update is on its way. */
const CARD_BUSY_RETRY_MS = 200;

/**
 * How long to wait before each new attempt of a card update that failed (ms): the connector down,
 * answering 5xx, not answering in time, or still throttling after withTeamsRetry's attempts. Each
 * attempt shows the request's state as it is by then; after the last the failure is logged, naming
 * the card. About four minutes in all, so a card outlives a short connector outage.
 */
const CARD_UPDATE_RETRY_MS: readonly number[] = [2_000, 10_000, 30_000, 60_000, 120_000];

/**
 * Teams' answers that another attempt will not change: the message is gone, the bot was removed,
 * the card was refused. Other 4xx (408, 412, 429) and 5xx, and failures without an answer, are tried again.
 */
function updateCannotSucceed(err: unknown): boolean {
  const status = statusOf(err);
  return status !== undefined && status >= 400 && status < 500 && ![408, 412, 429].includes(status);
}

/** A request whose cards are being brought up to date: the newest version known, and the card messages being updated. */
interface RequestCards {
  newest: ApprovalRequest;
  /** The card messages (laneKey) whose update loop runs. */
  lanes: Set<string>;
  /** True while its card messages are being looked up and their loops started. */
  dispatching: boolean;
  /** Resolves once every loop ended. */
  done: Promise<void>;
  finish: () => void;
}

/** What one attempt to update a card message came to. */
type CardAttempt = { shown: number } | { failed: unknown; again: boolean };

/** How often a conversation whose reference is missing is warned of (the sends in between are counted). */
const REFERENCE_MISSING_WARN_MS = 60_000;
/** The most conversations whose missing reference was warned of that are remembered. */
const MISSING_WARNED_MAX = 10_000;

const laneKey = (m: CardMessage) => `${m.conversationId}\n${m.activityId}`;


export class TeamsNotifier implements RequestNotifier {
  /** Holds each conversation to Teams' rate limits (other windows in tests). */
  limiter = new ConversationRateLimiter();
  /** How Teams' transient answers are retried (shorter in tests). */
  retryOptions: RetryOptions = TEAMS_RETRY;
  /** This instance's name on the card versions it claims, and how long it holds each (shorter in tests). */
  cardLease: { holder: string; ms: number; busyRetryMs: number; busyGiveUpMs: number } = { holder: randomUUID(), ms: CARD_LEASE_MS, busyRetryMs: CARD_BUSY_RETRY_MS, busyGiveUpMs: CARD_BUSY_GIVE_UP_MS };
  /** How long to wait before each new attempt of a card update that failed (shorter in tests). */
  cardUpdateRetryMs: readonly number[] = CARD_UPDATE_RETRY_MS;
  /** How the shared card is rendered (whose clients ask for a personal view); set by the composition root. */
  cardOptions: (r: ApprovalRequest) => RequestCardOptions = () => ({});
  /**
   * Told when a conversation's reference is not in the store (its row deleted or the table emptied
   * by hand, a restore): the bot, which writes a reference only when it changed, then writes it again
   * at the conversation's next message instead of never.
   */
  onReferenceMissing: (conversationId: string) => void = () => undefined;
  /**
   * Per conversation, when its missing reference was last warned of and how many sends found it
   * missing since: one warning a minute for each, not one for every card of a channel whose
   * reference is gone (the start brings each of its recent cards up to date).
   */
  private readonly missingWarned = new Map<string, { at: number; since: number }>();
  /** How often each such conversation is warned of (shorter in tests). */
  referenceMissingWarnMs = REFERENCE_MISSING_WARN_MS;
  private readonly requests = new Map<string, RequestCards>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Card updates waiting to be tried again: each cancels its wait (Countersign is stopping). */
  private readonly retryWaits = new Set<() => void>();
  private stopping = false;

  constructor(
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    private readonly conversations: NotifierStores,
    private readonly log: Logger,
    /**
     * How long a card update waits for newer versions of the same request before it is sent. An
     * approval is followed within milliseconds by the claim and the start of execution: waiting
     * sends one update for the three (two per approval instead of three, counting the final one),
     * and each update saved leaves room in the conversation's Teams budget (60 in 30 s, see
     * rate-limit.ts) for the cards of the other requests an incident brings to the same channel.
     */
    private readonly settleMs = CARD_UPDATE_SETTLE_MS,
  ) {}

  /** Brings every card message of the request to its newest version; resolves once each shows it (or was given up). */
  cardChanged(request: ApprovalRequest): Promise<void> {
    let cards = this.requests.get(request.id);
    if (!cards) {
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      cards = { newest: request, lanes: new Set(), dispatching: false, done: this.track(done), finish };
      this.requests.set(request.id, cards);
    } else if (cards.newest.version < request.version) cards.newest = request;
    // Looks the card messages up again: a card bound since (a personal copy) is updated too.
    if (!cards.dispatching) void this.dispatch(cards);
    return cards.done;
  }

  /**
   * Shows the request's version on the card message without its buttons, through the card's version
   * claim as every update: claimed again at the version the card may already show (`again`), under
   * a lease of its own, so that it waits for an update of another instance (or of this one) still on
   * its way, a newer version waits for it in turn, and a card that shows a newer version already is
   * left as it is (that card is everyone's; a click on it is refused, saying why). Answers false when
   * the update failed for now and may go later (Teams down past the retries, the claim kept by another
   * instance, the store failing), true when nothing is left to do (shown, a newer state shown already,
   * or refused for good: the message or the conversation is gone).
   */
  async cardWithoutButtons(request: ApprovalRequest, message: CardMessage, notice: string): Promise<boolean> {
    const viewer = { canApprove: false, canReject: false, canCancel: false, canReview: false };
    const card = CardFactory.adaptiveCard(requestCard(request, { ...this.cardOptions(request), viewer, notice }));
    const where = { requestId: request.id, conversationId: message.conversationId, activityId: message.activityId };
    const version = shownVersion(request);
    const lease = { holder: randomUUID(), ms: this.cardLease.ms, again: true };
    let claimed = false;
    let shown = false;
    try {
      const giveUpAt = performance.now() + this.cardLease.busyGiveUpMs;
      for (let busy = true; busy; ) {
        busy = false;
        await this.track(
          this.send(message.conversationId, async (ctx) => {
            const claim = await this.conversations.claimCardVersion(request.id, message, version, lease);
            if (claim === 'busy') {
              busy = performance.now() < giveUpAt;
              if (!busy) throw new Error('another instance kept its claim on the card');
              return;
            }
            if (claim === 'outdated') {
              this.log.info({ ...where, version }, "a former delegate's card shows a newer state already: left as it is");
              return;
            }
            claimed = true;
            await this.whileClaimed(request.id, message, version, lease, () => ctx.updateActivity({ id: message.activityId, type: 'message', attachments: [card] }));
            shown = true;
          }),
        );
        if (busy) await delay(this.cardLease.busyRetryMs);
      }
      return true;
    } catch (err) {
      this.log.warn({ ...where, err: String(err) }, 'could not take the buttons off a former delegate\'s card');
      return updateCannotSucceed(err);
    } finally {
      if (claimed) await this.release(request.id, message, version, shown, lease.holder);
    }
  }

  async tellRequester(request: ApprovalRequest, text: string): Promise<Told> {
    const message = sandboxText(text, request.sandbox);
    try {
      const reached = await this.track(this.send(request.source.conversationId, async (ctx) => void (await ctx.sendActivity(message))));
      return reached ? 'sent' : 'refused';
    } catch (err) {
      // The outcome is already stored and audited; a message that cannot be delivered is logged.
      // As for a card update: Teams' answers another attempt will not change are final.
      const told = updateCannotSucceed(err) ? 'refused' : 'failed';
      this.log.error({ requestId: request.id, err: String(err), told }, 'could not tell the requester');
      return told;
    }
  }

  /**
   * Posts a new message in a conversation Countersign holds a reference for, within its rate limits
   * and retrying Teams' transient answers. Answers the message's id: undefined when no reference is
   * stored (Countersign was never there) or Teams gave none. Teams' refusals are thrown.
   */
  async post(conversationId: string, activity: Partial<Activity>): Promise<string | undefined> {
    let id: string | undefined;
    await this.track(this.send(conversationId, async (ctx) => void (id = (await ctx.sendActivity(activity))?.id)));
    return id;
  }

  /**
   * At shutdown, once the grace period is over: the card updates and messages still waiting for a
   * conversation's rate limit are not sent (each fails, and is logged where it was asked for).
   * Answers how many.
   */
  abandonWaiting(reason: string): number {
    this.stopping = true;
    const retries = [...this.retryWaits];
    for (const cancel of retries) cancel();
    return this.limiter.close(reason) + retries.length;
  }

  /** Waits for every card update and message under way (used at shutdown and by tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * After the settle time, looks up the request's card messages and starts an update loop for each
   * that has none; again while newer versions came meanwhile.
   */
  private async dispatch(cards: RequestCards): Promise<void> {
    cards.dispatching = true;
    try {
      let seen: number;
      do {
        if (this.settleMs > 0) await delay(this.settleMs);
        seen = cards.newest.version;
        const messages = await this.cardMessagesPatiently(cards.newest.id);
        if (!messages) break;
        for (const message of messages) {
          if (cards.lanes.has(laneKey(message))) continue;
          cards.lanes.add(laneKey(message));
          void this.keepCurrent(cards, message);
        }
      } while (cards.newest.version > seen);
    } catch (err) {
      this.log.error({ requestId: cards.newest.id, err: String(err) }, 'card update failed: the request\'s cards could not be looked up');
    } finally {
      cards.dispatching = false;
      this.settleIfDone(cards);
    }
  }

  /**
   * The request's card messages, looked up again after each of cardUpdateRetryMs while the store
   * cannot answer (a connection cut, a lock): a lookup that failed once left every card of the
   * request at its old state until its next change, and an ended request has none. Undefined once
   * the retries are spent (logged as an error) or Countersign stops.
   */
  private async cardMessagesPatiently(requestId: string): Promise<readonly LookedUpCard[] | undefined> {
    for (let failures = 0; ; failures++) {
      try {
        const settled = this.conversations.getSettledCardMessages;
        return await (settled ? settled.call(this.conversations, requestId) : this.conversations.getCardMessages(requestId));
      } catch (err) {
        const wait = this.storeStoppedBy(err) ? undefined : this.cardUpdateRetryMs[failures];
        if (wait === undefined) {
          this.log.error({ requestId, attempts: failures + 1, err: String(err) }, 'card update failed: the request\'s cards could not be looked up');
          return undefined;
        }
        this.log.warn({ requestId, attempts: failures + 1, retryInMs: wait, err: String(err) }, 'looking up the request\'s cards failed; trying again');
        if (!(await this.retryWait(wait))) return undefined;
      }
    }
  }

  /**
   * Updates one card message until it shows the request's newest version: again after each newer
   * version, and after a failure once each of cardUpdateRetryMs passed (with the newest version by
   * then), until the retries are spent or Countersign stops.
   */
  private async keepCurrent(cards: RequestCards, message: LookedUpCard): Promise<void> {
    const requestId = cards.newest.id;
    const card = { requestId, conversationId: message.conversationId, activityId: message.activityId };
    let shown = 0;
    let failures = 0;
    for (;;) {
      if (shown > 0 && this.settleMs > 0) await delay(this.settleMs);
      // Checked and ended without a pause: a newer version noted after this is dispatched anew.
      if (cards.newest.version <= shown) break;
      const attempt = await this.updateCard(cards, message);
      if ('shown' in attempt) {
        shown = attempt.shown;
        failures = 0;
        continue;
      }
      if (attempt.failed instanceof SendAbandonedError) {
        this.log.warn({ ...card, err: attempt.failed.message }, 'card update not sent: Countersign is stopping');
        break;
      }
      const wait = attempt.again ? this.cardUpdateRetryMs[failures] : undefined;
      failures++;
      if (wait === undefined) {
        this.log.error({ ...card, version: cards.newest.version, attempts: failures, err: String(attempt.failed) }, 'card update failed: the card shows an older state of its request');
        break;
      }
      this.log.warn({ ...card, attempts: failures, retryInMs: wait, err: String(attempt.failed) }, 'card update failed; trying again');
      if (!(await this.retryWait(wait))) {
        this.log.warn({ ...card, version: cards.newest.version }, 'card update not sent: Countersign is stopping');
        break;
      }
    }
    cards.lanes.delete(laneKey(message));
    this.settleIfDone(cards);
  }

  private settleIfDone(cards: RequestCards): void {
    if (cards.dispatching || cards.lanes.size > 0) return;
    if (this.requests.get(cards.newest.id) === cards) this.requests.delete(cards.newest.id);
    cards.finish();
  }

  /**
   * Whether the store refused for good (its database changed under it: a file deleted or replaced,
   * its audit log rewritten, a table dropped): nothing more is written and Countersign is stopping,
   * so another try fails the same way. Before, each card update under way tried again every few
   * seconds, and the stop that follows waited its whole grace (20 s) for them before it exited.
   */
  private storeStoppedBy(err: unknown): boolean {
    return this.conversations.storageFault?.(err) === 'damaged';
  }

  /** Waits `ms` before a card update is tried again; false when Countersign stopped meanwhile. */
  private retryWait(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      const end = (waited: boolean) => {
        clearTimeout(timer);
        this.retryWaits.delete(cancel);
        resolve(waited);
      };
      const cancel = () => end(false);
      const timer = setTimeout(() => end(true), ms);
      this.retryWaits.add(cancel);
    });
  }

  /**
   * One attempt to update a card message, rendered only once the conversation's rate limit lets it
   * go, from the newest version known by then: while a busy channel's updates wait for Teams'
   * budget, later versions are folded in and no card is rendered for a version that will never be
   * sent. Answers the version the card shows now (this one, or a newer one another instance sent),
   * or why it failed and whether trying again may help.
   */
  private async updateCard(cards: RequestCards, message: LookedUpCard): Promise<CardAttempt> {
    const requestId = cards.newest.id;
    let outcome: CardAttempt = { shown: cards.newest.version };
    // The card showed this version already when its messages were looked up (its update went, and
    // nobody holds a lease on it; a version is never given back below one settled so): the claim
    // would say outdated. Answered here, it takes no place in the conversation's Teams budget: a
    // start looks at every card of the last hour's open requests, most of them current, and in a
    // busy channel those no-op claims kept the replies to people waiting for room.
    if (message.settledVersion !== undefined && message.settledVersion >= shownVersion(cards.newest)) return outcome;
    /** The version this instance holds the lease of for the message (0: none). */
    let claimed = 0;
    /** Teams refused the update for good: another attempt of this version cannot change that. */
    let refused = false;
    try {
      const giveUpAt = performance.now() + this.cardLease.busyGiveUpMs;
      for (let busy = true; busy; ) {
        busy = false;
        await this.send(message.conversationId, async (ctx) => {
          const request = cards.newest;
          outcome = { shown: request.version };
          // Claims (or, on a retry, renews) the newest version: another instance that sent this
          // version or a newer one, or whose older one may still be travelling, keeps ours back.
          // The version claimed is the one the card shows: writes it does not show (an outcome
          // message settled) leave a card that shows the version before them current.
          const version = shownVersion(request);
          const claim = await this.conversations.claimCardVersion(requestId, message, version, this.cardLease);
          if (claim === 'busy') {
            busy = performance.now() < giveUpAt;
            if (!busy) outcome = { failed: new Error('another instance kept its claim on the card'), again: true };
          }
          if (claim !== 'claimed') return;
          claimed = version;
          const update = CardFactory.adaptiveCard(requestCard(request, this.cardOptions(request)));
          await this.whileClaimed(requestId, message, version, this.cardLease, () => ctx.updateActivity({ id: message.activityId, type: 'message', attachments: [update] }));
        });
        if (busy) await delay(this.cardLease.busyRetryMs);
      }
    } catch (err) {
      refused = updateCannotSucceed(err);
      outcome = { failed: err, again: !refused && !(err instanceof SendAbandonedError) && !this.storeStoppedBy(err) };
    } finally {
      // A failed update gives its version back: this instance's retry, or another's update, may send it.
      // One Teams refused for good (the message gone, the bot removed, the card refused) settles the
      // card at that version instead: no start tries it again; a newer version still gets its attempt.
      if (claimed) await this.release(requestId, message, claimed, 'shown' in outcome || refused);
    }
    return outcome;
  }

  /**
   * Runs `send` (a card update on its way to Teams) while renewing the claim on `version` every third
   * of its lease: held for as long as Teams takes while this instance lives, and lapsing soon after
   * it died. A renewal that fails or finds the claim gone changes nothing for this update (its bytes
   * may have left); it is logged once.
   */
  private async whileClaimed<T>(requestId: string, message: CardMessage, version: number, lease: CardLease, send: () => Promise<T>): Promise<T> {
    let renewing: Promise<void> | undefined;
    let told = false;
    const renew = async () => {
      try {
        const claim = await this.conversations.claimCardVersion(requestId, message, version, lease);
        if (claim !== 'claimed') throw new Error(`the claim on version ${version} is ${claim} now`);
      } catch (err) {
        if (!told) this.log.warn({ requestId, conversationId: message.conversationId, version, err: String(err) }, 'could not renew a card version\'s claim while its update travels to Teams');
        told = true;
      }
    };
    const timer = setInterval(() => {
      renewing ??= renew().finally(() => (renewing = undefined));
    }, Math.max(50, Math.floor(lease.ms / 3)));
    try {
      return await send();
    } finally {
      clearInterval(timer);
      // A renewal still on its way would claim the version again after the release that follows, keeping other instances back for a whole lease.
      await renewing;
    }
  }

  /** Teams answered (or the retries are spent): other instances may send newer versions now. `settled`: the version counts as sent (shown, or refused for good). */
  private async release(requestId: string, message: CardMessage, version: number, settled: boolean, holder = this.cardLease.holder): Promise<void> {
    try {
      await this.conversations.releaseCardVersion(requestId, message, version, holder, settled);
    } catch (err) {
      // The lease then ends by itself after cardLease.ms.
      this.log.warn({ requestId, conversationId: message.conversationId, err: String(err) }, 'could not release a card version');
    }
  }

  /** Runs `logic` in the conversation; false when no reference to it is stored (nothing was sent). */
  private async send(conversationId: string, logic: (ctx: TurnContext) => Promise<void>): Promise<boolean> {
    const reference = (await this.conversations.getReference(conversationId)) as Partial<ConversationReference> | undefined;
    if (!reference) {
      this.warnReferenceMissing(conversationId);
      this.onReferenceMissing(conversationId);
      return false;
    }
    await withTeamsRetry(async () => {
      await this.limiter.acquire(conversationId);
      // A failure inside the turn would reach the adapter's onTurnError, made for incoming activities
      // (it wraps the error for the HTTP edge): caught here instead, so that Teams' 429s are retried
      // and a lost message is reported.
      let failure: { error: unknown } | undefined;
      await this.adapter.continueConversationAsync(this.appId, reference, async (ctx) => {
        try {
          await logic(ctx);
        } catch (error) {
          failure = { error };
        }
      });
      if (failure) throw failure.error;
    }, this.retryOptions);
    return true;
  }

  /** Warns that the conversation cannot be reached, at most once a minute for each conversation, counting the sends in between. */
  private warnReferenceMissing(conversationId: string): void {
    const now = performance.now();
    const last = this.missingWarned.get(conversationId);
    if (last && now - last.at < this.referenceMissingWarnMs) {
      last.since++;
      return;
    }
    this.log.warn(
      { conversationId, ...(last && last.since > 0 ? { alsoSinceLastWarning: last.since } : {}) },
      'no conversation reference stored; cannot reach the conversation',
    );
    // The map is in the order of the warnings: those warned of over a minute ago are forgotten from
    // its start, and the oldest beyond MISSING_WARNED_MAX (a table of references emptied under a
    // start over tens of thousands of conversations), each step stopping at the first one kept.
    this.missingWarned.delete(conversationId);
    for (const [id, w] of this.missingWarned) {
      if (this.missingWarned.size < MISSING_WARNED_MAX && now - w.at < this.referenceMissingWarnMs) break;
      this.missingWarned.delete(id);
    }
    this.missingWarned.set(conversationId, { at: now, since: 0 });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }
}
