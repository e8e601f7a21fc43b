/**
 * Characters that change how text is laid out rather than what it says: C0/C1 controls (tab, CR,
 * LF and U+0085 among them), the Unicode line and paragraph separators, and the bidirectional
 * controls. In a reason, comment or parameter value they would let a requester put lines of their
 * own on a card ("Approved by Bob", "SUCCEEDED") or reorder what approvers read, so such text is
 * refused; text from Teams or Azure shown on a card is made one inert line instead.
 *
 * And characters that show as nothing: a parameter value "platform<U+200B>team" reads "platformteam"
 * on the card while Azure is sent the zero-width space, and tag characters (U+E0020–U+E007E) spell
 * ASCII that no approver sees. The approver must see exactly what will run, so these are refused too.
 */

/** C0 and C1 controls, DEL, U+2028/U+2029, and the bidi embeddings, overrides, isolates and marks. */
const LAYOUT_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
const LAYOUT_CHARACTERS = new RegExp(LAYOUT_CHARACTER.source, 'g');
const LINE_BREAKS = /[\n\r\t\u000b\u000c\u0085\u2028\u2029]+/g;

/**
 * Every default-ignorable code point (zero-width space, joiners and non-joiner, word joiner, U+FEFF,
 * soft hyphen, combining grapheme joiner, Hangul fillers, variation selectors, and U+E0000–U+E0FFF:
 * the tag block, the variation selectors supplement and what is reserved around them) and every other
 * format character (Cf: the interlinear annotation characters U+FFF9–U+FFFB, which hide their
 * annotation, and a few visible signs such as U+0600–U+0605 that ops text does not need).
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u;

/**
 * Characters that look like a plain space, or like nothing at all, but are not: every space separator
 * (Zs) other than U+0020 itself (the no-break and typographic spaces U+00A0, U+2000–U+200A, U+202F,
 * U+205F, U+3000, and OGHAM SPACE MARK U+1680, which most fonts draw as a space and Ogham fonts as a
 * dash) and U+2800 BRAILLE PATTERN BLANK. In a parameter value, which Azure is sent, an approver
 * cannot tell them from a space (or a hyphen).
 */
const BLANK_LOOKING = new RegExp(String.raw`[[\p{Zs}\u2800]--[\u0020]]`, 'v');

/**
 * Code points with no agreed appearance: private use (Co, U+E000–U+F8FF and planes 15 and 16), whose
 * look is whatever a font puts there (a box, nothing, an icon), and those not assigned at the running
 * Node.js's Unicode version (Cn), which a newer client may draw as anything, nothing included. In a
 * parameter value the card cannot show what Azure would be sent.
 */
const NO_AGREED_LOOK = /[\p{Co}\p{Cn}]/u;

/**
 * One emoji as people type it: a keycap, or a pictograph with a skin tone or one presentation selector
 * (U+FE0E/U+FE0F, also where the pictograph needs none, as keyboards add "🔥" U+FE0F), joined to more
 * by U+200D; or one of Unicode's recommended flag tag sequences (England, Scotland, Wales), a fixed list,
 * so tag characters cannot spell anything else. A selector or joiner anywhere else shows nothing.
 */
const EMOJI_ELEMENT = String.raw`(?:[#*0-9]\uFE0F?\u20E3|\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|[\uFE0E\uFE0F])?)`;
const EMOJI = String.raw`\p{RGI_Emoji_Tag_Sequence}|${EMOJI_ELEMENT}(?:\u200D${EMOJI_ELEMENT})*`;
/** Group 1 is an emoji that free text may hold; a match without it is an invisible character. */
const EMOJI_OR_INVISIBLE = new RegExp(String.raw`(${EMOJI})|[\p{Default_Ignorable_Code_Point}\p{Cf}]`, 'gv');

/**
 * A word (letters and their marks) mixing Latin letters with Cyrillic, Greek, Armenian or Cherokee
 * ones, the scripts with letters drawn as Latin ones: "prоduction" with a Cyrillic "о" reads as
 * production on the card, and Azure is sent another name. Words in one script each ("Москва-office")
 * are not mixed. The groups: the word, then its first letter of the other script.
 */
const WORD = /\p{L}[\p{L}\p{M}]*/gu;
const LATIN_LETTER = /\p{Script=Latin}/u;
const LATIN_LOOKALIKE = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}]/u;
const SCRIPT_NAMES: [RegExp, string][] = [[/\p{Script=Cyrillic}/u, 'Cyrillic'], [/\p{Script=Greek}/u, 'Greek'], [/\p{Script=Armenian}/u, 'Armenian'], [/\p{Script=Cherokee}/u, 'Cherokee']];

/** The first word mixing Latin letters with lookalikes of another script: the other script's letter, its script, and where it stands. */
function firstMixedWord(text: string): { word: string; letter: string; script: string; index: number } | undefined {
  if (!LATIN_LOOKALIKE.test(text)) return undefined;
  for (const m of text.matchAll(WORD)) {
    const word = m[0];
    const other = LATIN_LOOKALIKE.exec(word);
    if (!other || !LATIN_LETTER.test(word)) continue;
    const script = SCRIPT_NAMES.find(([re]) => re.test(other[0]))![1];
    return { word, letter: other[0], script, index: m.index + other.index };
  }
  return undefined;
}

/**
 * Where user text goes. A `parameter` value is sent to Azure, so it holds no invisible character at all.
 * `free-text` (a reason or comment) is only read by people: an emoji in it may keep its presentation
 * selector and joiners, which change how the emoji looks, not what the words say.
 */
export type TextUse = 'parameter' | 'free-text';

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Where the first invisible character that is not part of an emoji stands, in UTF-16 units. */
function firstOutsideEmoji(text: string): number | undefined {
  for (const m of text.matchAll(EMOJI_OR_INVISIBLE)) if (m[1] === undefined) return m.index;
  return undefined;
}

/** Names the first layout character in the text (as U+XXXX), or undefined when there is none. */
export function firstLayoutCharacter(text: string): string | undefined {
  const m = LAYOUT_CHARACTER.exec(text);
  return m ? codePoint(m[0]) : undefined;
}

/**
 * The first invisible character in the text: its code point (U+XXXX) and position (1 for the first
 * character, counted in code points), or undefined when there is none.
 */
export function firstInvisibleCharacter(text: string, use: TextUse): { codePoint: string; position: number } | undefined {
  if (!INVISIBLE.test(text)) return undefined;
  const index = use === 'parameter' ? INVISIBLE.exec(text)?.index : firstOutsideEmoji(text);
  if (index === undefined) return undefined;
  return { codePoint: codePoint(text.slice(index)), position: Array.from(text.slice(0, index)).length + 1 };
}

/** Half of a surrogate pair with no other half (JSON can carry one as an escape): not a character at all. */
function firstLoneSurrogate(text: string): { codePoint: string; position: number } | undefined {
  if ((text as unknown as { isWellFormed(): boolean }).isWellFormed()) return undefined;
  const index = text.search(/\p{Surrogate}/u);
  return { codePoint: codePoint(text.slice(index)), position: Array.from(text.slice(0, index)).length + 1 };
}

/**
 * The refusal text for user text holding a layout or invisible character, or a lone surrogate (and, in
 * a parameter value, a character that looks like a space but is not, one with no agreed look, or a
 * word mixing Latin letters with lookalikes from another script), or undefined when it holds none. `what` names the field as the person knows it ("The reason", "location").
 */
export function unsafeTextProblem(what: string, text: string, use: TextUse): string | undefined {
  const layout = firstLayoutCharacter(text);
  if (layout) return `${what} contains a line break, control or text-direction character (${layout}); type it on one line without such characters`;
  const broken = firstLoneSurrogate(text);
  if (broken) {
    return `${what} contains a broken character (a lone UTF-16 surrogate, ${broken.codePoint}, character ${broken.position}): it is not text, the card would show it as \uFFFD; type it again`;
  }
  const blank = use === 'parameter' ? BLANK_LOOKING.exec(text) : null;
  if (blank) {
    const position = Array.from(text.slice(0, blank.index)).length + 1;
    return `${what} contains a character that looks like a space or like nothing but is not one (${codePoint(blank[0])}, character ${position}): the card could not tell it from a space, but Azure would be sent it; type a plain space or none`;
  }
  const invisible = firstInvisibleCharacter(text, use);
  if (invisible) {
    const why = use === 'parameter' ? 'the card would not show it, but Azure would be sent it' : 'approvers would not see it on the card';
    return `${what} contains an invisible character (${invisible.codePoint}, character ${invisible.position}): ${why}; type it without such characters`;
  }
  if (use !== 'parameter') return undefined;
  const unknown = NO_AGREED_LOOK.exec(text);
  if (unknown) {
    const position = Array.from(text.slice(0, unknown.index)).length + 1;
    return `${what} contains a private-use or unassigned character (${codePoint(unknown[0])}, character ${position}), which has no agreed look: the card could show it as a box, as nothing or as another sign, but Azure would be sent it; type it without such characters`;
  }
  const mixed = firstMixedWord(text);
  if (!mixed) return undefined;
  const position = Array.from(text.slice(0, mixed.index)).length + 1;
  return `${what} mixes Latin and ${mixed.script} letters in one word ("${mixed.word.slice(0, 40)}": its "${mixed.letter}" is ${codePoint(mixed.letter)}, character ${position}): the card would show what reads as a Latin word, but Azure would be sent another name; type the word in one script`;
}

/**
 * A comment typed in a card's box, on one line: each line break (with the spaces around it) becomes
 * one space. The Reject and Flag boxes take several lines (Enter adds one in Teams), and the words are
 * what the approver meant; a line break kept would let a comment add a line of its own to the card.
 */
export function commentOnOneLine(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/[ \t]*(?:\r\n|\r|\n)+[ \t]*/g, ' ').trim() : text;
}

/**
 * Text from Teams or Azure (or stored text people sent) made safe to show to people, on a card, in a
 * message or in an evidence bundle's SUMMARY.md: line breaks and tabs become one space, so it stays
 * one line. Every other control, bidi control (embeddings, overrides, isolates, marks) and invisible
 * character outside an emoji is shown by its code point, "[U+202E]", "[U+200B]": left in, a bidi
 * control reorders what follows it; dropped, the text would read as if it had never been there (a
 * display name "Bob<U+202E>" as "Bob", a parameter as "platformteam" while Azure is sent more), and
 * a compliance reader must see what was sent. The stored text is never changed: only its rendering.
 */
export function inertLine(text: string): string {
  const layout = LAYOUT_CHARACTER.test(text);
  const invisible = INVISIBLE.test(text);
  if (!layout && !invisible) return text;
  const line = layout ? text.replace(LINE_BREAKS, ' ').replace(LAYOUT_CHARACTERS, (c) => `[${codePoint(c)}]`) : text;
  return invisible ? line.replace(EMOJI_OR_INVISIBLE, (c, emoji: string | undefined) => emoji ?? `[${codePoint(c)}]`) : line;
}
