/**
 * Text messages as Teams shows them. Teams renders a message's text as markdown with HTML tags, so a
 * placeholder such as `status <request-id>` lost its `<request-id>` (read as a tag and dropped), and
 * text someone typed that Countersign quotes back (`I don't know the command "<a ...>"`) could have
 * become markup in Countersign's voice. Every message Countersign sends, replies and proactive
 * messages alike (both run the adapter's middleware), has `<` and `>` written as `&lt;` and `&gt;`,
 * which Teams and the Agents Playground show as the characters. Cards are not touched (their text is
 * escaped where it is built, src/cards/markdown.ts).
 */
import type { Activity, Middleware, TurnContext } from 'botbuilder';

function chatText(text: string): string {
  return text.replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'));
}

export class ChatTextMiddleware implements Middleware {
  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    context.onSendActivities(async (_ctx, activities: Partial<Activity>[], send) => {
      for (const a of activities) if (a.type === 'message' && typeof a.text === 'string' && a.textFormat !== 'xml') a.text = chatText(a.text);
      return send();
    });
    await next();
  }
}
