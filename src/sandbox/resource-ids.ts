/**
 * ARM resource ids inside the sandbox: `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}]*`.
 * ARM compares ids case-insensitively and answers with the casing the resource was created with.
 */

export interface ParsedResourceId {
  subscriptionId: string;
  resourceGroup: string;
  namespace: string;
  /** Type segments after the namespace, e.g. ['sites', 'config']. */
  types: string[];
  names: string[];
}

const RESOURCE_ID = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/([^/]+)\/(.+)$/i;

export function parseResourceId(id: string): ParsedResourceId | undefined {
  const m = RESOURCE_ID.exec(id.replace(/\/+$/, ''));
  if (!m) return undefined;
  const rest = m[4].split('/');
  if (rest.length % 2 !== 0) return undefined;
  const types: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    types.push(rest[i]);
    names.push(rest[i + 1]);
  }
  return { subscriptionId: m[1], resourceGroup: m[2], namespace: m[3], types, names };
}

/** `Microsoft.Web/sites/config` */
export function fullType(p: Pick<ParsedResourceId, 'namespace' | 'types'>): string {
  return [p.namespace, ...p.types].join('/');
}

/** `app/web` for a child resource, `app` for a top-level one. */
export function fullName(p: Pick<ParsedResourceId, 'names'>): string {
  return p.names.join('/');
}

export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}

/** Builds a resource id from a full type (`Microsoft.Web/sites/config`) and a full name (`app/web`). */
export function buildResourceId(subscriptionId: string, resourceGroup: string, type: string, name: string): string {
  const [namespace, ...types] = type.split('/');
  const names = name.split('/');
  const pairs = types.map((t, i) => `${t}/${names[i]}`).join('/');
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/${namespace}/${pairs}`;
}

/** The key ids are stored under: ARM ids are case-insensitive. */
export function idKey(id: string): string {
  return id.replace(/\/+$/, '').toLowerCase();
}

