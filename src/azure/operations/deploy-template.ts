/**
 * deployTemplate: PUT the deployment (ARM answers 201 + Azure-AsyncOperation), hand the poller's state to
 * onStarted, then poll; while it runs, report done/total from the deployment operations. A failed
 * deployment is read back so the outcome carries ARM's error with its details, not just the poller's
 * one-line message.
 *
 * If ARM answered the PUT with a 5xx, the SDK retried it, and the retry met our own deployment already
 * running (409 DeploymentActive with our correlation id), the deployment is adopted and followed instead
 * of being reported as a conflict.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { restorePoller, type DeploymentExtended } from '@azure/arm-resourcesdeployments';
import { isRestError } from '@azure/core-rest-pipeline';
import type { ExecutionHooks } from '../../app/ports';
import { shownOutputs } from '../../domain/deployment-outputs';
import type { ArmOperationRef, ExecutionOutcome, OperationProgress } from '../../domain/operation';
import { ArmRequestError, fromBody, isNotFound, toArmError } from '../errors';
import { ProgressReporter } from '../progress';
import { deploymentId, resourceGroupId } from '../resource-ids';
import { Execution, withCorrelation, type ChangeOf, type GatewayContext } from './context';
import { acceptAndWait, waitFor, type RestorePoller } from './lro';
import { readThrough } from './status-reads';

type DeployOp = ChangeOf<'deployTemplate'>;

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

export async function deployTemplate(op: DeployOp, hooks: ExecutionHooks, ctx: GatewayContext): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [deploymentId(op.subscriptionId, op.resourceGroup, op.deploymentName)], ctx);
  const api = ctx.clients.deployments;
  const readProgress = () => deploymentProgress(ctx, op);
  try {
    const poller = api.deployments.createOrUpdate(
      op.resourceGroup,
      op.deploymentName,
      { properties: { mode: op.mode, template: op.template, parameters: wrapParameters(op.parameters) } },
      exec.trace.options(),
    );
    try {
      const { result, progress } = await acceptAndWait(exec, poller, readProgress, restoreDeployment(exec, ctx));
      return await conclude(exec, ctx, op, result, progress);
    } catch (e) {
      if (!(await isOurActiveDeployment(e, ctx, op, exec.trace.correlationId))) throw e;
      const { deployment, progress } = await adopt(exec, ctx, op, readProgress);
      return await conclude(exec, ctx, op, deployment, progress);
    }
  } catch (e) {
    return afterPollerFailure(exec, ctx, op, e);
  }
}

/** The deployment's SDK poller, built again from a recorded state. */
function restoreDeployment(exec: Execution, ctx: GatewayContext): RestorePoller<DeploymentExtended> {
  const api = ctx.clients.deployments;
  const signal = exec.hooks.signal;
  return (state) =>
    restorePoller(api, state, api.deployments.createOrUpdate, {
      updateIntervalInMs: ctx.pollIntervalMs,
      ...(signal ? { abortSignal: signal } : {}),
    });
}

/**
 * Follows a deployment an earlier run started: the SDK poller restored from its recorded state, or, when
 * none was recorded (the run died before ARM's answer was saved), the deployment itself, found by name and
 * recognised by the correlation id recorded with the claim. A deployment ARM never received is started,
 * unless ARM `answered` its PUT (an answer that could not be read): then one not found is unknown.
 */
export async function resumeDeployment(op: DeployOp, ref: ArmOperationRef, hooks: ExecutionHooks, ctx: GatewayContext, answered = false): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [deploymentId(op.subscriptionId, op.resourceGroup, op.deploymentName)], ctx, ref);
  const api = ctx.clients.deployments;
  const readProgress = () => deploymentProgress(ctx, op);
  try {
    if (ref.resumeState) {
      const restore = restoreDeployment(exec, ctx);
      try {
        const { result, progress } = await waitFor(exec, restore(ref.resumeState), readProgress, restore);
        return await conclude(exec, ctx, op, result, progress);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        // ARM no longer knows the operation status: the deployment record says how it went.
      }
    }
    const existing = await readThrough(exec.statusReads(`deployment ${op.deploymentName}`), () =>
      api.deployments.get(op.resourceGroup, op.deploymentName).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      }),
    );
    if (!existing) {
      if (answered || ref.resumeState || ref.pollUrl) {
        return exec.unknown('DeploymentNotFound', `Deployment ${op.deploymentName} was accepted by Azure but is no longer found in ${op.resourceGroup}; its outcome cannot be known.`);
      }
      return exec.sendFirst(() => deployTemplate(op, withCorrelation(hooks, exec.trace.correlationId), ctx));
    }
    if (ref.correlationId && existing.properties?.correlationId !== ref.correlationId) {
      return exec.unknown(
        'DeploymentNotOurs',
        `A deployment named ${op.deploymentName} exists in ${op.resourceGroup} but was not started by this request (correlation id ${existing.properties?.correlationId ?? 'none'}); whether this request's deployment ran cannot be known.`,
      );
    }
    const { deployment, progress } = await adopt(exec, ctx, op, readProgress);
    return await conclude(exec, ctx, op, deployment, progress);
  } catch (e) {
    return afterPollerFailure(exec, ctx, op, e);
  }
}

/** Asks ARM to stop a running deployment; ARM's refusal (it already ended) comes back in words. */
export async function cancelDeployment(op: DeployOp, ctx: GatewayContext): Promise<void> {
  try {
    await ctx.clients.deployments.deployments.cancel(op.resourceGroup, op.deploymentName);
  } catch (e) {
    throw new ArmRequestError(toArmError(e));
  }
}

async function conclude(exec: Execution, ctx: GatewayContext, op: DeployOp, deployment: DeploymentExtended, progress: ProgressReporter): Promise<ExecutionOutcome> {
  const outcome = await finished(exec, ctx, op, deployment);
  if (outcome.status !== 'succeeded') {
    await progress.settle();
    return outcome;
  }
  // Failing to read the last counts is no reason to doubt a deployment ARM reported Succeeded.
  const last = await deploymentProgress(ctx, op).catch(() => undefined);
  // Resources skipped by a false condition never get an operation: everything that ran is the total.
  await progress.finish(last ? { state: 'Succeeded', done: last.done, total: last.done } : { state: 'Succeeded' });
  return outcome;
}

async function afterPollerFailure(exec: Execution, ctx: GatewayContext, op: DeployOp, e: unknown): Promise<ExecutionOutcome> {
  if (!isPollerFailure(e)) return exec.failed(e);
  // The poller reports a failed deployment as a one-line Error: read the deployment for ARM's details.
  const deployment = await ctx.clients.deployments.deployments.get(op.resourceGroup, op.deploymentName).catch(() => undefined);
  if (!TERMINAL.has((deployment?.properties?.provisioningState ?? '').toLowerCase())) return exec.failed(e);
  return finished(exec, ctx, op, deployment as DeploymentExtended);
}

/** The SDK poller's own errors for an operation ARM reported Failed or Canceled. */
function isPollerFailure(e: unknown): boolean {
  return (
    e instanceof Error &&
    !isRestError(e) &&
    (e.message.startsWith('The long-running operation has failed') || e.message === 'Operation was canceled')
  );
}

/** Outcome from a finished deployment as ARM describes it. */
async function finished(exec: Execution, ctx: GatewayContext, op: DeployOp, d: DeploymentExtended): Promise<ExecutionOutcome> {
  const props = d.properties;
  const state = props?.provisioningState ?? 'Unknown';
  if (state === 'Succeeded') {
    const resources = (props?.outputResources ?? []).map((r) => r.id).filter((x): x is string => !!x);
    // Outputs that look secret are dropped here, before anything keeps or shows them (domain/deployment-outputs.ts).
    const { outputs, withheld } = shownOutputs((props?.outputs ?? {}) as Record<string, { type?: unknown; value?: unknown }>);
    return exec.succeeded(`Deployment ${op.deploymentName} succeeded in ${op.resourceGroup}: ${resources.length} resource(s) deployed.`, {
      outputs,
      withheldOutputs: withheld,
      resourceIds: [...exec.resourceIds, ...resources],
    });
  }
  const error = props?.error
    ? fromBody(props.error, undefined)
    : { code: `Deployment${state}`, message: `Deployment ${op.deploymentName} ended ${state} in ${op.resourceGroup}.` };
  return exec.failed(new ArmRequestError(state === 'Canceled' ? { ...error, code: 'DeploymentCanceled' } : error));
}

/** ARM wants `{ name: { value } }`. */
export function wrapParameters(parameters: Record<string, unknown>): Record<string, { value: unknown }> {
  return Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, { value: v }]));
}

async function deploymentProgress(ctx: GatewayContext, op: DeployOp): Promise<OperationProgress> {
  let total = 0;
  let done = 0;
  let failed = 0;
  for await (const o of ctx.clients.deployments.deploymentOperations.list(op.resourceGroup, op.deploymentName)) {
    if (!o.properties?.targetResource) continue; // ARM's own steps, such as evaluating outputs
    total++;
    const s = (o.properties.provisioningState ?? '').toLowerCase();
    if (TERMINAL.has(s)) done++;
    if (s === 'failed') failed++;
  }
  const declared = Array.isArray(op.template.resources) ? op.template.resources.length : 0;
  return { state: failed ? 'Failing' : 'Running', done, total: Math.max(total, declared) };
}

async function isOurActiveDeployment(e: unknown, ctx: GatewayContext, op: DeployOp, correlationId: string): Promise<boolean> {
  if (!isRestError(e) || e.statusCode !== 409 || e.code !== 'DeploymentActive') return false;
  const existing = await ctx.clients.deployments.deployments.get(op.resourceGroup, op.deploymentName).catch(() => undefined);
  return existing?.properties?.correlationId === correlationId;
}

/** Follows a deployment we started but whose acceptance we never saw, by reading it until it ends. */
async function adopt(
  exec: Execution,
  ctx: GatewayContext,
  op: DeployOp,
  readProgress: () => Promise<OperationProgress>,
): Promise<{ deployment: DeploymentExtended; progress: ProgressReporter }> {
  const url = `${ctx.clients.endpoint}${resourceGroupId(op.subscriptionId, op.resourceGroup)}/providers/Microsoft.Resources/deployments/${op.deploymentName}`;
  await exec.started(exec.trace.ref(exec.resourceIds, { pollUrl: url }));
  const progress = new ProgressReporter(exec.hooks, readProgress);
  const signal = exec.hooks.signal;
  const reads = exec.statusReads(`deployment ${op.deploymentName}`);
  for (;;) {
    const d = await readThrough(reads, () => ctx.clients.deployments.deployments.get(op.resourceGroup, op.deploymentName, signal ? { abortSignal: signal } : {}));
    if (TERMINAL.has((d.properties?.provisioningState ?? '').toLowerCase())) return { deployment: d, progress };
    progress.kick();
    await sleep(ctx.pollIntervalMs, undefined, signal ? { signal } : {});
  }
}
