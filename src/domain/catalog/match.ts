/**
 * Matching what someone typed to a command of the catalog: its words, name=value words and the
 * reason, and suggestions for a typo.
 */
import type { CommandSpec, ParameterProblem, ParsedCommand } from './types';
import { editDistance } from '../edit-distance';

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
    // Words from a double quote that is never closed on are not bound to anything: the quote is the problem.
    const quote = unclosedQuote(body);
    const tokens = tokenize(quote === undefined ? body : body.slice(0, quote));
    const lowered = tokens.map((t) => t.toLowerCase());
    for (const command of this.byWords) {
      const name = words(command.name);
      if (name.every((w, i) => lowered[i] === w)) {
        const rest = tokens.slice(name.length);
        const args: string[] = [];
        const named: Record<string, string> = {};
        const given: Record<string, string[]> = {};
        const misnamed: ParameterProblem[] = [];
        for (const token of rest) {
          const eq = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(token);
          const spec = eq ? command.parameters.find((p) => p.name === eq[1]) : undefined;
          // name=value with a name the command does not have, but close to one it has (a typo, or a
          // short form): said so, not taken as a value (which may hold "=" itself: tag ... a=b).
          const meant = eq && !spec ? command.parameters.find((p) => nearName(eq[1], p.name)) : undefined;
          if (eq && spec) {
            named[spec.name] ??= eq[2];
            (given[spec.name] ??= []).push(eq[2]);
          } else if (eq && meant) {
            misnamed.push({ parameter: meant.name, message: `"${eq[1]}" is not a parameter of ${command.name}: did you mean ${meant.name}=${eq[2].slice(0, 40)}? (its parameters: ${command.parameters.map((p) => p.name).join(', ')})` });
          } else args.push(token);
        }
        const problems: ParameterProblem[] = Object.entries(given)
          .filter(([, values]) => values.length > 1)
          .map(([parameter, values]) => ({ parameter, message: `${parameter} is given ${values.length === 2 ? 'twice' : `${values.length} times`} (${listValues(values)}): give it once` }));
        problems.push(...misnamed, ...parametersInReason(command, reason));
        if (quote !== undefined) problems.push({ parameter: '(quote)', message: unclosedQuoteMessage(body, quote) });
        return { command, args, named, ...(problems.length > 0 ? { problems } : {}), ...(reason === undefined ? {} : { reason }) };
      }
    }
    return undefined;
  }

  /**
   * What to type to see what Azure has, for someone told a name is not there: a read-only command
   * listing the subscription's resource groups (`group`) or a group's resources (`resources`), as
   * "name" or "name <parameter>", when the catalog has one needing nothing else.
   */
  lookupCommand(what: 'groups' | 'resources'): string | undefined {
    for (const c of this.commands) {
      if (c.sensitive) continue;
      const required = c.parameters.filter((p) => p.default === undefined);
      if (what === 'groups' && c.operation.kind === 'listResourceGroups' && required.length === 0) return c.name;
      if (what === 'resources' && c.operation.kind === 'listResources' && required.length === 1 && c.operation['resourceGroup'] === `{${required[0].name}}` && c.operation['resourceType'] === undefined) {
        return `${c.name} <${required[0].name}>`;
      }
    }
    return undefined;
  }

  /**
   * The words of a message matching no command that name none: up to and including the first word
   * no command's name goes on with ("deploi" of "deploi production api-service", "delete resurce" of
   * "delete resurce group x"); all of it when it is the start of a name ("delete resource").
   */
  unknownWords(text: string): string {
    const tokens = tokenize(text);
    const known = this.namedWords(tokens.map((t) => t.toLowerCase()));
    return tokens.slice(0, Math.min(known + 1, tokens.length)).join(' ');
  }

  /** Whether the message's first word is the first word of a command's name ("delete" of "delete resurce"). */
  beginsCommand(text: string): boolean {
    return this.namedWords(tokenize(text).map((t) => t.toLowerCase())) > 0;
  }

  /** How many of the (lower-cased) words are the start of some command's name. */
  private namedWords(lowered: string[]): number {
    const names = this.commands.map((c) => words(c.name));
    let known = 0;
    while (known < lowered.length && names.some((n) => n.length > known && n.slice(0, known + 1).every((w, i) => lowered[i] === w))) known++;
    return known;
  }

  /**
   * Suggestions for a message that matches no command. When it begins a command's name, the commands
   * going on from there (the one its next word is a slip of, if any). Otherwise from every word of it: a word like (or a
   * typo of) a word of a command's name suggests the command; when none does, a word that is one of
   * the values a command's first parameter allows suggests the command with it ("restart the
   * database please" suggests "vm restart" where vm's action allows restart). In catalog order.
   */
  suggest(text: string): string[] {
    const lowered = tokenize(text).map((t) => t.toLowerCase());
    const known = this.namedWords(lowered);
    if (known > 0) {
      // "delete resurce group": the commands going on from "delete", the one the next word is a slip of first.
      const going = this.commands.filter((c) => words(c.name).slice(0, known).every((w, i) => lowered[i] === w));
      const next = lowered[known];
      const meant = next === undefined ? [] : going.filter((c) => { const w = words(c.name)[known]; return w !== undefined && alike(next, w); });
      return (meant.length > 0 ? meant : going).map((c) => c.name);
    }
    const typed = lowered.filter((w) => w.length >= 3 && !FILLER.has(w));
    const byName = this.commands.filter((c) => typed.some((w) => words(c.name).some((n) => alike(w, n)))).map((c) => c.name);
    if (byName.length > 0) return byName;
    // No word names a command: a word may still be what a command does.
    return this.commands.flatMap((c) => {
      const value = c.parameters[0]?.allowed?.find((v) => typed.some((w) => alike(w, v.toLowerCase())));
      return value === undefined ? [] : [`${c.name} ${value}`];
    });
  }
}

/** Of `known` (single words), those the first word of `text` is a slip of the fingers away from. */
export function nearFirstWord(text: string, known: readonly string[]): string[] {
  const first = tokenize(text)[0]?.toLowerCase();
  if (first === undefined || first.length < 3) return [];
  return known.filter((k) => first !== k && alike(first, k));
}

/** Words of a sentence that say nothing about which command is meant. */
const FILLER = new Set(['the', 'please', 'and', 'for', 'with', 'can', 'you', 'could', 'would', 'now', 'our', 'this', 'that', 'some', 'want']);

/** A parameter name typed with a slip of the fingers, in another case, or shortened (env for environment). */
function nearName(typed: string, name: string): boolean {
  const t = typed.toLowerCase();
  const n = name.toLowerCase();
  return t === n || (t.length >= 3 && n.startsWith(t)) || alike(t, n);
}

/** The same word, or a slip of the fingers away (one letter in a short word, two in a longer one). */
function alike(typed: string, known: string): boolean {
  if (typed === known) return true;
  if (known.length < 3) return false;
  return editDistance(typed, known) <= (known.length >= 6 ? 2 : 1);
}

function words(text: string): string[] {
  return text.trim().toLowerCase().split(/\s+/).filter(Boolean);
}

/**
 * The double quotes a client may type for `"`: with smart punctuation on (the default of Teams on
 * iPhone, iPad and Mac), `"platform team"` arrives as `“platform team”` (or `„…“` in German).
 * Read as `"`, one for one, so positions in the text stay the same.
 */
const CURLY_DOUBLE_QUOTES = /[\u201C\u201D\u201E\u201F]/g;

/** The text with every double quote a client may type written as `"`: same length, same positions. */
function straightQuotes(text: string): string {
  return text.replace(CURLY_DOUBLE_QUOTES, '"');
}

/** Words separated by white space; "double quoted" words may hold spaces. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  // A word may be `"quoted with spaces"` or `name="quoted with spaces"`.
  for (const m of straightQuotes(text).matchAll(/([^\s"]*)"([^"]*)"|(\S+)/g)) tokens.push(m[3] ?? `${m[1]}${m[2]}`);
  return tokens;
}

/** Where a double quote that is never closed stands in `text` (its index), if one does. */
function unclosedQuote(text: string): number | undefined {
  // Quoted words pair their quotes; a quote left in a plain word has no partner.
  for (const m of straightQuotes(text).matchAll(/([^\s"]*)"([^"]*)"|(\S+)/g)) {
    if (m[3] !== undefined && m[3].includes('"')) return m.index + m[3].indexOf('"');
  }
  return undefined;
}

/** Whether an odd number of double quotes (straight or curly) stand in `text`: its end is inside a quote. */
export function insideQuote(text: string): boolean {
  return (straightQuotes(text).match(/"/g) ?? []).length % 2 === 1;
}

/** What the person is told about an unclosed quote: where it stands, and what follows it (clipped). */
function unclosedQuoteMessage(text: string, at: number): string {
  const after = text.slice(at);
  const shown = after.length > 40 ? `${after.slice(0, 40)}…` : after;
  return `the double quote at character ${at + 1} is never closed (${shown}): close it with another " or leave it out`;
}

/** "5 and 6", "5, 6 and 7": the values of a parameter given more than once, as typed. */
function listValues(values: string[]): string {
  const quoted = values.map((v) => (v === '' ? '""' : v));
  return `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`;
}

/** The first `reason:` outside double quotes, which starts the reason: where it stands and how long it is (with the spaces after it). */
function reasonMark(text: string): { index: number; length: number } | undefined {
  return reasonMarks(text)[0];
}

/** Every `reason:` outside double quotes, at the start or after a space, in order. */
function reasonMarks(text: string): { index: number; length: number }[] {
  return [...text.matchAll(/(^|\s)reason:\s*/gi)].filter((m) => !insideQuote(text.slice(0, m.index))).map((m) => ({ index: m.index, length: m[0].length }));
}

/**
 * `reason: release 2.4 reason: hotfix 99`: everything after the first `reason:` is the reason, so a
 * second one, outside double quotes, made one reason of two, and approvers would read both as one.
 * The reasons typed (those with words), when more than one; a `reason:` with nothing after it, or
 * one at the reason's start, is the keyword typed again (reasonKeywordTwiceMessage).
 */
export function reasonsTyped(reason: string | undefined): string[] | undefined {
  if (reason === undefined) return undefined;
  const marks = reasonMarks(reason);
  if (marks.length === 0) return undefined;
  const starts = [0, ...marks.map((m) => m.index + m.length)];
  const ends = [...marks.map((m) => m.index), reason.length];
  const parts = starts.map((start, i) => reason.slice(start, ends[i]).trim()).filter((part) => part !== '');
  return parts.length > 1 ? parts : undefined;
}

/** What the person is told of a reason typed twice (reasonsTyped): both, clipped, and how to write one. */
export function reasonTypedTwiceMessage(parts: string[]): string {
  const clipped = parts.map((part) => `"${part.length > 40 ? `${part.slice(0, 40)}…` : part}"`);
  const times = parts.length === 2 ? 'twice' : `${parts.length} times`;
  return `the reason is given ${times}, after "reason:" each time (${clipped.slice(0, -1).join(', ')} and ${clipped.at(-1)}): give one reason, after one "reason:" (to write "reason:" inside it, put that part in double quotes)`;
}

/**
 * `reason: reason: cleanup after migration 42`: the keyword typed twice in a row, so the reason
 * would start with "reason:" and approvers would read that as part of it; or `reason: x reason:`,
 * typed again after the reason with nothing after it, so the reason would be "x reason:". The
 * person meant one reason, and which words are it is theirs to say, as with two reasons: what they
 * are told (for a reason not typed twice with words each time: reasonsTyped), or undefined when
 * the reason holds no `reason:` outside double quotes.
 */
export function reasonKeywordTwiceMessage(reason: string | undefined): string | undefined {
  const first = reason === undefined ? undefined : reasonMarks(reason)[0];
  if (reason === undefined || first === undefined) return undefined;
  const shown = reason.length > 40 ? `${reason.slice(0, 40)}…` : reason;
  if (first.index !== 0) return `"reason:" is given again after the reason ("${shown}"): give the reason once, after one "reason:" (to write "reason:" inside it, put that part in double quotes)`;
  return `the reason starts with "reason:" again ("${shown}"): give the reason once, after one "reason:" (to start it with the word "reason:", put that part in double quotes)`;
}

/**
 * `deploy staging api-service reason: release service=web-frontend`: a name=value of one of the
 * command's parameters after `reason:` is read as words of the reason, not as the parameter, though
 * the person meant it as one (again, or for the first time): said, on that parameter, so it is
 * neither lost nor shown to approvers as if it had been asked for. Quoted, it is the reason's.
 */
function parametersInReason(command: CommandSpec, reason: string | undefined): ParameterProblem[] {
  if (reason === undefined) return [];
  const problems: ParameterProblem[] = [];
  for (const m of straightQuotes(reason).matchAll(/([^\s"]*)"([^"]*)"|(\S+)/g)) {
    if (m[3] === undefined && m[1] === '') continue;
    const word = m[3] ?? `${m[1]}${m[2]}`;
    const eq = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(word);
    const spec = eq ? command.parameters.find((p) => p.name === eq[1]) : undefined;
    if (!eq || !spec || problems.some((p) => p.parameter === spec.name)) continue;
    problems.push({
      parameter: spec.name,
      message: `${spec.name}=${eq[2].slice(0, 40)} is after "reason:", so it was read as part of the reason, not as ${spec.name}: give each parameter once, before "reason:"`,
    });
  }
  return problems;
}

/** Where the reason starts in a typed request (the text's length when it has none). */
export function reasonStart(text: string): number {
  return reasonMark(text)?.index ?? text.length;
}

function splitReason(text: string): { body: string; reason?: string } {
  const m = reasonMark(text);
  if (!m) return { body: text.trim() };
  const reason = text.slice(m.index + m.length).trim();
  return reason ? { body: text.slice(0, m.index).trim(), reason } : { body: text.slice(0, m.index).trim() };
}
