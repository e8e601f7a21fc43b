/**
 * The Bot Framework side of the `/api/messages` route: the adapter that authenticates activities and
 * the endpoint the HTTP edge hands each activity to, so src/http never imports botbuilder.
 */
import { ConfigurationBotFrameworkAuthentication, type ActivityHandler, type TurnContext } from 'botbuilder';
import type { StorageFault } from '../app/ports';
import type { Logger } from '../log/context';
import { EdgeAdapter, TurnFailed, type EdgeOutcome } from './bot-endpoint';
import { DEFAULT_CALL_TIMEOUT_MS } from './connector-calls';
import { reuseClients } from './reused-clients';
import { ChatTextMiddleware } from './chat-text';
import { failedText } from './fault-text';
import { sandboxText } from '../domain/sandbox-text';

export type { EdgeOutcome };

/** The bot's app registration, as the settings read it from the environment. */
export interface BotAppRegistration {
  id: string;
  type: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  tenantId: string;
  password: string;
  /** BotOpenIdMetadata: where the channel's signing keys are described (default: the public cloud's). */
  openIdMetadataUrl?: string;
}

/**
 * botbuilder takes every endpoint from the configuration as soon as one is given, so another OpenID
 * metadata URL comes with the public cloud's values for the rest (those botbuilder uses by default).
 */
function publicCloudWith(openIdMetadataUrl: string): Record<string, string | boolean> {
  return {
    ToBotFromChannelOpenIdMetadataUrl: openIdMetadataUrl,
    ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
    ToChannelFromBotOAuthScope: 'https://api.botframework.com',
    ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
    OAuthUrl: 'https://api.botframework.com',
    ToBotFromEmulatorOpenIdMetadataUrl: 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
    CallerId: 'urn:botframework:azure',
    ValidateAuthority: true,
  };
}


/**
 * `storageFault` tells the store's own failure (its disk; the database out of reach, held by
 * another process, overloaded or read-only) from a fault in handling the message (the store's
 * Store.storageFault), so the person is told which.
 * `callTimeoutMs` bounds every call to the Bot Connector (COUNTERSIGN_TEAMS_SEND_TIMEOUT).
 */
export function createAdapter(
  app: BotAppRegistration,
  log: Logger,
  storageFault: (err: unknown) => StorageFault | undefined = () => undefined,
  callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS,
  /** Sandbox mode: the failed turn's answer is marked [SANDBOX], as every other reply. */
  sandbox = false,
): EdgeAdapter {
  const auth = reuseClients(new ConfigurationBotFrameworkAuthentication({
    MicrosoftAppId: app.id,
    MicrosoftAppPassword: app.password,
    MicrosoftAppType: app.type,
    MicrosoftAppTenantId: app.tenantId,
    ...(app.openIdMetadataUrl ? publicCloudWith(app.openIdMetadataUrl) : {}),
  }), callTimeoutMs);
  const adapter = new EdgeAdapter(auth);
  // With an app id, only the Bot Connector's tokens are taken: an emulator's or a skill's is refused unread.
  adapter.channelTokensOnly = !!app.id;
  // Placeholders and quoted text in messages shown as typed, not read as markup (chat-text.ts).
  adapter.use(new ChatTextMiddleware());
  // A message whose turn failed is answered in the conversation, saying what failed, and the
  // activity 200. Any other activity (an invoke: a click, a card's refresh), or a message whose
  // person could not be told, is handed on: the HTTP edge answers it 500 with the request id and
  // logs `activity failed` (left to botbuilder, an invoke would get a 501 with no body).
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    if (context.activity.type !== 'message') throw new TurnFailed(error);
    log.error({ err: error.message, activityId: context.activity.id, conversationId: context.activity.conversation?.id }, 'turn failed');
    // Telling the person can fail too (the connector is down): logged, and the activity fails.
    const told = await context.sendActivity(sandboxText(failedText('handle this message', storageFault(error)), sandbox)).then(
      () => true,
      (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not tell the person about the failed turn');
        return false;
      },
    );
    if (!told) throw new TurnFailed(error);
  };
  return adapter;
}

/** One activity posted to /api/messages (shape already checked): authenticate it, run the bot's turn. */
export type ActivityEndpoint = (authorization: string, body: Record<string, unknown>) => Promise<EdgeOutcome>;

export function activityEndpoint(adapter: EdgeAdapter, bot: ActivityHandler): ActivityEndpoint {
  return (authorization, body) => adapter.handle(authorization, body, (context) => bot.run(context));
}
