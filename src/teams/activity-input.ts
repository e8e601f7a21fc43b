/**
 * An activity's words and keys as the use cases take them: the message without the bot's @mention
 * or mention markup, the key a message sent again by Teams is known by, the person's time zone.
 */
import type { TurnContext } from 'botbuilder';
import type { CreateInput } from '../app/requests';
import { messageKeyOf, timeZoneOf } from './identity';

/**
 * The message's text without the bot's @mention, taken out as botbuilder's removeRecipientMention
 * does (its first mention entity's text, once), but only when that text is a string found in the
 * message: botbuilder called text.replace on a message without text (the turn failed), and for an
 * entity without text took the word "undefined" out of the command (`status undefinedCS-1` became
 * `status CS-1`).
 */
export function withoutBotMention(activity: TurnContext['activity']): string {
  const text = typeof activity.text === 'string' ? activity.text : '';
  const bot = activity.recipient?.id;
  const mention = (activity.entities ?? []).find((e) => e.type === 'mention' && (e as { mentioned?: { id?: unknown } }).mentioned?.id === bot);
  const said = (mention as { text?: unknown } | undefined)?.text;
  return (typeof said === 'string' && said && text.includes(said) ? text.replace(said, '') : text).trim();
}

/** The words of a message without its <at>…</at> mention markup (the mention's identity comes from its entity). */
export function withoutMentions(text: string): string {
  return text.replace(/<at>[^<]*<\/at>/gi, ' ').trim();
}

/**
 * A typed message as what a request answers: Teams sends a message again, with the same id, when
 * the bot took more than about 15 s to answer it (a deployment's what-if can), and the second
 * sending must meet the request the first made, on this instance or another.
 */
export function typedMessage(context: TurnContext): CreateInput['answering'] | undefined {
  const key = messageKeyOf(context.activity);
  return key ? { key, what: 'message' } : undefined;
}

/** The same for `delegate` and `revoke delegation`: a second sending is answered from what the first did. */
export function messageOf(context: TurnContext): { message?: string } {
  const key = messageKeyOf(context.activity);
  return key ? { message: key } : {};
}

export function zoneOf(context: TurnContext): { timeZone?: string } {
  const zone = timeZoneOf(context.activity);
  return zone ? { timeZone: zone } : {};
}
