/**
 * Reading ARM resource ids: which provider and resource type an id names (for RBAC actions and API
 * calls), and the forms the SDK wants.
 */

class ResourceIdError extends Error {
  constructor(
    readonly resourceId: string,
    reason: string,
  ) {
    super(`"${resourceId}" is not an ARM resource id: ${reason}`);
    this.name = 'ResourceIdError';
  }
}

export interface ResourceType {
  /** e.g. Microsoft.Web */
  namespace: string;
  /** Full type, e.g. Microsoft.Web/sites or Microsoft.Web/sites/slots */
  type: string;
  /** Last name segment, e.g. the site's name */
  name: string;
}

/** The type of the resource an id names; for an extension resource, the innermost provider's type. */
export function resourceTypeOf(resourceId: string): ResourceType {
  const marker = resourceId.toLowerCase().lastIndexOf('/providers/');
  if (marker < 0) throw new ResourceIdError(resourceId, 'it has no /providers/ segment');
  const segments = resourceId.slice(marker + '/providers/'.length).replace(/\/+$/, '').split('/');
  if (segments.length < 3 || segments.length % 2 === 0 || segments.some((s) => s === '')) {
    throw new ResourceIdError(resourceId, 'expected /providers/{namespace}/{type}/{name}[/{type}/{name}...]');
  }
  const [namespace, ...rest] = segments;
  const types = rest.filter((_, i) => i % 2 === 0);
  return { namespace, type: [namespace, ...types].join('/'), name: rest[rest.length - 1] };
}

/** The SDK's `*ById` and `*AtScope` methods expand `/{+resourceId}`: they want the id without its leading slash. */
export function sdkPath(resourceId: string): string {
  return resourceId.replace(/^\/+/, '');
}

export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}

export function deploymentId(subscriptionId: string, resourceGroup: string, deploymentName: string): string {
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/Microsoft.Resources/deployments/${deploymentName}`;
}

/** Short form for tables: "Microsoft.Web/sites/api-service". */
export function shortResourceName(resourceId: string): string {
  try {
    const t = resourceTypeOf(resourceId);
    const marker = resourceId.toLowerCase().lastIndexOf('/providers/');
    const names = resourceId.slice(marker + '/providers/'.length).split('/').slice(1).filter((_, i) => i % 2 === 1);
    return `${t.type}/${names.join('/')}`;
  } catch {
    return resourceId;
  }
}
