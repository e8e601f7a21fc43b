/**
 * setTags at a subscription, group or resource scope through the Tags API, which needs only
 * Microsoft.Resources/tags/write: Replace is a PUT of the whole set, Merge and Delete are a PATCH.
 */
import type { ExecutionHooks } from '../../app/ports';
import type { ExecutionOutcome } from '../../domain/operation';
import { sdkPath } from '../resource-ids';
import { Execution, type ChangeOf, type GatewayContext } from './context';
import { acceptAndWait, restoreResourcesPoller } from './lro';

export async function setTags(op: ChangeOf<'setTags'>, hooks: ExecutionHooks, ctx: GatewayContext): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [op.scope], ctx);
  const tags = ctx.clients.resources.tagsOperations;
  const scope = sdkPath(op.scope);
  try {
    const poller =
      op.operation === 'Replace'
        ? tags.createOrUpdateAtScope(scope, { properties: { tags: op.tags } }, exec.trace.options())
        : tags.updateAtScope(scope, { operation: op.operation, properties: { tags: op.tags } }, exec.trace.options());
    const source = op.operation === 'Replace' ? tags.createOrUpdateAtScope : tags.updateAtScope;
    const { result, progress } = await acceptAndWait(exec, poller, undefined, restoreResourcesPoller(exec, ctx, source as (...args: never[]) => typeof poller));
    await progress.finish({ state: 'Succeeded' });
    const now = result.properties?.tags ?? {};
    const listed = Object.entries(now).map(([k, v]) => `${k}=${v}`).join(', ') || '(none)';
    return exec.succeeded(`Tags ${op.operation.toLowerCase()}d on ${op.scope}; tags now: ${listed}.`);
  } catch (e) {
    return exec.failed(e);
  }
}
