/**
 * A request asked for in a conversation, created and its card posted there; any request's card
 * posted where a person asked for it (`status`, `pending`) and recorded as that request's card, so
 * its buttons count. A card that could not be recorded is posted all the same, with a note that its
 * buttons will be refused and how to get one whose buttons work.
 */
import { CardFactory, type TurnContext } from 'botbuilder';
import type { Countersign } from '../app/countersign';
import { CardIdTooLongError, type StorageFault } from '../app/ports';
import type { CreateInput } from '../app/requests';
import { shownVersion, type ApprovalRequest } from '../domain/request';
import { sandboxText } from '../domain/sandbox-text';
import { pendingCard } from '../cards/lists';
import type { Card } from '../cards/render';
import { requestCard, type RequestCardOptions } from '../cards/request-card';
import { zoneOf } from './activity-input';
import { failedText } from './fault-text';
import { actorOf, sourceOf, timeZoneOf } from './identity';
import type { RequestDialogOptions } from './request-dialog';

export class RequestPosting {
  constructor(
    private readonly app: Countersign,
    /** The card everyone shares (the bot's, naming whose clients ask for their own view). */
    private readonly sharedOptions: (request: ApprovalRequest) => RequestCardOptions,
    /** Which of the store's own failures an error is, if any. */
    private readonly faultOf: (err: unknown) => StorageFault | undefined,
  ) {}

  async createAndPost(context: TurnContext, o: RequestDialogOptions, answering?: CreateInput['answering']): Promise<string | undefined> {
    const command = this.app.command(o.command);
    if (!command) {
      await context.sendActivity(this.say(`The command "${o.command}" is no longer configured.`));
      return undefined;
    }
    const result = await this.app.createRequest({
      command,
      values: o.values,
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.runAt ? { runAt: o.runAt } : {}),
      ...zoneOf(context),
      ...(answering ? { answering } : {}),
      actor: actorOf(context.activity),
      source: sourceOf(context.activity),
    });
    if (!result.ok) {
      await context.sendActivity(this.say('refusal' in result ? result.refusal.message : result.error));
      return undefined;
    }
    const posted = await this.postRequestCard(context, result.request).catch((err: unknown) => {
      this.app.log.warn({ requestId: result.request.id, err: String(err) }, 'the new request\'s card could not be posted');
      return false;
    });
    // The request exists whatever happened to its card: say so, never "nothing changed" (that invites a
    // duplicate). A say that Teams refuses too is logged, not left to fail the turn, whose answer
    // would be that nothing was changed.
    const tell = (text: string) =>
      context.sendActivity(this.say(text)).then(
        () => undefined,
        (err: unknown) => this.app.log.warn({ requestId: result.request.id, err: String(err) }, 'could not tell the requester about their new request: it exists, its approvers are told'),
      );
    if (!posted) await tell(this.app.cardNotPostedText(result.request));
    const runAt = this.app.runAtText(result.request, timeZoneOf(context.activity));
    if (runAt) await tell(runAt);
    return result.request.id;
  }

  /**
   * Posts the request's card and records it (bound to the request); false when Teams gave it no id.
   * A card that could not be recorded (the store busy or failing: read-only commands still answer
   * then) is posted all the same, and the person is told its buttons will not work and how to get a
   * card whose buttons do.
   */
  async postRequestCard(context: TurnContext, request: ApprovalRequest, whenUnrecorded?: string): Promise<boolean> {
    return (await this.postAndRecord(context, request, whenUnrecorded)).sent;
  }

  /** postRequestCard, also saying whether the card was recorded; `whenUnrecorded` ends the note about one that was not. */
  private async postAndRecord(context: TurnContext, request: ApprovalRequest, whenUnrecorded?: string): Promise<{ sent: boolean; recorded: boolean }> {
    const sent = await context.sendActivity({ attachments: [CardFactory.adaptiveCard(requestCard(request, this.sharedOptions(request)))] });
    try {
      // The card shows this version: recorded as sent, so a start's refresh does not send it again.
      await this.app.cardPosted(request.id, { conversationId: context.activity.conversation.id, ...(sent?.id ? { activityId: sent.id } : {}) }, shownVersion(request));
      return { sent: !!sent?.id, recorded: true };
    } catch (err) {
      this.app.log.warn({ requestId: request.id, err: String(err) }, 'a posted card could not be recorded: its buttons will be refused');
      // A database changed under Countersign is no moment to wait out: it is stopping, and says so.
      const fault = this.faultOf(err);
      await context.sendActivity(
        this.say(
          fault === 'damaged'
            ? `${failedText(`record the card above as request ${request.id}'s`, fault)} Its buttons will be refused.`
            : err instanceof CardIdTooLongError
              ? `Countersign could not record the card above as request ${request.id}'s: ${err.problem}, so its buttons will be refused.`
              : `Countersign could not record the card above as request ${request.id}'s (its database is busy or cannot take writes right now), so its buttons will be refused. ${whenUnrecorded ?? `Type "status ${request.id}" again in a while for a card whose buttons work.`}`,
        ),
      );
      return { sent: !!sent?.id, recorded: false };
    }
  }

  async showPending(context: TurnContext): Promise<void> {
    const { view, cards, held } = await this.app.pendingIn(actorOf(context.activity), sourceOf(context.activity));
    await this.sendCard(context, pendingCard(view, this.app.sandbox));
    // The cards themselves, so approvers can decide from wherever they asked (a personal chat too).
    // Once one card could not be recorded, the rest would not be either (each after the store's whole
    // wait): they are not posted, and the note says so.
    if (held) await context.sendActivity(this.say(held));
    for (const [i, r] of cards.entries()) {
      const rest = cards.length - i - 1;
      const whenUnrecorded = rest > 0 ? `The other ${rest} card(s) were not posted; type "pending" again in a while.` : `Type "pending" again in a while for a card whose buttons work.`;
      if (!(await this.postAndRecord(context, r, whenUnrecorded)).recorded) return;
    }
  }

  private async sendCard(context: TurnContext, card: Card): Promise<void> {
    await context.sendActivity({ attachments: [CardFactory.adaptiveCard(card)] });
  }

  private say(text: string): string {
    return sandboxText(text, this.app.sandbox);
  }
}
