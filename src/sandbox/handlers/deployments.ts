/**
 * Deployments at resource-group scope: PUT (201 + Azure-AsyncOperation, then Running → Succeeded,
 * Failed or Canceled), GET, HEAD, list, cancel, validate, what-if (202 + Location, then the result),
 * and the deployment operations that show progress.
 */
import { randomUUID } from 'node:crypto';
import type { Route, SandboxContext } from '../context';
import { runDeployment } from '../deployment-runner';
import { ArmHttpError, armErrors, isRecord, json, objectBody, type SandboxRequest, type SandboxResponse } from '../http';
import type { StoredDeployment, StoredDeploymentOperation, StoredResourceGroup } from '../state';
import { planDeployment, type TemplatePlan } from '../template/plan';
import { computeWhatIf } from '../what-if';
import { acceptedWithLocation, deploymentStatusDocument, retryAfter, startOperation } from './async-operations';
import { page } from './listing';

const RG = String.raw`^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)`;
const DEPLOYMENTS = String.raw`${RG}\/providers\/Microsoft\.Resources\/deployments`;

function deploymentScope(req: SandboxRequest): string {
  return req.path.replace(/(\/deployments\/[^/]+).*$/i, '$1');
}

function deploymentBody(d: StoredDeployment): Record<string, unknown> {
  const end = d.endTime ? Date.parse(d.endTime) : Date.now();
  return {
    id: d.id,
    name: d.name,
    type: 'Microsoft.Resources/deployments',
    properties: {
      provisioningState: d.provisioningState,
      correlationId: d.correlationId,
      timestamp: d.endTime ?? d.timestamp,
      duration: isoDuration(end - Date.parse(d.timestamp)),
      mode: d.mode,
      parameters: d.parameters,
      templateHash: d.templateHash,
      ...(d.outputs ? { outputs: d.outputs } : {}),
      outputResources: d.outputResources.map((id) => ({ id })),
      ...(d.error ? { error: d.error } : {}),
      dependencies: [],
      providers: [],
    },
  };
}

function operationBody(d: StoredDeployment, op: StoredDeploymentOperation): Record<string, unknown> {
  return {
    id: `${d.id}/operations/${op.operationId}`,
    operationId: op.operationId,
    properties: {
      provisioningOperation: op.provisioningOperation,
      provisioningState: op.provisioningState,
      timestamp: op.timestamp,
      duration: isoDuration(op.durationMs),
      serviceRequestId: op.operationId.toLowerCase(),
      ...(op.statusCode ? { statusCode: op.statusCode } : {}),
      ...(op.statusMessage ? { statusMessage: op.statusMessage } : {}),
      targetResource: op.targetResource,
    },
  };
}

function isoDuration(ms: number): string {
  return `PT${(Math.max(ms, 0) / 1000).toFixed(3)}S`;
}

function requireDeployment(ctx: SandboxContext, resourceGroup: string, name: string): StoredDeployment {
  ctx.state.requireGroup(resourceGroup);
  const d = ctx.state.liveDeployment(resourceGroup, name);
  if (!d) throw armErrors.deploymentNotFound(name);
  return d;
}

/** Validates a deployment request and plans it; shared by PUT, validate and what-if. */
function prepare(req: SandboxRequest, ctx: SandboxContext, group: StoredResourceGroup): { plan: TemplatePlan; mode: 'Incremental' | 'Complete'; parameters: Record<string, { value: unknown }> } {
  const body = objectBody(req);
  const props = isRecord(body.properties) ? body.properties : undefined;
  if (!props) throw armErrors.badRequest('InvalidRequestContent', "The request content must have a 'properties' object.");
  if ('templateLink' in props) throw armErrors.badRequest('InvalidTemplate', 'The ARM sandbox accepts templates by value only (templateLink is not supported).');
  const mode = props.mode;
  if (mode !== 'Incremental' && mode !== 'Complete') {
    throw armErrors.badRequest('InvalidDeploymentMode', `The deployment mode '${String(mode)}' is not valid. Allowed values are 'Incremental' and 'Complete'.`);
  }
  const scope = {
    subscriptionId: ctx.state.subscriptionId,
    tenantId: ctx.state.tenantId,
    resourceGroup: { id: group.id, name: group.name, location: group.location, tags: group.tags },
  };
  const plan = planDeployment(props.template, props.parameters, scope);
  for (const r of plan.resources) {
    // ARM checks, before accepting a deployment, that the caller may write every resource in it.
    if (ctx.faults.deniedAction(`${r.type}/write`, r.id)) throw armErrors.authorizationFailed(ctx.principalId, `${r.type}/write`, r.id);
  }
  const parameters = (isRecord(props.parameters) ? props.parameters : {}) as Record<string, { value: unknown }>;
  return { plan, mode, parameters };
}

function put(req: SandboxRequest, ctx: SandboxContext, rg: string, name: string): SandboxResponse {
  const group = ctx.state.requireGroup(rg);
  if (group.provisioningState === 'Deleting') {
    throw armErrors.conflict('ResourceGroupBeingDeleted', `The resource group '${group.name}' is in deprovisioning state and cannot perform this operation.`);
  }
  const existing = ctx.state.liveDeployment(rg, name);
  if (existing && (existing.provisioningState === 'Accepted' || existing.provisioningState === 'Running')) {
    throw armErrors.conflict(
      'DeploymentActive',
      `Unable to edit or replace deployment '${name}': previous deployment from '${existing.timestamp}' is still active. Please see https://aka.ms/arm-deploy for usage details.`,
    );
  }
  const { plan, mode, parameters } = prepare(req, ctx, group);
  const dep: StoredDeployment = {
    id: `${group.id}/providers/Microsoft.Resources/deployments/${name}`,
    name,
    resourceGroup: group.name,
    provisioningState: 'Accepted',
    asyncOperationId: randomUUID().replace(/-/g, ''),
    correlationId: req.correlationId,
    mode,
    timestamp: new Date().toISOString(),
    parameters,
    templateHash: plan.templateHash,
    outputResources: [],
    operations: [],
    cancelRequested: false,
  };
  ctx.state.saveDeployment(dep);
  const failure = ctx.faults.takeDeploymentFailure(name);
  const stepMs = ctx.faults.takeSlowdown(name) ?? ctx.timing.deploymentStepMs;
  ctx.later(0, () => runDeployment(ctx, dep, { plan, stepMs, ...(failure ? { failure } : {}) }));
  const status = `${req.baseUrl}${req.path}/operationStatuses/${dep.asyncOperationId}?api-version=${req.query.get('api-version')}`;
  return json(existing ? 200 : 201, deploymentBody(dep), { 'Azure-AsyncOperation': status, ...retryAfter(ctx) });
}

function cancel(ctx: SandboxContext, rg: string, name: string): SandboxResponse {
  const d = requireDeployment(ctx, rg, name);
  if (d.provisioningState !== 'Accepted' && d.provisioningState !== 'Running') {
    throw armErrors.conflict('DeploymentCannotBeCancelled', `The deployment '${name}' cannot be cancelled because it is in '${d.provisioningState}' state.`);
  }
  d.cancelRequested = true;
  return { status: 204 };
}

function validate(req: SandboxRequest, ctx: SandboxContext, rg: string, name: string): SandboxResponse {
  const group = ctx.state.requireGroup(rg);
  const { plan, mode, parameters } = prepare(req, ctx, group);
  return json(200, {
    id: `${group.id}/providers/Microsoft.Resources/deployments/${name}`,
    name,
    type: 'Microsoft.Resources/deployments',
    properties: {
      provisioningState: 'Succeeded',
      mode,
      parameters,
      templateHash: plan.templateHash,
      validatedResources: plan.resources.map((r) => ({ id: r.id })),
    },
  });
}

function whatIf(req: SandboxRequest, ctx: SandboxContext, rg: string): SandboxResponse {
  const group = ctx.state.requireGroup(rg);
  const { plan, mode } = prepare(req, ctx, group);
  // The comparison is made when the operation completes, against the group as it is then.
  const op = startOperation(ctx, ctx.timing.operationMs, () => ({
    status: 'Succeeded',
    properties: { changes: computeWhatIf(ctx.state, group.name, plan.resources, mode) },
  }));
  return acceptedWithLocation(req, ctx, op);
}

const verb: Record<string, string> = { GET: 'read', HEAD: 'read', PUT: 'write' };

export const deploymentRoutes: Route[] = [
  {
    methods: ['GET'],
    pattern: new RegExp(`${DEPLOYMENTS}$`, 'i'),
    authorize: (req) => ({ action: 'Microsoft.Resources/deployments/read', scope: req.path.replace(/\/providers\/.*$/i, '') }),
    handle: (req, m, ctx) => {
      ctx.state.requireGroup(m[2]);
      const all = ctx.state.liveDeployments(m[2]).sort((a, b) => b.timestamp.localeCompare(a.timestamp));
      return json(200, page(req, ctx, all.map(deploymentBody)));
    },
  },
  {
    methods: ['GET', 'HEAD', 'PUT'],
    pattern: new RegExp(`${DEPLOYMENTS}\\/([^/]+)$`, 'i'),
    authorize: (req) => ({ action: `Microsoft.Resources/deployments/${verb[req.method]}`, scope: req.path }),
    handle: (req, m, ctx) => {
      if (req.method === 'PUT') return put(req, ctx, m[2], m[3]);
      if (req.method === 'HEAD') {
        ctx.state.requireGroup(m[2]);
        return { status: ctx.state.liveDeployment(m[2], m[3]) ? 204 : 404 };
      }
      return json(200, deploymentBody(requireDeployment(ctx, m[2], m[3])));
    },
  },
  {
    methods: ['POST'],
    pattern: new RegExp(`${DEPLOYMENTS}\\/([^/]+)\\/(cancel|validate|whatIf)$`, 'i'),
    authorize: (req, m) => ({ action: `Microsoft.Resources/deployments/${{ cancel: 'cancel', validate: 'validate', whatif: 'whatIf' }[m[4].toLowerCase()]}/action`, scope: deploymentScope(req) }),
    handle: (req, m, ctx) => {
      const action = m[4].toLowerCase();
      if (action === 'cancel') return cancel(ctx, m[2], m[3]);
      if (action === 'validate') return validate(req, ctx, m[2], m[3]);
      return whatIf(req, ctx, m[2]);
    },
  },
  {
    methods: ['GET'],
    pattern: new RegExp(`${DEPLOYMENTS}\\/([^/]+)\\/operationStatuses\\/([^/]+)$`, 'i'),
    authorize: (req) => ({ action: 'Microsoft.Resources/deployments/operationstatuses/read', scope: req.path }),
    handle: (_req, m, ctx) => {
      const d = requireDeployment(ctx, m[2], m[3]);
      if (d.asyncOperationId !== m[4]) throw new ArmHttpError(404, { code: 'OperationNotFound', message: `The operation '${m[4]}' could not be found.` });
      const running = d.provisioningState === 'Accepted' || d.provisioningState === 'Running';
      return json(200, deploymentStatusDocument(d.provisioningState, d.error), running ? retryAfter(ctx) : {});
    },
  },
  {
    methods: ['GET'],
    pattern: new RegExp(`${RG}\\/(?:providers\\/Microsoft\\.Resources\\/)?deployments\\/([^/]+)\\/operations(?:\\/([^/]+))?$`, 'i'),
    authorize: (req) => ({ action: 'Microsoft.Resources/deployments/operations/read', scope: deploymentScope(req) }),
    handle: (req, m, ctx) => {
      const d = requireDeployment(ctx, m[2], m[3]);
      if (m[4]) {
        const op = d.operations.find((o) => o.operationId === m[4]);
        if (!op) throw new ArmHttpError(404, { code: 'DeploymentOperationNotFound', message: `Deployment operation '${m[4]}' could not be found.` });
        return json(200, operationBody(d, op));
      }
      return json(200, page(req, ctx, d.operations.map((op) => operationBody(d, op))));
    },
  },
];
