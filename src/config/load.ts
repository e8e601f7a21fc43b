/**
 * Loads and validates the YAML config once, at startup (and for `countersign config check`).
 * Every mistake is reported with the file, line, key and the problem; nothing starts on a bad config.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { Catalog, checkValue, type CommandPolicy, type CommandSpec, type OperationTemplate, type ParameterSpec, placeholdersIn } from '../domain/catalog';
import { CHANGE_KINDS } from '../domain/operation';
import { AccessPolicy, Roles } from '../domain/policy';
import { sha256Hex } from '../domain/canonical';
import type { ConversationKind } from '../domain/request';
import { configSchema, OPERATION_FIELDS, RESERVED_COMMANDS } from './schema';

export type CredentialType = 'default' | 'managedIdentity' | 'clientSecret' | 'workloadIdentity';

export interface AzureConfig {
  /** Empty: the local ARM sandbox is used. */
  subscriptionId: string;
  endpoint?: string;
  credential: { type: CredentialType; clientId?: string; tenantId?: string };
  sandbox: boolean;
}

export interface CountersignConfig {
  file: string;
  /** SHA-256 of the config file's bytes: the policy version recorded with every request. */
  hash: string;
  tenants: string[];
  azure: AzureConfig;
  roles: Record<string, string[]>;
  auditorRoles: string[];
  audit: AuditConfig;
  catalog: Catalog;
  access: AccessPolicy;
  /** Reads a deployment template, relative to the config file's folder. */
  loadTemplate(relativePath: string): Record<string, unknown>;
}

/** The `audit` block beyond auditorRoles: checkpoints and the HTTP export API. */
export interface AuditConfig {
  /** How often the chain head is signed (audit.checkpointInterval, default 15m). */
  checkpointIntervalSeconds: number;
  /** At most this many records between two checkpoints (audit.checkpointEveryRecords, default 1000). */
  checkpointEveryRecords: number;
  /** GET /api/audit/export; absent: the endpoint answers that it is not enabled. */
  http?: AuditHttpConfig;
}

export interface AuditHttpConfig {
  /** The token issuer (`iss`), e.g. https://login.microsoftonline.com/<tenant>/v2.0. */
  issuer: string;
  /** The audience (`aud`) tokens must be for: the API's client id or App ID URI. */
  audience: string;
  /** The app role (in the `roles` claim) that may export. */
  role: string;
  /** Where the issuer's signing keys come from: its JWKS URI, or a JSON Web Key Set given inline from a file. */
  jwks: { uri: string } | { keys: Record<string, unknown>[] };
}

export interface ConfigProblem {
  /** Dotted path, e.g. commands[0].policy.approvals. */
  key: string;
  line?: number;
  problem: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `Invalid config ${file}:\n` +
        problems.map((p) => `  ${file}${p.line ? `:${p.line}` : ''}: ${p.key || '(top level)'}: ${p.problem}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const DEFAULT_TTL = '4h';
const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const validateSchema = ajv.compile(configSchema);

export function loadConfig(file: string): CountersignConfig {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8');
  } catch (err) {
    throw new ConfigError(absolute, [{ key: '', problem: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})` }]);
  }
  return parseConfig(text, absolute);
}

export function parseConfig(text: string, file: string): CountersignConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ key: '', line: lines.linePos(e.pos[0]).line, problem: `YAML syntax: ${e.message.split('\n')[0]}` })),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // Well-formed YAML can still fail to resolve: an alias before its anchor, too many aliases.
    throw new ConfigError(file, [{ key: '', problem: `YAML: ${(err as Error).message.split('\n')[0]}` }]);
  }
  const locate = (pathParts: (string | number)[]) => lineOf(doc, lines, pathParts);
  if (!validateSchema(raw)) {
    throw new ConfigError(file, (validateSchema.errors ?? []).map((e) => schemaProblem(e, locate)));
  }
  const input = raw as RawConfig;
  const problems: ConfigProblem[] = [];
  const at = (key: (string | number)[], problem: string) => problems.push({ key: dotted(key), line: locate(key), problem });
  const dir = path.dirname(file);
  const loadTemplate = templateLoader(dir);

  const commands = input.commands.map((c, i) => buildCommand(c, i, input, at, loadTemplate));
  const seen = new Set<string>();
  commands.forEach((c, i) => {
    if (seen.has(c.name)) at(['commands', i, 'name'], `command "${c.name}" is declared twice`);
    seen.add(c.name);
  });
  const auditorRoles = input.audit?.auditorRoles ?? [];
  auditorRoles.forEach((r, i) => {
    if (!(r in input.roles)) at(['audit', 'auditorRoles', i], `role "${r}" is not declared under roles (declared: ${Object.keys(input.roles).join(', ')})`);
  });
  const audit = buildAudit(input.audit, at, dir);
  const credential = input.azure?.credential ?? { type: 'default' as const };
  if (credential.type === 'clientSecret' && (!credential.clientId || !credential.tenantId)) {
    at(['azure', 'credential'], 'clientSecret needs clientId and tenantId (the secret itself comes from the AZURE_CLIENT_SECRET environment variable)');
  }
  if (problems.length > 0) throw new ConfigError(file, problems);

  const subscriptionId = input.azure?.subscriptionId ?? '';
  return {
    file,
    hash: sha256Hex(text),
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
    catalog: new Catalog(commands),
    access: new AccessPolicy(input.tenants, new Roles(input.roles)),
    loadTemplate,
  };
}

interface RawParameter {
  name: string;
  description?: string;
  type?: ParameterSpec['type'];
  allowed?: (string | number)[];
  pattern?: string;
  min?: number;
  max?: number;
  default?: string | number;
}

interface RawCommand {
  name: string;
  description: string;
  sensitive?: boolean;
  parameters?: RawParameter[];
  operation: OperationTemplate;
  policy?: {
    approvals?: number;
    approverRoles: string[];
    requesterRoles?: string[];
    ttl?: string;
    conversations?: { types?: ConversationKind[]; ids?: string[] };
  };
}

interface RawConfig {
  version: 1;
  tenants: string[];
  azure?: { subscriptionId?: string; endpoint?: string; credential?: AzureConfig['credential'] };
  roles: Record<string, string[]>;
  defaults?: { approvals?: number; ttl?: string };
  audit?: {
    auditorRoles?: string[];
    checkpointInterval?: string;
    checkpointEveryRecords?: number;
    http?: { issuer: string; audience: string; role: string; jwksUri?: string; jwksFile?: string };
  };
  commands: RawCommand[];
}

type At = (key: (string | number)[], problem: string) => void;

const DEFAULT_CHECKPOINT_INTERVAL = '15m';
const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1000;

function buildAudit(raw: RawConfig['audit'], at: At, dir: string): AuditConfig {
  const audit: AuditConfig = {
    checkpointIntervalSeconds: parseDuration(raw?.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL),
    checkpointEveryRecords: raw?.checkpointEveryRecords ?? DEFAULT_CHECKPOINT_EVERY_RECORDS,
  };
  const http = raw?.http;
  if (!http) return audit;
  if (!!http.jwksUri === !!http.jwksFile) {
    at(['audit', 'http'], "needs exactly one of jwksUri (the issuer's https key set) and jwksFile (a JSON Web Key Set file)");
    return audit;
  }
  if (http.jwksUri) return { ...audit, http: { issuer: http.issuer, audience: http.audience, role: http.role, jwks: { uri: http.jwksUri } } };
  const file = path.resolve(dir, http.jwksFile!);
  let keys: Record<string, unknown>[];
  try {
    const set = JSON.parse(fs.readFileSync(file, 'utf8')) as { keys?: unknown };
    if (!Array.isArray(set.keys) || set.keys.length === 0 || !set.keys.every((k) => k && typeof k === 'object' && typeof (k as { kty?: unknown }).kty === 'string')) {
      throw new Error('it has no "keys" list of JSON Web Keys');
    }
    keys = set.keys as Record<string, unknown>[];
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ? `cannot read ${file} (${(err as NodeJS.ErrnoException).code})` : `${file} is not a JSON Web Key Set: ${(err as Error).message}`;
    at(['audit', 'http', 'jwksFile'], why);
    return audit;
  }
  return { ...audit, http: { issuer: http.issuer, audience: http.audience, role: http.role, jwks: { keys } } };
}

function buildCommand(c: RawCommand, i: number, input: RawConfig, at: At, loadTemplate: (p: string) => Record<string, unknown>): CommandSpec {
  const key = ['commands', i];
  const first = c.name.split(' ')[0];
  if (RESERVED_COMMANDS.includes(first)) at([...key, 'name'], `"${first}" is a built-in command word; choose another name`);
  const parameters = (c.parameters ?? []).map((p, j) => buildParameter(p, [...key, 'parameters', j], at));
  const isChange = (CHANGE_KINDS as readonly string[]).includes(c.operation.kind);
  const sensitive = c.sensitive ?? isChange;
  if (isChange && !sensitive) {
    at([...key, 'sensitive'], `operation ${c.operation.kind} changes Azure, so the command must be sensitive (approved by a second person)`);
  }
  if (!isChange && sensitive) at([...key, 'sensitive'], `operation ${c.operation.kind} only reads; mark the command sensitive: false`);
  if (sensitive && !c.policy) at([...key], 'a sensitive command needs a policy (at least approverRoles)');
  checkOperation(c.operation, parameters, [...key, 'operation'], at, loadTemplate);

  let policy: CommandPolicy | undefined;
  if (c.policy) {
    const declared = Object.keys(input.roles);
    const roleCheck = (list: string[] | undefined, field: string) =>
      (list ?? []).forEach((r, j) => {
        if (!declared.includes(r)) at([...key, 'policy', field, j], `role "${r}" is not declared under roles (declared: ${declared.join(', ')})`);
      });
    roleCheck(c.policy.approverRoles, 'approverRoles');
    roleCheck(c.policy.requesterRoles, 'requesterRoles');
    policy = {
      approvals: c.policy.approvals ?? input.defaults?.approvals ?? 1,
      approverRoles: c.policy.approverRoles,
      requesterRoles: c.policy.requesterRoles ?? [],
      ttlSeconds: parseDuration(c.policy.ttl ?? input.defaults?.ttl ?? DEFAULT_TTL),
      conversationTypes: c.policy.conversations?.types ?? ['personal', 'groupChat', 'channel'],
      conversationIds: c.policy.conversations?.ids ?? [],
    };
  }
  return { name: c.name, description: c.description, sensitive, parameters, operation: c.operation, ...(policy ? { policy } : {}) };
}

function buildParameter(p: RawParameter, key: (string | number)[], at: At): ParameterSpec {
  const type = p.type ?? (p.allowed ? 'enum' : 'string');
  if (type === 'enum' && !p.allowed) at(key, `parameter ${p.name} is an enum but lists no allowed values`);
  if (p.pattern) {
    try {
      new RegExp(p.pattern);
    } catch (err) {
      at([...key, 'pattern'], `not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const spec: ParameterSpec = { name: p.name, type };
  if (p.description) spec.description = p.description;
  if (p.allowed) spec.allowed = p.allowed.map(String);
  if (p.pattern) spec.pattern = p.pattern;
  if (p.min !== undefined) spec.min = p.min;
  if (p.max !== undefined) spec.max = p.max;
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
  loadTemplate: (p: string) => Record<string, unknown>,
): void {
  const fields = OPERATION_FIELDS[op.kind];
  for (const f of fields.required) if (op[f] === undefined) at([...key], `operation ${op.kind} needs "${f}"`);
  for (const f of Object.keys(op)) {
    if (f !== 'kind' && !fields.required.includes(f) && !fields.optional.includes(f)) {
      at([...key, f], `unknown field for operation ${op.kind} (allowed: ${[...fields.required, ...fields.optional].join(', ')})`);
    }
  }
  const names = parameters.map((p) => p.name);
  for (const name of placeholdersIn(op)) {
    if (!names.includes(name) && !BUILTIN_PLACEHOLDERS.includes(name)) {
      at([...key], `placeholder {${name}} is not a declared parameter (declared: ${names.join(', ') || 'none'})`);
    }
  }
  if (typeof op.template === 'string') {
    for (const candidate of expandEnumPlaceholders(op.template, parameters)) {
      try {
        loadTemplate(candidate);
      } catch (err) {
        at([...key, 'template'], (err as Error).message);
      }
    }
  }
}

/** Every concrete path of a template name whose placeholders are all enum parameters. */
function expandEnumPlaceholders(template: string, parameters: ParameterSpec[]): string[] {
  let paths = [template];
  for (const name of placeholdersIn(template)) {
    const p = parameters.find((x) => x.name === name);
    if (!p || p.type !== 'enum' || !p.allowed) return []; // checked when requested instead
    paths = paths.flatMap((t) => p.allowed!.map((v) => t.split(`{${name}}`).join(v)));
  }
  return paths;
}

function templateLoader(dir: string): (relativePath: string) => Record<string, unknown> {
  return (relativePath: string) => {
    const file = path.resolve(dir, relativePath);
    if (!file.startsWith(path.resolve(dir) + path.sep)) throw new Error(`template ${relativePath} is outside the config folder`);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      throw new Error(`template file ${relativePath} not found (looked in ${dir})`);
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!parsed || typeof parsed !== 'object' || !('resources' in parsed)) throw new Error('it has no "resources"');
      return parsed as Record<string, unknown>;
    } catch (err) {
      throw new Error(`template file ${relativePath} is not a valid ARM template: ${(err as Error).message}`);
    }
  };
}

export function parseDuration(text: string): number {
  const m = /^([1-9][0-9]*)(s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

function schemaProblem(e: ErrorObject, locate: (p: (string | number)[]) => number | undefined): ConfigProblem {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
  let problem = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return { key: dotted([...parts, extra]), line: locate([...parts, extra]) ?? locate(parts), problem: 'unknown key (check the spelling against the README)' };
  }
  if (e.keyword === 'enum') problem = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return { key: dotted([...parts, missing]), line: locate(parts), problem: 'is required' };
  }
  if (e.keyword === 'pattern' && parts.includes('tenants')) problem = 'must be a tenant id (a GUID)';
  if (e.keyword === 'pattern' && parts[0] === 'roles') problem = 'must be an Entra object id (a GUID)';
  return { key: dotted(parts), line: locate(parts), problem };
}

function dotted(parts: (string | number)[]): string {
  return parts.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function lineOf(doc: Document, lines: LineCounter, parts: (string | number)[]): number | undefined {
  for (let n = parts.length; n >= 0; n--) {
    const sub = parts.slice(0, n);
    // For a map entry, point at its key (a block value would start on the next line).
    if (n > 0 && typeof sub[n - 1] === 'string') {
      const parent = doc.getIn(sub.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === sub[n - 1]);
        const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
        if (range) return lines.linePos(range[0]).line;
      }
    }
    const node = doc.getIn(sub, true) as { range?: [number, number, number] } | undefined;
    if (node && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
