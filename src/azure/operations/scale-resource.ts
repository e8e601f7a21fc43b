/**
 * scaleResource: read the resource's sku, then PATCH it with the new capacity. The whole sku is sent
 * because providers (App Service plans among them) reject a sku without its name.
 */
import type { ExecutionHooks } from '../../app/ports';
import type { ExecutionOutcome } from '../../domain/operation';
import { sdkPath } from '../resource-ids';
import { Execution, type ChangeOf, type GatewayContext } from './context';
import { acceptAndWait, restoreResourcesPoller } from './lro';

export async function scaleResource(
  op: ChangeOf<'scaleResource'>,
  hooks: ExecutionHooks,
  ctx: GatewayContext,
): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [op.resourceId], ctx);
  const { resources } = ctx.clients.resources;
  let current: Awaited<ReturnType<typeof resources.getById>>;
  try {
    current = await resources.getById(sdkPath(op.resourceId), op.apiVersion, exec.trace.options());
  } catch (e) {
    // Only read so far: whatever went wrong (an answer that could not be read included), nothing was sent.
    return exec.notSent(e);
  }
  try {
    const before = current.sku?.capacity;
    const poller = resources.updateById(
      sdkPath(op.resourceId),
      op.apiVersion,
      { sku: { ...(current.sku ?? {}), capacity: op.capacity } },
      exec.trace.options(),
    );
    const { result, progress } = await acceptAndWait(exec, poller, undefined, restoreResourcesPoller(exec, ctx, resources.updateById));
    await progress.finish({ state: 'Succeeded' });
    const after = result.sku?.capacity ?? op.capacity;
    return exec.succeeded(`Scaled ${op.resourceId} from ${before ?? 'unknown'} to ${after} instance(s).`);
  } catch (e) {
    return exec.failed(e);
  }
}
