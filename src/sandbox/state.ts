/**
 * The sandbox's in-memory Azure: one subscription, its resource groups, resources, deployments and the
 * asynchronous operations being polled. Lookups are case-insensitive, as in ARM.
 *
 * Methods named `live*` return the stored objects for the handlers to mutate; the others return deep
 * copies so that tests can look without changing anything.
 */
import type { ArmErrorBody } from './http';
import { armErrors, isRecord } from './http';
import { buildResourceId, idKey, parseResourceId, resourceGroupId } from './resource-ids';
import { behaviorOf, computedProperties } from './resource-types';

export interface StoredResourceGroup {
  id: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  provisioningState: 'Succeeded' | 'Deleting';
}

export interface StoredResource {
  id: string;
  name: string;
  type: string;
  resourceGroup: string;
  location: string;
  kind?: string;
  sku?: Record<string, unknown>;
  tags: Record<string, string>;
  properties: Record<string, unknown>;
  etag: string;
  createdTime: string;
  changedTime: string;
}

/** What a PUT (or a deployment) declares about a resource. */
export interface ResourceDefinition {
  type: string;
  name: string;
  location: string;
  kind?: string;
  sku?: Record<string, unknown>;
  tags?: Record<string, string>;
  properties?: Record<string, unknown>;
}

export type DeploymentState = 'Accepted' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled';

export interface StoredDeploymentOperation {
  operationId: string;
  provisioningOperation: 'Create' | 'Delete';
  provisioningState: 'Running' | 'Succeeded' | 'Failed' | 'Canceled';
  timestamp: string;
  durationMs: number;
  statusCode?: string;
  statusMessage?: { status: string; error: ArmErrorBody };
  targetResource: { id: string; resourceType: string; resourceName: string };
}

export interface StoredDeployment {
  id: string;
  name: string;
  resourceGroup: string;
  provisioningState: DeploymentState;
  /** Id of the Azure-AsyncOperation status URL handed out when it was accepted. */
  asyncOperationId: string;
  correlationId: string;
  mode: 'Incremental' | 'Complete';
  timestamp: string;
  endTime?: string;
  parameters: Record<string, { value: unknown }>;
  templateHash: string;
  outputs?: Record<string, { type: string; value: unknown }>;
  outputResources: string[];
  error?: ArmErrorBody;
  operations: StoredDeploymentOperation[];
  cancelRequested: boolean;
}

export type AsyncStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

/** An operation a client polls through Azure-AsyncOperation or Location. */
export interface AsyncOperation {
  id: string;
  status: AsyncStatus;
  startTime: string;
  endTime?: string;
  error?: ArmErrorBody;
  /** HTTP status a Location poll answers with once the operation failed. */
  errorStatus?: number;
  /** Body a Location poll answers with once the operation succeeded (what-if results). */
  result?: unknown;
}

export class SandboxState {
  subscriptionTags: Record<string, string> = {};
  private readonly groups = new Map<string, StoredResourceGroup>();
  private readonly resourceMap = new Map<string, StoredResource>();
  private readonly deploymentMap = new Map<string, StoredDeployment>();
  readonly operations = new Map<string, AsyncOperation>();
  private version = 0;

  constructor(
    readonly subscriptionId: string,
    readonly tenantId: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Forgets everything, before seeding again. */
  clear(): void {
    this.subscriptionTags = {};
    this.groups.clear();
    this.resourceMap.clear();
    this.deploymentMap.clear();
    this.operations.clear();
  }

  // ---- read-only views for tests (deep copies) ----------------------------------------------------

  resourceGroup(name: string): StoredResourceGroup | undefined {
    return copy(this.liveGroup(name));
  }

  resourceGroups(): StoredResourceGroup[] {
    return [...this.groups.values()].map((g) => structuredClone(g));
  }

  resource(id: string): StoredResource | undefined {
    return copy(this.liveResource(id));
  }

  /** Resources of one group, or of the whole subscription. */
  resources(resourceGroup?: string): StoredResource[] {
    return this.liveResources(resourceGroup).map((r) => structuredClone(r));
  }

  deployment(resourceGroup: string, name: string): StoredDeployment | undefined {
    return copy(this.liveDeployment(resourceGroup, name));
  }

  // ---- resource groups ------------------------------------------------------------------------------

  liveGroup(name: string): StoredResourceGroup | undefined {
    return this.groups.get(name.toLowerCase());
  }

  requireGroup(name: string): StoredResourceGroup {
    const group = this.liveGroup(name);
    if (!group) throw armErrors.resourceGroupNotFound(name);
    return group;
  }

  putGroup(name: string, location: string, tags: Record<string, string>): { group: StoredResourceGroup; created: boolean } {
    const existing = this.liveGroup(name);
    if (existing) {
      existing.tags = { ...tags };
      return { group: existing, created: false };
    }
    const group: StoredResourceGroup = {
      id: resourceGroupId(this.subscriptionId, name),
      name,
      location,
      tags: { ...tags },
      provisioningState: 'Succeeded',
    };
    this.groups.set(name.toLowerCase(), group);
    return { group, created: true };
  }

  /** Removes the group with everything in it. */
  removeGroup(name: string): void {
    const key = name.toLowerCase();
    this.groups.delete(key);
    for (const r of this.liveResources(name)) this.resourceMap.delete(idKey(r.id));
    for (const [k, d] of this.deploymentMap) if (d.resourceGroup.toLowerCase() === key) this.deploymentMap.delete(k);
  }

  // ---- resources ------------------------------------------------------------------------------------

  liveResource(id: string): StoredResource | undefined {
    return this.resourceMap.get(idKey(id));
  }

  requireResource(id: string): StoredResource {
    const resource = this.liveResource(id);
    if (resource) return resource;
    const parsed = parseResourceId(id);
    const type = parsed ? [parsed.namespace, ...parsed.types].join('/') : 'unknown';
    throw armErrors.resourceNotFound(type, parsed?.names.join('/') ?? id, parsed?.resourceGroup ?? '');
  }

  liveResources(resourceGroup?: string): StoredResource[] {
    const all = [...this.resourceMap.values()];
    if (resourceGroup === undefined) return all;
    const rg = resourceGroup.toLowerCase();
    return all.filter((r) => r.resourceGroup.toLowerCase() === rg);
  }

  /** Creates or replaces a resource, as a PUT does; provider-computed properties survive a replace. */
  putResource(resourceGroup: string, def: ResourceDefinition): { resource: StoredResource; created: boolean } {
    const group = this.requireGroup(resourceGroup);
    const id = buildResourceId(this.subscriptionId, group.name, def.type, def.name);
    const existing = this.liveResource(id);
    const at = this.now().toISOString();
    const base = { name: def.name.split('/').pop() ?? def.name, location: def.location, properties: { ...(def.properties ?? {}) } };
    const kept = existing ? computedProperties(existing.type, existing.properties) : behaviorOf(def.type).computed(base);
    const resource: StoredResource = {
      id: existing?.id ?? id,
      name: existing?.name ?? def.name,
      type: existing?.type ?? def.type,
      resourceGroup: group.name,
      location: def.location,
      ...(def.kind !== undefined ? { kind: def.kind } : {}),
      ...(def.sku !== undefined ? { sku: structuredClone(def.sku) } : {}),
      tags: { ...(def.tags ?? {}) },
      properties: { ...structuredClone(def.properties ?? {}), ...kept },
      etag: this.nextEtag(),
      createdTime: existing?.createdTime ?? at,
      changedTime: at,
    };
    this.resourceMap.set(idKey(id), resource);
    return { resource, created: !existing };
  }

  /** JSON merge-patch (RFC 7396) of tags, sku, kind and properties. */
  patchResource(id: string, patch: Record<string, unknown>): StoredResource {
    const resource = this.requireResource(id);
    for (const key of ['tags', 'sku', 'properties'] as const) {
      if (!(key in patch)) continue;
      const merged = mergePatch(resource[key] ?? {}, patch[key]);
      if (key === 'sku') {
        if (isRecord(merged)) resource.sku = merged;
        else delete resource.sku;
      } else if (key === 'tags') resource.tags = (merged ?? {}) as Record<string, string>;
      else resource.properties = isRecord(merged) ? merged : {};
    }
    if (typeof patch.kind === 'string') resource.kind = patch.kind;
    this.touch(resource);
    return resource;
  }

  deleteResource(id: string): boolean {
    return this.resourceMap.delete(idKey(id));
  }

  /** Records a change made outside the request that caused it (actions, tags). */
  touch(resource: StoredResource): void {
    resource.etag = this.nextEtag();
    resource.changedTime = this.now().toISOString();
  }

  // ---- deployments ----------------------------------------------------------------------------------

  liveDeployment(resourceGroup: string, name: string): StoredDeployment | undefined {
    return this.deploymentMap.get(deploymentKey(resourceGroup, name));
  }

  liveDeployments(resourceGroup: string): StoredDeployment[] {
    const rg = resourceGroup.toLowerCase();
    return [...this.deploymentMap.values()].filter((d) => d.resourceGroup.toLowerCase() === rg);
  }

  saveDeployment(deployment: StoredDeployment): void {
    this.deploymentMap.set(deploymentKey(deployment.resourceGroup, deployment.name), deployment);
  }

  private nextEtag(): string {
    this.version += 1;
    return `"${this.version.toString(16).padStart(8, '0')}-0000-0000-0000-000000000000"`;
  }
}

function deploymentKey(resourceGroup: string, name: string): string {
  return `${resourceGroup}/${name}`.toLowerCase();
}

function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}

/** RFC 7396: null removes a key, objects merge, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}
