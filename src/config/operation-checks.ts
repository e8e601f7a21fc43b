/**
 * A command's operation checked against what ARM takes: its fields for the kind, the placeholders
 * it names (declared parameters, or built-in), each field's type and closed values, the template it
 * deploys read now.
 */
import { type OperationTemplate, type ParameterSpec, placeholdersIn } from '../domain/catalog';
import { OPERATION_FIELDS } from './schema';
import { didYouMean } from './suggest';
import { type At } from './validate';
import { ConfigTemplates } from './templates';

export const BUILTIN_PLACEHOLDERS = ['requestId', 'subscriptionId'];

export function checkOperation(
  op: OperationTemplate,
  parameters: ParameterSpec[],
  key: (string | number)[],
  at: At,
  templates: ConfigTemplates,
): void {
  const fields = Object.hasOwn(OPERATION_FIELDS, op.kind) ? OPERATION_FIELDS[op.kind] : undefined;
  if (!fields) {
    // The schema names the kind (the closest one, and the ones there are); the rest of the file is still checked.
    return;
  }
  for (const f of fields.required) if (op[f] === undefined) at([...key], `operation ${op.kind} needs "${f}"`);
  for (const f of Object.keys(op)) {
    if (f !== 'kind' && !fields.required.includes(f) && !fields.optional.includes(f)) {
      at([...key, f], `unknown field for operation ${op.kind}${didYouMean(f, [...fields.required, ...fields.optional])} (allowed: ${[...fields.required, ...fields.optional].join(', ')})`);
    }
  }
  checkFieldTypes(op, key, at);
  checkOperationValues(op, parameters, key, at);
  checkSubscriptions(op, parameters, key, at);
  const names = parameters.map((p) => p.name);
  for (const name of placeholdersIn(op)) {
    if (!names.includes(name) && !BUILTIN_PLACEHOLDERS.includes(name)) {
      at([...key], `placeholder {${name}} is not a declared parameter${didYouMean(name, [...names, ...BUILTIN_PLACEHOLDERS])} (declared: ${names.join(', ') || 'none'})`);
    }
  }
  // Read now, with every file the path can name, and kept: a request deploys what was checked here.
  for (const problem of templates.readFor(op, parameters)) at([...key, 'template'], problem);
}

/** The subscription segment of a resource id or scope: `/subscriptions/<this>/...`. */
const SUBSCRIPTION_SEGMENT = /^\/subscriptions\/([^/]*)/i;

/**
 * A resource id or tag scope acts in the subscription it names, whatever azure.subscriptionId says:
 * one filled from a parameter a requester may give any value would let them send the command to any
 * subscription the bot's identity can reach. Only {subscriptionId} (the configured one) or an enum
 * parameter (the subscriptions the config lists) may stand there.
 */
function checkSubscriptions(op: OperationTemplate, parameters: ParameterSpec[], key: (string | number)[], at: At): void {
  for (const field of ['resourceId', 'scope']) {
    const value = op[field];
    const segment = typeof value === 'string' ? SUBSCRIPTION_SEGMENT.exec(value)?.[1] : undefined;
    if (segment === undefined) continue;
    for (const name of placeholdersIn(segment)) {
      const param = parameters.find((p) => p.name === name);
      // A name that is no parameter is refused as such below.
      if (!param || param.type === 'enum') continue;
      at([...key, field], `the subscription of ${field} comes from parameter {${name}}, which a requester may give any value (another subscription the bot can reach): write {subscriptionId}, or make ${name} an enum of the subscriptions allowed`);
    }
  }
}

/** The operation fields that are a text (a name, an id, an API version), and those that are a map of texts (tags). */
const TEXT_FIELDS = new Set(['resourceGroup', 'location', 'resourceId', 'apiVersion', 'action', 'deploymentName', 'scope', 'template', 'resourceType']);

const TEXT_MAP_FIELDS = new Set(['tags']);

/**
 * Each field as ARM takes it: a text that is not empty (a list or a number would be shown to
 * approvers as written, then refused by Azure after approval), tags as a map of texts, a template's
 * `parameters` as a map. (`capacity` has its own check.)
 */
function checkFieldTypes(op: OperationTemplate, key: (string | number)[], at: At): void {
  for (const [field, value] of Object.entries(op)) {
    if (TEXT_FIELDS.has(field) && (typeof value !== 'string' || value.trim() === '')) {
      at([...key, field], `${field} must be a text that is not empty (a name, an id, or a {parameter}), got ${JSON.stringify(value)}`);
    }
    // A template's parameters by name: a list or a text was sent to ARM as parameters "0", "1", ...
    // (Object.entries of it), refused by Azure only after two people approved it. (Left empty, it is none.)
    if (field === 'parameters' && value !== null && (typeof value !== 'object' || Array.isArray(value))) {
      at([...key, field], `parameters must be a map of the template's parameter names to values, e.g. { environment: "{environment}" }, got ${JSON.stringify(value)}`);
    }
    if (TEXT_MAP_FIELDS.has(field)) {
      const isMap = typeof value === 'object' && value !== null && !Array.isArray(value);
      const wrong = isMap ? Object.entries(value as Record<string, unknown>).find(([, v]) => typeof v !== 'string') : undefined;
      if (!isMap) at([...key, field], `${field} must be a map of names to texts, e.g. { owner: "{owner}" }, got ${JSON.stringify(value)}`);
      else if (wrong) at([...key, field, wrong[0]], `a tag's value must be a text (quote it: "${String(wrong[1])}"), got ${JSON.stringify(wrong[1])}`);
    }
  }
}

/** Operation fields ARM takes one of a few values for: anything else would be refused by Azure only after approval. */
const CLOSED_VALUES: Partial<Record<string, Record<string, readonly string[]>>> = {
  deployTemplate: { mode: ['Incremental', 'Complete'] },
  whatIfDeployment: { mode: ['Incremental', 'Complete'] },
  setTags: { operation: ['Merge', 'Replace', 'Delete'] },
};

const WHOLE_PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * The values of the operation fields Azure takes only a few values for (a deployment's `mode`, a tag
 * write's `operation`) and of `capacity` (a whole number): written out, or filled from a parameter
 * whose every value fits. Otherwise the command would be asked for and approved, then refused by Azure.
 */
function checkOperationValues(op: OperationTemplate, parameters: ParameterSpec[], key: (string | number)[], at: At): void {
  for (const [field, allowed] of Object.entries(CLOSED_VALUES[op.kind] ?? {})) {
    const value = op[field];
    if (value === undefined) continue;
    const param = typeof value === 'string' ? parameters.find((p) => p.name === WHOLE_PLACEHOLDER.exec(value)?.[1]) : undefined;
    if (param) {
      const wrong = param.type === 'enum' ? (param.allowed ?? []).map(String).filter((v) => !allowed.includes(v)) : undefined;
      if (!wrong) at([...key, field], `${field} {${param.name}} must come from an enum parameter whose values are among ${allowed.join(', ')}; ${param.name} is ${param.type ?? 'string'}`);
      else if (wrong.length) at([...key, field], `${field} {${param.name}} can be ${wrong.join(', ')}, which Azure does not take: its values must be among ${allowed.join(', ')}`);
      continue;
    }
    if (typeof value !== 'string' || !allowed.includes(value)) {
      const sameLetters = typeof value === 'string' ? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) : undefined;
      const hint = sameLetters ? ` (write ${sameLetters}: the case counts)` : typeof value === 'string' ? didYouMean(value, [...allowed]) : '';
      at([...key, field], `${field} must be one of ${allowed.join(', ')}${hint}, got ${JSON.stringify(value)}`);
    }
  }
  if (op.kind === 'scaleResource' && op.capacity !== undefined) {
    // A whole number, written as one or as text ("3"), or one parameter's placeholder alone. A string
    // parameter is taken (its pattern may allow only digits); what it is given is checked when a
    // request is prepared (resolveOperation), before anyone is asked to approve it.
    const value = op.capacity;
    const param = typeof value === 'string' ? parameters.find((p) => p.name === WHOLE_PLACEHOLDER.exec(value)?.[1]) : undefined;
    const fits = param
      ? param.type !== 'enum' || (param.allowed ?? []).every((v) => /^\d+$/.test(String(v)))
      : (typeof value === 'number' && Number.isInteger(value) && value >= 0) || (typeof value === 'string' && /^\d+$/.test(value));
    if (!fits) {
      at([...key, 'capacity'], `capacity must be a whole number (3) or the placeholder of a parameter alone ({count}), got ${JSON.stringify(value)}${param ? ` (${param.name} can be ${(param.allowed ?? []).join(', ')})` : ''}`);
    }
  }
}
