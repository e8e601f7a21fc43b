/**
 * The ARM long-running-operation protocol: an accepted request answers 201/202 with Azure-AsyncOperation
 * (a status document: InProgress, Succeeded, Failed, Canceled) and/or Location (202 while running, then
 * the final answer). Polling URLs mirror Azure's:
 *  - /subscriptions/{s}/operationresults/{id}                                  (group deletes, what-if)
 *  - /subscriptions/{s}/providers/{ns}/locations/{loc}/operations/{id}         (provider operations)
 *  - .../providers/Microsoft.Resources/deployments/{name}/operationStatuses/{id} (deployments)
 */
import { randomUUID } from 'node:crypto';
import type { Route, SandboxContext } from '../context';
import { ArmHttpError, json, type ArmErrorBody, type SandboxRequest, type SandboxResponse } from '../http';
import type { AsyncOperation } from '../state';

/** Starts an operation that runs `work` after `durationMs`; a thrown ArmHttpError makes it fail. */
export function startOperation(ctx: SandboxContext, durationMs: number, work: () => unknown): AsyncOperation {
  const op: AsyncOperation = { id: randomUUID(), status: 'InProgress', startTime: new Date().toISOString() };
  ctx.state.operations.set(op.id, op);
  ctx.later(durationMs, () => {
    try {
      const result = work();
      if (result !== undefined) op.result = result;
      op.status = 'Succeeded';
    } catch (e) {
      if (!(e instanceof ArmHttpError)) throw e;
      op.status = 'Failed';
      op.error = e.error;
      op.errorStatus = e.status;
    }
    op.endTime = new Date().toISOString();
  });
  return op;
}

export function retryAfter(ctx: SandboxContext): Record<string, string> {
  return ctx.timing.retryAfterSeconds > 0 ? { 'Retry-After': String(ctx.timing.retryAfterSeconds) } : {};
}

function apiVersionOf(req: SandboxRequest): string {
  return req.query.get('api-version') ?? '2025-04-01';
}

/** 202 Accepted with a Location to poll (what ARM does for resource group deletes and what-if). */
export function acceptedWithLocation(req: SandboxRequest, ctx: SandboxContext, op: AsyncOperation): SandboxResponse {
  const location = `${req.baseUrl}/subscriptions/${ctx.state.subscriptionId}/operationresults/${op.id}?api-version=${apiVersionOf(req)}`;
  return { status: 202, headers: { Location: location, ...retryAfter(ctx) } };
}

/**
 * 202 Accepted with Azure-AsyncOperation and Location, as resource providers (Microsoft.Compute) answer
 * deletes and actions; an update (PATCH) gets Azure-AsyncOperation only, its result being the resource.
 */
export function acceptedByProvider(
  req: SandboxRequest,
  ctx: SandboxContext,
  op: AsyncOperation,
  namespace: string,
  location: string,
): SandboxResponse {
  const base = `${req.baseUrl}/subscriptions/${ctx.state.subscriptionId}/providers/${namespace}/locations/${location.replace(/\s+/g, '').toLowerCase()}/operations/${op.id}`;
  const version = apiVersionOf(req);
  return {
    status: 202,
    headers: {
      'Azure-AsyncOperation': `${base}?api-version=${version}`,
      ...(req.method === 'PATCH' ? {} : { Location: `${base}?monitor=true&api-version=${version}` }),
      ...retryAfter(ctx),
    },
  };
}

function statusDocument(op: AsyncOperation): Record<string, unknown> {
  return {
    id: op.id,
    name: op.id,
    status: op.status,
    startTime: op.startTime,
    ...(op.endTime ? { endTime: op.endTime } : {}),
    ...(op.error ? { error: op.error } : {}),
  };
}

/** A Location poll: 202 while running, then the outcome itself. */
function locationAnswer(req: SandboxRequest, ctx: SandboxContext, op: AsyncOperation): SandboxResponse {
  if (op.status === 'InProgress') {
    const self = `${req.baseUrl}${req.path}?${req.query.toString()}`;
    return { status: 202, headers: { Location: self, ...retryAfter(ctx) } };
  }
  if (op.status === 'Failed') {
    throw new ArmHttpError(op.errorStatus ?? 500, op.error ?? { code: 'OperationFailed', message: 'The operation failed.' });
  }
  return op.result === undefined ? { status: 200 } : json(200, op.result);
}

function requireOperation(ctx: SandboxContext, id: string): AsyncOperation {
  const op = ctx.state.operations.get(id);
  if (!op) throw new ArmHttpError(404, { code: 'OperationNotFound', message: `The operation '${id}' could not be found.` });
  return op;
}

export const operationRoutes: Route[] = [
  {
    methods: ['GET'],
    pattern: /^\/subscriptions\/([^/]+)\/operationresults\/([^/]+)$/i,
    authorize: (req) => ({ action: 'Microsoft.Resources/subscriptions/operationresults/read', scope: req.path }),
    handle: (req, m, ctx) => locationAnswer(req, ctx, requireOperation(ctx, m[2])),
  },
  {
    methods: ['GET'],
    pattern: /^\/subscriptions\/([^/]+)\/providers\/([^/]+)\/locations\/([^/]+)\/operations\/([^/]+)$/i,
    authorize: (req, m) => ({ action: `${m[2]}/locations/operations/read`, scope: req.path }),
    handle: (req, m, ctx) => {
      const op = requireOperation(ctx, m[4]);
      if (req.query.get('monitor') === 'true') return locationAnswer(req, ctx, op);
      return json(200, statusDocument(op), op.status === 'InProgress' ? retryAfter(ctx) : {});
    },
  },
];

/** The status document of a deployment's Azure-AsyncOperation URL. */
export function deploymentStatusDocument(status: string, error: ArmErrorBody | undefined): Record<string, unknown> {
  const mapped = status === 'Accepted' ? 'Running' : status;
  return { status: mapped, ...(error ? { error } : {}) };
}
