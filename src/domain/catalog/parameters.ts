/**
 * Binding the words of a request to a command's declared parameters and checking every value
 * against its spec; a value that passes is written the one way the catalog spells it.
 */
import { INPUT_LIMITS } from '../input-limits';
import { unsafeTextProblem } from '../text-safety';
import { pathParameters, type PathUse, pathValueProblem } from './resolve';
import type { CommandSpec, ParameterCheck, ParameterProblem, ParameterSpec, ParsedCommand } from './types';

/** Binds positional and named words to declared parameters and checks every value. */
export function checkParameters(command: CommandSpec, parsed: Pick<ParsedCommand, 'args' | 'named' | 'problems'>): ParameterCheck {
  const values: Record<string, string> = {};
  const problems: ParameterProblem[] = [];
  const twice = givenTwice(command, parsed);
  // With a parameter given both in its place and by name, the words are read in their places (the
  // person wrote them in order): `deploy production api-service environment=staging` is environment
  // twice, not a service called "production".
  const positional = twice.size > 0 ? [] : [...parsed.args];
  const inPaths = pathParameters(command);
  const everyPlaceTaken = twice.size === 0 && parsed.args.length >= command.parameters.filter((spec) => parsed.named[spec.name] === undefined).length;
  for (const [i, spec] of command.parameters.entries()) {
    // A parameter given twice has no value until the person says which one they meant.
    const given = parsed.problems?.find((p) => p.parameter === spec.name) ?? twice.get(spec.name);
    if (given) {
      problems.push(given);
      // With a word in every place not named (`deploy staging api-service reason: … service=web-frontend`),
      // its word is its own (one of the values given), not the next parameter's nor one too many.
      if (everyPlaceTaken && parsed.named[spec.name] === undefined) positional.shift();
      continue;
    }
    const inPlace = twice.size > 0 && i < parsed.args.length ? parsed.args[i] : undefined;
    const raw = inPlace ?? parsed.named[spec.name] ?? (positional.length > 0 ? positional.shift() : undefined) ?? spec.default;
    if (raw === undefined || raw.trim() === '') {
      problems.push({ parameter: spec.name, message: `${spec.name} is missing${describeAllowed(spec)}`, missing: true });
      continue;
    }
    const use = inPaths.get(spec.name);
    const problem = checkValue(spec, raw) ?? (use ? pathValueProblem(spec.name, canonicalValue(spec, raw), spec, use) : undefined);
    if (problem) problems.push({ parameter: spec.name, message: problem });
    else values[spec.name] = canonicalValue(spec, raw);
  }
  problems.push(...(parsed.problems ?? []).filter((p) => !command.parameters.some((spec) => spec.name === p.parameter)));
  if (twice.size > 0) positional.push(...parsed.args.slice(command.parameters.length));
  if (positional.length > 0) {
    problems.push({
      parameter: '(extra)',
      message: `"${positional.join(' ')}" is more than ${command.name} takes: ${takesText(command.parameters.map((p) => p.name))}${command.sensitive ? runAtApart(positional) + reasonWithoutColon(positional) : ''}`,
    });
  }
  return problems.length === 0 ? { ok: true, values } : { ok: false, values, problems };
}

/**
 * `at 2026-12-07 02:00`, a run time whose date and time were typed apart: only `at <one word>` ends a
 * command as its run time, so these words were read as parameters. Said, with the word meant, so the
 * person does not take them for parameters they never meant to give.
 */
function runAtApart(extra: string[]): string {
  const m = /(?:^|\s)at\s+(\d{4}-\d{2}-\d{2})\s+(\d{1,2})(:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)$/i.exec(extra.join(' '));
  return m ? `. To run it later, write the date and its time as one word, joined by T: "at ${m[1]}T${m[2].padStart(2, '0')}${m[3]}"` : '';
}

/** `reason release 2.4`, without the colon: read as parameters, so the reason is lost unless said. */
function reasonWithoutColon(extra: string[]): string {
  return extra.length > 1 && /^reason$/i.test(extra[0]) ? `. A reason is written after "reason:", with its colon: "reason: ${extra.slice(1).join(' ').slice(0, 60)}"` : '';
}

/**
 * Parameters given both by name and in their place: more words in order than the parameters not
 * named leave room for, reaching a named one's place. Each is a problem naming both values.
 */
function givenTwice(command: CommandSpec, parsed: Pick<ParsedCommand, 'args' | 'named'>): Map<string, ParameterProblem> {
  const twice = new Map<string, ParameterProblem>();
  const named = command.parameters.filter((spec) => parsed.named[spec.name] !== undefined);
  if (named.length === 0 || parsed.args.length <= command.parameters.length - named.length) return twice;
  for (const [i, spec] of command.parameters.entries()) {
    const byName = parsed.named[spec.name];
    if (byName === undefined || i >= parsed.args.length) continue;
    twice.set(spec.name, {
      parameter: spec.name,
      message: `${spec.name} is given twice: "${parsed.args[i]}" in its place and ${spec.name}=${byName} by name; give it once`,
    });
  }
  return twice;
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
  if (spec.pattern && !(spec.matches ? spec.matches(value) : new RegExp(spec.pattern).test(value))) {
    // The pattern is the config's; its description (when the config gives one) says it in words.
    const what = spec.description ? ` (${spec.name}: ${spec.description.replace(/[.\s]+$/, '')})` : '';
    return `${spec.name} "${value}" does not match the allowed form ${spec.pattern}${what}`;
  }
  return undefined;
}

/**
 * Whether a checked request could hold `value` for this parameter: it passes the parameter's check,
 * is written as the catalog writes it, and (in a path) names nothing else. The config asks it of a
 * file name a template path's placeholder could stand for.
 */
export function isCheckedValue(spec: ParameterSpec, value: string, use: PathUse): boolean {
  return checkValue(spec, value) === undefined && canonicalValue(spec, value) === value && pathValueProblem(spec.name, value, spec, use) === undefined;
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

/** "it takes no parameters", "it takes 1 parameter, group", "it takes 2 parameters, environment and service". */
function takesText(names: string[]): string {
  if (names.length === 0) return 'it takes no parameters';
  const listed = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `it takes ${names.length} parameter${names.length === 1 ? '' : 's'}, ${listed}`;
}
