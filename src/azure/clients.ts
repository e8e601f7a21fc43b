/**
 * The ARM SDK clients, built once per gateway. Against the sandbox they point at its https endpoint and
 * trust its certificate through a policy in their own pipeline: nothing process-wide changes (no
 * NODE_TLS_REJECT_UNAUTHORIZED, no global CA). Raw calls (provider actions) go through the same
 * pipeline, so they get the bearer token, retries and throttling handling like every SDK call.
 */
import { randomUUID } from 'node:crypto';
import { ResourceManagementClient } from '@azure/arm-resources';
import { DeploymentsClient } from '@azure/arm-resourcesdeployments';
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineRequest,
  type HttpHeaders,
  type PipelinePolicy,
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

  const send = async (req: RawRequest): Promise<CapturedResponse> => {
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
    const response = await resources.pipeline.sendRequest(httpClient, request);
    return { status: response.status, headers: headerRecord(response.headers), body: parseBody(response.bodyAsText) };
  };

  return { subscriptionId: options.subscriptionId, endpoint, resources, deployments, send };
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
