/** `audit ...` typed in Teams: handed to AuditorAccess, its answer sent back as a message. */
import type { TurnContext } from 'botbuilder';
import type { AuditorAccess } from '../audit/access/auditor-access';
import { sandboxText } from '../domain/sandbox-text';
import type { AuditCommandHandler } from './bot';
import { actorOf, sourceOf } from './identity';

export function auditCommandHandler(access: AuditorAccess, sandbox: boolean): AuditCommandHandler {
  return async (context: TurnContext, args: string[]) => {
    const reply = await access.teamsCommand(actorOf(context.activity), sourceOf(context.activity), args);
    await context.sendActivity(sandboxText(reply, sandbox));
  };
}
