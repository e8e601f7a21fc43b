/**
 * The ARM SDK clients, built once per gateway. Against the sandbox they point at its https endpoint and
 * trust its certificate through a policy in their own pipeline: nothing process-wide changes (no
 * NODE_TLS_REJECT_UNAUTHORIZED, no global CA). Raw calls (provider actions) go through the same
 * pipeline, so they get the bearer token, retries and throttling handling like every SDK call; a raw
 * write that is not safe to repeat (a POST action) goes through a copy of it that retries only ARM's
 * 429s, because a 5xx or a broken connection may mean the action already happened.
 */
import { randomUUID } from 'node:crypto';
import { ResourceManagementClient } from '@azure/arm-resources';
import { DeploymentsClient } from '@azure/arm-resourcesdeployments';
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineRequest,
  RestError,
  retryPolicy,
  type HttpHeaders,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRequest,
  type RetryStrategy,
} from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { callDeadline } from '../app/ports';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../retry-after';
import { FOREIGN_ENDPOINT, type CapturedResponse } from './errors';
import { fencedHttpClient } from './send-fence';

export const AZURE_ENDPOINT = 'https://management.azure.com';


/** The origin `url` points at when it is not ARM's (`endpoint`), or undefined for ARM's own (or a path). */
export function foreignOrigin(endpoint: string, url: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) return undefined;
  let to: string;
  try {
    to = new URL(url).origin;
  } catch {
    return url.slice(0, 100);
  }
  return to === new URL(endpoint).origin ? undefined : to;
}

/**
 * Every call goes to ARM's endpoint or nowhere: a status URL (Azure-AsyncOperation, Location) that an
 * answer, a proxy or a misbehaving provider pointed at another host would otherwise get Countersign's
 * management token and have its word taken as the operation's outcome. Before the token is added.
 */
function armOnlyPolicy(endpoint: string): PipelinePolicy {
  return {
    name: 'countersignArmOnly',
    sendRequest: async (request, next) => {
      const foreign = foreignOrigin(endpoint, request.url);
      if (foreign !== undefined) {
        throw new RestError(`Azure's answer pointed Countersign at ${foreign}, which is not Azure Resource Manager (${new URL(endpoint).origin}): nothing was sent there (the token goes to ARM only), and that host's word is not taken for the operation's outcome`, { code: FOREIGN_ENDPOINT });
      }
      return next(request);
    },
  };
}

/**
 * Caps ARM's Retry-After (seconds or an HTTP date; and the -ms variants) at a minute before the SDK's
 * retry policy reads it: one 429 asking for a day held a drift check or a tag write that long, without
 * a word, and past a stop.
 */
export function cappedRetryAfterPolicy(): PipelinePolicy {
  return {
    name: 'countersignCappedRetryAfter',
    sendRequest: async (request, next) => {
      const response = await next(request);
      const after = response.headers.get('retry-after');
      if (after !== undefined) {
        const ms = retryAfterMs(after);
        if (ms === undefined || ms >= MAX_RETRY_AFTER_MS) response.headers.set('retry-after', String(MAX_RETRY_AFTER_MS / 1000));
      }
      for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
        const ms = response.headers.get(name);
        if (ms !== undefined && !(Number(ms) <= MAX_RETRY_AFTER_MS)) response.headers.set(name, String(MAX_RETRY_AFTER_MS));
      }
      return response;
    },
  };
}

export interface RetrySettings {
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
}

export interface ArmClientOptions {
  subscriptionId: string;
  credential: TokenCredential;
  /** Default: the public cloud's ARM endpoint. */
  endpoint?: string;
  /** PEM of a certificate to trust for this endpoint (the sandbox's), in addition to nothing else. */
  caPem?: string;
  retry?: RetrySettings;
  /**
   * How long one try of a call may go unanswered (COUNTERSIGN_AZURE_TIMEOUT, default 30 s): past it
   * the try fails as a connection that broke (code ETIMEDOUT), so a read is tried again as after any
   * network failure and a write's outcome is found out as after a connection lost mid-answer.
   */
  timeoutMs?: number;
  /** Aborted at a stop: every call still waiting for an answer fails at once (stopWaiting, gateway.ts). */
  stopping?: AbortSignal;
}

const DEFAULT_AZURE_TIMEOUT_MS = 30_000;
/** The least time a try made in a person's turn is given, however little the turn has left (ms). */
const TURN_TRY_MIN_MS = 5000;

export interface RawRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute URL, or a path on the endpoint. */
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  abortSignal?: AbortSignal;
}

export interface ArmClients {
  subscriptionId: string;
  endpoint: string;
  resources: ResourceManagementClient;
  deployments: DeploymentsClient;
  /** Sends a request through the resources client's pipeline; resolves for every HTTP status. */
  send(request: RawRequest): Promise<CapturedResponse>;
  /** Sends a write that is not safe to repeat: retried only while ARM answers 429 (it did nothing). */
  sendUnrepeatable(request: RawRequest): Promise<CapturedResponse>;
}

/** Retries 429 only, after ARM's Retry-After (or an exponential delay when there is none). */
function throttlingOnly(settings: RetrySettings | undefined): RetryStrategy {
  const base = settings?.retryDelayInMs ?? 800;
  const max = settings?.maxRetryDelayInMs ?? 60_000;
  return {
    name: 'countersignThrottlingOnly',
    retry: ({ response, retryCount }) => {
      if (response?.status !== 429) return { skipStrategy: true };
      const wait = retryAfterMs(response.headers.get('retry-after'), max) ?? base * 2 ** retryCount;
      return { retryAfterInMs: Math.min(wait, max) };
    },
  };
}

function withoutBlindRetries(pipeline: Pipeline, settings: RetrySettings | undefined): Pipeline {
  const copy = pipeline.clone();
  copy.removePolicy({ name: 'defaultRetryPolicy' });
  copy.addPolicy(retryPolicy([throttlingOnly(settings)], { maxRetries: settings?.maxRetries ?? 3 }), { phase: 'Retry' });
  return copy;
}

function trustCertificatePolicy(caPem: string): PipelinePolicy {
  // One settings object, so the HTTP client caches one keep-alive agent for it.
  const tlsSettings = { ca: caPem };
  return {
    name: 'countersignTrustSandboxCertificate',
    sendRequest: (request, next) => {
      request.tlsSettings = tlsSettings;
      return next(request);
    },
  };
}

/**
 * Each try of a call gets `timeoutMs` to be answered. A try that gets no answer in time (a connection
 * that accepts and never answers: a dropped NAT flow, a hung proxy) fails as a RestError with code
 * ETIMEDOUT, which the retry policy treats as a network failure: a read is tried again, and a write
 * sent without blind retries is not (its outcome is found out, errors.ts isIndeterminate). The
 * caller's own cancellation (its abort signal) stays an abort.
 */
function timeoutPolicy(timeoutMs: number, stopping: AbortSignal | undefined): PipelinePolicy {
  const what = (request: PipelineRequest) => `${request.method} ${new URL(request.url).pathname}`;
  // Within a person's turn (a message's read of its target, a query), a try gets no more than the
  // turn leaves for it (at least TURN_TRY_MIN_MS: a what-if's quick polls go on), and one unanswered
  // by then is not tried again (ECANCELED): the person is told within Teams' window, not minutes later.
  const inTurn = (request: PipelineRequest) =>
    new RestError(`Azure Resource Manager did not answer ${what(request)} within ${Math.round(request.timeout / 100) / 10} s, the time this message or click had left (Teams waits about 15 s for an answer)`, { code: 'ECANCELED', request });
  // At a stop, a call still waiting fails at once, as a broken connection: a read is not tried again
  // (ECANCELED is no code the retry policy retries) and a write's outcome is found out by the next run.
  const stopped = (request: PipelineRequest) => new RestError(`Countersign is stopping and stopped waiting for Azure Resource Manager's answer to ${what(request)}`, { code: 'ECANCELED', request });
  return {
    name: 'countersignArmTimeout',
    sendRequest: async (request, next) => {
      if (!(request.timeout > 0)) request.timeout = timeoutMs;
      const turn = callDeadline();
      const cut = turn !== undefined && turn - performance.now() < request.timeout;
      if (cut) request.timeout = Math.min(request.timeout, Math.max(TURN_TRY_MIN_MS, Math.round(turn - performance.now())));
      const own = request.abortSignal;
      if (stopping) {
        if (stopping.aborted) throw stopped(request);
        request.abortSignal = own instanceof AbortSignal ? AbortSignal.any([own, stopping]) : stopping;
      }
      try {
        return await next(request);
      } catch (err) {
        const aborted = err instanceof Error && err.name === 'AbortError' && !own?.aborted;
        if (aborted && stopping?.aborted) throw stopped(request);
        if (aborted && cut) throw inTurn(request);
        if (aborted) throw new RestError(`no answer within ${Math.round(request.timeout / 1000)} s (COUNTERSIGN_AZURE_TIMEOUT) to ${what(request)}`, { code: 'ETIMEDOUT', request });
        throw err;
      } finally {
        // The next try (the retry policy's) starts from the caller's own signal again.
        request.abortSignal = own;
      }
    },
  };
}

/**
 * The credential as the clients use it: getting a token is a call too (to Entra ID, or the managed
 * identity endpoint), so it gets the same time and is given up at a stop, failing as a broken
 * connection would (ETIMEDOUT, ECANCELED), which a read tries again and a write finds out.
 */
function boundedCredential(credential: TokenCredential, timeoutMs: number, stopping: AbortSignal | undefined): TokenCredential {
  return {
    getToken: (scopes, options) => {
      const timer = AbortSignal.timeout(timeoutMs);
      const signals = [timer, ...(stopping ? [stopping] : []), ...(options?.abortSignal instanceof AbortSignal ? [options.abortSignal] : [])];
      const signal = AbortSignal.any(signals);
      const given = () =>
        stopping?.aborted
          ? new RestError('Countersign is stopping and stopped waiting for a token for Azure Resource Manager', { code: 'ECANCELED' })
          : new RestError(`no token for Azure Resource Manager within ${Math.round(timeoutMs / 1000)} s (COUNTERSIGN_AZURE_TIMEOUT)`, { code: 'ETIMEDOUT' });
      if (signal.aborted) return Promise.reject(given());
      return new Promise((resolve, reject) => {
        // The credential may not heed the signal: the wait ends on it all the same.
        const onAbort = () => reject(options?.abortSignal?.aborted ? Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }) : given());
        signal.addEventListener('abort', onAbort, { once: true });
        credential.getToken(scopes, { ...options, abortSignal: signal }).then(
          (token) => (signal.removeEventListener('abort', onAbort), resolve(token)),
          (err: unknown) => (signal.removeEventListener('abort', onAbort), reject(signal.aborted ? given() : err)),
        );
      });
    },
  };
}

export function createArmClients(options: ArmClientOptions): ArmClients {
  const endpoint = (options.endpoint ?? AZURE_ENDPOINT).replace(/\/+$/, '');
  const credential = boundedCredential(options.credential, options.timeoutMs ?? DEFAULT_AZURE_TIMEOUT_MS, options.stopping);
  // Each write of an execution is checked against its claim right before it leaves (send-fence.ts).
  const httpClient = fencedHttpClient(createDefaultHttpClient());
  const timeout = { policy: timeoutPolicy(options.timeoutMs ?? DEFAULT_AZURE_TIMEOUT_MS, options.stopping), position: 'perRetry' as const };
  const clientOptions = {
    endpoint,
    httpClient,
    // ARM's token audience is its endpoint (management.azure.com, or a sovereign cloud's).
    credentials: { scopes: [`${endpoint}/.default`] },
    ...(options.retry ? { retryOptions: options.retry } : {}),
    additionalPolicies: [
      timeout,
      { policy: cappedRetryAfterPolicy(), position: 'perRetry' as const },
      ...(options.caPem ? [{ policy: trustCertificatePolicy(options.caPem), position: 'perCall' as const }] : []),
    ],
  };
  const resources = new ResourceManagementClient(credential, options.subscriptionId, clientOptions);
  const deployments = new DeploymentsClient(credential, options.subscriptionId, clientOptions);
  // Ahead of the bearer token policy: a call to anywhere but ARM fails before a token is even asked for.
  for (const pipeline of [resources.pipeline, deployments.pipeline]) pipeline.addPolicy(armOnlyPolicy(endpoint), { beforePolicies: ['bearerTokenAuthenticationPolicy'] });

  const unrepeatable = withoutBlindRetries(resources.pipeline, options.retry);
  const sendThrough = async (pipeline: Pipeline, req: RawRequest): Promise<CapturedResponse> => {
    const request = createPipelineRequest({
      url: /^https?:\/\//i.test(req.url) ? req.url : `${endpoint}${req.url}`,
      method: req.method,
      headers: createHttpHeaders({ accept: 'application/json', 'x-ms-client-request-id': randomUUID(), ...req.headers }),
      ...(req.abortSignal ? { abortSignal: req.abortSignal } : {}),
    });
    if (req.body !== undefined) {
      request.body = JSON.stringify(req.body);
      request.headers.set('content-type', 'application/json');
    }
    const response = await pipeline.sendRequest(httpClient, request);
    return { status: response.status, headers: headerRecord(response.headers), body: parseBody(response.bodyAsText) };
  };

  return {
    subscriptionId: options.subscriptionId,
    endpoint,
    resources,
    deployments,
    send: (req) => sendThrough(resources.pipeline, req),
    sendUnrepeatable: (req) => sendThrough(unrepeatable, req),
  };
}

export function headerRecord(headers: HttpHeaders): Record<string, string> {
  return Object.fromEntries([...headers].map(([k, v]) => [k.toLowerCase(), v]));
}

function parseBody(text: string | null | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
