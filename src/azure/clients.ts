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
  retryPolicy,
  type HttpHeaders,
  type Pipeline,
  type PipelinePolicy,
  type RetryStrategy,
} from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import type { CapturedResponse } from './errors';

export const AZURE_ENDPOINT = 'https://management.azure.com';

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
}

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
      const seconds = Number(response.headers.get('retry-after'));
      const wait = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : base * 2 ** retryCount;
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

export function createArmClients(options: ArmClientOptions): ArmClients {
  const endpoint = (options.endpoint ?? AZURE_ENDPOINT).replace(/\/+$/, '');
  const httpClient = createDefaultHttpClient();
  const clientOptions = {
    endpoint,
    httpClient,
    // ARM's token audience is its endpoint (management.azure.com, or a sovereign cloud's).
    credentials: { scopes: [`${endpoint}/.default`] },
    ...(options.retry ? { retryOptions: options.retry } : {}),
    ...(options.caPem ? { additionalPolicies: [{ policy: trustCertificatePolicy(options.caPem), position: 'perCall' as const }] } : {}),
  };
  const resources = new ResourceManagementClient(options.credential, options.subscriptionId, clientOptions);
  const deployments = new DeploymentsClient(options.credential, options.subscriptionId, clientOptions);

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
