/**
 * Text messages as Teams shows them. Teams renders a message's text as markdown with HTML tags, so:
 *
 * - a placeholder such as `status <request-id>` lost its `<request-id>` (read as a tag and dropped);
 * - text someone typed that Countersign puts in a message (an unknown command quoted back, a
 *   break-glass reason, a parameter value, a display name) could become a link, bold text or other
 *   markup in Countersign's voice, e.g. a reason saying "**security already ratified**, see
 *   [the bridge](https://...)" in the notice that asks approvers to ratify.
 *
 * So every message Countersign sends (replies and proactive messages alike: both run the adapter's
 * middleware) is made inert: each line as a card's text is (its text-direction and other controls
 * and invisible characters shown by their code points, [U+202E]); `<` and `>`, the markdown punctuation that makes emphasis, code or
 * strikethrough, and the `(` of a `[text](address)` link are written as HTML character references,
 * which Teams and the Agents Playground show as the characters and never read as markup,
 * and a web address is broken with a zero-width space so that it is not made a link, except
 * Microsoft's documentation links Countersign itself names (from Azure's errors). A message that
 * carries links Countersign made on purpose (the audit download link) is sent with `textFormat:
 * 'markdown'` and keeps its markdown; only its `<` and `>` are written as references. Cards are not
 * touched (their text is escaped where it is built, src/cards/markdown.ts).
 */
import type { Activity, Middleware, TurnContext } from 'botbuilder';
import { inertLine } from '../domain/text-safety';

/**
 * The addresses Countersign itself puts in messages as links: Microsoft's documentation, as Azure's
 * errors name it. Only the address itself, in the characters a URL is written with (an underscore
 * only inside a word): whatever is typed right after it, with no space between (markup, a
 * `[text](address)` link to anywhere, a tag), is not part of it, and is made inert like any text.
 */
const OWN_LINK = /^https:\/\/(?:aka\.ms|learn\.microsoft\.com|docs\.microsoft\.com)\/(?:[A-Za-z0-9\-./?#=&%+:@!$,;]|(?<=[A-Za-z0-9])_(?=[A-Za-z0-9]))*/i;
const ADDRESS = /(https?:\/\/\S+|www\.\S+)/gi;
const ANGLES = /[<>]/g;
/** Characters that make markup wherever they stand: tags, emphasis, code, strikethrough, escapes. */
const MARKUP = /[<>\\`*~]/g;
/** An underscore that can open or close emphasis (not one inside a word, as in COUNTERSIGN_STORE). */
const EMPHASIS_UNDERSCORE = /(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g;
/** The opening of an inline link's address: `[text](`. */
const LINK_TARGET = /\]\(/g;

const reference = (c: string) => `&#${c.charCodeAt(0)};`;

function inertText(text: string): string {
  return text.replace(MARKUP, reference).replace(EMPHASIS_UNDERSCORE, reference).replace(LINK_TARGET, ']&#40;');
}

/** An address someone else wrote: shown, never a link (a zero-width space after its scheme or "www"). */
function inertAddress(address: string): string {
  return inertText(address.replace(/^(https?)(:\/\/)/i, '$1\u200B$2').replace(/^(www)(\.)/i, '$1\u200B$2'));
}

/** The text of a message as it is sent: `markdown` keeps Countersign's own markdown (only < and > are written as references). */
export function chatText(text: string, markdown = false): string {
  // Each line one inert line, as a card shows text (md()): a name Teams sent with a text-direction
  // control in it (U+202E) would show the rest of its line reversed; it and any invisible character
  // are shown by their code points. The message's own line breaks stay.
  text = text.split(/\r?\n/).map(inertLine).join('\n');
  if (markdown) return text.replace(ANGLES, reference);
  return text
    .split(ADDRESS)
    .map((part, i) => (i % 2 === 0 ? inertText(part) : ownLinkFirst(part)))
    .join('');
}

/** An address: Microsoft's documentation kept as a link, what follows it with no space between read as text again; any other made inert. */
function ownLinkFirst(address: string): string {
  const own = OWN_LINK.exec(address)?.[0];
  return own ? own + chatText(address.slice(own.length)) : inertAddress(address);
}

export class ChatTextMiddleware implements Middleware {
  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    context.onSendActivities(async (_ctx, activities: Partial<Activity>[], send) => {
      for (const a of activities) {
        if (a.type === 'message' && typeof a.text === 'string' && a.textFormat !== 'xml') a.text = chatText(a.text, a.textFormat === 'markdown');
      }
      return send();
    });
    await next();
  }
}
