/**
 * The HTTP edge: restify with the Bot Framework endpoint and the health probes. Other modules
 * (audit downloads) register their own routes through `routes`.
 */
import restify from 'restify';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ActivityHandler,
  type TurnContext,
} from 'botbuilder';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../app/context';
import type { RefusedActivity } from '../compliance/bot-auth';
import { withLogContext } from '../log';
import type { Settings } from '../settings';

export function createAdapter(settings: Settings, log: Logger): CloudAdapter {
  const app = settings.microsoftApp;
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

export interface ServerOptions {
  adapter: CloudAdapter;
  bot: ActivityHandler;
  log: Logger;
  /** Readiness: config loaded and store reachable. */
  ready(): Promise<{ ok: boolean; checks: Record<string, boolean | string> }>;
  /** True once shutdown began: new activities are turned away with 503. */
  stopping(): boolean;
  /** Extra routes (registered before listen). */
  routes?: (server: restify.Server) => void;
  /** Called around each activity, to track work in flight for a graceful stop. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Called when the adapter refused an activity's authentication (HTTP 401), to audit it. */
  onAuthRefused?(attempt: RefusedActivity): Promise<void>;
}

/** A path (or a message naming one) as logged: an audit download link's token is a credential until used. */
function loggedPath(text: string): string {
  return text.replace(/(\/api\/audit\/download\/)[^/\s]+/g, '$1[token]');
}

/** The response as the adapter sees it, noting the status and body it answers with. */
function observed(res: restify.Response, seen: { status?: number; body?: unknown }): restify.Response {
  const view = {
    status: (code: number) => {
      seen.status = code;
      return res.status(code);
    },
    send: (body?: unknown) => {
      seen.body = body;
      return res.send(body);
    },
    header: (name: string, value?: unknown) => res.header(name, value),
    end: () => res.end(),
  };
  return view as unknown as restify.Response;
}

export function createServer(options: ServerOptions): restify.Server {
  // maxParamLength: an audit download link's token (expiry, secret, Ed25519 signature) is ~140 characters.
  const server = restify.createServer({ name: 'countersign', handleUncaughtExceptions: false, maxParamLength: 256 });
  // Every request has an id, logged with it and handed back for the caller to quote.
  server.use((req, res, next) => {
    res.header('x-request-id', req.getId());
    next();
  });
  server.use(restify.plugins.bodyParser({ maxBodySize: 1024 * 1024, mapParams: false }));
  server.use(restify.plugins.queryParser({ mapParams: false }));

  server.post('/api/messages', async (req, res) => {
    if (options.stopping()) {
      res.send(503, { error: 'Countersign is shutting down; retry shortly.' });
      return;
    }
    if (!req.body || typeof req.body !== 'object') {
      res.send(400, { error: 'The request body must be a Bot Framework activity (JSON object).' });
      return;
    }
    const activity = req.body as { id?: unknown; type?: unknown; conversation?: { id?: unknown } };
    // Scoped here, not in a middleware: the body parser's stream events would lose an outer scope.
    const turn = {
      reqId: req.getId(),
      correlationId: randomUUID(),
      activityId: typeof activity.id === 'string' ? activity.id : undefined,
      activityType: typeof activity.type === 'string' ? activity.type : undefined,
      conversationId: typeof activity.conversation?.id === 'string' ? activity.conversation.id : undefined,
    };
    const seen: { status?: number; body?: unknown } = {};
    await withLogContext(turn, () => options.track(options.adapter.process(req, observed(res, seen), (context) => options.bot.run(context))));
    if (seen.status === 401 && options.onAuthRefused) {
      const attempt = { status: 401, reason: typeof seen.body === 'string' ? seen.body : '', body: req.body, hasAuthorization: !!req.headers.authorization, remoteAddress: req.socket?.remoteAddress };
      await options.onAuthRefused(attempt).catch((err: unknown) => options.log.error({ err: String(err) }, 'could not record a refused authentication'));
    }
  });

  // The Agents Playground probes the endpoint with HEAD before it posts.
  server.head('/api/messages', async (_req, res) => {
    res.send(200);
  });

  server.get('/healthz', async (_req, res) => {
    res.send(200, { status: 'alive' });
  });

  server.get('/readyz', async (_req, res) => {
    const r = await options.ready().catch(() => ({ ok: false, checks: { store: false } }));
    res.send(r.ok && !options.stopping() ? 200 : 503, { status: r.ok && !options.stopping() ? 'ready' : 'not ready', ...r.checks });
  });

  options.routes?.(server);
  server.on('restifyError', (req, res, err, callback) => {
    // The path only: query strings are where callers put tokens.
    options.log.warn({ reqId: req.getId(), path: loggedPath(req.getPath()), status: (err as { statusCode?: number }).statusCode, err: loggedPath(err.message) }, 'http error');
    return callback();
  });
  // One line per request (the probes excepted, which a platform calls every few seconds).
  server.on('after', (req: restify.Request, res: restify.Response) => {
    if (req.getPath() === '/healthz' || req.getPath() === '/readyz') return;
    options.log.info({ reqId: req.getId(), method: req.method, path: loggedPath(req.getPath()), status: res.statusCode, ms: Date.now() - req.time() }, 'http request');
  });
  return server;
}
