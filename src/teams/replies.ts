/**
 * The bot's answers in the form Teams takes them: an Adaptive Card invoke's response (a card, or a
 * message in place of the card), and the words for a command the bot does not know.
 */
import type { AdaptiveCardInvokeResponse } from 'botbuilder';
import { firstInvisibleCharacter, firstLayoutCharacter, inertLine } from '../domain/text-safety';
import type { Card } from '../cards/render';

const CARD_RESPONSE = 'application/vnd.microsoft.card.adaptive';
export const MESSAGE_RESPONSE = 'application/vnd.microsoft.activity.message';

export function cardResponse(card: Card): AdaptiveCardInvokeResponse {
  return { statusCode: 200, type: CARD_RESPONSE, value: card };
}

export function message(text: string): AdaptiveCardInvokeResponse {
  return { statusCode: 200, type: MESSAGE_RESPONSE, value: text as unknown as Record<string, unknown> };
}

/**
 * "I don't know the command …", naming a character the words hold that cannot be seen (pasted with
 * them): quoted bare, "help" with a U+200B in it read as the very command it was said not to be.
 */
export function unknownCommandText(text: string): string {
  const typed = text.slice(0, 80);
  const layout = firstLayoutCharacter(typed);
  const invisible = layout ? undefined : firstInvisibleCharacter(typed, 'parameter');
  const hidden = layout ? ` It holds a control or text-direction character (${layout}).` : invisible ? ` It holds an invisible character (${invisible.codePoint}, character ${invisible.position}).` : '';
  // "reason: release 2.4" alone: the command was left out, and the reason read as the command.
  const reasonFirst = !hidden && /^reason:$/i.test(typed.trim()) ? ' A message begins with its command; its reason comes last: "<command> <parameters> reason: <why>".' : '';
  return `I don't know the command "${inertLine(typed)}".${hidden}${hidden ? ' Type it without such characters (they come with pasted text).' : ''}${reasonFirst}`;
}
