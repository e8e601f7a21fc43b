/**
 * Command names of which one begins another, word for word (`delete` and `delete rg`): a message is
 * matched to the longest name it begins with (match.ts), so one beginning with the longer name is
 * never read as the shorter command with the next word as its first parameter. Said at load
 * (`countersign config check`, and in the log of every start) as the other catalog mistakes are.
 */
import { checkValue } from './parameters';
import type { CommandSpec } from './types';

function words(name: string): string[] {
  return name.trim().toLowerCase().split(/\s+/).filter(Boolean);
}

/**
 * What `command`'s name shadows: one warning for each other command whose name begins with its whole
 * name, naming both and which one a message beginning with the longer name is read as.
 */
export function nameOverlapWarnings(command: CommandSpec, commands: readonly CommandSpec[]): string[] {
  const mine = words(command.name);
  return commands.flatMap((other) => {
    const theirs = words(other.name);
    if (theirs.length <= mine.length || !mine.every((w, i) => theirs[i] === w)) return [];
    const next = other.name.trim().split(/\s+/)[mine.length];
    const first = command.parameters[0];
    const read = `a message beginning "${other.name}" is read as "${other.name}" (the longest name a message begins with is the one matched)`;
    // Could the shorter command have taken that word as its first parameter? Then a value is lost to the other command.
    if (first && checkValue(first, next) === undefined) {
      return [`"${command.name}" is the start of "${other.name}": ${read}, never as "${command.name}" with ${first.name} "${next}"; to mean that, give it by name (${command.name} ${first.name}=${next} …), or rename one of the two`];
    }
    return [`"${command.name}" is the start of "${other.name}": ${read}, never as "${command.name}"; rename one of the two if that is not meant`];
  });
}
