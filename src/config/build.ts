/**
 * Building the domain objects from a config the schema has admitted (catalog, access policy, audit
 * settings), checking on the way what a schema cannot: declared roles, placeholders, templates that
 * exist, defaults that pass their own parameter's check.
 */
import path from 'node:path';
import { RE2JS, RE2JSException } from 're2js';
import { Catalog, checkValue, type CommandPolicy, type CommandSpec, type OperationTemplate, type ParameterSpec, placeholdersIn, type RequesterRule } from '../domain/catalog';
import { CHANGE_KINDS } from '../domain/operation';
import { DEFAULT_DELEGATION_POLICY, type DelegationPolicy } from '../domain/delegation';
import { AccessPolicy, Roles } from '../domain/policy';
import { DEFAULT_REASON_MIN_LENGTH } from '../domain/reason';
import { FileRefusedError, inConfigFolder, OutsideFolderError, readBoundedFile, utf8JsonText } from './bounded-file';
import { buildRequirements } from './requirements';
import { parseDuration } from './duration';
import { buildDirectory, checkGroupRoles, endpointProblem } from './directory';
import { buildReach } from './reach';
import { OPERATION_FIELDS, RESERVED_COMMANDS } from './schema';
import type { AuditConfig, CountersignConfig, RawCommand, RawConfig, RawParameter } from './types';
import { didYouMean } from './suggest';
import { ConfigError, type ConfigProblem, dotted, type Locate } from './validate';
import { buildBreakGlass, buildSchedule } from './schedule';
import { ConfigTemplates } from './templates';

const DEFAULT_TTL = '4h';

/** Records a problem with the key at a path (the line is looked up). */
type At = (key: (string | number)[], problem: string) => void;

/**
 * The loaded config, or a ConfigError naming every problem found. `hash` is the config file's
 * SHA-256; the config's `hash` (the policy version) also covers the templates it names.
 */
export function buildConfig(input: RawConfig, source: { file: string; hash: string; locate: Locate }): CountersignConfig {
  const { file, locate } = source;
  const problems: ConfigProblem[] = [];
  const at = (key: (string | number)[], problem: string) => problems.push({ key: dotted(key), line: locate(key), problem });
  const dir = path.dirname(file);
  const templates = new ConfigTemplates(dir);

  const commands = input.commands.map((c, i) => buildCommand(c, i, input, at, templates));
  const seen = new Set<string>();
  commands.forEach((c, i) => {
    if (seen.has(c.name)) at(['commands', i, 'name'], `command "${c.name}" is declared twice`);
    seen.add(c.name);
  });
  checkRepeated(input, at);
  const auditorRoles = input.audit?.auditorRoles ?? [];
  auditorRoles.forEach((r, i) => {
    if (!Object.hasOwn(input.roles, r)) at(['audit', 'auditorRoles', i], `role "${r}" is not declared under roles${didYouMean(r, Object.keys(input.roles))} (declared: ${Object.keys(input.roles).join(', ')})`);
  });
  const audit = buildAudit(input.audit, at, dir);
  const delegation = buildDelegation(input.delegation, at);
  const directory = buildDirectory(input, at);
  checkGroupRoles(input, at);
  const endpoint = input.azure?.endpoint;
  // (One not https is said by the schema, with an example.)
  const endpointWrong = endpoint === undefined || !/^https:\/\//i.test(endpoint) ? undefined : endpointProblem(endpoint.replace(/\/+$/, ''), false);
  if (endpointWrong) at(['azure', 'endpoint'], endpointWrong);
  const credential = input.azure?.credential ?? { type: 'default' as const };
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  for (const field of ['clientId', 'tenantId'] as const) {
    const value = credential[field];
    if (value !== undefined && !guid.test(value)) at(['azure', 'credential', field], `must be a GUID (the ${field === 'clientId' ? "identity's client (application) id" : "tenant's id"}), got "${value}"`);
  }
  if (credential.type === 'clientSecret' && (!credential.clientId || !credential.tenantId)) {
    at(['azure', 'credential'], 'clientSecret needs clientId and tenantId (the secret itself comes from the AZURE_CLIENT_SECRET environment variable)');
  }
  if (problems.length > 0) throw new ConfigError(file, problems);

  const subscriptionId = input.azure?.subscriptionId ?? '';
  return {
    file,
    hash: templates.policyVersion(source.hash),
    fileHash: source.hash,
    templates: templates.list(),
    tenants: input.tenants,
    azure: {
      subscriptionId,
      ...(input.azure?.endpoint ? { endpoint: input.azure.endpoint } : {}),
      credential,
      sandbox: subscriptionId === '',
    },
    roles: input.roles,
    auditorRoles,
    audit,
    delegation,
    directory,
    catalog: new Catalog(commands),
    access: new AccessPolicy(input.tenants, new Roles(input.roles)),
    loadTemplate: (relativePath) => templates.get(relativePath),
  };
}

/**
 * A name or value given twice in a list where each must be one: two parameters of one name (which
 * would a `{name}` or `name=` mean?), a value allowed twice, a member listed twice in a role.
 */
function checkRepeated(input: RawConfig, at: At): void {
  const twice = (values: readonly string[], each: (index: number, value: string) => void) => {
    const seen = new Set<string>();
    values.forEach((v, i) => {
      const key = v.toLowerCase();
      if (seen.has(key)) each(i, v);
      seen.add(key);
    });
  };
  // A list of names given twice: a copy-paste slip that hides what was meant (a role meant to be another).
  const listed = (values: readonly unknown[] | undefined, key: (string | number)[]) =>
    twice((values ?? []).map(String), (k, value) => at([...key, k], `"${value}" is listed twice`));
  input.commands.forEach((c, i) => {
    const parameters = c.parameters ?? [];
    twice(parameters.map((p) => p.name), (j, name) => at(['commands', i, 'parameters', j, 'name'], `parameter "${name}" is declared twice in "${c.name}": give each parameter its own name`));
    parameters.forEach((p, j) => twice((p.allowed ?? []).map(String), (k, value) => at(['commands', i, 'parameters', j, 'allowed', k], `value "${value}" is listed twice`)));
    const policy = c.policy;
    listed(policy?.approverRoles, ['commands', i, 'policy', 'approverRoles']);
    listed(policy?.requesterRoles, ['commands', i, 'policy', 'requesterRoles']);
    listed(policy?.conversations?.types, ['commands', i, 'policy', 'conversations', 'types']);
    listed(policy?.conversations?.ids, ['commands', i, 'policy', 'conversations', 'ids']);
    listed(policy?.notify?.channels, ['commands', i, 'policy', 'notify', 'channels']);
    listed(policy?.breakGlass?.roles, ['commands', i, 'policy', 'breakGlass', 'roles']);
    listed(policy?.breakGlass?.notify, ['commands', i, 'policy', 'breakGlass', 'notify']);
  });
  for (const [role, members] of Object.entries(input.roles)) {
    twice(members.map(String), (k, member) => at(['roles', role, k], `"${member}" is listed twice in role ${role}`));
  }
  listed(input.tenants, ['tenants']);
  listed(input.audit?.auditorRoles, ['audit', 'auditorRoles']);
  listed(input.defaults?.notify?.channels, ['defaults', 'notify', 'channels']);
}

/** The longest time to live (`ttl`) a command's requests may have. */
const MAX_TTL_SECONDS = 90 * 86400;

/** The longest `delegation.maxDuration` may be: an absence longer than a quarter is a change of roles. */
const MAX_DELEGATION_SECONDS = 90 * 86400;

function buildDelegation(raw: RawConfig['delegation'], at: At): DelegationPolicy {
  const maxDurationSeconds = raw?.maxDuration === undefined ? DEFAULT_DELEGATION_POLICY.maxDurationSeconds : durationOrZero(raw.maxDuration);
  if (maxDurationSeconds > MAX_DELEGATION_SECONDS) {
    at(['delegation', 'maxDuration'], `a delegation may last at most 90d; for a longer absence change the roles instead (got ${raw?.maxDuration})`);
  }
  return { enabled: raw?.enabled ?? DEFAULT_DELEGATION_POLICY.enabled, maxDurationSeconds };
}

const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1000;
const DEFAULT_CHECKPOINT_INTERVAL = '15m';

/** The longest `audit.checkpointInterval`: the records since the last checkpoint are vouched for by none. */
const MAX_CHECKPOINT_INTERVAL_SECONDS = 86400;

function buildAudit(raw: RawConfig['audit'], at: At, dir: string): AuditConfig {
  const audit: AuditConfig = {
    checkpointIntervalSeconds: durationOrZero(raw?.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL),
    checkpointEveryRecords: raw?.checkpointEveryRecords ?? DEFAULT_CHECKPOINT_EVERY_RECORDS,
  };
  if (audit.checkpointIntervalSeconds > MAX_CHECKPOINT_INTERVAL_SECONDS) {
    at(['audit', 'checkpointInterval'], `at most 24h: the records written since the last checkpoint are vouched for by no signature until the next one (got ${raw?.checkpointInterval})`);
  }
  const http = raw?.http;
  if (!http) return audit;
  if (!!http.jwksUri === !!http.jwksFile) {
    at(['audit', 'http'], "needs exactly one of jwksUri (the issuer's https key set) and jwksFile (a JSON Web Key Set file)");
    return audit;
  }
  if (http.jwksUri) return { ...audit, http: { issuer: http.issuer, audience: http.audience, role: http.role, jwks: { uri: http.jwksUri } } };
  const keys = jwksFromFile(dir, http.jwksFile!, (problem) => at(['audit', 'http', 'jwksFile'], problem));
  return keys ? { ...audit, http: { issuer: http.issuer, audience: http.audience, role: http.role, jwks: { keys } } } : audit;
}

/** A key set is a few kilobytes (Entra's, with every key it rotates through, under 20 kB). */
const MAX_JWKS_BYTES = 1024 * 1024;

/**
 * The keys of `audit.http.jwksFile`: a file in the config's folder, as templates are (whose keys are
 * trusted is the config's to say, reviewed with it), a regular file of at most 1 MiB. A file that is
 * not a key set is named without quoting it: JSON.parse's message quotes the text where it failed.
 */
function jwksFromFile(dir: string, relativePath: string, problem: (message: string) => void): Record<string, unknown>[] | undefined {
  const file = path.resolve(dir, relativePath);
  let bytes: Buffer;
  try {
    bytes = readBoundedFile(inConfigFolder(dir, relativePath, 'the key set'), MAX_JWKS_BYTES, 'a key set');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problem(err instanceof OutsideFolderError ? `${err.message} (a key set is read from the config's folder, as templates are)` : err instanceof FileRefusedError ? `${file}: ${err.message}` : `cannot read ${file} (${code ?? String(err)})`);
    return undefined;
  }
  const decoded = utf8JsonText(bytes);
  if ('problem' in decoded) {
    problem(`${file} ${decoded.problem}`);
    return undefined;
  }
  const { text } = decoded;
  let set: { keys?: unknown } | null;
  try {
    set = JSON.parse(text) as { keys?: unknown } | null;
  } catch (err) {
    const position = /at position (\d+)/.exec((err as Error).message);
    const where = position ? ` (line ${text.slice(0, Number(position[1])).split('\n').length})` : '';
    problem(`${file} is not a JSON Web Key Set: it is not valid JSON${where}`);
    return undefined;
  }
  if (!set || !Array.isArray(set.keys) || set.keys.length === 0 || !set.keys.every((k) => k && typeof k === 'object' && typeof (k as { kty?: unknown }).kty === 'string')) {
    problem(`${file} is not a JSON Web Key Set: it has no "keys" list of JSON Web Keys`);
    return undefined;
  }
  return set.keys as Record<string, unknown>[];
}

function buildCommand(c: RawCommand, i: number, input: RawConfig, at: At, templates: ConfigTemplates): CommandSpec {
  const key = ['commands', i];
  const first = c.name.split(' ')[0];
  if (RESERVED_COMMANDS.includes(first)) at([...key, 'name'], `"${first}" is a built-in command word; choose another name`);
  const parameters = (c.parameters ?? []).map((p, j) => buildParameter(p, [...key, 'parameters', j], at));
  // An unknown kind (refused by the schema, named again below) is taken as one that changes Azure,
  // so that the rest of the command is still checked as written, without claims about reading.
  const knownKind = Object.hasOwn(OPERATION_FIELDS, c.operation.kind);
  const isChange = !knownKind || (CHANGE_KINDS as readonly string[]).includes(c.operation.kind);
  const sensitive = c.sensitive ?? isChange;
  if (knownKind && isChange && !sensitive) {
    at([...key, 'sensitive'], `operation ${c.operation.kind} changes Azure, so the command must be sensitive (approved by a second person)`);
  }
  if (!isChange && sensitive) at([...key, 'sensitive'], `operation ${c.operation.kind} only reads; mark the command sensitive: false`);
  if (!isChange && c.risk) at([...key, 'risk'], `operation ${c.operation.kind} only reads, so it carries no risk to state; remove risk`);
  if (sensitive && !c.policy) at([...key], 'a sensitive command needs a policy (at least approverRoles)');
  checkOperation(c.operation, parameters, [...key, 'operation'], at, templates);

  if (c.policy && !isChange) return { ...spec(c, sensitive, parameters), ...readersOf(c, key, input, at) };
  let policy: CommandPolicy | undefined;
  if (c.policy) {
    const roleCheck = policyRoleCheck(key, input, at);
    roleCheck(c.policy.approverRoles, 'approverRoles');
    roleCheck(c.policy.requesterRoles, 'requesterRoles');
    const quorum = buildRequirements(c, [...key, 'policy'], input, at);
    const base = {
      approvals: quorum ? quorum.reduce((n, req) => n + req.count, 0) : (c.policy.approvals ?? input.defaults?.approvals ?? 1),
      approverRoles: quorum ? quorum.flatMap((req) => req.roles) : (c.policy.approverRoles ?? []),
      ...(quorum ? { requirements: quorum } : {}),
      requesterRoles: c.policy.requesterRoles ?? [],
      ttlSeconds: durationOrZero(c.policy.ttl ?? input.defaults?.ttl ?? DEFAULT_TTL),
      conversationTypes: c.policy.conversations?.types ?? ['personal', 'groupChat', 'channel'],
      conversationIds: c.policy.conversations?.ids ?? [],
      ...(c.policy.reason?.required ? { reason: { required: true, minLength: c.policy.reason.minLength ?? DEFAULT_REASON_MIN_LENGTH } } : {}),
    };
    if (base.ttlSeconds > MAX_TTL_SECONDS) {
      const where = c.policy.ttl !== undefined ? [...key, 'policy', 'ttl'] : ['defaults', 'ttl'];
      at(where, `a request may wait at most 90d for its approvals: an approval given months after the request approves what may no longer be meant (got ${c.policy.ttl ?? input.defaults?.ttl})`);
    }
    if (c.policy.reason?.minLength !== undefined && !c.policy.reason.required) {
      at([...key, 'policy', 'reason', 'minLength'], 'minLength applies only when the reason is required; add required: true');
    }
    const schedule = buildSchedule(c, i, input, at);
    const breakGlass = buildBreakGlass(c, i, input, at);
    policy = { ...base, ...buildReach(c, i, input, base, at), ...(schedule ? { schedule } : {}), ...(breakGlass ? { breakGlass } : {}) };
  }
  return { ...spec(c, sensitive, parameters), ...(policy ? { policy } : {}) };
}

/** Checks that every role a list of the command's policy names is declared. */
function policyRoleCheck(key: (string | number)[], input: RawConfig, at: At): (list: string[] | undefined, field: string) => void {
  const declared = Object.keys(input.roles);
  return (list, field) =>
    (list ?? []).forEach((r, j) => {
      if (!declared.includes(r)) at([...key, 'policy', field, j], `role "${r}" is not declared under roles${didYouMean(r, declared)} (declared: ${declared.join(', ')})`);
    });
}

function spec(c: RawCommand, sensitive: boolean, parameters: ParameterSpec[]): CommandSpec {
  return { name: c.name, description: c.description, sensitive, ...(c.risk ? { risk: c.risk } : {}), parameters, operation: c.operation };
}

/** What a read-only command's policy may say: who may run it and from where. */
const READER_KEYS = ['requesterRoles', 'conversations'];

/** A read-only command's policy: nothing is approved, so only who may run it and from where. */
function readersOf(c: RawCommand, key: (string | number)[], input: RawConfig, at: At): { readers: RequesterRule } {
  const policy = c.policy!;
  for (const k of Object.keys(policy).filter((k) => !READER_KEYS.includes(k))) {
    at([...key, 'policy', k], `operation ${c.operation.kind} only reads, so nothing is approved: a read-only command's policy says only who may run it and from where (${READER_KEYS.join(', ')}); remove ${k}`);
  }
  policyRoleCheck(key, input, at)(policy.requesterRoles, 'requesterRoles');
  return {
    readers: {
      requesterRoles: policy.requesterRoles ?? [],
      conversationTypes: policy.conversations?.types ?? ['personal', 'groupChat', 'channel'],
      conversationIds: policy.conversations?.ids ?? [],
    },
  };
}

/**
 * A parameter's pattern, compiled by RE2 (re2js): it matches in time linear in the value, whatever
 * the pattern, so nested repetition (`^([a-z0-9]+-?)+$`) cannot make a crafted value hold the bot;
 * it refuses what it cannot run so (look-arounds, back-references). Found anywhere in the value, as
 * RegExp.test finds it.
 */
function linearTimeMatcher(pattern: string): (value: string) => boolean {
  const compiled = RE2JS.compile(pattern);
  return (value) => compiled.test(value);
}

function buildParameter(p: RawParameter, key: (string | number)[], at: At): ParameterSpec {
  const type = p.type ?? (p.allowed ? 'enum' : 'string');
  if (type === 'enum' && !p.allowed) at(key, `parameter ${p.name} is an enum but lists no allowed values`);
  let matches: ((value: string) => boolean) | undefined;
  if (p.pattern) {
    try {
      // Teams checks it in the form too, as a JavaScript regular expression.
      new RegExp(p.pattern);
      matches = linearTimeMatcher(p.pattern);
    } catch (err) {
      const problem =
        err instanceof RE2JSException
          ? `is not a pattern RE2 can run (${err.message}): Countersign runs patterns on RE2, in time linear in the value, so that no value a requester types can hold the bot; RE2 has no look-arounds ((?=…), (?!…), (?<=…), (?<!…)), back-references (\\1) or \\u escapes (write the character itself, é): write ^[a-z0-9]+(-[a-z0-9]+)*$, not ^(?!-)([a-z0-9]+-?)+$`
          : `not a valid regular expression: ${(err as Error).message}`;
      at([...key, 'pattern'], problem);
    }
  }
  const spec: ParameterSpec = { name: p.name, type };
  if (p.description) spec.description = p.description;
  if (p.allowed) spec.allowed = p.allowed.map(String);
  if (p.pattern) spec.pattern = p.pattern;
  if (matches) spec.matches = matches;
  if (p.min !== undefined) spec.min = p.min;
  if (p.max !== undefined) spec.max = p.max;
  if (p.min !== undefined && p.max !== undefined && p.min > p.max) {
    at([...key, 'min'], `parameter ${p.name} must be at least ${p.min} and at most ${p.max}: no value is both, so the command could never be asked for`);
  }
  // A restriction the parameter's type does not apply would hold nothing: an allowed list on a
  // string took any value, a pattern on an integer or enum was never run.
  if (p.allowed && type !== 'enum') {
    at([...key, 'allowed'], `allowed applies to an enum parameter; ${p.name} is ${type}, so its values would not be held to the list (remove type: ${type}, or use type: enum)`);
  }
  // (An enum listing no values is said so already: a pattern on it is likely meant for a string.)
  if (p.pattern && type !== 'string' && !(type === 'enum' && !p.allowed)) {
    at([...key, 'pattern'], `pattern applies to a string parameter; ${p.name} is ${type}, so the pattern would never be run (${type === 'enum' ? 'list only the allowed values' : 'use min and max'}, or make it type: string)`);
  }
  // The parameters' values are looked up by name in plain objects, which have these names already
  // (constructor, toString, __proto__, ...): the lookup found a function, and every request of the
  // command failed its turn, or the value typed by name was dropped.
  if (Object.getOwnPropertyNames(Object.prototype).includes(p.name)) {
    at([...key, 'name'], `a parameter cannot be named ${p.name}: every JavaScript object has a member of that name, so the value typed for it could not be told from it; name it otherwise`);
  }
  if (BUILTIN_PLACEHOLDERS.includes(p.name)) {
    at([...key, 'name'], `a parameter cannot be named ${p.name}: {${p.name}} in an operation is Countersign's own (${p.name === 'requestId' ? "the request's id" : 'the subscription configured'}), so the value typed would be stored but never used; name it otherwise (e.g. ticket)`);
  }
  if (type !== 'integer' && (p.min !== undefined || p.max !== undefined)) {
    at([...key, p.min !== undefined ? 'min' : 'max'], `min and max apply to an integer parameter; ${p.name} is ${type} (add type: integer, or use a pattern)`);
  }
  if (p.default !== undefined) {
    spec.default = String(p.default);
    const problem = checkValue(spec, spec.default);
    if (problem) at([...key, 'default'], `the default does not pass the parameter's own check: ${problem}`);
  }
  return spec;
}

const BUILTIN_PLACEHOLDERS = ['requestId', 'subscriptionId'];

function checkOperation(
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
  const names = parameters.map((p) => p.name);
  for (const name of placeholdersIn(op)) {
    if (!names.includes(name) && !BUILTIN_PLACEHOLDERS.includes(name)) {
      at([...key], `placeholder {${name}} is not a declared parameter${didYouMean(name, [...names, ...BUILTIN_PLACEHOLDERS])} (declared: ${names.join(', ') || 'none'})`);
    }
  }
  // Read now, with every file the path can name, and kept: a request deploys what was checked here.
  for (const problem of templates.readFor(op, parameters)) at([...key, 'template'], problem);
}

/** The operation fields that are a text (a name, an id, an API version), and those that are a map of texts (tags). */
const TEXT_FIELDS = new Set(['resourceGroup', 'location', 'resourceId', 'apiVersion', 'action', 'deploymentName', 'scope', 'template', 'resourceType']);
const TEXT_MAP_FIELDS = new Set(['tags']);

/**
 * Each field as ARM takes it: a text that is not empty (a list or a number would be shown to
 * approvers as written, then refused by Azure after approval), tags as a map of texts. (`capacity`
 * and `parameters` have their own checks.)
 */
function checkFieldTypes(op: OperationTemplate, key: (string | number)[], at: At): void {
  for (const [field, value] of Object.entries(op)) {
    if (TEXT_FIELDS.has(field) && (typeof value !== 'string' || value.trim() === '')) {
      at([...key, field], `${field} must be a text that is not empty (a name, an id, or a {parameter}), got ${JSON.stringify(value)}`);
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

/** A duration the schema refused (and reported) builds as 0, so the rest of the file is still checked. */
function durationOrZero(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    return 0;
  }
}

export { parseDuration } from './duration';
