/**
 * Text on cards. Every piece of user-supplied text goes through `md()` so it cannot make links or
 * formatting; times are shown the same way on every card.
 */
import { inertLine } from '../domain/text-safety';

/** Anything one of md()'s replacements below would touch (a superset: a match only means "look closer"). */
const MAY_NEED_ESCAPING = /[\\`*_[\]<>~|]|\$\{|\{\{|:\/\/|www\.|^\s*[-+#]|^\s*\d+\./im;

/**
 * Escapes text for a TextBlock or FactSet value: markdown punctuation is backslash-escaped and
 * URL schemes are broken so that nothing a user typed becomes a link.
 */
export function md(text: string | undefined): string {
  if (!text) return '';
  // One inert line whatever Teams or Azure sent: no line breaks, controls or text-direction characters.
  text = inertLine(text);
  // Most card text (names, ids, times) has nothing to escape: one scan instead of six replaces.
  if (!MAY_NEED_ESCAPING.test(text)) return text;
  return text
    .replace(/[\\`*_[\]<>~|]/g, (c) => `\\${c}`)
    .replace(/\$\{/g, '$\u200B{')
    // Teams evaluates {{DATE(...)}} and {{TIME(...)}} in card text: typed text must not become a date.
    // Every brace before another is broken, so no run of them leaves a "{{" ("{{{" replaced pairwise would).
    .replace(/\{(?=\{)/g, '{\u200B')
    .replace(/(\w)(:\/\/)/g, '$1\u200B$2')
    .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\u200B.`)
    .replace(/^(\s*)([-+#])/gm, '$1\\$2')
    .replace(/^(\s*\d+)\./gm, '$1\\.');
}

/**
 * Text from Azure or a deployment cut to `max` characters, "…" ending what was cut (never half a
 * surrogate pair): a card must stay within Teams' message size whatever Azure answered. Cut before
 * md(), so that no escape or link is cut in two.
 */
export function shortened(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  if (/[\uD800-\uDBFF]/.test(text[end - 1])) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * A time on a card, shown by the Teams client in the reader's own time zone and format
 * (Adaptive Cards' DATE and TIME functions take an RFC 3339 time without fractions of a second).
 */
export function localTime(iso: string): string {
  const t = iso.replace(/\.\d+Z$/, 'Z');
  return `{{DATE(${t}, SHORT)}} {{TIME(${t})}}`;
}
