/** deleteResource by id with the provider's api-version; asynchronous providers are polled until done. */
import type { ExecutionHooks } from '../../app/ports';
import type { ExecutionOutcome } from '../../domain/operation';
import { sdkPath } from '../resource-ids';
import { Execution, type ChangeOf, type GatewayContext } from './context';
import { acceptAndWait, restoreResourcesPoller } from './lro';

export async function deleteResource(
  op: ChangeOf<'deleteResource'>,
  hooks: ExecutionHooks,
  ctx: GatewayContext,
): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [op.resourceId], ctx);
  try {
    const resources = ctx.clients.resources.resources;
    const poller = resources.deleteById(sdkPath(op.resourceId), op.apiVersion, exec.trace.options());
    const { progress } = await acceptAndWait(exec, poller, undefined, restoreResourcesPoller(exec, ctx, resources.deleteById));
    await progress.finish({ state: 'Succeeded' });
    // 204: nothing to delete. The check right before execution found it, so an earlier attempt whose
    // answer was lost (the SDK retries a 500) deleted it, or someone else did since.
    const already = exec.trace.response?.status === 204 ? ' (Azure found nothing left to delete: an earlier attempt whose answer was lost deleted it, or someone else did since the check before execution)' : '';
    return exec.succeeded(`Deleted ${op.resourceId}${already}.`);
  } catch (e) {
    return exec.failed(e);
  }
}
