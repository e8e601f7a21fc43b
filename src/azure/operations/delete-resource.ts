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
    const already = exec.trace.response?.status === 204 ? ' (it did not exist)' : '';
    return exec.succeeded(`Deleted ${op.resourceId}${already}.`);
  } catch (e) {
    return exec.failed(e);
  }
}
