/**
 * Card binding: a click counts only from a card message Countersign posted for that very request,
 * so a card whose data was edited to name another request is refused. Every card posted for a
 * request is recorded here, and those are the cards refreshed when the request changes.
 */
import { sameChannel } from '../domain/conversation-ids';
import { connectorIdProblem } from '../domain/input-limits';
import type { Source } from '../domain/request';
import type { AppDeps } from './context';
import { CardIdTooLongError, type CardMessage } from './ports';

/**
 * The most copies of one request's card a conversation keeps current: `status` and `pending` post
 * no more there. Every copy is updated at each change of the request, inside the conversation's
 * Teams rate limit, so copies without bound would let one person's repeated `status` hold up the
 * updates of everyone else's cards in that channel.
 */
export const CARD_COPIES_PER_CONVERSATION = 3;

/** Why no further copy of the request's card is posted in this conversation, or undefined. */
export async function cardCopyRefusal(deps: AppDeps, requestId: string, where: Pick<Source, 'conversationId' | 'conversationType'>): Promise<string | undefined> {
  // A channel's threads are one conversation to the people in it (conversation-ids.ts).
  const copies = (await deps.store.cards.getCardMessages(requestId)).filter((m) => sameChannel(m.conversationId, where.conversationId));
  const here = copies.length;
  if (here < CARD_COPIES_PER_CONVERSATION) return undefined;
  const elsewhere = where.conversationType === 'personal' ? '' : ` Type "status ${requestId}" in a personal chat with Countersign for a copy there.`;
  // Copies in other threads of the channel are not above this message: "scroll up" would find none.
  const inThread = await copiesInThisThread(deps, requestId, where);
  const count =
    inThread === here
      ? `this conversation ${here} times already, each copy kept current: scroll up to the latest one`
      : `this channel ${here} times already, ${inThread === 0 ? 'all in other threads than this one' : `${inThread} of them in this thread`}, each copy kept current: open the thread of the latest one`;
  return `Request ${requestId}'s card is in ${count}. No more copies are posted here, so that their updates do not hold up other cards.${elsewhere}`;
}

/** How many copies of the request's card are in this very conversation (in a channel: this thread, not its others). */
export async function copiesInThisThread(deps: AppDeps, requestId: string, where: Pick<Source, 'conversationId'>): Promise<number> {
  return (await deps.store.cards.getCardMessages(requestId)).filter((m) => m.conversationId === where.conversationId).length;
}

/**
 * Records a card message posted for the request (nothing when the channel returned no message id).
 * `shows` is the version of the request the card shows (shownVersion of the request it was rendered
 * from): recorded as sent to it, so that no update (a start's refresh of the day's cards) sends it
 * that version again. 0 when not known (a card a resumed round finds posted): it is updated once more.
 */
export async function recordCardPosted(deps: AppDeps, requestId: string, message: Partial<CardMessage>, shows = 0): Promise<void> {
  if (!message.activityId || !message.conversationId) return;
  // Refused here, in words, not by the store's index (a PostgreSQL driver error past ~2,700 bytes).
  const long = connectorIdProblem('message', message.activityId) ?? connectorIdProblem('chat', message.conversationId);
  if (long) throw new CardIdTooLongError(long);
  await deps.store.cards.saveCardMessage(requestId, { conversationId: message.conversationId, activityId: message.activityId }, shows);
}

/**
 * Whether the click came from a card posted for the request: 'foreign' when none of the cards
 * recorded for it is the message clicked in this conversation, 'no-request' when there is no such
 * request (and so no card of it). A request with no recorded card at
 * all (its card could not be posted, or the process died before recording it) is never approvable
 * by a click: `status <id>` and `pending` post a card that is bound to it. In a channel the click
 * names the thread it is in (conversation-ids.ts): the message clicked is still that card itself,
 * which no other message in the channel shares the id of.
 */
export async function cardOf(deps: AppDeps, requestId: string, where: Pick<Source, 'conversationId' | 'conversationType'>, replyToId: string | undefined): Promise<'its-card' | 'foreign' | 'no-request'> {
  const messages = await deps.store.cards.getCardMessages(requestId);
  if (messages.length === 0) return (await deps.store.requests.get(requestId)) !== undefined ? 'foreign' : 'no-request';
  // Only a click Teams says came from a channel is taken from one of its threads; any other names its conversation exactly.
  const here = (c: string) => (where.conversationType === 'channel' ? sameChannel(c, where.conversationId) : c === where.conversationId);
  return messages.some((m) => m.activityId === replyToId && here(m.conversationId)) ? 'its-card' : 'foreign';
}
