/**
 * A card's buttons and refreshes as the use cases take them: the verb and data an Adaptive Card
 * invoke carries, who clicked and where (from the authenticated activity) make a click or a
 * per-person refresh; the answer is the card as it now is for that person, or a message saying why
 * not. The bot routes every adaptiveCard/action invoke here.
 */
import type { AdaptiveCardInvokeResponse, TurnContext } from 'botbuilder';
import type { Countersign } from '../app/countersign';
import type { StorageFault } from '../app/ports';
import type { ApprovalRequest } from '../domain/request';
import { sandboxText } from '../domain/sandbox-text';
import { requestCard, type RequestCardOptions } from '../cards/request-card';
import { failedText } from './fault-text';
import { actorOf, sourceOf } from './identity';
import { cardResponse, message } from './replies';
import { zoneOf } from './activity-input';

export class CardActions {
  constructor(
    private readonly app: Countersign,
    /** The card everyone shares (the bot's, naming whose clients ask for their own view). */
    private readonly sharedOptions: (request: ApprovalRequest) => RequestCardOptions,
    /** Which of the store's own failures an error is, if any. */
    private readonly faultOf: (err: unknown) => StorageFault | undefined,
  ) {}

  /** A card action (Action.Execute) read into a click, a refresh or nothing, and answered with the card as it now is, or with why not. */
  async answer(context: TurnContext): Promise<AdaptiveCardInvokeResponse> {
    const activity = context.activity;
    const value = (activity.value ?? {}) as { action?: { verb?: unknown; data?: unknown } };
    const data = (value.action?.data && typeof value.action.data === 'object' ? value.action.data : {}) as Record<string, unknown>;
    const verb = typeof value.action?.verb === 'string' ? value.action.verb : '';
    const requestId = typeof data.requestId === 'string' ? data.requestId : '';
    const actor = actorOf(activity);
    const source = sourceOf(activity);
    if (verb === 'refresh') {
      const problem = this.app.refreshProblem(data.requestId);
      return problem ? message(this.say(problem)) : this.personalCard(actor, requestId, source);
    }
    try {
      const result = await this.app.click({
        requestId,
        verb,
        actor,
        source,
        conversationId: activity.conversation?.id ?? '',
        ...(activity.replyToId ? { replyToId: activity.replyToId } : {}),
        ...(typeof data.hash === 'string' ? { cardHash: data.hash } : {}),
        ...(typeof data.comment === 'string' ? { comment: data.comment } : {}),
        // A refusal naming a time names it in the clicker's zone (and UTC).
        ...zoneOf(context),
      });
      if (result.ok) return cardResponse(requestCard(result.request, this.sharedOptions(result.request)));
      const notice = result.refusal.message;
      if (!result.request) return message(this.say(notice));
      // The answer replaces the card in the clicker's client: their own view, only the buttons they can use.
      const view = await this.app.personalView(actor, requestId).catch(() => undefined);
      const viewer = view ? { canApprove: view.canApprove, canReject: view.canReject, canCancel: view.canCancel, canReview: view.canReview } : { canApprove: false, canReject: false, canCancel: false, canReview: false };
      return cardResponse(requestCard(result.request, { ...this.sharedOptions(result.request), notice, viewer }));
    } catch (err) {
      this.app.log.error({ requestId, verb, err: String(err) }, 'card action failed');
      return message(this.say(failedText(`record this action for request ${requestId}`, this.faultOf(err))));
    }
  }

  /** Teams asks for the card as this person sees it (refresh.userIds): only the buttons they can use. */
  private async personalCard(actor: ReturnType<typeof actorOf>, requestId: string, source: ReturnType<typeof sourceOf>): Promise<AdaptiveCardInvokeResponse> {
    const view = await this.app.personalView(actor, requestId, source);
    if (!view) return message(this.say(this.app.unseenText(requestId)));
    return cardResponse(requestCard(view.request, { ...this.sharedOptions(view.request), viewer: { canApprove: view.canApprove, canReject: view.canReject, canCancel: view.canCancel, canReview: view.canReview } }));
  }

  private say(text: string): string {
    return sandboxText(text, this.app.sandbox);
  }
}
