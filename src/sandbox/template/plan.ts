/**
 * Turns a template and its parameters into the list of resources a deployment will PUT, in dependency
 * order, plus its outputs. Everything outside the supported subset is refused with InvalidTemplate
 * (copy loops, nested child resources, symbolic-name templates, unknown functions), never ignored.
 */
import { createHash } from 'node:crypto';
import { armErrors, isRecord, type ArmHttpError } from '../http';
import { buildResourceId } from '../resource-ids';
import { evaluateValue, TemplateError } from './expressions';
import { templateFunctions, type DeploymentScope } from './functions';

export interface PlannedResource {
  id: string;
  type: string;
  name: string;
  apiVersion: string;
  location: string;
  kind?: string;
  sku?: Record<string, unknown>;
  tags?: Record<string, string>;
  properties?: Record<string, unknown>;
}

export interface TemplatePlan {
  resources: PlannedResource[];
  outputs: Record<string, { type: string; value: unknown }>;
  templateHash: string;
}

const PARAMETER_TYPES: Record<string, { label: string; check: (v: unknown) => boolean }> = {
  string: { label: 'String', check: (v) => typeof v === 'string' },
  securestring: { label: 'String', check: (v) => typeof v === 'string' },
  int: { label: 'Integer', check: (v) => Number.isInteger(v) },
  bool: { label: 'Boolean', check: (v) => typeof v === 'boolean' },
  object: { label: 'Object', check: isRecord },
  secureobject: { label: 'Object', check: isRecord },
  array: { label: 'Array', check: Array.isArray },
};

const OUTPUT_TYPES: Record<string, string> = {
  string: 'String',
  securestring: 'SecureString',
  int: 'Int',
  bool: 'Bool',
  object: 'Object',
  secureobject: 'SecureObject',
  array: 'Array',
};

function invalidTemplate(message: string): ArmHttpError {
  return armErrors.badRequest('InvalidTemplate', `Deployment template validation failed: '${message}'.`);
}

/** @param parameters as sent to ARM: `{ name: { value } }` */
export function planDeployment(template: unknown, parameters: unknown, scope: DeploymentScope): TemplatePlan {
  try {
    return plan(template, parameters, scope);
  } catch (e) {
    if (e instanceof TemplateError) {
      throw armErrors.badRequest('InvalidTemplate', `Deployment template language expression evaluation failed: '${e.message}'.`);
    }
    throw e;
  }
}

function plan(template: unknown, parameters: unknown, scope: DeploymentScope): TemplatePlan {
  if (!isRecord(template)) throw invalidTemplate('The template must be a JSON object.');
  if (!Array.isArray(template.resources)) {
    throw invalidTemplate("The template 'resources' property must be an array (symbolic-name templates are not supported by the sandbox).");
  }
  const values = resolveParameters(isRecord(template.parameters) ? template.parameters : {}, isRecord(parameters) ? parameters : {});
  const variableDefs = isRecord(template.variables) ? template.variables : {};
  const variableValues = new Map<string, unknown>();
  const evaluating = new Set<string>();

  const functions = templateFunctions({
    scope,
    parameter: (name) => {
      const key = findKey(values.defs, name);
      if (key === undefined) throw new TemplateError(`The template parameter '${name}' is not found.`);
      return values.get(key);
    },
    variable: (name) => {
      const key = findKey(variableDefs, name);
      if (key === undefined) throw new TemplateError(`The template variable '${name}' is not found.`);
      if (!variableValues.has(key)) {
        if (evaluating.has(key)) throw new TemplateError(`The template variable '${name}' refers to itself.`);
        evaluating.add(key);
        variableValues.set(key, evaluateValue(variableDefs[key], functions));
        evaluating.delete(key);
      }
      return variableValues.get(key);
    },
  });
  values.bind((v) => evaluateValue(v, functions));
  // ARM checks every parameter, used or not.
  for (const name of Object.keys(values.defs)) values.get(name);

  const planned: { resource: PlannedResource; dependsOn: string[] }[] = [];
  template.resources.forEach((raw, index) => {
    const item = planResource(raw, index, scope, (v) => evaluateValue(v, functions));
    if (item) planned.push(item);
  });
  const outputs: TemplatePlan['outputs'] = {};
  for (const [name, def] of Object.entries(isRecord(template.outputs) ? template.outputs : {})) {
    if (!isRecord(def) || typeof def.type !== 'string') throw invalidTemplate(`The template output '${name}' needs a 'type'.`);
    outputs[name] = { type: OUTPUT_TYPES[def.type.toLowerCase()] ?? def.type, value: evaluateValue(def.value, functions) };
  }
  return {
    resources: orderByDependencies(planned),
    outputs,
    templateHash: BigInt(`0x${createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 16)}`).toString(),
  };
}

interface ParameterValues {
  defs: Record<string, unknown>;
  get(name: string): unknown;
  bind(evaluate: (v: unknown) => unknown): void;
}

function resolveParameters(defs: Record<string, unknown>, supplied: Record<string, unknown>): ParameterValues {
  for (const name of Object.keys(supplied)) {
    if (findKey(defs, name) === undefined) {
      throw invalidTemplate(
        `The template parameters '${name}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time.`,
      );
    }
  }
  let evaluate: (v: unknown) => unknown = (v) => v;
  const cache = new Map<string, unknown>();
  return {
    defs,
    bind: (fn) => (evaluate = fn),
    get(name) {
      if (cache.has(name)) return cache.get(name);
      const def = isRecord(defs[name]) ? defs[name] : {};
      const suppliedKey = findKey(supplied, name);
      let value: unknown;
      if (suppliedKey !== undefined) {
        const wrapped = supplied[suppliedKey];
        if (!isRecord(wrapped) || !('value' in wrapped)) {
          throw invalidTemplate(`The value of deployment parameter '${name}' must be given as { "value": ... } (Key Vault references are not supported by the sandbox).`);
        }
        value = wrapped.value;
      } else if ('defaultValue' in def) {
        value = evaluate(def.defaultValue);
      } else {
        throw invalidTemplate(`The value for the template parameter '${name}' at line '1' and column '1' is not provided.`);
      }
      checkParameter(name, def, value);
      cache.set(name, value);
      return value;
    },
  };
}

function checkParameter(name: string, def: Record<string, unknown>, value: unknown): void {
  const type = PARAMETER_TYPES[String(def.type ?? '').toLowerCase()];
  if (!type) throw invalidTemplate(`The template parameter '${name}' has an invalid type '${String(def.type)}'.`);
  if (!type.check(value)) {
    throw invalidTemplate(`Template parameter JToken type is not valid. Expected '${type.label}'. Actual '${describe(value)}'. Parameter '${name}'.`);
  }
  if (Array.isArray(def.allowedValues) && !def.allowedValues.some((a) => JSON.stringify(a) === JSON.stringify(value))) {
    throw invalidTemplate(
      `The provided value '${String(value)}' for the template parameter '${name}' is not valid. The parameter value is not part of the allowed value(s): '${def.allowedValues.join(',')}'.`,
    );
  }
  if (typeof value === 'number') {
    if (typeof def.minValue === 'number' && value < def.minValue) {
      throw invalidTemplate(`The provided value '${value}' for the template parameter '${name}' is not valid. The value must be at least ${def.minValue}.`);
    }
    if (typeof def.maxValue === 'number' && value > def.maxValue) {
      throw invalidTemplate(`The provided value '${value}' for the template parameter '${name}' is not valid. The value must be at most ${def.maxValue}.`);
    }
  }
}

function planResource(
  raw: unknown,
  index: number,
  scope: DeploymentScope,
  evaluate: (v: unknown) => unknown,
): { resource: PlannedResource; dependsOn: string[] } | undefined {
  if (!isRecord(raw)) throw invalidTemplate(`The template resource at position ${index} must be an object.`);
  for (const unsupported of ['copy', 'resources', 'scope']) {
    if (unsupported in raw) {
      throw invalidTemplate(`The template resource at position ${index} uses '${unsupported}', which the ARM sandbox does not support; declare each resource at the top level.`);
    }
  }
  if ('condition' in raw && evaluate(raw.condition) !== true) return undefined;
  const type = evaluate(raw.type);
  const name = evaluate(raw.name);
  const apiVersion = raw.apiVersion;
  for (const [field, v] of [['type', type], ['name', name], ['apiVersion', apiVersion]] as const) {
    if (typeof v !== 'string' || v === '') throw invalidTemplate(`The template resource at position ${index} is missing required property '${field}'.`);
  }
  const t = type as string;
  const n = name as string;
  if (t.split('/').length !== n.split('/').length + 1) {
    throw invalidTemplate(
      `The template resource '${n}' for type '${t}' at line '1' and column '1' has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name.`,
    );
  }
  const location = 'location' in raw ? evaluate(raw.location) : scope.resourceGroup.location;
  const dependsOn = Array.isArray(raw.dependsOn) ? raw.dependsOn.map((d) => String(evaluate(d))) : [];
  const resource: PlannedResource = {
    id: buildResourceId(scope.subscriptionId, scope.resourceGroup.name, t, n),
    type: t,
    name: n,
    apiVersion: apiVersion as string,
    location: String(location),
  };
  if ('kind' in raw) resource.kind = String(evaluate(raw.kind));
  for (const field of ['sku', 'tags', 'properties'] as const) {
    if (!(field in raw)) continue;
    const value = evaluate(raw[field]);
    if (!isRecord(value)) throw invalidTemplate(`The template resource '${n}' has a '${field}' that is not an object.`);
    (resource as unknown as Record<string, unknown>)[field] = value;
  }
  return { resource, dependsOn };
}

/** Stable topological order: a resource comes after everything in its dependsOn. */
function orderByDependencies(items: { resource: PlannedResource; dependsOn: string[] }[]): PlannedResource[] {
  const refersTo = (dep: string, r: PlannedResource) => {
    const d = dep.toLowerCase();
    return d === r.id.toLowerCase() || d === r.name.toLowerCase() || d === `${r.type}/${r.name}`.toLowerCase();
  };
  const edges = items.map(({ dependsOn }) =>
    dependsOn.map((dep) => {
      const target = items.findIndex((other) => refersTo(dep, other.resource));
      if (target < 0) throw invalidTemplate(`The resource '${dep}' is not defined in the template.`);
      return target;
    }),
  );
  const ordered: PlannedResource[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (i: number) => {
    if (state.get(i) === 'done') return;
    if (state.get(i) === 'visiting') throw invalidTemplate(`Circular dependency detected on resource: '${items[i].resource.id}'.`);
    state.set(i, 'visiting');
    edges[i].forEach(visit);
    state.set(i, 'done');
    ordered.push(items[i].resource);
  };
  items.forEach((_, i) => visit(i));
  return ordered;
}

function findKey(record: Record<string, unknown>, name: string): string | undefined {
  return Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'Array';
  if (value === null) return 'Null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'Integer' : 'Float';
  return { string: 'String', boolean: 'Boolean', object: 'Object' }[typeof value as string] ?? typeof value;
}
