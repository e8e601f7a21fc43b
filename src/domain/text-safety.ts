/**
 * Characters that change how text is laid out rather than what it says: C0/C1 controls (tab, CR,
 * LF and U+0085 among them), the Unicode line and paragraph separators, and the bidirectional
 * controls. In a reason, comment or parameter value they would let a requester put lines of their
 * own on a card ("Approved by Bob", "SUCCEEDED") or reorder what approvers read, so such text is
 * refused; text from Teams or Azure shown on a card is made one inert line instead.
 */

/** C0 and C1 controls, DEL, U+2028/U+2029, and the bidi embeddings, overrides, isolates and marks. */
const LAYOUT_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
const LAYOUT_CHARACTERS = new RegExp(LAYOUT_CHARACTER.source, 'g');
const LINE_BREAKS = /[\n\r\t\u000b\u000c\u0085\u2028\u2029]+/g;

/** Names the first layout character in the text (as U+XXXX), or undefined when there is none. */
export function firstLayoutCharacter(text: string): string | undefined {
  const m = LAYOUT_CHARACTER.exec(text);
  return m ? `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}

/**
 * The refusal text for user text holding a layout character, or undefined when it holds none.
 * `what` names the field as the person knows it ("The reason", "location").
 */
export function layoutProblem(what: string, text: string): string | undefined {
  const found = firstLayoutCharacter(text);
  if (!found) return undefined;
  return `${what} contains a line break, control or text-direction character (${found}); type it on one line without such characters`;
}

/**
 * Text from Teams or Azure made safe to show on a card: line breaks and tabs become one space, other
 * controls and the bidi controls are dropped, so it stays one line read left to right as typed.
 */
export function inertLine(text: string): string {
  if (!LAYOUT_CHARACTER.test(text)) return text;
  return text.replace(LINE_BREAKS, ' ').replace(LAYOUT_CHARACTERS, '');
}
