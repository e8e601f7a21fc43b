/**
 * Proactive messages: card updates for everyone and words for the requester, sent through the
 * Bot Connector with the conversation references Countersign stored. Updates of one request are
 * serialised and coalesced (only the newest version is sent), so a slow update never overwrites a
 * newer card; across instances sharing one database, each card message's version is claimed in the
 * store before it is sent, with a lease held until Teams answered: a version goes out once, and no
 * instance sends a newer one while another's older update may still be on its way (it waits, then
 * sends the newest it knows). Each conversation is held to this instance's share of Teams' rate
 * limits (7 messages a second, 60 in 30 s, divided among the instances), and Teams' 429/412/502/504
 * answers are retried with exponential backoff and jitter, honouring Retry-After.
 */
import { randomUUID } from 'node:crypto';
import { CardFactory, type Activity, type CloudAdapter, type ConversationReference, type TurnContext } from 'botbuilder';
import type { CardBindingStore, CardMessage, RequestNotifier } from '../app/ports';
import type { ConversationReferenceStore } from './ports';

/**
 * Where the notifier finds a request's cards (the app's bindings), claims the version it sends to
 * each (shared by every instance), and how to reach their conversations.
 */
export type NotifierStores = Pick<ConversationReferenceStore, 'getReference'> & Pick<CardBindingStore, 'getCardMessages' | 'claimCardVersion' | 'releaseCardVersion'>;
import type { Logger } from '../log/context';
import type { ApprovalRequest } from '../domain/request';
import { sandboxText } from '../domain/sandbox-text';
import { requestCard, type RequestCardOptions } from '../cards/request-card';
import { ConversationRateLimiter, SendAbandonedError } from './rate-limit';

const RETRYABLE = new Set([429, 412, 502, 504]);

export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

const TEAMS_RETRY: RetryOptions = { attempts: 6, baseDelayMs: 500, maxDelayMs: 16000 };

/** See TeamsNotifier's settleMs. */
const CARD_UPDATE_SETTLE_MS = 150;

/**
 * How long a claimed card version stays this instance's while its update travels to Teams. Renewed
 * before each attempt, released when Teams answered; an instance that dies holding one delays the
 * card's next update by at most this long. One attempt slower than this (Teams not answering for
 * 30 s) could still be overtaken by another instance's newer version.
 */
const CARD_LEASE_MS = 30_000;

/** How long to wait before claiming again while another instance's older update is on its way. */
const CARD_BUSY_RETRY_MS = 200;

/** Retries Teams' transient answers; honours Retry-After when the connector sends one. */
export async function withTeamsRetry<T>(fn: () => Promise<T>, options: RetryOptions = TEAMS_RETRY, sleep = delay): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const status = statusOf(err);
      if (!status || !RETRYABLE.has(status) || attempt >= options.attempts) throw err;
      const retryAfter = retryAfterMs(err);
      const backoff = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
      await sleep(retryAfter ?? backoff / 2 + Math.random() * (backoff / 2));
    }
  }
}

export function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: number; status?: number; response?: { status?: number } };
  return e?.statusCode ?? e?.status ?? e?.response?.status;
}

function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { response?: { headers?: { get?(n: string): string | undefined } } })?.response?.headers;
  const value = headers?.get?.('retry-after');
  const seconds = value ? Number(value) : NaN;
  return Number.isFinite(seconds) ? Math.min(seconds * 1000, 60000) : undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class TeamsNotifier implements RequestNotifier {
  /** Holds each conversation to Teams' rate limits (other windows in tests). */
  limiter = new ConversationRateLimiter();
  /** How Teams' transient answers are retried (shorter in tests). */
  retryOptions: RetryOptions = TEAMS_RETRY;
  /** This instance's name on the card versions it claims, and how long it holds each (shorter in tests). */
  cardLease: { holder: string; ms: number; busyRetryMs: number } = { holder: randomUUID(), ms: CARD_LEASE_MS, busyRetryMs: CARD_BUSY_RETRY_MS };
  private readonly newest = new Map<string, ApprovalRequest>();
  /** How the shared card is rendered (whose clients ask for a personal view); set by the composition root. */
  cardOptions: (r: ApprovalRequest) => RequestCardOptions = () => ({});
  private readonly workers = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<unknown>>();

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

  cardChanged(request: ApprovalRequest): Promise<void> {
    const known = this.newest.get(request.id);
    if (!known || known.version < request.version) this.newest.set(request.id, request);
    let worker = this.workers.get(request.id);
    if (!worker) {
      worker = this.track(this.drain(request.id)).finally(() => this.workers.delete(request.id));
      this.workers.set(request.id, worker);
    }
    return worker;
  }

  async tellRequester(request: ApprovalRequest, text: string): Promise<void> {
    const message = sandboxText(text, request.sandbox);
    try {
      await this.track(this.send(request.source.conversationId, async (ctx) => void (await ctx.sendActivity(message))));
    } catch (err) {
      // The outcome is already stored and audited; a message that cannot be delivered is logged.
      this.log.error({ requestId: request.id, err: String(err) }, 'could not tell the requester');
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
    return this.limiter.close(reason);
  }

  /** Waits for every card update and message under way (used at shutdown and by tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async drain(requestId: string): Promise<void> {
    let sentVersion = 0;
    for (;;) {
      if (this.settleMs > 0) await delay(this.settleMs);
      const request = this.newest.get(requestId);
      if (!request || request.version <= sentVersion) break;
      sentVersion = await this.updateEverywhere(request);
    }
    this.newest.delete(requestId);
  }

  /**
   * Updates every card message of the request. Each card is rendered only once the conversation's
   * rate limit lets its update go, from the newest version known by then: while a busy channel's
   * updates wait for Teams' budget, later versions are folded in and no card is rendered for a
   * version that will never be sent. Answers the oldest version any message was given.
   */
  private async updateEverywhere(first: ApprovalRequest): Promise<number> {
    let oldestSent = Number.MAX_SAFE_INTEGER;
    const messages = await this.conversations.getCardMessages(first.id);
    for (const message of messages) oldestSent = Math.min(oldestSent, await this.updateCard(first, message));
    return messages.length > 0 ? oldestSent : first.version;
  }

  /** Updates one card message to the newest version known when it may go; answers that version. */
  private async updateCard(first: ApprovalRequest, message: CardMessage): Promise<number> {
    let sent = first.version;
    /** The version this instance holds the lease of for the message (0: none). */
    let claimed = 0;
    try {
      const giveUpAt = Date.now() + 3 * this.cardLease.ms;
      for (let busy = true; busy; ) {
        busy = false;
        await this.send(message.conversationId, async (ctx) => {
          const request = this.newest.get(first.id) ?? first;
          sent = request.version;
          // Claims (or, on a retry, renews) the newest version: another instance that sent this
          // version or a newer one, or whose older one may still be travelling, keeps ours back.
          const claim = await this.conversations.claimCardVersion(first.id, message, request.version, this.cardLease);
          if (claim === 'busy') {
            busy = Date.now() < giveUpAt;
            if (!busy) this.log.warn({ requestId: first.id, conversationId: message.conversationId }, 'card update given up: another instance kept its claim');
          }
          if (claim !== 'claimed') return;
          claimed = request.version;
          await ctx.updateActivity({ id: message.activityId, type: 'message', attachments: [CardFactory.adaptiveCard(requestCard(request, this.cardOptions(request)))] });
        });
        if (busy) await delay(this.cardLease.busyRetryMs);
      }
    } catch (err) {
      if (err instanceof SendAbandonedError) this.log.warn({ requestId: first.id, conversationId: message.conversationId, err: err.message }, 'card update not sent: Countersign is stopping');
      else this.log.error({ requestId: first.id, conversationId: message.conversationId, err: String(err) }, 'card update failed');
    } finally {
      if (claimed) await this.release(first.id, message, claimed);
    }
    return sent;
  }

  /** Teams answered (or the retries are spent): other instances may send newer versions now. */
  private async release(requestId: string, message: CardMessage, version: number): Promise<void> {
    try {
      await this.conversations.releaseCardVersion(requestId, message, version, this.cardLease.holder);
    } catch (err) {
      // The lease then ends by itself after cardLease.ms.
      this.log.warn({ requestId, conversationId: message.conversationId, err: String(err) }, 'could not release a card version');
    }
  }

  private async send(conversationId: string, logic: (ctx: TurnContext) => Promise<void>): Promise<void> {
    const reference = (await this.conversations.getReference(conversationId)) as Partial<ConversationReference> | undefined;
    if (!reference) {
      this.log.warn({ conversationId }, 'no conversation reference stored; cannot reach the conversation');
      return;
    }
    await withTeamsRetry(async () => {
      await this.limiter.acquire(conversationId);
      // A failure inside the turn would reach the adapter's onTurnError, which logs and swallows it:
      // carried out here instead, so that Teams' 429s are retried and a lost message is reported.
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
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }
}
