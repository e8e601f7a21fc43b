/**
 * Bringing a request's card to a person in their personal chat with Countersign, or to an approval
 * channel. A person is reached through the personal chat saved when they last talked to the bot
 * there; when none is known, Countersign starts one through the Bot Connector (which works only for
 * people of the tenant who have the app installed). The card is posted like every other message:
 * within the conversation's rate limits, Teams' transient answers retried, Retry-After honoured.
 * What could not be delivered is answered with why, in words a card can show.
 */
import { CardFactory, TurnContext, type ConversationParameters, type ConversationReference, type CloudAdapter } from 'botbuilder';
import { storeFaultWords, type ApproverMessenger, type CardMessage, type Delivery, type DeliveryOptions, type Recipient, type StorageFault } from '../app/ports';
import type { ApprovalRequest } from '../domain/request';
import { sandboxText } from '../domain/sandbox-text';
import { connectorIdProblem } from '../domain/input-limits';
import type { Logger } from '../log/context';
import { requestCard } from '../cards/request-card';
import type { TeamsNotifier } from './notifier';
import { statusOf, withTeamsRetry } from './teams-retry';
import type { ConversationReferenceStore } from './ports';
import type { PersonalReference } from './conversation-memory';
import { zoneOrUtc } from '../domain/delegation-time';

/** The card already bound to the request in that conversation, if the caller named any. */
function boundIn(options: DeliveryOptions, conversationId: string): CardMessage | undefined {
  return options.unlessBoundIn?.find((m) => m.conversationId === conversationId);
}

/** A reason a person cannot be reached that is known before anything is sent. */
class NotReachable extends Error {}

export class TeamsApproverMessenger implements ApproverMessenger {
  constructor(
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    /** Posts through the notifier: its rate limits, retries and in-flight tracking. */
    private readonly notifier: TeamsNotifier,
    private readonly references: ConversationReferenceStore,
    private readonly log: Logger,
  ) {}

  async cardToPerson(request: ApprovalRequest, person: Recipient, text?: string, options: DeliveryOptions = {}): Promise<Delivery> {
    let name: string | undefined;
    try {
      const known = (await this.references.getPersonalReference(person.tenantId, person.aadObjectId)) as Partial<ConversationReference> | undefined;
      name = known?.user?.name;
      const bound = known?.conversation?.id ? boundIn(options, known.conversation.id) : undefined;
      if (bound) return { ok: true, message: bound, ...(name ? { name } : {}) };
      const conversationId = known?.conversation?.id ?? (await this.startChat(request, person));
      const delivered = await this.postCard(request, conversationId, text).catch(async (err: unknown) => {
        // The saved chat is gone (Teams answers 404: deleted, or the app was reinstalled): the person
        // is not unreachable for that. One new chat is started (and saved), once.
        if (!known?.conversation?.id || statusOf(err) !== 404) throw err;
        this.log.info({ requestId: request.id, person: person.aadObjectId, err: String(err) }, 'the saved personal chat is gone: starting a new one');
        return this.postCard(request, await this.startChat(request, person), text);
      });
      return { ...delivered, ...(name ? { name } : {}) };
    } catch (err) {
      this.log.warn({ requestId: request.id, person: person.aadObjectId, err: String(err) }, 'could not reach a person in a personal chat');
      const fault = this.references.storageFault?.(err);
      // Nothing was sent: the round sends it again once the database works (round-resume.ts).
      return { ok: false, why: whyUnreachable(err, 'person', fault), ...(name ? { name } : {}), ...(fault && !(err instanceof NotReachable) ? { storeFault: true as const } : {}) };
    }
  }

  async cardToConversation(request: ApprovalRequest, conversationId: string, text?: string, options: DeliveryOptions = {}): Promise<Delivery> {
    const bound = boundIn(options, conversationId);
    if (bound) return { ok: true, message: bound };
    try {
      return await this.postCard(request, conversationId, text);
    } catch (err) {
      this.log.warn({ requestId: request.id, conversationId, err: String(err) }, 'could not post to an approval channel');
      return { ok: false, why: whyUnreachable(err, 'conversation') };
    }
  }

  async textToConversation(request: ApprovalRequest, conversationId: string, text: string): Promise<{ ok: true } | { ok: false; why: string }> {
    try {
      const id = await this.notifier.post(conversationId, { text: sandboxText(text, request.sandbox) });
      return id ? { ok: true } : { ok: false, why: 'Countersign has not been added there' };
    } catch (err) {
      this.log.warn({ requestId: request.id, conversationId, err: String(err) }, 'could not post to an approval channel');
      return { ok: false, why: whyUnreachable(err) };
    }
  }

  async personalChatOf(person: Recipient): Promise<string | undefined> {
    const known = (await this.references.getPersonalReference(person.tenantId, person.aadObjectId)) as Partial<ConversationReference> | undefined;
    return known?.conversation?.id;
  }

  async timeZoneOf(person: Recipient): Promise<string | undefined> {
    const known = (await this.references.getPersonalReference(person.tenantId, person.aadObjectId)) as PersonalReference | undefined;
    const zone = typeof known?.timeZone === 'string' ? known.timeZone : undefined;
    return zone && zoneOrUtc(zone) === zone ? zone : undefined;
  }

  /**
   * Posts the card, after its text when there is one. Never both in one message: Teams posts a message
   * with text and a card as two and answers it without an activity id (one id cannot name both), so
   * the card could not be bound (its buttons refused) and the person was recorded as not reached.
   */
  private async postCard(request: ApprovalRequest, conversationId: string, text?: string): Promise<Delivery> {
    const card = CardFactory.adaptiveCard(requestCard(request, this.notifier.cardOptions(request)));
    if (text) await this.notifier.post(conversationId, { text: sandboxText(text, request.sandbox) });
    const id = await this.notifier.post(conversationId, { attachments: [card] });
    if (!id) return { ok: false, why: 'Countersign has not been added there' };
    return { ok: true, message: { conversationId, activityId: id } };
  }

  /**
   * Starts the person's personal chat with Countersign through the Bot Connector of the conversation
   * the request was asked in (its service URL), and saves how to reach it.
   */
  private async startChat(request: ApprovalRequest, person: Recipient): Promise<string> {
    const origin = (await this.references.getReference(request.source.conversationId)) as Partial<ConversationReference> | undefined;
    if (!origin?.serviceUrl) throw new NotReachable('no personal chat with Countersign yet');
    const parameters = {
      isGroup: false,
      bot: origin.bot,
      members: [{ id: person.aadObjectId }],
      tenantId: person.tenantId,
      channelData: { tenant: { id: person.tenantId } },
    } as ConversationParameters;
    let created: Partial<ConversationReference> | undefined;
    await withTeamsRetry(
      // No audience: the connector's default scope for the channel.
      () => this.adapter.createConversationAsync(this.appId, origin.channelId ?? 'msteams', origin.serviceUrl!, undefined as unknown as string, parameters, async (ctx) => {
        created = TurnContext.getConversationReference(ctx.activity);
      }),
      this.notifier.retryOptions,
    );
    const id = created?.conversation?.id;
    if (!id) throw new NotReachable('Teams started no chat');
    // Refused in words before the store's index refuses it (PostgreSQL's btree entry limit).
    const long = connectorIdProblem('chat', id);
    if (long) throw new NotReachable(long);
    await this.references.saveReference(id, created);
    // A zone kept before (the chat saved had gone) stays the person's.
    const zone = await this.timeZoneOf(person).catch(() => undefined);
    await this.references.savePersonalReference(person.tenantId, person.aadObjectId, { ...created, ...(zone ? { timeZone: zone } : {}) });
    return id;
  }
}

/**
 * What Teams' error code says beyond its status, where that changes what to do about it: a person who
 * blocked the bot has the app, and installing it again does not reach them.
 */
const REFUSALS_BY_CODE: Record<string, string> = {
  ConversationBlockedByUser: "blocked Countersign's chat in Teams",
  BotDisabledByAdmin: 'a Teams admin disabled Countersign',
};

/**
 * Why, in a few words for the card: Teams answers 403 or 404 for a person who does not have the app,
 * and for a channel or chat Countersign is not (or no longer) in.
 */
function whyUnreachable(err: unknown, to: 'person' | 'conversation' = 'person', fault?: StorageFault): string {
  if (err instanceof NotReachable) return err.message;
  if (fault) return `Countersign could not read its own database to find their chat (${storeFaultWords(fault)}); nothing was sent`;
  const status = statusOf(err);
  const code = (err as { code?: unknown })?.code;
  // In a channel, a block is its moderation settings', not a person's.
  if (status === 403 && code === 'ConversationBlockedByUser' && to === 'conversation') return "Countersign may not post there (the channel's moderation settings)";
  if (status === 403 && typeof code === 'string' && Object.hasOwn(REFUSALS_BY_CODE, code)) return REFUSALS_BY_CODE[code];
  if ((status === 403 || status === 404) && to === 'conversation') return 'Countersign is not in that team or chat (any more): add the app there';
  if (status === 403 || status === 404) return 'app not installed';
  if (status === 401) return "Teams refused Countersign's credentials";
  if (status) return `Teams answered ${status}`;
  return err instanceof Error ? err.message.slice(0, 120) : String(err).slice(0, 120);
}
