/**
 * Resuming an operation an earlier run of Countersign started and did not see to its end (it died, or
 * stopped). With an ARM operation to follow (the SDK poller's recorded state, or the async-operation
 * URL), the same operation is polled again. Without one, the run died between sending the operation
 * and saving ARM's answer, and the target's state decides: done already, still going (wait for it), or
 * untouched; only then, and only for idempotent writes, is the operation sent, for what is effectively
 * the first time. Where the state cannot tell, the outcome is unknown, never success.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { restorePoller } from '@azure/arm-resources';
import type { ExecutionHooks } from '../../app/ports';
import type { ArmOperationRef, ChangeOperation, ExecutionOutcome } from '../../domain/operation';
import { ArmRequestError, isNotFound, isUnreadableAnswer } from '../errors';
import { resourceGroupId, sdkPath } from '../resource-ids';
import { Execution, withCorrelation, type ChangeOf, type GatewayContext } from './context';
import { deleteResource } from './delete-resource';
import { resumeDeployment } from './deploy-template';
import { restoreResourcesPoller, waitFor, type Poller } from './lro';
import { readThrough } from './status-reads';
import { resumeAction } from './resource-action';
import { createResourceGroup, deleteResourceGroup } from './resource-groups';
import { scaleResource } from './scale-resource';
import { sameTags, setTags, tagsApplied } from './set-tags';

/**
 * `answered`: ARM answered the operation but the answer could not be read (reconcileUnreadable), so
 * it may have been accepted, and is never sent again.
 */
export function resumeOperation(op: ChangeOperation, ref: ArmOperationRef, hooks: ExecutionHooks, ctx: GatewayContext, answered = false): Promise<ExecutionOutcome> {
  const resumed = withCorrelation(hooks, hooks.correlationId ?? ref.correlationId);
  const accepted = answered || wasAccepted(ref);
  switch (op.kind) {
    case 'deployTemplate':
      return resumeDeployment(op, ref, resumed, ctx, answered);
    case 'resourceAction':
      return resumeAction(op, ref, resumed, ctx);
    case 'deleteResourceGroup':
      return resumeGroupDelete(op, ref, resumed, ctx, accepted);
    case 'deleteResource':
      return resumeResourceDelete(op, ref, resumed, ctx, accepted);
    case 'scaleResource':
      return resumeScale(op, ref, resumed, ctx, accepted);
    case 'setTags':
      return resumeTags(op, ref, resumed, ctx, accepted);
    case 'createResourceGroup':
      return resumeGroupCreate(op, ref, resumed, ctx, accepted);
  }
}

/**
 * An outcome that is unknown only because ARM's answer could not be read (a 2xx whose body was cut
 * short, a body that broke off): ARM may have carried the operation out, so it is not a failure, and
 * the target's state decides, as when an execution is resumed without ARM's answer: done (succeeded),
 * still going (followed to its end: a deployment found by name and correlation id), or not as asked
 * (unknown). The operation is never sent again. An action leaves no state to read: it stays unknown.
 */
export async function reconcileUnreadable(op: ChangeOperation, outcome: ExecutionOutcome, hooks: ExecutionHooks, ctx: GatewayContext): Promise<ExecutionOutcome> {
  if (outcome.status !== 'unknown' || !isUnreadableAnswer(outcome.error) || op.kind === 'resourceAction') return outcome;
  const unread = `${outcome.error.code}${outcome.error.httpStatus !== undefined ? ` (HTTP ${outcome.error.httpStatus})` : ''}: ${outcome.error.message}`;
  const reconciled = await resumeOperation(op, outcome.ref, hooks, ctx, true);
  if (reconciled.status === 'succeeded') {
    return { ...reconciled, summary: `${reconciled.summary ?? ''} Azure's answer to the request could not be read, so this was read back from Azure.`.trim() };
  }
  const error = { ...reconciled.error, details: [...(reconciled.error.details ?? []), `Azure's answer to the request could not be read: ${unread}`] };
  // A read of the target that ARM answered with an error (a 403, a 404) says nothing about how the
  // operation ended; only the operation's own ending (a deployment that failed) makes it failed.
  const readRefused = reconciled.status === 'failed' && reconciled.error.httpStatus !== undefined;
  return { status: readRefused ? 'unknown' : reconciled.status, ref: reconciled.ref, error };
}

/** True when ARM had accepted the operation (an answer was recorded), so it must not be sent again. */
function wasAccepted(ref: ArmOperationRef): boolean {
  return !!(ref.resumeState || ref.pollUrl);
}

/** The recorded SDK poller state, when it still has an operation to poll. */
function pollerState(ref: ArmOperationRef): string | undefined {
  if (!ref.resumeState) return undefined;
  try {
    const parsed = JSON.parse(ref.resumeState) as { state?: { status?: string; config?: { operationLocation?: string } } };
    const status = parsed.state?.status ?? '';
    return parsed.state?.config?.operationLocation && !['succeeded', 'failed', 'canceled'].includes(status) ? ref.resumeState : undefined;
  } catch {
    return undefined;
  }
}

/** Polls the restored SDK poller to the end; undefined when ARM no longer knows the operation (404). */
async function followRestored<T>(exec: Execution, ctx: GatewayContext, state: string, source: (...args: never[]) => Poller<T>): Promise<{ result: T } | undefined> {
  const signal = exec.hooks.signal;
  const poller = restorePoller(ctx.clients.resources, state, source as never, {
    updateIntervalInMs: ctx.pollIntervalMs,
    ...(signal ? { abortSignal: signal } : {}),
  }) as unknown as Poller<T>;
  try {
    const { result, progress } = await waitFor(exec, poller, undefined, restoreResourcesPoller(exec, ctx, source));
    await progress.finish({ state: 'Succeeded' });
    return { result };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function readOrMissing<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Reads until `done` says the target settled, at the poll interval. */
async function waitUntil<T>(exec: Execution, ctx: GatewayContext, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const signal = exec.hooks.signal;
  const reads = exec.statusReads('the operation');
  for (;;) {
    const value = await readThrough(reads, read);
    if (done(value)) return value;
    await sleep(ctx.pollIntervalMs, undefined, signal ? { signal } : {});
  }
}

async function resumeGroupDelete(op: ChangeOf<'deleteResourceGroup'>, ref: ArmOperationRef, hooks: ExecutionHooks, ctx: GatewayContext, accepted: boolean): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [resourceGroupId(op.subscriptionId, op.resourceGroup)], ctx, ref);
  const groups = ctx.clients.resources.resourceGroups;
  const done = () => exec.succeeded(`Resource group ${op.resourceGroup} and everything in it deleted.`);
  try {
    const state = pollerState(ref);
    if (state && (await followRestored(exec, ctx, state, groups.delete))) return done();
    const read = () => readOrMissing(() => groups.get(op.resourceGroup));
    const group = await waitUntil(exec, ctx, read, (g) => g?.properties?.provisioningState !== 'Deleting');
    if (!group) return done();
    if (!accepted) return exec.sendFirst(() => deleteResourceGroup(op, hooks, ctx));
    return exec.unknown('DeleteOutcomeUnknown', `Azure accepted the deletion of ${op.resourceGroup}, but the group still exists and is not being deleted; Azure no longer reports how the deletion ended.`);
  } catch (e) {
    return exec.failed(e);
  }
}

async function resumeResourceDelete(op: ChangeOf<'deleteResource'>, ref: ArmOperationRef, hooks: ExecutionHooks, ctx: GatewayContext, accepted: boolean): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [op.resourceId], ctx, ref);
  const resources = ctx.clients.resources.resources;
  const done = () => exec.succeeded(`Deleted ${op.resourceId}.`);
  try {
    const state = pollerState(ref);
    if (state && (await followRestored(exec, ctx, state, resources.deleteById))) return done();
    const read = () => readOrMissing(() => resources.getById(sdkPath(op.resourceId), op.apiVersion));
    const resource = await waitUntil(exec, ctx, read, (r) => provisioningState(r) !== 'deleting');
    if (!resource) return done();
    if (!accepted) return exec.sendFirst(() => deleteResource(op, hooks, ctx));
    return exec.unknown('DeleteOutcomeUnknown', `Azure accepted the deletion of ${op.resourceId}, but it still exists and is not being deleted; Azure no longer reports how the deletion ended.`);
  } catch (e) {
    return exec.failed(e);
  }
}

async function resumeScale(op: ChangeOf<'scaleResource'>, ref: ArmOperationRef, hooks: ExecutionHooks, ctx: GatewayContext, accepted: boolean): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [op.resourceId], ctx, ref);
  const resources = ctx.clients.resources.resources;
  const scaled = (capacity: unknown) => exec.succeeded(`Scaled ${op.resourceId} to ${String(capacity ?? op.capacity)} instance(s).`);
  try {
    const state = pollerState(ref);
    if (state) {
      const followed = await followRestored(exec, ctx, state, resources.updateById);
      if (followed) return scaled(followed.result.sku?.capacity);
    }
    const read = () => readOrMissing(() => resources.getById(sdkPath(op.resourceId), op.apiVersion));
    const resource = await waitUntil(exec, ctx, read, (r) => !['updating', 'accepted'].includes(provisioningState(r)));
    if (resource?.sku?.capacity === op.capacity) return scaled(op.capacity);
    if (!resource) return exec.failed(notFound(op.resourceId));
    // Setting the capacity again only sets the approved value.
    if (!accepted) return exec.sendFirst(() => scaleResource(op, hooks, ctx));
    return exec.unknown('ScaleOutcomeUnknown', `Azure accepted the new capacity ${op.capacity} for ${op.resourceId}, but it now has ${String(resource.sku?.capacity ?? 'no')} capacity; how the change ended cannot be known.`);
  } catch (e) {
    return exec.failed(e);
  }
}

async function resumeTags(op: ChangeOf<'setTags'>, ref: ArmOperationRef, hooks: ExecutionHooks, ctx: GatewayContext, accepted: boolean): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [op.scope], ctx, ref);
  try {
    const current = (await ctx.clients.resources.tagsOperations.getAtScope(sdkPath(op.scope))).properties?.tags ?? {};
    if (tagsApplied(op, current)) {
      const listed = Object.entries(current).map(([k, v]) => `${k}=${v}`).join(', ') || '(none)';
      return exec.succeeded(`Tags ${op.operation.toLowerCase()}d on ${op.scope}; tags now: ${listed}.`);
    }
    if (!accepted) return exec.sendFirst(() => setTags(op, hooks, ctx));
    return exec.unknown('TagsChangedSince', `Azure accepted the tag change on ${op.scope}, but the tags there no longer show it (someone may have changed them since); how it ended cannot be known.`);
  } catch (e) {
    return exec.failed(e);
  }
}

async function resumeGroupCreate(op: ChangeOf<'createResourceGroup'>, ref: ArmOperationRef, hooks: ExecutionHooks, ctx: GatewayContext, accepted: boolean): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [resourceGroupId(op.subscriptionId, op.resourceGroup)], ctx, ref);
  try {
    const group = await readOrMissing(() => ctx.clients.resources.resourceGroups.get(op.resourceGroup));
    const same = (a: string) => a.replace(/\s+/g, '').toLowerCase();
    if (group && same(group.location ?? '') === same(op.location) && sameTags(group.tags ?? {}, op.tags)) {
      return exec.succeeded(`Resource group ${op.resourceGroup} created in ${group.location ?? op.location}.`);
    }
    if (!accepted) return exec.sendFirst(() => createResourceGroup(op, hooks, ctx));
    return exec.unknown('GroupChangedSince', `Azure accepted resource group ${op.resourceGroup}, but it is not as requested now (someone may have changed it since); how it ended cannot be known.`);
  } catch (e) {
    return exec.failed(e);
  }
}

function provisioningState(resource: { properties?: unknown } | undefined): string {
  const props = resource?.properties as { provisioningState?: unknown } | undefined;
  return typeof props?.provisioningState === 'string' ? props.provisioningState.toLowerCase() : '';
}

function notFound(resourceId: string): ArmRequestError {
  return new ArmRequestError({ code: 'ResourceNotFound', message: `The resource ${resourceId} no longer exists.`, httpStatus: 404 });
}
