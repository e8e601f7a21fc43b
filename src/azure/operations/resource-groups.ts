/**
 * createResourceGroup: one PUT (ARM answers at once: 201 created, 200 updated).
 * deleteResourceGroup: DELETE, then poll the Location ARM returns until the group and everything in it is gone.
 */
import { isNotFound } from '../errors';
import type { ExecutionHooks } from '../../app/ports';
import type { ExecutionOutcome } from '../../domain/operation';
import { resourceGroupId } from '../resource-ids';
import { Execution, type ChangeOf, type GatewayContext } from './context';
import { acceptAndWait, restoreResourcesPoller } from './lro';

export async function createResourceGroup(
  op: ChangeOf<'createResourceGroup'>,
  hooks: ExecutionHooks,
  ctx: GatewayContext,
): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [resourceGroupId(op.subscriptionId, op.resourceGroup)], ctx);
  try {
    const group = await ctx.clients.resources.resourceGroups.createOrUpdate(
      op.resourceGroup,
      { location: op.location, tags: op.tags },
      exec.trace.options(),
    );
    await exec.started(exec.trace.ref([group.id ?? exec.resourceIds[0]]));
    const verb = exec.trace.response?.status === 200 ? 'updated (it already existed; its tags were replaced)' : 'created';
    return exec.succeeded(`Resource group ${op.resourceGroup} ${verb} in ${group.location ?? op.location}.`);
  } catch (e) {
    return exec.failed(e);
  }
}

export async function deleteResourceGroup(
  op: ChangeOf<'deleteResourceGroup'>,
  hooks: ExecutionHooks,
  ctx: GatewayContext,
): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [resourceGroupId(op.subscriptionId, op.resourceGroup)], ctx);
  try {
    const groups = ctx.clients.resources.resourceGroups;
    const poller = groups.delete(op.resourceGroup, exec.trace.options());
    const { progress } = await acceptAndWait(exec, poller, undefined, restoreResourcesPoller(exec, ctx, groups.delete));
    await progress.finish({ state: 'Succeeded' });
    return exec.succeeded(`Resource group ${op.resourceGroup} and everything in it deleted.`);
  } catch (e) {
    // Not found: what the delete is for holds. The check right before execution found the group, so
    // the SDK's retry of a DELETE whose first answer was lost (a 500 after Azure had deleted it) met
    // its own work, or someone deleted it meanwhile; either way it is gone, not failed.
    if (isNotFound(e)) {
      return exec.succeeded(`Resource group ${op.resourceGroup} is gone: Azure answered that it does not exist (an earlier attempt whose answer was lost deleted it, or someone else did since the check before execution).`);
    }
    return exec.failed(e);
  }
}
