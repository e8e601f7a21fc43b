/**
 * The floor for the Teams paths: a bare botbuilder bot as the samples build it (restify with the
 * body parser, CloudAdapter with Bot Framework authentication configured the same way as
 * Countersign's, a TeamsActivityHandler) that answers a card click with a fixed card and a message
 * with a fixed card posted to the connector. No storage, no policy, no audit. It loads nothing of
 * Countersign (the card is read from the JSON file BENCH_FIXED_CARD names), so the time it takes to
 * start is also the floor of figure 6's start-to-ready.
 */
import fs from 'node:fs';
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
import { report, serve } from '../lib/proc';

/** A card the size of Countersign's request card, rendered once by the orchestrator. */
const FIXED_CARD = JSON.parse(fs.readFileSync(process.env.BENCH_FIXED_CARD ?? '', 'utf8')) as Record<string, unknown>;

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

serve({});
server.listen(0, '127.0.0.1', () => report({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
