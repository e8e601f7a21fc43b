/**
 * setTags at a subscription, group or resource scope through the Tags API, which needs only
 * Microsoft.Resources/tags/write: Replace is a PUT of the whole set, Merge and Delete are a PATCH.
 */
import type { ExecutionHooks } from '../../app/ports';
import type { ExecutionOutcome } from '../../domain/operation';
import { isUnreadableAnswer } from '../errors';
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
    return exec.succeeded(`Tags ${op.operation.toLowerCase()}d on ${op.scope}; tags now: ${listTags(result.properties?.tags ?? {})}.`);
  } catch (e) {
    const outcome = exec.failed(e);
    // An answer that could not be read is read back by the gateway's reconcileUnreadable, as for every kind.
    return outcome.status === 'unknown' && !isUnreadableAnswer(outcome.error) ? readBack(op, outcome, exec, ctx) : outcome;
  }
}

/**
 * Azure's answer to the tag write was ambiguous (a 5xx after the retries, a broken connection): the tags
 * are read, and when they show the change in effect, that is the outcome. A tag write holds no
 * long-running state that could still land later, and a Merge, a Delete or a Replace in effect is
 * what was approved, whoever's write put it there. Otherwise it stays unknown, saying what was read.
 */
async function readBack(op: ChangeOf<'setTags'>, outcome: ExecutionOutcome & { status: 'unknown' }, exec: Execution, ctx: GatewayContext): Promise<ExecutionOutcome> {
  let now: Record<string, string>;
  try {
    now = (await ctx.clients.resources.tagsOperations.getAtScope(sdkPath(op.scope), exec.trace.options())).properties?.tags ?? {};
  } catch {
    return outcome;
  }
  const listed = listTags(now);
  if (tagsApplied(op, now)) {
    return exec.succeeded(`Tags ${op.operation.toLowerCase()}d on ${op.scope}; Azure's answer was lost (${outcome.error.message.replace(/[.\s]+$/, '')}), and the tags read back show the change: ${listed}.`);
  }
  return { ...outcome, error: { ...outcome.error, message: `${outcome.error.message.replace(/[.\s]+$/, '')}. The tags read back do not show the change (${listed}); it may still be made or not at all.` } };
}

function listTags(tags: Record<string, string>): string {
  return Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(', ') || '(none)';
}

/** Whether the scope's tags already show the approved change. */
export function tagsApplied(op: ChangeOf<'setTags'>, current: Record<string, string>): boolean {
  const wanted = Object.entries(op.tags);
  if (op.operation === 'Replace') return sameTags(current, op.tags);
  if (op.operation === 'Merge') return wanted.every(([k, v]) => current[k] === v);
  return wanted.every(([k, v]) => !Object.hasOwn(current, k) || (v !== '' && current[k] !== v));
}

/** Whether two tag sets hold the same keys with the same values. */
export function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}


