/**
 * Teams names a channel thread by the channel's id with `;messageid=<the thread's first post>` after
 * it, and every activity from a channel (a message, a card's click) carries that form. Countersign
 * posts to an approval or notice channel by the channel's bare id (configuration names channels, not
 * threads), which starts a thread whose first post is the card: a click on it then arrives from
 * `<channel>;messageid=<card>`. Both name the same channel.
 */
const THREAD = /;messageid=[^;]*$/;

/** The channel a conversation id names, without the thread (any other conversation id as it is). */
export function channelOf(conversationId: string): string {
  return conversationId.replace(THREAD, '');
}

/** Whether two conversation ids name the same conversation, or threads of the same channel. */
export function sameChannel(a: string, b: string): boolean {
  return a === b || channelOf(a) === channelOf(b);
}

/**
 * Whether a conversation id the config lists names this conversation: the same id, or the channel
 * this is a thread of (a listed thread names only itself).
 */
export function listedAs(listed: string, conversationId: string): boolean {
  return listed === conversationId || listed === channelOf(conversationId);
}

/**
 * A Teams conversation id, as activities carry it and as Countersign posts to it: a channel's or a
 * chat's thread `19:<id>@thread.tacv2` (`@thread.skype`, `@thread.v2`, `@unq.gbl.spaces`, ...), a
 * bot's personal chat `a:<id>`, or another Teams address `<digits>:<id>` (`8:orgid:<guid>`,
 * `48:notes`); a channel thread's `;messageid=<digits>` after any of them. Ids hold no white space:
 * a channel's display name ("Platform Ops") never matches one, and was taken without a word.
 */
const TEAMS_CONVERSATION_ID = /^(?:19:[^\s;@]+@[a-z0-9]+(?:\.[a-z0-9]+)+|a:[^\s;]+|(?!19:)\d{1,2}:[^\s;]+)(?:;messageid=\d+)?$/i;

/** Why a text the config lists as a conversation cannot be a Teams conversation id, or undefined. */
export function conversationIdProblem(text: string): string | undefined {
  if (TEAMS_CONVERSATION_ID.test(text)) return undefined;
  const quoted = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  const decoded = fromLink(text);
  if (decoded) return `${quoted} is a Teams link, not a conversation id: write the id it holds, ${decoded}`;
  return `${quoted} is not a Teams conversation id, so no conversation would ever match it (a channel's or chat's name never does): write the id, such as 19:…@thread.tacv2 for a channel (in its "Get link to channel", with %3a for : and %40 for @), 19:…@thread.v2 for a group chat or a:… for a personal chat`;
}

/** The conversation id a Teams link ("Get link to channel") or a URL-encoded id holds, if it is one. */
function fromLink(text: string): string | undefined {
  const encoded = /(19%3a[^/?#\s]+)/i.exec(text)?.[1];
  if (!encoded) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  return TEAMS_CONVERSATION_ID.test(id) ? id : undefined;
}
