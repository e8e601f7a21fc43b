/**
 * Runs an accepted deployment in the background: one deployment operation per planned resource, each
 * taking the configured step time, each PUT into the group as it completes, so a caller polling the
 * deployment operations sees progress. Complete mode then deletes what the template does not mention.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxContext } from './context';
import type { DeploymentFailureFault } from './faults';
import { ArmHttpError, type ArmErrorBody } from './http';
import { idKey } from './resource-ids';
import type { StoredDeployment, StoredDeploymentOperation } from './state';
import type { PlannedResource, TemplatePlan } from './template/plan';

export interface DeploymentRun {
  plan: TemplatePlan;
  stepMs: number;
  failure?: DeploymentFailureFault;
}

export async function runDeployment(ctx: SandboxContext, dep: StoredDeployment, run: DeploymentRun): Promise<void> {
  const started = Date.now();
  dep.provisioningState = 'Running';
  const failAt = failureIndex(run);
  for (const [i, resource] of run.plan.resources.entries()) {
    const op = begin(dep, 'Create', resource.id, resource.type, resource.name);
    await ctx.sleep(run.stepMs);
    if (dep.cancelRequested) return finishCanceled(dep, op, started);
    const error = i === failAt ? failureError(run.failure, resource) : apply(ctx, dep, resource);
    op.durationMs = Date.now() - Date.parse(op.timestamp);
    if (error) {
      op.provisioningState = 'Failed';
      op.statusCode = 'BadRequest';
      op.statusMessage = { status: 'Failed', error };
      return finish(dep, 'Failed', started, deploymentFailed(dep, [error]));
    }
    op.provisioningState = 'Succeeded';
    op.statusCode = 'OK';
    dep.outputResources.push(resource.id);
  }
  if (dep.mode === 'Complete') {
    const kept = new Set(run.plan.resources.map((r) => idKey(r.id)));
    for (const r of ctx.state.liveResources(dep.resourceGroup).filter((x) => !kept.has(idKey(x.id)))) {
      const op = begin(dep, 'Delete', r.id, r.type, r.name);
      await ctx.sleep(run.stepMs);
      if (dep.cancelRequested) return finishCanceled(dep, op, started);
      ctx.state.deleteResource(r.id);
      op.provisioningState = 'Succeeded';
      op.statusCode = 'OK';
      op.durationMs = Date.now() - Date.parse(op.timestamp);
    }
  }
  dep.outputs = run.plan.outputs;
  finish(dep, 'Succeeded', started);
}

function failureIndex(run: DeploymentRun): number {
  if (!run.failure) return -1;
  const { resourceName } = run.failure;
  if (!resourceName) return run.plan.resources.length - 1;
  return run.plan.resources.findIndex((r) => r.name.toLowerCase() === resourceName.toLowerCase());
}

function failureError(fault: DeploymentFailureFault | undefined, resource: PlannedResource): ArmErrorBody {
  return (
    fault?.error ?? {
      code: 'BadRequest',
      message: `The ARM sandbox was told to fail the deployment of ${resource.type} '${resource.name}'.`,
    }
  );
}

function apply(ctx: SandboxContext, dep: StoredDeployment, r: PlannedResource): ArmErrorBody | undefined {
  try {
    ctx.state.putResource(dep.resourceGroup, r);
    return undefined;
  } catch (e) {
    if (e instanceof ArmHttpError) return e.error;
    throw e;
  }
}

function begin(dep: StoredDeployment, kind: 'Create' | 'Delete', id: string, type: string, name: string): StoredDeploymentOperation {
  const op: StoredDeploymentOperation = {
    operationId: randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(),
    provisioningOperation: kind,
    provisioningState: 'Running',
    timestamp: new Date().toISOString(),
    durationMs: 0,
    targetResource: { id, resourceType: type, resourceName: name },
  };
  dep.operations.push(op);
  return op;
}

function deploymentFailed(dep: StoredDeployment, details: ArmErrorBody[]): ArmErrorBody {
  return {
    code: 'DeploymentFailed',
    target: dep.id,
    message:
      'At least one resource deployment operation failed. Please list deployment operations for details. ' +
      'Please see https://aka.ms/arm-deployment-operations for usage details.',
    details,
  };
}

function finishCanceled(dep: StoredDeployment, op: StoredDeploymentOperation, started: number): void {
  op.provisioningState = 'Canceled';
  finish(dep, 'Canceled', started);
}

function finish(dep: StoredDeployment, state: 'Succeeded' | 'Failed' | 'Canceled', started: number, error?: ArmErrorBody): void {
  dep.provisioningState = state;
  dep.endTime = new Date(Math.max(Date.now(), started)).toISOString();
  if (error) dep.error = error;
}
