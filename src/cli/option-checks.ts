/**
 * What commander lets through that is bad input here: an option that takes one value given twice
 * (commander keeps the last: two `--request` made a signed export of the second alone), an empty
 * value (an unset shell variable: `--request "$REQ"` exported everything), and a value that is
 * another of the command's options (`--out --force` wrote a file named `--force`).
 */
import type { Command, Option } from 'commander';

/** Options that collect every value given (`--type a --type b`). */
const REPEATABLE = new Set(['--type', '--checkpoints']);

/** The command line's words before a bare `--` (after it, words are arguments, not options). */
function optionWords(root: Command): string[] {
  const raw = (root as { rawArgs?: string[] }).rawArgs ?? [];
  const end = raw.indexOf('--');
  return end < 0 ? raw : raw.slice(0, end);
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

/** The first problem with the options given to `action`, or undefined. */
function optionProblem(root: Command, action: Command): { message: string; code: 'countersign.usage' | 'countersign.empty' } | undefined {
  const words = optionWords(root);
  const longs = new Set(action.options.map((o) => o.long).filter((l): l is string => !!l));
  for (const o of action.options) {
    const long = o.long;
    if (!long || !takesValue(o)) continue;
    const uses = words.filter((w) => w === long || w.startsWith(`${long}=`)).length;
    if (uses > 1 && !REPEATABLE.has(long)) {
      return { code: 'countersign.usage', message: `error: ${long} was given ${uses} times: it takes one value (give it once)` };
    }
    const value: unknown = action.getOptionValue(o.attributeName());
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    for (const v of values) {
      if (typeof v !== 'string') continue;
      if (v.trim() === '' || (REPEATABLE.has(long) && v.split(',').some((item) => item.trim() === ''))) {
        return { code: 'countersign.empty', message: `error: ${long} was given an empty value: ${o.mandatory ? `${long} is required, give it a value` : `give a value, or leave ${long} out`}` };
      }
      // Written `--out=--force`, the value is meant: only the spaced form takes the next option as a value.
      if ((longs.has(v) || [...longs].some((l) => v.startsWith(`${l}=`))) && !words.includes(`${long}=${v}`)) {
        return { code: 'countersign.usage', message: `error: ${long} was given "${v}", which is one of its command's options: give ${long} its value (a value that starts with -- may be written ${long}=${v})` };
      }
    }
  }
  return undefined;
}

/**
 * Words left over after a command's arguments: commander only counted them ("too many arguments …
 * Expected 0 arguments but got 1"); named, with the usual cause when one is a time after a date
 * (`--from 2026-12-06 10:00`).
 */
function excessProblem(root: Command, action: Command): string | undefined {
  const declared = action.registeredArguments;
  if (declared.at(-1)?.variadic || action.args.length <= declared.length) return undefined;
  const extra = action.args.slice(declared.length);
  const words = extra.map((w) => `"${w.slice(0, 40)}"`).join(' ');
  const takes = declared.length === 0 ? 'it takes no arguments' : `it takes ${declared.map((a) => `<${a.name()}>`).join(' ')}`;
  const raw = optionWords(root);
  const time = extra.find((w) => /^\d{1,2}:\d{2}/.test(w));
  const date = time ? raw[raw.indexOf(time) - 1] : undefined;
  const hint =
    time && date && /^\d{4}-\d{2}-\d{2}$/.test(date)
      ? ` A date and its time are one word, joined by T (${date}T${time.replace(/^(\d):/, '0$1:').slice(0, 20)}).`
      : ' A value with spaces is written in quotes.';
  return `error: unexpected ${extra.length === 1 ? 'word' : 'words'} ${words} for '${action.name()}' (${takes}).${hint}`;
}

/** Every command under `program`, itself included. */
function commandsUnder(program: Command): Command[] {
  return [program, ...program.commands.flatMap((c) => commandsUnder(c))];
}

/** Refuses, before any command runs, what optionProblem finds (exit 64 for a usage error, 1 for an empty value). */
export function checkOptionsBeforeActions(program: Command): void {
  // Extra words reach the check below, which names them (commander's own refusal only counts them).
  for (const c of commandsUnder(program)) c.allowExcessArguments(true);
  program.hook('preAction', (root, action) => {
    const excess = excessProblem(root, action);
    if (excess) action.error(excess, { code: 'countersign.usage', exitCode: 64 });
    const problem = optionProblem(root, action);
    if (problem) action.error(problem.message, { code: problem.code, exitCode: problem.code === 'countersign.usage' ? 64 : 1 });
  });
}
