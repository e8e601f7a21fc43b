/**
 * Resolving a command whose parameters passed into the Azure operation it stands for: placeholders
 * filled, the deployment template loaded through the context (so this stays pure).
 */
import type { ChangeOperation, OperationSpec, QueryOperation } from '../operation';
import { isChangeOperation } from '../operation';
import { deploymentNameProblem } from '../arm-names';
import type { CommandSpec, ParameterSpec } from './types';

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface ResolveContext {
  subscriptionId: string;
  requestId: string;
  loadTemplate(relativePath: string): Record<string, unknown>;
}

/**
 * Fills the command's operation template with checked parameter values. Placeholders are
 * replaced in every string; `template` (deployments) names a JSON file loaded by the context.
 */
export function resolveOperation(command: CommandSpec, values: Record<string, string>, ctx: ResolveContext): OperationSpec {
  // However the values got here, none may turn a resource id or an ARM path into another one.
  for (const [name, where] of pathParameters(command)) {
    const problem = values[name] === undefined ? undefined : pathValueProblem(name, values[name], command.parameters.find((p) => p.name === name), where);
    if (problem) throw new Error(problem);
  }
  const vars: Record<string, string> = { ...values, requestId: ctx.requestId, subscriptionId: ctx.subscriptionId };
  const filled = fill(command.operation, vars) as Record<string, unknown>;
  const op: Record<string, unknown> = { ...filled, subscriptionId: ctx.subscriptionId };
  if (op.kind === 'deployTemplate' || op.kind === 'whatIfDeployment') {
    op.template = ctx.loadTemplate(String(filled.template));
    op.parameters = (filled.parameters as Record<string, unknown> | undefined) ?? {};
    op.mode = filled.mode ?? 'Incremental';
    if (op.kind === 'deployTemplate') op.deploymentName = filled.deploymentName ?? `countersign-${ctx.requestId}`;
  }
  if (op.kind === 'deployTemplate' || op.kind === 'deploymentOperations') {
    // The name as filled (a parameter's value in it, the request id): refused here, before anyone is
    // asked to approve it, rather than by Azure after approval.
    const problem = deploymentNameProblem(String(op.deploymentName));
    if (problem) throw new Error(problem);
  }
  if (op.kind === 'scaleResource') {
    // Refused here, before anyone is asked to approve it, rather than by Azure after approval.
    const capacity = String(filled.capacity).trim();
    if (!/^\d+$/.test(capacity)) throw new Error(`capacity must be a whole number, got "${capacity.slice(0, 40)}"`);
    op.capacity = Number(capacity);
  }
  if (op.kind === 'createResourceGroup') op.tags = filled.tags ?? {};
  if (op.kind === 'setTags') op.operation = filled.operation ?? 'Merge';
  return op as unknown as OperationSpec;
}

export function asChange(op: OperationSpec): ChangeOperation | undefined {
  return isChangeOperation(op) ? op : undefined;
}

export function asQuery(op: OperationSpec): QueryOperation | undefined {
  return isChangeOperation(op) ? undefined : op;
}

/**
 * The operation fields whose text becomes an Azure resource id, or a segment of an ARM request's
 * path: a resource action is POSTed to {resourceId}/{action}, where "." would name the resource
 * itself and ".." its collection.
 */
const PATH_FIELDS = ['resourceGroup', 'resourceId', 'scope', 'deploymentName', 'action'] as const;

/** Where a parameter's value is placed: in a resource id or an ARM path, or in the path of a deployment's template file. */
export type PathUse = 'resource-id' | 'template';

/** The parameters whose values are placed in a resource id, an ARM path, or a template's file path. */
export function pathParameters(command: Pick<CommandSpec, 'operation'>): Map<string, PathUse> {
  const op = command.operation as Record<string, unknown>;
  const uses = new Map<string, PathUse>(placeholdersIn(op.template).map((name) => [name, 'template']));
  for (const name of PATH_FIELDS.flatMap((field) => placeholdersIn(op[field]))) uses.set(name, 'resource-id');
  return uses;
}

/**
 * Why a value cannot stand in a resource id or an ARM path, or undefined. A "/" (or "\\") would add
 * segments, ".." take them away, "?" and "#" end the path, "%" encode any of them: each would make
 * the id name another resource than the command's (a pattern in the config should refuse them
 * already; this holds when a parameter has none). A trailing "." is refused there too.
 */
export function pathValueProblem(name: string, value: string, spec?: Pick<ParameterSpec, 'type' | 'allowed' | 'default'>, where: PathUse = 'resource-id'): string | undefined {
  // What the config itself fixes (an enum's values, a default) is the config author's: trusted as written.
  if (spec && ((spec.type === 'enum' && (spec.allowed ?? []).some((a) => String(a) === value)) || (spec.default !== undefined && String(spec.default) === value))) return undefined;
  // In a template's path, a value may no more leave its folder than name another file there by "..".
  const [part, other] = where === 'template' ? ["a deployment template's file name", 'another template file'] : ['an Azure resource id', 'another resource'];
  const bad = /[/\\?#%]/.exec(value)?.[0] ?? (where === 'template' && value.includes('..') ? '..' : undefined);
  if (bad) return `${name} "${value}" cannot be part of ${part}: "${bad}" would make it name ${other}`;
  if (value === '.' || value === '..') return `${name} cannot be "${value}": in ${part} it would name ${other}`;
  // No Azure resource's name ends in "." (ARM refuses it), and HTTP stacks on the way may drop a
  // segment's trailing dots: "production-api." would read as itself on the card and could reach
  // production-api, or be a name no resource has, and a second request for it would not count as the same.
  if (where === 'resource-id' && value.endsWith('.')) {
    return `${name} "${value}" cannot end with ".": no Azure resource's name does, and on the way to Azure the dot can be dropped, naming ${value.replace(/\.+$/, '') || 'another resource'} instead; type it without the dot`;
  }
  return undefined;
}

/** Placeholder names used anywhere in an operation template. */
export function placeholdersIn(value: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(PLACEHOLDER)) found.add(m[1]);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => (walk(k), walk(x)));
  };
  walk(value);
  return [...found];
}

function fill(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return value.replace(PLACEHOLDER, (whole, name: string) => vars[name] ?? whole);
  if (Array.isArray(value)) return value.map((v) => fill(v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [fill(k, vars) as string, fill(v, vars)]));
  }
  return value;
}
