/**
 * Matching what someone typed to a command of the catalog: its words, name=value words and the
 * reason, and suggestions for a typo.
 */
import type { CommandSpec, ParsedCommand } from './types';

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
