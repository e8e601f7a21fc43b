/**
 * What a message asks for: a built-in (help, pending, status, delegate, ...), a request of the
 * catalog complete or not yet (its parameters checked), or nothing Countersign knows, with
 * suggestions. Pure apart from reading the catalog; creating the request is requests.ts.
 */
import { insideQuote, nearFirstWord, reasonStart, type CommandSpec, type ParameterProblem } from '../domain/catalog';
import { checkRequestInput } from '../domain/request-input';
import { canonicalRequestId } from '../domain/request-ids';
import type { AppDeps } from './context';

export type Interpretation =
  | { kind: 'empty' }
  /** `topic`: the words after `help` (`help deploy`), for that command's usage alone. */
  | { kind: 'builtin'; name: 'help' | 'pending'; topic?: string }
  | { kind: 'status'; requestId?: string }
  /** `cancel [<request-id>]`: a reserved word; cancelling is the card's button, so the answer says how. */
  | { kind: 'cancel'; requestId?: string }
  /**
   * `approve [<request-id>]` (or reject, ratify, flag) matching no command of the catalog: a
   * decision is a click on the card, which shows what is decided; the answer says so.
   */
  | { kind: 'typed-decision'; verb: TypedDecision; requestId?: string }
  | { kind: 'audit'; args: string[] }
  /** `delegate @person until <time>`: the words after `delegate` (the mention's text included). */
  | { kind: 'delegate'; rest: string }
  | { kind: 'delegations' }
  /** `revoke delegation [@person]`. */
  | { kind: 'revoke-delegation' }
  /**
   * A built-in command with words it does not take (`pending now`, `status CS-1 CS-2`, `revoke
   * delegation carol` without an @mention): refused, not run as if they were not there.
   */
  | { kind: 'extra-words'; command: string; extra: string; usage: string }
  /** `text`: the words that name no command (not the whole line); `suggestions` come from the whole line. */
  | { kind: 'unknown'; text: string; suggestions: string[] }
  | { kind: 'incomplete'; command: CommandSpec; values: Record<string, string>; problems: ParameterProblem[]; reason?: string; runAt?: string }
  | { kind: 'ready'; command: CommandSpec; values: Record<string, string>; reason?: string; runAt?: string }
  /** `break-glass <command ...> reason: <why>`: the rest interpreted as a request. */
  | { kind: 'break-glass'; request: Interpretation };

/** The card's decision buttons, which someone may type instead of clicking. */
const TYPED_DECISIONS = ['approve', 'reject', 'ratify', 'flag'] as const;
export type TypedDecision = (typeof TYPED_DECISIONS)[number];

function typedDecision(word: string): TypedDecision | undefined {
  return TYPED_DECISIONS.find((v) => v === word);
}

/** `... at <time>` as the last words of the command, before any `reason:`: the run time asked for, as typed. */
const RUN_AT = /\s+at\s+(\S+)\s*$/i;

function splitRunAt(text: string): { body: string; runAt?: string } {
  // Only in the command: "reason: rollback planned at 02:00" is a reason, not a run time.
  const end = reasonStart(text);
  const command = text.slice(0, end);
  const m = RUN_AT.exec(command);
  if (!m || insideQuote(command.slice(0, m.index))) return { body: text };
  return { body: command.slice(0, m.index) + text.slice(end), runAt: m[1] };
}

/** The words Countersign itself answers, whatever the catalog holds: offered for a typo of one ("hepl"). */
const BUILT_INS = ['help', 'pending', 'status', 'delegate', 'delegations', 'audit', 'break-glass'] as const;

/** The built-ins a message's first word is a slip away from; `revoke` (or a slip of it) means `revoke delegation`. */
function builtInsNear(command: string): string[] {
  const [first, second] = command.trim().toLowerCase().split(/\s+/);
  const revoke = first === 'revoke' || nearFirstWord(command, ['revoke']).length > 0 ? ['revoke delegation'] : [];
  // "break glass", two words: in an emergency, the word meant is break-glass, not the command after it.
  const joined = second === undefined ? undefined : `${first}-${second}`;
  const breakGlass = joined !== undefined && (joined === 'break-glass' || nearFirstWord(joined, ['break-glass']).length > 0) ? ['break-glass'] : [];
  return [...new Set([...breakGlass, ...nearFirstWord(command, BUILT_INS), ...revoke])];
}

/** What a message asks for. Pure apart from reading the catalog. */
export function interpret(deps: Pick<AppDeps, 'config'>, text: string): Interpretation {
  const trimmed = text.trim();
  if (!trimmed) return { kind: 'empty' };
  const words = trimmed.split(/\s+/);
  const first = words[0].toLowerCase();
  const after = (n: number) => words.slice(n).join(' ');
  if (first === 'help' || first === '?') return words.length > 1 ? { kind: 'builtin', name: 'help', topic: after(1) } : { kind: 'builtin', name: 'help' };
  if (first === 'pending') return words.length > 1 ? extraWords('pending', after(1), 'Type "pending" alone: it lists the requests you may decide and your own.') : { kind: 'builtin', name: 'pending' };
  if (first === 'status') {
    if (words.length > 2) {
      // The words not taken are those around the request id, wherever it stands: in "status of CS-…"
      // that is "of", not the id.
      const at = words.findIndex((w, i) => i > 0 && /^CS-/.test(canonicalRequestId(w)));
      const extra = at > 1 ? words.filter((_, i) => i > 0 && i !== at).join(' ') : after(2);
      return extraWords('status', extra, 'Usage: status <request-id>, one request at a time.');
    }
    return words[1] ? { kind: 'status', requestId: words[1] } : { kind: 'status' };
  }
  if (first === 'cancel') return words[1] ? { kind: 'cancel', requestId: words[1] } : { kind: 'cancel' };
  if (first === 'audit') return { kind: 'audit', args: words.slice(1) };
  if (first === 'delegate') return { kind: 'delegate', rest: trimmed.slice(words[0].length).trim() };
  if (first === 'delegations') return words.length > 1 ? extraWords('delegations', after(1), 'Type "delegations" alone: it lists the delegations you gave and received.') : { kind: 'delegations' };
  if (first === 'revoke' && words[1]?.toLowerCase() === 'delegation') {
    // The person is named by an @mention (its markup, <at>…</at>, is what Teams sends); a plain name would revoke whichever delegation there is.
    const named = after(2).replace(/<at>[^<]*<\/at>/gi, ' ').trim();
    return named ? extraWords('revoke delegation', named, 'Type "revoke delegation" alone to end your delegation, or "revoke delegation @person" with an @mention of the person.') : { kind: 'revoke-delegation' };
  }
  if (first === 'break-glass') return { kind: 'break-glass', request: interpret(deps, trimmed.slice(words[0].length)) };
  const { body, runAt } = splitRunAt(withMentionsAsNames(trimmed));
  // "at 02:00 at 03:00": only the last was taken as the run time, the first left as a word the
  // command does not take; which one is meant is the person's to say (a form cannot ask for it).
  const earlier = runAt === undefined ? undefined : splitRunAt(body).runAt;
  if (runAt !== undefined && earlier !== undefined) {
    const name = deps.config.catalog.parse(body)?.command.name ?? words[0];
    return extraWords(name, `at ${earlier}`, `The run time is given twice ("at ${earlier.slice(0, 40)}" and "at ${runAt.slice(0, 40)}"): give it once, "at <time>" at the end of the command, before "reason:".`);
  }
  const parsed = deps.config.catalog.parse(body);
  // Not when a command of the catalog begins with the word: its words are then what is wrong.
  const verb = parsed || deps.config.catalog.beginsCommand(trimmed) ? undefined : typedDecision(first);
  if (verb) return { kind: 'typed-decision', verb, ...(words[1] ? { requestId: words[1] } : {}) };
  if (!parsed) {
    // The command as typed, without its reason: what is unknown, and what the suggestions are made from.
    const command = trimmed.slice(0, reasonStart(trimmed)).trim() || trimmed;
    return { kind: 'unknown', text: deps.config.catalog.unknownWords(command) || command, suggestions: [...(deps.config.catalog.beginsCommand(command) ? [] : builtInsNear(command)), ...deps.config.catalog.suggest(command)] };
  }
  const check = checkRequestInput(parsed.command, parsed);
  const extra = { ...(parsed.reason ? { reason: parsed.reason } : {}), ...(runAt ? { runAt } : {}) };
  if (!check.ok) return { kind: 'incomplete', command: parsed.command, values: check.values, problems: check.problems, ...extra };
  return { kind: 'ready', command: parsed.command, values: check.values, ...extra };
}

/**
 * Teams sends each @mention in the text as markup, `<at>Bob Approver</at>`: in a request's reason
 * (or a value) it is the name the sender picked, written as they saw it, `@Bob Approver`, not
 * markup the card would show as typed.
 */
function withMentionsAsNames(text: string): string {
  return text.replace(/<at>([^<]*)<\/at>/gi, '@$1');
}

function extraWords(command: string, extra: string, usage: string): Interpretation {
  return { kind: 'extra-words', command, extra: extra.slice(0, 80), usage };
}
