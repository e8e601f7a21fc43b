/**
 * A command's operation checked against what ARM takes: its fields for the kind, the placeholders
 * it names (declared parameters, or built-in), each field's type and closed values, the template it
 * deploys read now.
 */
import { apiVersionProblem, DEPLOYMENT_NAME_CHARACTER, deploymentNameRefuses, MAX_DEPLOYMENT_NAME, shownCharacter } from '../domain/arm-names';
import { type OperationTemplate, type ParameterSpec, placeholdersIn } from '../domain/catalog';
import { OPERATION_FIELDS } from './schema';
import { didYouMean } from './suggest';
import { type At } from './validate';
import { fetchedInParameter } from './template-content';
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
  checkApiVersion(op, parameters, key, at);
  checkDeploymentName(op, parameters, key, at);
  checkSubscriptions(op, parameters, key, at);
  const names = parameters.map((p) => p.name);
  for (const name of placeholdersIn(op)) {
    if (!names.includes(name) && !BUILTIN_PLACEHOLDERS.includes(name)) {
      at([...key], `placeholder {${name}} is not a declared parameter${didYouMean(name, [...names, ...BUILTIN_PLACEHOLDERS])} (declared: ${names.join(', ') || 'none'})`);
    }
  }
  // Read now, with every file the path can name, and kept: a request deploys what was checked here.
  for (const problem of templates.readFor(op, parameters)) at([...key, 'template'], problem);
  // What the config gives the template's parameters is deployed too.
  if (fields.optional.includes('parameters') && op.parameters && typeof op.parameters === 'object' && !Array.isArray(op.parameters)) {
    for (const [name, value] of Object.entries(op.parameters)) {
      const fetched = fetchedInParameter(name, value);
      if (fetched) at([...key, 'parameters', name], fetched);
    }
  }
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

/**
 * `apiVersion` as ARM takes it (2024-07-01, 2023-05-01-preview): `latest`, a word or a date of another
 * shape loaded, was approved, and was refused by Azure only then. The version is the one the config
 * was written against (it fixes what the request sends and reads back), so it is the config's to
 * write out; a placeholder is taken only of an enum parameter whose every value is an API version.
 */
function checkApiVersion(op: OperationTemplate, parameters: ParameterSpec[], key: (string | number)[], at: At): void {
  const value = op.apiVersion;
  if (typeof value !== 'string' || value.trim() === '') return; // said by checkFieldTypes
  if (placeholdersIn(value).length === 0) {
    const problem = apiVersionProblem(value);
    if (problem) at([...key, 'apiVersion'], problem);
    return;
  }
  const param = parameters.find((p) => p.name === WHOLE_PLACEHOLDER.exec(value)?.[1]);
  if (!param || param.type !== 'enum') {
    const whose = param ? `parameter ${param.name} (${param.type ?? 'string'}), which a requester may give any value` : 'a placeholder';
    at([...key, 'apiVersion'], `apiVersion ${JSON.stringify(value)} is filled from ${whose}: the API version is the one the command was written against, so write it out, such as "2024-07-01", or make apiVersion the placeholder alone of an enum parameter whose values are API versions`);
    return;
  }
  for (const allowed of (param.allowed ?? []).map(String)) {
    if (apiVersionProblem(allowed)) at([...key, 'apiVersion'], `apiVersion {${param.name}} can be ${JSON.stringify(allowed)}, which is not an API version Azure takes: each value must be a date YYYY-MM-DD with -preview, -alpha, -beta or -privatepreview after it or nothing, such as 2024-07-01`);
  }
}

/** The length of what a built-in placeholder becomes: a request id (CS- and 8 characters), a subscription id (a GUID). */
const BUILTIN_LENGTHS: Record<string, number> = { requestId: 11, subscriptionId: 36 };

/**
 * `deploymentName` as far as it can be known at load (1 to 64 of A-Z, a-z, 0-9, `_`, `(`, `)`, `-` and
 * `.`, domain/arm-names.ts): its written characters, the values of enum parameters in it, and its length when
 * every placeholder's length is bounded (the built-ins, enums, integers with min and max). What a
 * free parameter puts in it is checked when a request is prepared, before anyone approves it.
 */
function checkDeploymentName(op: OperationTemplate, parameters: ParameterSpec[], key: (string | number)[], at: At): void {
  const value = op.deploymentName;
  if (typeof value !== 'string' || value.trim() === '') return; // said by checkFieldTypes
  const where = [...key, 'deploymentName'];
  const written = value.replace(/\{[A-Za-z_][A-Za-z0-9_]*\}/g, '');
  const badWritten = [...written].find((ch) => !DEPLOYMENT_NAME_CHARACTER.test(ch));
  if (badWritten !== undefined) {
    at(where, `deploymentName ${JSON.stringify(value)} holds ${shownCharacter(badWritten)}, which ${deploymentNameRefuses(badWritten)}`);
    return;
  }
  let shortest = written.length;
  let longest: number | undefined = written.length;
  /** The free parameters with a default: how many characters more than its shortest value the default puts in. */
  const defaults: { name: string; extra: number }[] = [];
  for (const m of value.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    const name = m[1];
    const param = parameters.find((p) => p.name === name);
    const builtin = BUILTIN_LENGTHS[name];
    if (!param && builtin !== undefined) {
      shortest += builtin;
      if (longest !== undefined) longest += builtin;
      continue;
    }
    if (!param) return; // an undeclared placeholder is said by checkOperation
    const lengths = param.type === 'enum' ? (param.allowed ?? []).map((v) => String(v).length) : param.type === 'integer' ? integerLengths(param) : undefined;
    if (param.type === 'enum') {
      for (const allowed of (param.allowed ?? []).map(String)) {
        const bad = [...allowed].find((ch) => !DEPLOYMENT_NAME_CHARACTER.test(ch));
        if (bad !== undefined) at(where, `deploymentName {${name}} can be ${JSON.stringify(allowed)}, whose ${shownCharacter(bad)} ${deploymentNameRefuses(bad)}`);
      }
    }
    const least = lengths && lengths.length ? Math.min(...lengths) : 1;
    // Another parameter's default is known at load too: it fills the name when the requester gives no value (an enum's is one of its values).
    if (param.type !== 'enum' && param.default !== undefined) {
      const bad = [...param.default].find((ch) => !DEPLOYMENT_NAME_CHARACTER.test(ch));
      if (bad !== undefined) at(where, `deploymentName {${name}} defaults to ${JSON.stringify(param.default)}, whose ${shownCharacter(bad)} ${deploymentNameRefuses(bad)}`);
      else defaults.push({ name, extra: param.default.length - least });
    }
    shortest += least;
    longest = longest !== undefined && lengths && lengths.length ? longest + Math.max(...lengths) : undefined;
  }
  if (shortest > MAX_DEPLOYMENT_NAME) at(where, `deploymentName ${JSON.stringify(value)} is at least ${shortest} characters long once filled: Azure takes at most ${MAX_DEPLOYMENT_NAME}`);
  else if (longest !== undefined && longest > MAX_DEPLOYMENT_NAME) at(where, `deploymentName ${JSON.stringify(value)} can be ${longest} characters long once filled (its longest values): Azure takes at most ${MAX_DEPLOYMENT_NAME}`);
  else {
    const long = defaults.find((d) => shortest + d.extra > MAX_DEPLOYMENT_NAME);
    if (long) at(where, `deploymentName ${JSON.stringify(value)} is ${shortest + long.extra} characters long once filled with {${long.name}}'s default: Azure takes at most ${MAX_DEPLOYMENT_NAME}`);
  }
}

/** The fewest and most digits an integer parameter's values have, when both bounds are given (a minus sign counted). */
function integerLengths(param: ParameterSpec): number[] | undefined {
  if (param.min === undefined || param.max === undefined) return undefined;
  const ends = [param.min, param.max].map((n) => String(n).length);
  // 0 lies between a negative min and a positive max: one digit.
  return param.min <= 0 && param.max >= 0 ? [...ends, 1] : ends;
}
