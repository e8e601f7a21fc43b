/**
 * The template functions the sandbox understands: parameters, variables, resourceGroup, subscription,
 * concat, format, uniqueString, resourceId, toLower, toUpper. Anything else is InvalidTemplate.
 *
 * uniqueString is deterministic (same inputs, same 13 characters) but is not Azure's hash: a name built
 * with it in the sandbox differs from the one Azure would build.
 */
import { createHash } from 'node:crypto';
import { TemplateError, type TemplateFunction } from './expressions';

export interface DeploymentScope {
  subscriptionId: string;
  tenantId: string;
  resourceGroup: { id: string; name: string; location: string; tags: Record<string, string> };
}

export interface FunctionSources {
  scope: DeploymentScope;
  parameter(name: string): unknown;
  variable(name: string): unknown;
}

export function templateFunctions(src: FunctionSources): Record<string, TemplateFunction> {
  const { scope } = src;
  return {
    parameters: ([name]) => src.parameter(stringArg('parameters', name)),
    variables: ([name]) => src.variable(stringArg('variables', name)),
    resourcegroup: () => ({
      id: scope.resourceGroup.id,
      name: scope.resourceGroup.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: scope.resourceGroup.location,
      tags: { ...scope.resourceGroup.tags },
      properties: { provisioningState: 'Succeeded' },
    }),
    subscription: () => ({
      id: `/subscriptions/${scope.subscriptionId}`,
      subscriptionId: scope.subscriptionId,
      tenantId: scope.tenantId,
      displayName: 'Countersign sandbox',
    }),
    concat,
    format,
    uniquestring: (args) => uniqueString(args.map((a) => stringArg('uniqueString', a))),
    resourceid: (args) => resourceId(scope, args.map((a) => stringArg('resourceId', a))),
    tolower: ([s]) => stringArg('toLower', s).toLowerCase(),
    toupper: ([s]) => stringArg('toUpper', s).toUpperCase(),
  };
}

function stringArg(fn: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new TemplateError(`The template language function '${fn}' expects its parameters to be of type 'String'. The provided value is of type '${jsonType(value)}'.`);
  }
  return value;
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'Array';
  if (value === null) return 'Null';
  return { number: 'Integer', boolean: 'Boolean', object: 'Object', string: 'String' }[typeof value as string] ?? typeof value;
}

function concat(args: unknown[]): unknown {
  if (args.length > 0 && args.every(Array.isArray)) return (args as unknown[][]).flat(1);
  return args
    .map((a) => {
      if (typeof a === 'object' && a !== null) {
        throw new TemplateError(`The template language function 'concat' cannot mix strings with values of type '${jsonType(a)}'.`);
      }
      return String(a);
    })
    .join('');
}

/** .NET composite formatting: {0}, {1:format} (the format part is ignored), {{ and }} for braces. */
function format(args: unknown[]): string {
  const [fmt, ...values] = args;
  return stringArg('format', fmt).replace(/\{\{|\}\}|\{(\d+)(?::[^}]*)?\}/g, (m, index: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const i = Number(index);
    if (i >= values.length) throw new TemplateError(`The template language function 'format' has no argument for placeholder {${i}}.`);
    return String(values[i]);
  });
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function uniqueString(parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('-')).digest();
  let out = '';
  for (let i = 0; i < 13; i++) out += BASE32[digest[i] % 32];
  return out;
}

/** resourceId([subscriptionId], [resourceGroupName], resourceType, name1, [name2], ...) */
function resourceId(scope: DeploymentScope, args: string[]): string {
  const typeIndex = args.findIndex((a) => a.includes('/'));
  if (typeIndex < 0 || typeIndex > 2) {
    throw new TemplateError("The template function 'resourceId' needs a fully qualified resource type such as 'Microsoft.Web/sites'.");
  }
  const [namespace, ...types] = args[typeIndex].split('/');
  const names = args.slice(typeIndex + 1);
  if (types.length === 0 || names.length !== types.length) {
    throw new TemplateError(
      `The template function 'resourceId' has invalid parameters: resource type '${args[typeIndex]}' needs ${types.length} name segment(s), got ${names.length}.`,
    );
  }
  const subscriptionId = typeIndex === 2 ? args[0] : scope.subscriptionId;
  const resourceGroup = typeIndex === 2 ? args[1] : typeIndex === 1 ? args[0] : scope.resourceGroup.name;
  const pairs = types.map((t, i) => `${t}/${names[i]}`).join('/');
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${namespace}/${pairs}`;
}
