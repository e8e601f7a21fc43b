/**
 * The ARM sandbox: an HTTPS server on loopback that answers the Azure Resource Manager calls Countersign
 * makes, closely enough that the real SDK clients work against it unchanged.
 *
 * Every ARM request goes through the same steps, in ARM's order: bearer token present, api-version
 * present, subscription known, route known, throttling, RBAC (denied actions), the handler, and finally
 * the faults that act after a write happened: a stalled answer, the "ambiguous failure" which
 * answers 500, and the truncated body (the status ARM would answer, the JSON body cut off halfway).
 */
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_TIMING, scheduler, type Route, type SandboxContext, type SandboxTiming } from './context';
import { SandboxFaults } from './faults';
import { handleAdmin } from './handlers/admin';
import { operationRoutes } from './handlers/async-operations';
import { deploymentRoutes } from './handlers/deployments';
import { resourceGroupRoutes } from './handlers/resource-groups';
import { resourceRoutes } from './handlers/resources';
import { tagRoutes } from './handlers/tags';
import { ArmHttpError, armErrors, type SandboxRequest, type SandboxResponse } from './http';
import { applySeed, DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID, defaultSeed, type SandboxSeed } from './seed';
import { SandboxState } from './state';
import { generateCertificate } from './tls';

export interface ArmSandboxOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  subscriptionId?: string;
  tenantId?: string;
  /** What the subscription holds at start (default: a few demo resource groups, see seed.ts). */
  seed?: SandboxSeed;
  timing?: Partial<SandboxTiming>;
  /** Items per page of list answers (default 100). */
  pageSize?: number;
  /** Object id named in AuthorizationFailed errors. */
  principalId?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  correlationId: string;
}

export interface ArmSandbox {
  /** https://127.0.0.1:{port} */
  url: string;
  /** The server certificate, PEM: give it to clients as their trusted CA. */
  caPem: string;
  subscriptionId: string;
  tenantId: string;
  state: SandboxState;
  faults: SandboxFaults;
  /** Mutable: a test may change the pace between steps. */
  timing: SandboxTiming;
  /** ARM requests answered, oldest first (the most recent 2000). */
  requests: RecordedRequest[];
  /** Back to the seed, no faults, the timing it started with. */
  reset(): void;
  close(): Promise<void>;
}

const MAX_RECORDED = 2000;

/** Route order matters: specific Microsoft.Resources paths before the generic provider route. */
const ROUTES: Route[] = [
  ...tagRoutes,
  ...operationRoutes,
  ...deploymentRoutes,
  ...resourceGroupRoutes,
  ...resourceRoutes,
];

export async function startArmSandbox(options: ArmSandboxOptions = {}): Promise<ArmSandbox> {
  const host = options.host ?? '127.0.0.1';
  const subscriptionId = options.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
  const tenantId = options.tenantId ?? DEFAULT_TENANT_ID;
  const seed = options.seed ?? defaultSeed(subscriptionId);
  const state = new SandboxState(subscriptionId, tenantId);
  const faults = new SandboxFaults(state);
  const initialTiming: SandboxTiming = { ...DEFAULT_TIMING, ...options.timing };
  const timing: SandboxTiming = { ...initialTiming };
  let generation = new AbortController();
  const ctx: SandboxContext = {
    state,
    faults,
    timing,
    principalId: options.principalId ?? '11111111-2222-3333-4444-555555555555',
    pageSize: options.pageSize ?? 100,
    ...scheduler(() => generation.signal),
  };
  const reset = () => {
    generation.abort();
    generation = new AbortController();
    Object.assign(timing, initialTiming);
    faults.clear();
    state.clear();
    applySeed(state, seed);
  };
  reset();

  const cert = await generateCertificate(host);
  const requests: RecordedRequest[] = [];
  let baseUrl = '';
  const server = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    void serve(req, res, baseUrl, ctx, { reset }, requests);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: baseUrl,
    caPem: cert.certPem,
    subscriptionId,
    tenantId,
    state,
    faults,
    timing,
    requests,
    reset,
    close: async () => {
      generation.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  baseUrl: string,
  ctx: SandboxContext,
  hooks: { reset(): void },
  requests: RecordedRequest[],
): Promise<void> {
  const correlationId = header(req.headers, 'x-ms-correlation-request-id') ?? randomUUID();
  let sreq: SandboxRequest | undefined;
  let response: SandboxResponse;
  try {
    sreq = await readRequest(req, baseUrl, correlationId);
    response = /^\/_sandbox(\/|$)/i.test(sreq.path) ? handleAdmin(sreq, ctx, hooks) : await dispatch(sreq, ctx);
    if (!sreq.path.toLowerCase().startsWith('/_sandbox')) {
      requests.push({ method: sreq.method, path: sreq.path, status: response.status, correlationId });
    }
  } catch (e) {
    // Closed or reset while holding an answer back (a stall): the connection is dropped, unanswered.
    if (e instanceof Error && e.name === 'AbortError') {
      res.destroy();
      return;
    }
    response = errorResponse(e);
    if (sreq) requests.push({ method: sreq.method, path: sreq.path, status: response.status, correlationId });
  }
  // A long-running standalone sandbox keeps only recent history.
  if (requests.length > MAX_RECORDED) requests.splice(0, requests.length - MAX_RECORDED);
  write(res, req.method === 'HEAD', correlationId, response);
}

async function dispatch(req: SandboxRequest, ctx: SandboxContext): Promise<SandboxResponse> {
  const auth = header(req.headers, 'authorization');
  if (!auth) throw armErrors.authenticationMissing();
  if (!/^Bearer\s+\S+/i.test(auth)) throw armErrors.authenticationMalformed();
  if (!req.query.get('api-version')) throw armErrors.missingApiVersion();
  const sub = /^\/subscriptions\/([^/]+)/i.exec(req.path);
  if (sub && sub[1].toLowerCase() !== ctx.state.subscriptionId.toLowerCase()) throw armErrors.subscriptionNotFound(sub[1]);

  const matching = ROUTES.map((route) => ({ route, m: route.pattern.exec(req.path) })).filter((x) => x.m);
  if (matching.length === 0) throw armErrors.unknownRoute(req.method, req.path);
  const found = matching.find((x) => x.route.methods.includes(req.method));
  if (!found?.m) {
    throw new ArmHttpError(405, { code: 'MethodNotAllowed', message: `The requested resource does not support http method '${req.method}'.` });
  }
  const throttled = ctx.faults.takeThrottle(req.method, req.path);
  if (throttled) throw throttled.unavailable ? armErrors.serviceUnavailable(throttled.retryAfterSeconds) : armErrors.tooManyRequests(throttled.retryAfterSeconds);
  const needed = found.route.authorize(req, found.m);
  if (needed && ctx.faults.deniedAction(needed.action, needed.scope)) {
    throw armErrors.authorizationFailed(ctx.principalId, needed.action, needed.scope);
  }
  const response = await found.route.handle(req, found.m, ctx);
  const stall = ctx.faults.takeStall(req.method, req.path);
  if (stall !== undefined) await ctx.sleep(stall);
  if (ctx.faults.takeAmbiguous(req.method, req.path)) return errorResponse(armErrors.internalServerError());
  const statusHeaders = Object.keys(response.headers ?? {}).filter((k) => /^(azure-asyncoperation|location)$/i.test(k));
  const redirect = statusHeaders.length > 0 ? ctx.faults.takeRedirect(req.method, req.path) : undefined;
  const answered = redirect === undefined ? response : { ...response, headers: { ...response.headers, ...Object.fromEntries(statusHeaders.map((k) => [k, redirect])) } };
  if (answered.body !== undefined && ctx.faults.takeTruncatedBody(req.method, req.path)) return { ...answered, truncated: true };
  return answered;
}

async function readRequest(req: IncomingMessage, baseUrl: string, correlationId: string): Promise<SandboxRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', baseUrl);
  let decoded: string;
  try {
    decoded = url.pathname
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  } catch {
    throw armErrors.badRequest('InvalidRequestUri', `The request path '${url.pathname}' is not correctly encoded.`);
  }
  const path = decoded
    .replace(/\/{2,}/g, '/')
    .replace(/(.)\/$/, '$1');
  let body: unknown;
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      throw armErrors.badRequest('InvalidRequestContent', 'The request content was invalid and could not be deserialized: not JSON.');
    }
  }
  return { method: (req.method ?? 'GET').toUpperCase(), path, query: url.searchParams, headers: req.headers, body, baseUrl, correlationId };
}

function errorResponse(e: unknown): SandboxResponse {
  if (e instanceof ArmHttpError) return { status: e.status, headers: e.headers, body: { error: e.error } };
  console.error('ARM sandbox: unexpected error', e);
  return { status: 500, body: { error: { code: 'InternalServerError', message: `The ARM sandbox failed: ${String(e)}` } } };
}

function write(res: ServerResponse, head: boolean, correlationId: string, response: SandboxResponse): void {
  res.statusCode = response.status;
  res.setHeader('x-ms-request-id', randomUUID());
  res.setHeader('x-ms-correlation-request-id', correlationId);
  for (const [k, v] of Object.entries(response.headers ?? {})) res.setHeader(k, v);
  if (response.body === undefined || head) {
    res.end();
    return;
  }
  res.setHeader('content-type', 'application/json; charset=utf-8');
  const text = JSON.stringify(response.body);
  // Cut off halfway, yet a complete HTTP answer (its Content-Length is that of what is sent).
  res.end(response.truncated ? text.slice(0, Math.max(1, Math.floor(text.length / 2))) : text);
}

function header(headers: SandboxRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
