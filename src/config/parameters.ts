/** A command's parameter built from the config: its type, allowed values, pattern (run in linear time), bounds and default. */
import { RE2JS, RE2JSException } from 're2js';
import { checkValue, type ParameterSpec } from '../domain/catalog';
import type { RawParameter } from './types';
import { type At } from './validate';
import { BUILTIN_PLACEHOLDERS } from './operation-checks';

/**
 * A parameter's pattern, compiled by RE2 (re2js): it matches in time linear in the value, whatever
 * the pattern, so nested repetition (`^([a-z0-9]+-?)+$`) cannot make a crafted value hold the bot;
 * it refuses what it cannot run so (look-arounds, back-references). Found anywhere in the value, as
 * RegExp.test finds it.
 */
function linearTimeMatcher(pattern: string): (value: string) => boolean {
  let compiled = compiledPatterns.get(pattern);
  if (!compiled) {
    compiled = RE2JS.compile(pattern);
    if (compiledPatterns.size >= MAX_COMPILED_PATTERNS) compiledPatterns.delete(compiledPatterns.keys().next().value as string);
    compiledPatterns.set(pattern, compiled);
  }
  const matcher = compiled;
  return (value) => matcher.test(value);
}

/**
 * Patterns compiled, by their text: a config repeats a few patterns over many parameters (a resource
 * group's name in every command that takes one), and compiling one with a counted repetition
 * (`{0,89}`) is RE2's dearest step, a few milliseconds each: the example config's start compiled
 * 24 where 9 differ. A compiled pattern is shared by the parameters that name it; matching leaves
 * nothing in it that another value would see.
 */
const compiledPatterns = new Map<string, RE2JS>();
/** A bound on what that keeps (config checks of many files in one process, the fuzz tests). */
const MAX_COMPILED_PATTERNS = 500;

export function buildParameter(p: RawParameter, key: (string | number)[], at: At): ParameterSpec {
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
