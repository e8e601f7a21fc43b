/** `audit ...` typed in Teams: handed to AuditorAccess, its answer sent back as a message. */
import type { TurnContext } from 'botbuilder';
import type { AuditorAccess } from '../audit/access/auditor-access';
import { sandboxText } from '../domain/sandbox-text';
import type { AuditCommandHandler } from './bot';
import { actorOf, messageKeyOf, sourceOf } from './identity';
import { zoneOf } from './activity-input';

export function auditCommandHandler(access: AuditorAccess, sandbox: boolean): AuditCommandHandler {
  return async (context: TurnContext, args: string[]) => {
    // The message's key: Teams may send it again, and the second sending gets no second link.
    const reply = await access.teamsCommand(actorOf(context.activity), sourceOf(context.activity), args, messageKeyOf(context.activity), zoneOf(context).timeZone);
    // Only the answer with Countersign's own download links keeps its markdown (chat-text.ts).
    await context.sendActivity({ type: 'message', text: sandboxText(reply.text, sandbox), ...(reply.links ? { textFormat: 'markdown' } : {}) });
  };
}
