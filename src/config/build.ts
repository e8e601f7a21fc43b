/**
 * Building the domain objects from a config the schema has admitted (catalog, access policy, audit
 * settings), checking on the way what a schema cannot: declared roles, placeholders, templates that
 * exist, defaults that pass their own parameter's check.
 */
import path from 'node:path';
import { Catalog } from '../domain/catalog';
import { DEFAULT_DELEGATION_POLICY, type DelegationPolicy } from '../domain/delegation';
import { AccessPolicy, Roles } from '../domain/policy';
import { buildDirectory, checkGroupRoles, credentialsProblem, endpointProblem } from './directory';
import type { CountersignConfig, RawConfig } from './types';
import { undeclaredRole } from './suggest';
import { type At, ConfigError, type ConfigProblem, dotted, type Locate, MAX_PROBLEMS } from './validate';
import { ConfigTemplates } from './templates';
import { buildAudit } from './audit';
import { buildCommand } from './commands';
import { buildEnvironments } from './environments';
import { durationOrZero } from './duration';
import { checkConversationLists } from './conversation-lists';
import { checkDurationFloors } from './duration-floors';

/**
 * The loaded config, or a ConfigError naming every problem found. `hash` is the config file's
 * SHA-256; the config's `hash` (the policy version) also covers the templates it names.
 * `schemaRefused`: the schema found problems, and building such a config goes on as far as it can
 * (see `part`), so that one run names building's problems too.
 */
export function buildConfig(input: RawConfig, source: { file: string; hash: string; locate: Locate; schemaRefused?: boolean }): CountersignConfig {
  const { file, locate } = source;
  const problems: ConfigProblem[] = [];
  // Past the problems a ConfigError lists, a line is not looked up (each look-up goes through the key's siblings).
  const at = (key: (string | number)[], problem: string) => problems.push({ key: dotted(key), line: problems.length < MAX_PROBLEMS ? locate(key) : undefined, problem });
  // A config the schema refused may be of another shape than building expects where the schema said
  // so (a required key missing, `- group` read as an empty map): the part of building that meets it is
  // left out (its problem is said already) and the other parts are still built. A throw from a config
  // the schema admitted is a fault of this code, and goes on.
  let partial = false;
  const part = <T>(build: () => T): T | undefined => {
    if (!source.schemaRefused) return build();
    try {
      return build();
    } catch {
      partial = true;
      return undefined;
    }
  };
  const dir = path.dirname(file);
  const templates = new ConfigTemplates(dir);

  const built = input.commands.map((c, i) => part(() => buildCommand(c, i, input, at, templates)));
  const seen = new Set<string>();
  built.forEach((c, i) => {
    if (!c) return;
    if (seen.has(c.name)) at(['commands', i, 'name'], `command "${c.name}" is declared twice`);
    seen.add(c.name);
  });
  part(() => checkRepeated(input, at));
  part(() => checkConversationLists(input, at));
  part(() => checkDurationFloors(input, at));
  part(() => checkRoleNames(input, at));
  const auditorRoles = input.audit?.auditorRoles ?? [];
  auditorRoles.forEach((r, i) => {
    if (!Object.hasOwn(input.roles, r)) at(['audit', 'auditorRoles', i], undeclaredRole(r, Object.keys(input.roles)));
  });
  const audit = part(() => buildAudit(input.audit, at, dir));
  const delegation = part(() => buildDelegation(input.delegation, at));
  const directory = part(() => buildDirectory(input, at));
  part(() => checkGroupRoles(input, at));
  const subscriptionEnvironments = part(() => buildEnvironments(input.azure, at));
  const credential = part(() => checkAzure(input, at));
  const commands = built.filter((c) => c !== undefined);
  if (problems.length > 0 || partial || !audit || !delegation || !directory || !subscriptionEnvironments || !credential) throw new ConfigError(file, problems);

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
    subscriptionEnvironments,
    loadTemplate: (relativePath) => templates.get(relativePath),
  };
}

/** The Azure endpoint and credential, checked; the credential to use. */
function checkAzure(input: RawConfig, at: At): NonNullable<NonNullable<RawConfig['azure']>['credential']> {
  const endpoint = input.azure?.endpoint;
  // (One not https is said by the schema, with an example; a user name or password whatever the scheme.)
  const endpointWrong = endpoint === undefined ? undefined : (credentialsProblem(endpoint) ?? (!/^https:\/\//i.test(endpoint) ? undefined : endpointProblem(endpoint.replace(/\/+$/, ''), false)));
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
  return credential;
}

/**
 * Role names that could never be meant: an empty one (no list can name it usefully) and the names
 * every JavaScript object already has (constructor, toString, __proto__, ...). Roles are looked up by
 * name, and a role named __proto__ was lost when its members were rebuilt with group memberships.
 */
function checkRoleNames(input: RawConfig, at: At): void {
  for (const role of Object.keys(input.roles)) {
    if (role.trim() === '') at(['roles', role], `a role needs a name: "${role}" cannot be told apart in a list of roles; name it (e.g. approvers)`);
    else if (Object.getOwnPropertyNames(Object.prototype).includes(role)) {
      at(['roles', role], `a role cannot be named ${role}: every JavaScript object has a member of that name, so the role could be mistaken for it; name it otherwise`);
    }
  }
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

/** The longest `delegation.maxDuration` may be: an absence longer than a quarter is a change of roles. */
const MAX_DELEGATION_SECONDS = 90 * 86400;

function buildDelegation(raw: RawConfig['delegation'], at: At): DelegationPolicy {
  const maxDurationSeconds = raw?.maxDuration === undefined ? DEFAULT_DELEGATION_POLICY.maxDurationSeconds : durationOrZero(raw.maxDuration);
  if (maxDurationSeconds > MAX_DELEGATION_SECONDS) {
    at(['delegation', 'maxDuration'], `a delegation may last at most 90d; for a longer absence change the roles instead (got ${raw?.maxDuration})`);
  }
  return { enabled: raw?.enabled ?? DEFAULT_DELEGATION_POLICY.enabled, maxDurationSeconds };
}

