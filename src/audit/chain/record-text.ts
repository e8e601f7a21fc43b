/**
 * What a reader of stored or exported records says of a record it cannot take as written: the kinds
 * of chain problem, the defect a record source throws, and whether a text is the canonical form it
 * was sealed in. Below the formats (which read records) and verification (which reports them).
 */
import { fastCanonicalJson } from './seal-json-fast';

export type ChainProblemKind = 'edited' | 'deleted' | 'reordered' | 'duplicated' | 'broken-link';

/**
 * Thrown by a record source when what it read is not a well-formed record (a line that is not JSON,
 * a database row whose columns disagree with its record). verifyChain reports it as the problem.
 */
export class ChainDefect extends Error {
  constructor(
    readonly kind: ChainProblemKind,
    message: string,
    /** Undefined when the source cannot tell: the seq expected at that place is used. */
    readonly seq?: number,
    readonly recordId = '',
  ) {
    super(message);
    this.name = 'ChainDefect';
  }
}

/**
 * Whether `text` is exactly the canonical form of what it parses to, as the sealer stored it. A text
 * that is not (a member repeated, members reordered, whitespace added) can hash as intact, since
 * JSON.parse keeps the last of two equal keys, while a reader that keeps the first (SQLite's
 * json_extract, many JSON libraries) sees other values than the hash vouches for.
 */
export function isCanonicalText(text: string, parsed: unknown): boolean {
  try {
    return fastCanonicalJson(parsed) === text;
  } catch {
    return false;
  }
}

/**
 * Whether a stored text is the canonical JSON it was sealed in, for a reader that does not parse it
 * anyway (the JSON Lines export writes it as it is): told by one scan where it can, else by parsing
 * it and writing it again (isCanonicalText).
 */
export function isCanonicalStoredText(text: string): boolean {
  if (plainCanonical(text)) return true;
  try {
    return isCanonicalText(text, JSON.parse(text));
  } catch {
    return false;
  }
}

/**
 * True when the text is plainly canonical JSON: no whitespace and no escape, every object's keys in
 * strictly increasing order (UTF-16 code units, as RFC 8785 sorts them; none starting with a digit,
 * which JavaScript would order first), every number an integer written as JavaScript writes it.
 * False says only that the scan cannot tell: the full check decides. String values are skipped to
 * their closing quote, not read character by character (that would cost as much again): a raw
 * control character in one, which makes the text no JSON at all (every reader refuses it, and
 * database verification names it), is not looked for; a lone surrogate cannot be read from a UTF-8
 * store. About a quarter of what parsing the text costs.
 */
function plainCanonical(text: string): boolean {
  if (text.indexOf('\\') !== -1) return false;
  scanned = text;
  try {
    return scanValue(0) === text.length;
  } catch {
    // Nested deep enough to exhaust the stack.
    return false;
  } finally {
    scanned = '';
  }
}

/** The text plainCanonical is scanning. */
let scanned = '';

/** The end of the value starting at i, or -1 when it is not plainly canonical. */
function scanValue(i: number): number {
  const c = scanned.charCodeAt(i);
  if (c === 34) {
    const end = scanned.indexOf('"', i + 1);
    return end === -1 ? -1 : end + 1;
  }
  if (c === 123) return scanObject(i);
  if (c === 91) {
    let j = i + 1;
    if (scanned.charCodeAt(j) === 93) return j + 1;
    for (;;) {
      j = scanValue(j);
      if (j === -1) return -1;
      const d = scanned.charCodeAt(j);
      if (d === 93) return j + 1;
      if (d !== 44) return -1;
      j++;
    }
  }
  if (c === 116) return scanned.startsWith('true', i) ? i + 4 : -1;
  if (c === 102) return scanned.startsWith('false', i) ? i + 5 : -1;
  if (c === 110) return scanned.startsWith('null', i) ? i + 4 : -1;
  return scanInteger(i);
}

/** An integer as JavaScript writes it: no leading zero, no -0, at most 15 digits (exact as a double). */
function scanInteger(i: number): number {
  let j = scanned.charCodeAt(i) === 45 ? i + 1 : i;
  const first = j;
  for (let c = scanned.charCodeAt(j); c >= 48 && c <= 57; c = scanned.charCodeAt(++j));
  const digits = j - first;
  if (digits === 0 || digits > 15) return -1;
  if (scanned.charCodeAt(first) === 48 && (digits > 1 || first > i)) return -1;
  return j;
}

function scanObject(i: number): number {
  let j = i + 1;
  if (scanned.charCodeAt(j) === 125) return j + 1;
  let prevStart = -1;
  let prevEnd = -1;
  for (;;) {
    if (scanned.charCodeAt(j) !== 34) return -1;
    const end = scanned.indexOf('"', j + 1);
    if (end === -1 || scanned.charCodeAt(end + 1) !== 58) return -1;
    const first = scanned.charCodeAt(j + 1);
    if (first >= 48 && first <= 57) return -1;
    if (prevStart !== -1 && !keyAfter(prevStart, prevEnd, j + 1, end)) return -1;
    prevStart = j + 1;
    prevEnd = end;
    j = scanValue(end + 2);
    if (j === -1) return -1;
    const c = scanned.charCodeAt(j);
    if (c === 125) return j + 1;
    if (c !== 44) return -1;
    j++;
  }
}

/** Whether the key at [b, bEnd) sorts strictly after the one at [a, aEnd), by UTF-16 code units. */
function keyAfter(a: number, aEnd: number, b: number, bEnd: number): boolean {
  for (; a < aEnd && b < bEnd; a++, b++) {
    const d = scanned.charCodeAt(b) - scanned.charCodeAt(a);
    if (d !== 0) return d > 0;
  }
  return bEnd - b > aEnd - a;
}

/** The sentence verification reports for a stored or exported text that is not in canonical form. */
export const NOT_CANONICAL = 'its text is not the canonical form it was sealed in (a member repeated or reordered, or spacing added), so readers could see other values than its hash vouches for';
