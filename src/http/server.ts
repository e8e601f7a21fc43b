/**
 * The HTTP edge: restify with the Bot Framework endpoint (its botbuilder side in src/teams/adapter.ts)
 * and the health probes. Other modules
 * (audit downloads) register their own routes through `routes`.
 */
import restify from 'restify';
import { randomUUID } from 'node:crypto';
import type { RefusedActivity } from '../app/auth-refusals';
import type { Logger } from '../log/context';
import { hideDownloadTokens, withLogContext } from '../log/logger';
import { isLoopbackHost, LOOPBACK_TEXT } from '../loopback';
import type { ActivityEndpoint, EdgeOutcome } from '../teams/adapter';
import { activityProblem } from './activity-validation';
import { logRequestTimeouts } from './request-timeouts';

export interface ServerOptions {
  /** Authenticates an activity and runs the bot's turn on it (src/teams' activity endpoint); never throws. */
  handleActivity: ActivityEndpoint;
  log: Logger;
  /** Readiness: config loaded and store reachable; /readyz shows anyone who asks yes or no per check, nothing that names or fingerprints the deployment. */
  ready(): Promise<{ ok: boolean; checks: Record<string, boolean> }>;
  /** True once shutdown began: new activities are turned away with 503. */
  stopping(): boolean;
  /** Extra routes (registered before listen). */
  routes?: (server: restify.Server) => void;
  /** Called around each activity, to track work in flight for a graceful stop. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Called when the adapter refused an activity's authentication (HTTP 401), to audit it. */
  onAuthRefused?(attempt: RefusedActivity): Promise<void>;
  /**
   * No MicrosoftAppId: activities carry no token to check, so only callers on this machine are
   * taken (`notLocal`), and an activity that shows it came through a browser or a proxy is refused (403).
   */
  authenticationOff?: boolean;
}

/**
 * Whether a Host header or a request target's authority names this machine's loopback (as
 * src/loopback.ts decides it, the same rule as COUNTERSIGN_HOST's), with or without a port. IPv6 is
 * bracketed there, so a bare ::1 is no authority.
 */
function namesLoopback(authority: string): boolean {
  const parts = /^(\[[^\]]*\]|[^:[\]]*)(?::\d{1,5})?$/.exec(authority);
  return !!parts && isLoopbackHost(parts[1]);
}

/** Headers only a proxy adds (the caller's address or the address asked for): by name, or by prefix. */
const PROXY_HEADERS = ['forwarded', 'via', 'x-real-ip', 'true-client-ip', 'cf-connecting-ip', 'x-client-ip', 'x-cluster-client-ip', 'x-original-forwarded-for'];
const PROXY_PREFIXES = ['x-forwarded-'];

/**
 * Why an activity may not have come from a program on this machine, when authentication is off:
 * listening on loopback keeps other machines out, not a web page the operator opens (a name that
 * resolves to 127.0.0.1, DNS rebinding, sends the page's Host, an Origin and Sec-Fetch-Site)
 * nor a proxy on this machine forwarding others' requests (Forwarded, X-Forwarded-*, Via and the
 * like). The Agents Playground and the Bot Framework's own clients send none of these. A proxy that
 * strips them all and sends a loopback Host cannot be told apart: do not put one in front of a bot
 * without an app id. Undefined when it may.
 */
function notLocal(req: { headers: Record<string, string | string[] | undefined>; rawHeaders: string[]; url?: string }): string | undefined {
  const { headers } = req;
  const hosts = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i].toLowerCase() === 'host').length;
  if (hosts > 1) return 'it carries more than one Host header';
  const host = headers.host;
  if (typeof host !== 'string' || !namesLoopback(host.trim())) return `its Host header (${typeof host === 'string' ? JSON.stringify(host.slice(0, 100)) : 'none'}) does not name ${LOOPBACK_TEXT}`;
  // An absolute-form target (POST http://name/api/messages) names the address asked for: it must be this machine too.
  if (req.url && !req.url.startsWith('/')) {
    let authority = '';
    try {
      authority = new URL(req.url).host;
    } catch {
      // not a URL: refused below
    }
    if (!namesLoopback(authority)) return `its request target (${JSON.stringify(req.url.slice(0, 100))}) does not name ${LOOPBACK_TEXT}`;
  }
  if (headers.origin !== undefined) return `it carries an Origin header (${JSON.stringify(String(headers.origin).slice(0, 100))}): it was sent by a web page`;
  for (const name of Object.keys(headers)) {
    // Node's own fetch sends Sec-Fetch-Mode too; only a browser says which site the request came from.
    if (name === 'sec-fetch-site' && headers[name] !== 'none') return `it carries a sec-fetch-site header (${JSON.stringify(String(headers[name]).slice(0, 40))}): it was sent by a web browser`;
    if (PROXY_HEADERS.includes(name) || PROXY_PREFIXES.some((p) => name.startsWith(p))) return `it carries a ${name} header: it came through a proxy`;
  }
  return undefined;
}

/** The request's path; one whose Host or target cannot be read (refused in `pre`) has none. */
function readablePath(req: restify.Request): string {
  try {
    return req.getPath();
  } catch {
    return '(unreadable)';
  }
}

/**
 * A path (or a message naming one) as logged: an audit download link's token is a credential until
 * used. Whatever follows the route's path is hidden, and so is a token anywhere else in the text (a
 * path no route took, `//` or other letter case, leaves it unused and working).
 */
function loggedPath(text: string): string {
  return hideDownloadTokens(text.replace(/(\/api\/audit\/download\/)[^/\s]+/g, '$1[token]'));
}

/** What the caller is told: nothing internal (no error text, no stack); the reason goes to the log and audit. */
async function answer(options: ServerOptions, req: restify.Request, res: restify.Response, outcome: EdgeOutcome): Promise<void> {
  if (outcome.kind === 'handled') {
    res.send(outcome.status, outcome.body);
    return;
  }
  if (outcome.kind === 'failed') {
    options.log.error({ reqId: req.getId(), err: outcome.reason }, 'activity failed');
    res.send(500, { error: `Countersign could not handle this activity (request ${req.getId()}).` });
    return;
  }
  const unavailable = outcome.kind === 'auth-unavailable';
  if (unavailable) options.log.error({ reqId: req.getId(), err: outcome.reason }, 'Bot Framework authentication unavailable');
  else options.log.warn({ reqId: req.getId(), err: outcome.reason }, 'Bot Framework authentication failed');
  res.send(unavailable ? 503 : 401, { error: unavailable ? 'Countersign cannot check the Bot Framework token right now; retry shortly.' : 'Bot Framework authentication failed.' });
  if (options.onAuthRefused) {
    const attempt = { status: unavailable ? 503 : 401, reason: outcome.reason, body: req.body, hasAuthorization: !!req.headers.authorization, remoteAddress: req.socket?.remoteAddress };
    await options.onAuthRefused(attempt).catch((err: unknown) => options.log.error({ err: String(err) }, 'could not record a refused authentication'));
  }
}

const ACTIVITY_AS_JSON = 'The request body must be a Bot Framework activity sent as application/json.';

/** Whether the request says it carries a body (a length above zero, or chunks). */
function hasBody(req: restify.Request): boolean {
  return req.isChunked() || req.contentLength() > 0;
}

/** application/json (the only type an activity comes as); the route refuses the rest of what JSON's other names would let through. */
function isJson(contentType: string): boolean {
  return contentType === 'application/json' || /^application\/[\w.+-]*\+json$/.test(contentType);
}

/** The largest request body read (1 MB); past it the caller is answered 413. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * What a caller whose body could not be read is told: the status the body parser chose (400 for
 * JSON that does not parse, 413 past the size limit) with a short reason of ours, never its text.
 */
function bodyRefusal(req: restify.Request, err: Error): { status: number; error: string } {
  const status = (err as { statusCode?: unknown }).statusCode;
  if (status === 413) return { status, error: `The request body is larger than ${MAX_BODY_BYTES} bytes (1 MB).` };
  const activity = req.getPath() === '/api/messages';
  if (err.name === 'InvalidContentError') return { status: 400, error: activity ? 'Not a valid Bot Framework activity: the body is not valid JSON.' : 'The request body is not valid JSON.' };
  return { status: typeof status === 'number' && status >= 400 && status < 500 ? status : 400, error: activity ? 'Not a valid Bot Framework activity: the body could not be read.' : 'The request body could not be read.' };
}

/** The endpoints listed to a caller who asked for a path no route takes. */
const ENDPOINTS = 'POST and HEAD /api/messages, GET /healthz, GET /readyz, GET /api/audit/public-key, GET /api/audit/download/<token> (a link from Teams), and GET /api/audit/export when audit.http is configured (docs/operations.md, HTTP endpoints)';

/** What a caller is told when no route takes the path (404) or the method (405); undefined for other errors. */
function routingRefusal(req: restify.Request, res: restify.Response, status: number | undefined): string | undefined {
  const where = loggedPath(req.getPath());
  if (status === 404) return `No endpoint at ${where}. Countersign answers ${ENDPOINTS}.`;
  if (status === 405) {
    const allow = res.getHeader('allow');
    return `${req.method ?? 'This method'} is not allowed on ${where}${allow ? `; it takes ${String(allow)}` : ''}.`;
  }
  return undefined;
}

/**
 * How long a client may take to send a request: its headers, and the whole of it (Node answers 408
 * and closes the connection). Activities are small and sent at once; a client that trickles its
 * request (slowloris) holds a connection only this long, not Node's 60 s and 300 s. The response
 * (an export download streaming for minutes) is not bounded by them. `checkEveryMs`: how often Node
 * looks for connections past them (within a second of the bound, not Node's 30 s).
 */
export const REQUEST_TIMEOUTS = { headersMs: 10_000, requestMs: 30_000, checkEveryMs: 1000 };

export function createServer(options: ServerOptions): restify.Server {
  // maxParamLength: an audit download link's token (expiry, secret, Ed25519 signature) is ~140 characters.
  const server = restify.createServer({ name: 'countersign', handleUncaughtExceptions: false, maxParamLength: 256 });
  server.server.headersTimeout = REQUEST_TIMEOUTS.headersMs;
  server.server.requestTimeout = REQUEST_TIMEOUTS.requestMs;
  // Node enforces both only when it looks at its connections, every 30 s by default: a trickling
  // client was let go 30 s (headers) and 60 s (whole request) after it began, not 10 and 30. Read
  // when the server starts listening, so set here; looking each second costs a walk of the
  // connections still sending a request.
  Object.assign(server.server, { connectionsCheckingInterval: REQUEST_TIMEOUTS.checkEveryMs });
  // Node's 408 is logged (method, path, elapsed, peer), a flood of them summed up (request-timeouts.ts).
  logRequestTimeouts(server.server, options.log, (url) => loggedPath(url.split('?')[0].slice(0, 200)));
  // Every request has an id, logged with it and handed back for the caller to quote: before routing,
  // so a path or method no route takes (404, 405) carries it too.
  server.pre((req, res, next) => {
    res.header('x-request-id', req.getId());
    // Every answer is JSON, an export or a key, never a page: a browser must not guess another type
    // (an export holds text people typed) and must not send a download link's address, token and
    // all, as the Referer of anything the answer leads to.
    res.header('x-content-type-options', 'nosniff');
    res.header('referrer-policy', 'no-referrer');
    // restify's router builds the request's URL from its Host header and target, and a Host it
    // cannot parse (127.0.0.1:abc) threw out of the router and ended the process: answered 400 here.
    try {
      req.getUrl();
    } catch {
      const host = typeof req.headers.host === 'string' ? JSON.stringify(req.headers.host.slice(0, 100)) : 'none';
      options.log.warn({ reqId: req.getId(), host }, 'http request refused: its Host header or target cannot be read');
      res.header('connection', 'close');
      res.send(400, { error: `Countersign cannot read this request's address: its Host header (${host}) or its target is not a valid host and path.` });
      return next(false);
    }
    next();
  });
  // A compressed body is refused before anything reads it: restify's body reader would inflate gzip
  // without a limit (its 1 MB counts the bytes on the wire), so a small request could fill memory.
  // The Bot Framework and the Agents Playground send activities uncompressed.
  server.use((req, res, next) => {
    const encoding = req.headers['content-encoding'];
    // An empty header names no encoding at all, as `identity` does.
    if (encoding === undefined || ['', 'identity'].includes(encoding.trim().toLowerCase())) {
      delete req.headers['content-encoding'];
      return next();
    }
    options.log.warn({ reqId: req.getId(), path: loggedPath(req.getPath()), contentEncoding: encoding.slice(0, 64) }, 'http request body refused: compressed');
    res.header('connection', 'close');
    res.send(415, { error: `Countersign does not accept compressed request bodies (Content-Encoding: ${encoding.slice(0, 64)}); send it uncompressed.` });
    return next(false);
  });
  // Only JSON bodies are read, and a body of any other type is refused before a byte of it is read:
  // restify's full body parser also took multipart uploads, which it wrote to the temp directory
  // (up to 200 MB each, never removed, maxBodySize not applying) before any route or authentication.
  server.use((req, res, next) => {
    if (!hasBody(req) || isJson(req.getContentType())) return next();
    const activity = req.getPath() === '/api/messages';
    options.log.warn({ reqId: req.getId(), path: loggedPath(req.getPath()), contentType: req.getContentType().slice(0, 100) }, 'http request body refused: not JSON');
    res.header('connection', 'close');
    res.send(activity ? 400 : 415, { error: activity ? ACTIVITY_AS_JSON : 'Countersign reads only application/json request bodies.' });
    return next(false);
  });
  // The body parser's own errors carry restify's words ("Invalid JSON: ..."): the caller gets ours.
  // jsonBodyParser hands its options to the body reader, which takes maxBodySize (@types/restify omits it).
  const jsonBody: restify.plugins.JsonBodyParserOptions & restify.plugins.BodyParserOptions = { maxBodySize: MAX_BODY_BYTES, mapParams: false };
  for (const parse of restify.plugins.jsonBodyParser(jsonBody)) {
    server.use((req, res, next) =>
      parse(req, res, (err?: unknown) => {
        if (!(err instanceof Error)) return next(err as false | undefined);
        const refused = bodyRefusal(req, err);
        options.log.warn({ reqId: req.getId(), path: loggedPath(req.getPath()), status: refused.status, err: loggedPath(err.message) }, 'http request body refused');
        res.send(refused.status, { error: refused.error });
        return next(false);
      }),
    );
  }
  server.use(restify.plugins.queryParser({ mapParams: false }));

  server.post('/api/messages', async (req, res) => {
    if (options.stopping()) {
      res.send(503, { error: 'Countersign is shutting down; retry shortly.' });
      return;
    }
    if (options.authenticationOff) {
      const why = notLocal(req);
      if (why) {
        options.log.warn({ reqId: req.getId(), problem: why }, 'activity refused: authentication is off and it may not come from this machine');
        res.send(403, { error: `Countersign runs without authentication (no MicrosoftAppId) and takes activities only from programs on this machine; this one was refused because ${why}.` });
        if (options.onAuthRefused) {
          const attempt = { status: 403, reason: why, body: req.body, hasAuthorization: !!req.headers.authorization, remoteAddress: req.socket?.remoteAddress };
          await options.onAuthRefused(attempt).catch((err: unknown) => options.log.error({ err: String(err) }, 'could not record a refused activity'));
        }
        return;
      }
    }
    // Only JSON: a form-encoded body would be parsed into an object of strings and reach the adapter.
    if (req.getContentType() !== 'application/json') {
      res.send(400, { error: ACTIVITY_AS_JSON });
      return;
    }
    const problem = activityProblem(req.body);
    if (problem) {
      options.log.warn({ reqId: req.getId(), problem }, 'activity refused: not a valid activity');
      res.send(400, { error: `Not a valid Bot Framework activity: ${problem}.` });
      return;
    }
    const activity = req.body as { id?: unknown; type?: unknown; conversation?: { id?: unknown } };
    // Scoped here, not in a middleware: the body parser's stream events would lose an outer scope.
    const turn = {
      reqId: req.getId(),
      correlationId: randomUUID(),
      activityId: typeof activity.id === 'string' ? activity.id.slice(0, 256) : undefined,
      activityType: typeof activity.type === 'string' ? activity.type.slice(0, 64) : undefined,
      conversationId: typeof activity.conversation?.id === 'string' ? activity.conversation.id.slice(0, 512) : undefined,
    };
    const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : '';
    const outcome = await withLogContext(turn, () => options.track(options.handleActivity(authorization, req.body as Record<string, unknown>)));
    await answer(options, req, res, outcome);
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
    const status = (err as { statusCode?: number }).statusCode;
    // The path only: query strings are where callers put tokens.
    options.log.warn({ reqId: req.getId(), path: loggedPath(req.getPath()), status, err: loggedPath(err.message) }, 'http error');
    // The caller gets the documented {"error": ...} with our words, not restify's {code, message}.
    const error = routingRefusal(req, res, status) ?? `Countersign could not answer ${req.method ?? 'this request'} ${loggedPath(req.getPath())} (request ${req.getId()}).`;
    Object.assign(err, { toJSON: () => ({ error }) });
    return callback();
  });
  // One line per request (the probes excepted, which a platform calls every few seconds).
  server.on('after', (req: restify.Request, res: restify.Response) => {
    const path = readablePath(req);
    if (path === '/healthz' || path === '/readyz') return;
    options.log.info({ reqId: req.getId(), method: req.method, path: loggedPath(path), status: res.statusCode, ms: Date.now() - req.time() }, 'http request');
  });
  return server;
}
