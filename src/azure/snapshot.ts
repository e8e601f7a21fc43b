/**
 * The target of an operation as it is now, reduced to what decides the operation's effect: recorded when
 * approval is asked for, read again right before execution, compared for drift (src/domain/drift.ts).
 *
 *  - a resource (delete, action, scale): its ETag, SKU, provisioning and power state, tags;
 *  - a resource group (create, delete): location, tags, and for a delete every resource it holds;
 *  - tags at a scope: the tags there.
 *
 * A target that does not exist is a snapshot too (`exists: false`); any other ARM refusal rejects with
 * an ArmRequestError in words.
 */
import type { SnapshotOperation } from '../app/ports';
import type { TargetSnapshot } from '../domain/drift';
import { ArmRequestError, isNotFound, toArmError } from './errors';
import type { GatewayContext } from './operations/context';
import { sdkPath, shortResourceName } from './resource-ids';

/** Resources of a group listed in a delete's snapshot; more are summarised by their count. */
const MAX_LISTED = 100;

export async function snapshotTarget(op: SnapshotOperation, ctx: GatewayContext): Promise<TargetSnapshot> {
  try {
    switch (op.kind) {
      case 'createResourceGroup':
        return await groupSnapshot(op.resourceGroup, ctx, false);
      case 'deleteResourceGroup':
        return await groupSnapshot(op.resourceGroup, ctx, true);
      case 'setTags':
        return await tagsSnapshot(op.scope, ctx);
      case 'deleteResource':
      case 'resourceAction':
      case 'scaleResource':
        return await resourceSnapshot(op.resourceId, op.apiVersion, ctx);
    }
  } catch (e) {
    if (e instanceof ArmRequestError) throw e;
    throw new ArmRequestError(toArmError(e));
  }
}

const MISSING: TargetSnapshot = { exists: false, facts: {} };

async function groupSnapshot(name: string, ctx: GatewayContext, withResources: boolean): Promise<TargetSnapshot> {
  let group;
  try {
    group = await ctx.clients.resources.resourceGroups.get(name);
  } catch (e) {
    if (isNotFound(e)) return MISSING;
    throw e;
  }
  const facts: Record<string, string> = { location: group.location ?? '', ...tagFacts(group.tags) };
  if (group.properties?.provisioningState) facts.provisioningState = group.properties.provisioningState;
  if (withResources) {
    let count = 0;
    for await (const r of ctx.clients.resources.resources.listByResourceGroup(name)) {
      count++;
      if (count <= MAX_LISTED) facts[`resource ${shortResourceName(r.id ?? r.name ?? '')}`] = 'present';
    }
    facts['resources.count'] = String(count);
  }
  return { exists: true, facts };
}

async function tagsSnapshot(scope: string, ctx: GatewayContext): Promise<TargetSnapshot> {
  try {
    const tags = await ctx.clients.resources.tagsOperations.getAtScope(sdkPath(scope));
    return { exists: true, facts: tagFacts(tags.properties?.tags) };
  } catch (e) {
    if (isNotFound(e)) return MISSING;
    throw e;
  }
}

async function resourceSnapshot(resourceId: string, apiVersion: string, ctx: GatewayContext): Promise<TargetSnapshot> {
  let etag: string | undefined;
  let resource;
  try {
    resource = await ctx.clients.resources.resources.getById(sdkPath(resourceId), apiVersion, {
      // The SDK's model has no etag: read it from the answer.
      onResponse: (raw) => {
        etag = raw.headers.get('etag') ?? (raw.parsedBody as { etag?: string } | undefined)?.etag ?? undefined;
      },
    });
  } catch (e) {
    if (isNotFound(e)) return MISSING;
    throw e;
  }
  const props = (resource.properties ?? {}) as Record<string, unknown>;
  const facts: Record<string, string> = { ...tagFacts(resource.tags) };
  if (resource.sku?.name !== undefined) facts['sku.name'] = resource.sku.name;
  if (resource.sku?.capacity !== undefined) facts['sku.capacity'] = String(resource.sku.capacity);
  if (typeof props.provisioningState === 'string') facts.provisioningState = props.provisioningState;
  if (typeof props.state === 'string') facts.state = props.state;
  const power = powerState(props);
  if (power) facts.powerState = power;
  return { exists: true, ...(etag ? { etag } : {}), facts };
}

function tagFacts(tags: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(tags ?? {}).map(([k, v]) => [`tags.${k}`, v]));
}

/** A virtual machine's power state, from its instance view when the answer carries one. */
function powerState(props: Record<string, unknown>): string | undefined {
  const view = ((props.extended as Record<string, unknown> | undefined)?.instanceView ?? props.instanceView) as
    | { powerState?: { code?: string }; statuses?: { code?: string }[] }
    | undefined;
  return view?.powerState?.code ?? view?.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code;
}
