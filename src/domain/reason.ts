/**
 * Reasons that mean something: when a command's policy requires a reason, a reason long enough
 * that still says nothing is refused (one character repeated, punctuation only, one word repeated,
 * the command itself typed again, the usual placeholders). Pure: the text in, a problem or nothing out.
 */

export interface ReasonPolicy {
  required: boolean;
  /** Fewest characters, counted after trimming (default 10 when required). */
  minLength: number;
}

export const DEFAULT_REASON_MIN_LENGTH = 10;

/** Words people type to get past a reason box. Compared whole, ignoring case, spaces and punctuation. */
const PLACEHOLDERS = new Set([
  'na', 'none', 'nil', 'null', 'test', 'testing', 'tbd', 'todo', 'asdf', 'asdfgh', 'qwerty', 'xxx', 'foo', 'bar', 'foobar',
  'reason', 'noreason', 'because', 'change', 'fix', 'update', 'needed', 'required', 'pleaseapprove', 'approve', 'ok', 'yes', 'lorem', 'loremipsum',
]);

/** What a good reason looks like, said with every refusal. */
export const GOOD_REASON =
  'Say why the change is needed and what it is for, e.g. "Scale out checkout-web for the 10:00 sale, ticket CHG-1234".';

/**
 * Why this reason does not do, or undefined when it does (or none is required and none was given).
 * `commandText` is what the requester asked for (command and parameters): repeating it says nothing.
 */
export function reasonProblem(reason: string | undefined, policy: ReasonPolicy | undefined, commandText = ''): string | undefined {
  const text = (reason ?? '').trim();
  if (!policy?.required) return undefined;
  if (text === '') return `This command needs a reason (at least ${policy.minLength} characters). ${GOOD_REASON}`;
  const letters = text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  if (letters === '') return `The reason is only punctuation or spaces. ${GOOD_REASON}`;
  if (PLACEHOLDERS.has(letters)) return `"${text.slice(0, 40)}" is a placeholder, not a reason. ${GOOD_REASON}`;
  if (letters.length > 1 && new Set(letters).size === 1) return `The reason is one character repeated. ${GOOD_REASON}`;
  const words = text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  if (words.length > 1 && new Set(words).size === 1) return `The reason is one word repeated. ${GOOD_REASON}`;
  if (isRepeat(letters)) return `"${text.slice(0, 40)}" is a placeholder, not a reason. ${GOOD_REASON}`;
  // Too short before the rest: `x` is a reason too short, and `old` is not the command typed again.
  if (text.length < policy.minLength) return `The reason is ${text.length} character${text.length === 1 ? "" : "s"}; this command needs at least ${policy.minLength}. ${GOOD_REASON}`;
  const asked = commandText.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  if (asked && (letters === asked || asked.includes(letters))) return `The reason only repeats the command. ${GOOD_REASON}`;
  return undefined;
}

/** "abcabcabc", "asdfasdf": a short run typed again and again. */
function isRepeat(letters: string): boolean {
  for (let n = 1; n <= 4 && n * 2 <= letters.length; n++) {
    if (letters.length % n === 0 && letters.slice(0, n).repeat(letters.length / n) === letters) return true;
  }
  return false;
}
