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
