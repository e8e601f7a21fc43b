/**
 * The floor for the Teams paths: a bare botbuilder bot as the samples build it (restify with the
 * body parser, CloudAdapter with Bot Framework authentication configured the same way as
 * Countersign's, a TeamsActivityHandler) that answers a card click with a fixed card and a message
 * with a fixed card posted to the connector. No storage, no policy, no audit.
 */
import type { AddressInfo } from 'node:net';
import restify from 'restify';
import {
  type AdaptiveCardInvokeResponse,
  CardFactory,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  TeamsActivityHandler,
  type TurnContext,
} from 'botbuilder';
import { requestCard } from '../../src/teams/cards';
import { sampleRequest } from '../lib/sample';
import { report, serve } from '../lib/proc';

/** A card the size of Countersign's request card, rendered once. */
const FIXED_CARD = requestCard(sampleRequest());

class BareBot extends TeamsActivityHandler {
  constructor() {
    super();
    this.onMessage(async (context, next) => {
      await context.sendActivity({ attachments: [CardFactory.adaptiveCard(FIXED_CARD)] });
      await next();
    });
  }

  protected override async onAdaptiveCardInvoke(_context: TurnContext): Promise<AdaptiveCardInvokeResponse> {
    return { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: FIXED_CARD };
  }
}

const adapter = new CloudAdapter(
  new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '', MicrosoftAppPassword: '', MicrosoftAppType: 'MultiTenant', MicrosoftAppTenantId: '' }),
);
const bot = new BareBot();
const server = restify.createServer({ name: 'bare-bot', handleUncaughtExceptions: false });
server.use(restify.plugins.bodyParser({ maxBodySize: 1024 * 1024, mapParams: false }));
server.post('/api/messages', async (req, res) => {
  await adapter.process(req, res, (context) => bot.run(context));
});

serve({
  start: () =>
    new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => resolve({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
    }),
});
report({ type: 'spawned' });
