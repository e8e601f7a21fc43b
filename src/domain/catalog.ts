/**
 * The command catalog: what people may ask for, how their words map to parameters, and which
 * Azure operation a fully-specified command resolves to. Pure: templates arrive through a loader.
 */
import type { ConversationKind } from './request';
import type { ChangeOperation, OperationSpec, QueryOperation } from './operation';
import { isChangeOperation } from './operation';
import { INPUT_LIMITS } from './input-limits';
import { layoutProblem } from './text-safety';

export type ParameterType = 'string' | 'enum' | 'integer';

export interface ParameterSpec {
  name: string;
  description?: string;
  type: ParameterType;
  allowed?: string[];
  pattern?: string;
  min?: number;
  max?: number;
  /** Used when the requester leaves it out; a parameter with a default is optional. */
  default?: string;
}

export interface CommandPolicy {
  approvals: number;
  approverRoles: string[];
  /** Empty: anyone from an allowed tenant may request. */
  requesterRoles: string[];
  ttlSeconds: number;
  conversationTypes: ConversationKind[];
  /** Empty: any conversation of an allowed type. */
  conversationIds: string[];
}

/** The operation as written in the config: strings may hold {parameter} placeholders. */
export type OperationTemplate = { kind: OperationSpec['kind'] } & Record<string, unknown>;

export interface CommandSpec {
  name: string;
  description: string;
  sensitive: boolean;
  parameters: ParameterSpec[];
  operation: OperationTemplate;
  /** Present for sensitive commands. */
  policy?: CommandPolicy;
}

export interface ParsedCommand {
  command: CommandSpec;
  /** Positional words after the command name, in declared parameter order. */
  args: string[];
  /** name=value words, which may come in any order. */
  named: Record<string, string>;
  reason?: string;
}

export interface ParameterProblem {
  parameter: string;
  message: string;
}

export type ParameterCheck =
  | { ok: true; values: Record<string, string> }
  | { ok: false; values: Record<string, string>; problems: ParameterProblem[] };

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export class Catalog {
  private readonly byWords: CommandSpec[];

  constructor(readonly commands: CommandSpec[]) {
    // Longest names first, so "delete resource group" wins over a command named "delete".
    this.byWords = [...commands].sort((a, b) => words(b.name).length - words(a.name).length);
  }

  find(name: string): CommandSpec | undefined {
    const wanted = words(name).join(' ');
    return this.commands.find((c) => words(c.name).join(' ') === wanted);
  }

  /** Splits "deploy production api-service reason: hotfix 123" into command, words and reason. */
  parse(text: string): ParsedCommand | undefined {
    const { body, reason } = splitReason(text);
    const tokens = tokenize(body);
    const lowered = tokens.map((t) => t.toLowerCase());
    for (const command of this.byWords) {
      const name = words(command.name);
      if (name.every((w, i) => lowered[i] === w)) {
        const rest = tokens.slice(name.length);
        const args: string[] = [];
        const named: Record<string, string> = {};
        for (const token of rest) {
          const eq = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(token);
          const spec = eq ? command.parameters.find((p) => p.name === eq[1]) : undefined;
          if (eq && spec) named[spec.name] = eq[2];
          else args.push(token);
        }
        return reason === undefined ? { command, args, named } : { command, args, named, reason };
      }
    }
    return undefined;
  }

  /** Command names that share a first word with the text: suggestions for a typo. */
  suggest(text: string): string[] {
    const first = tokenize(text)[0]?.toLowerCase() ?? '';
    return this.commands
      .map((c) => c.name)
      .filter((n) => first.length > 0 && (n.startsWith(first.slice(0, 3)) || levenshtein(words(n)[0], first) <= 2));
  }
}

/** Binds positional and named words to declared parameters and checks every value. */
export function checkParameters(command: CommandSpec, parsed: Pick<ParsedCommand, 'args' | 'named'>): ParameterCheck {
  const values: Record<string, string> = {};
  const problems: ParameterProblem[] = [];
  const positional = [...parsed.args];
  for (const spec of command.parameters) {
    const raw = parsed.named[spec.name] ?? (positional.length > 0 ? positional.shift() : undefined) ?? spec.default;
    if (raw === undefined || raw.trim() === '') {
      problems.push({ parameter: spec.name, message: `${spec.name} is missing${describeAllowed(spec)}` });
      continue;
    }
    const problem = checkValue(spec, raw);
    if (problem) problems.push({ parameter: spec.name, message: problem });
    else values[spec.name] = canonicalValue(spec, raw);
  }
  if (positional.length > 0) {
    problems.push({
      parameter: '(extra)',
      message: `unexpected extra words: ${positional.join(' ')} (${command.name} takes ${command.parameters.length} parameter(s): ${command.parameters.map((p) => p.name).join(', ') || 'none'})`,
    });
  }
  return problems.length === 0 ? { ok: true, values } : { ok: false, values, problems };
}

export function checkValue(spec: ParameterSpec, raw: string): string | undefined {
  // Before any pattern: a value must never carry lines or text direction of its own onto a card.
  const unsafe = layoutProblem(spec.name, raw) ?? (raw.length > INPUT_LIMITS.parameterValue ? `${spec.name} is longer than ${INPUT_LIMITS.parameterValue} characters` : undefined);
  if (unsafe) return unsafe;
  const value = raw.trim();
  if (spec.type === 'enum') {
    const allowed = spec.allowed ?? [];
    if (!allowed.some((a) => a.toLowerCase() === value.toLowerCase())) {
      return `${spec.name} must be one of ${allowed.join(', ')}; got "${value}"`;
    }
    return undefined;
  }
  if (spec.type === 'integer') {
    if (!/^-?\d+$/.test(value)) return `${spec.name} must be a whole number; got "${value}"`;
    const n = Number(value);
    if (spec.min !== undefined && n < spec.min) return `${spec.name} must be at least ${spec.min}; got ${n}`;
    if (spec.max !== undefined && n > spec.max) return `${spec.name} must be at most ${spec.max}; got ${n}`;
    return undefined;
  }
  if (value.length > 200) return `${spec.name} is longer than 200 characters`;
  if (spec.pattern && !new RegExp(spec.pattern).test(value)) {
    return `${spec.name} "${value}" does not match the allowed form ${spec.pattern}`;
  }
  return undefined;
}

function canonicalValue(spec: ParameterSpec, raw: string): string {
  const value = raw.trim();
  if (spec.type === 'enum') return (spec.allowed ?? []).find((a) => a.toLowerCase() === value.toLowerCase()) ?? value;
  if (spec.type === 'integer') return String(Number(value));
  return value;
}

function describeAllowed(spec: ParameterSpec): string {
  if (spec.type === 'enum' && spec.allowed) return ` (one of ${spec.allowed.join(', ')})`;
  if (spec.description) return ` (${spec.description})`;
  return '';
}

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
  const vars: Record<string, string> = { ...values, requestId: ctx.requestId, subscriptionId: ctx.subscriptionId };
  const filled = fill(command.operation, vars) as Record<string, unknown>;
  const op: Record<string, unknown> = { ...filled, subscriptionId: ctx.subscriptionId };
  if (op.kind === 'deployTemplate' || op.kind === 'whatIfDeployment') {
    op.template = ctx.loadTemplate(String(filled.template));
    op.parameters = (filled.parameters as Record<string, unknown> | undefined) ?? {};
    op.mode = filled.mode ?? 'Incremental';
    if (op.kind === 'deployTemplate') op.deploymentName = filled.deploymentName ?? `countersign-${ctx.requestId}`;
  }
  if (op.kind === 'scaleResource') op.capacity = Number(filled.capacity);
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

function words(text: string): string[] {
  return text.trim().toLowerCase().split(/\s+/).filter(Boolean);
}

/** Words separated by white space; "double quoted" words may hold spaces. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  // A word may be `"quoted with spaces"` or `name="quoted with spaces"`.
  for (const m of text.matchAll(/([^\s"]*)"([^"]*)"|(\S+)/g)) tokens.push(m[3] ?? `${m[1]}${m[2]}`);
  return tokens;
}

function splitReason(text: string): { body: string; reason?: string } {
  // The first `reason:` outside double quotes starts the reason.
  let m: RegExpExecArray | null = null;
  for (const candidate of text.matchAll(/(^|\s)reason:\s*/gi)) {
    const quotesBefore = (text.slice(0, candidate.index).match(/"/g) ?? []).length;
    if (quotesBefore % 2 === 0) {
      m = candidate as RegExpExecArray;
      break;
    }
  }
  if (!m) return { body: text.trim() };
  const reason = text.slice(m.index + m[0].length).trim();
  return reason ? { body: text.slice(0, m.index).trim(), reason } : { body: text.slice(0, m.index).trim() };
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}
