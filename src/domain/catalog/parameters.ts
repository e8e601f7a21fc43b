/**
 * Binding the words of a request to a command's declared parameters and checking every value
 * against its spec; a value that passes is written the one way the catalog spells it.
 */
import { INPUT_LIMITS } from '../input-limits';
import { unsafeTextProblem } from '../text-safety';
import type { CommandSpec, ParameterCheck, ParameterProblem, ParameterSpec, ParsedCommand } from './types';

/** Binds positional and named words to declared parameters and checks every value. */
export function checkParameters(command: CommandSpec, parsed: Pick<ParsedCommand, 'args' | 'named' | 'problems'>): ParameterCheck {
  const values: Record<string, string> = {};
  const problems: ParameterProblem[] = [];
  const positional = [...parsed.args];
  for (const spec of command.parameters) {
    // A parameter given twice has no value until the person says which one they meant.
    const given = parsed.problems?.find((p) => p.parameter === spec.name);
    if (given) {
      problems.push(given);
      continue;
    }
    const raw = parsed.named[spec.name] ?? (positional.length > 0 ? positional.shift() : undefined) ?? spec.default;
    if (raw === undefined || raw.trim() === '') {
      problems.push({ parameter: spec.name, message: `${spec.name} is missing${describeAllowed(spec)}`, missing: true });
      continue;
    }
    const problem = checkValue(spec, raw);
    if (problem) problems.push({ parameter: spec.name, message: problem });
    else values[spec.name] = canonicalValue(spec, raw);
  }
  problems.push(...(parsed.problems ?? []).filter((p) => !command.parameters.some((spec) => spec.name === p.parameter)));
  if (positional.length > 0) {
    problems.push({
      parameter: '(extra)',
      message: `unexpected extra words: ${positional.join(' ')} (${command.name} takes ${command.parameters.length} parameter(s): ${command.parameters.map((p) => p.name).join(', ') || 'none'})`,
    });
  }
  return problems.length === 0 ? { ok: true, values } : { ok: false, values, problems };
}

export function checkValue(spec: ParameterSpec, raw: string): string | undefined {
  // Before any pattern: a value must never carry lines or text direction of its own onto a card, nor
  // a character the card cannot show (Azure would be sent something other than what approvers read).
  // Worded as every limit is (domain/input-limits): the field, its length and the limit.
  const unsafe = unsafeTextProblem(spec.name, raw, 'parameter') ?? (raw.length > INPUT_LIMITS.parameterValue ? `${spec.name} is ${raw.length} characters long (at most ${INPUT_LIMITS.parameterValue} are accepted)` : undefined);
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
    if (spec.min !== undefined && n < spec.min) return `${spec.name} must be at least ${spec.min}; got ${value}`;
    if (spec.max !== undefined && n > spec.max) return `${spec.name} must be at most ${spec.max}; got ${value}`;
    return undefined;
  }
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
