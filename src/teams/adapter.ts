/**
 * The Bot Framework side of the `/api/messages` route: the adapter that authenticates activities and
 * the endpoint the HTTP edge hands each request to, so src/http never imports botbuilder.
 */
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ActivityHandler,
  type Request,
  type Response,
  type TurnContext,
} from 'botbuilder';
import type { Logger } from '../log/logger';

/** The bot's app registration, as the settings read it from the environment. */
export interface BotAppRegistration {
  id: string;
  type: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  tenantId: string;
  password: string;
}

export function createAdapter(app: BotAppRegistration, log: Logger): CloudAdapter {
  const auth = new ConfigurationBotFrameworkAuthentication({
    MicrosoftAppId: app.id,
    MicrosoftAppPassword: app.password,
    MicrosoftAppType: app.type,
    MicrosoftAppTenantId: app.tenantId,
  });
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    log.error({ err: error.message, activityId: context.activity.id, conversationId: context.activity.conversation?.id }, 'turn failed');
    if (context.activity.type === 'message') {
      await context.sendActivity('Countersign hit an internal error handling this message; nothing was changed. Try again, and tell the team that runs Countersign if it keeps happening.');
    }
  };
  return adapter;
}

/** One POST to /api/messages: authenticate the activity, run the bot's turn, answer the request. */
export type ActivityEndpoint = (req: Request, res: Response) => Promise<void>;

export function activityEndpoint(adapter: CloudAdapter, bot: ActivityHandler): ActivityEndpoint {
  return (req, res) => adapter.process(req, res, (context) => bot.run(context));
}
