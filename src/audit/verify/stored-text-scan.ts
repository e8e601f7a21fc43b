/**
 * Reading the fields verification compares out of a stored record text without JSON.parse: one scan
 * over the text that accepts it only if it is in the exact canonical form the sealer writes
 * (JSON.stringify of a value whose object keys are sorted by UTF-16 code unit: no whitespace,
 * strictly ascending keys at every level, integers written as JavaScript writes them, only `true`,
 * `false` and `null` as literals), and that notes where the top-level members lie.
 *
 * Why this is a full check and not a shortcut: a text the scan accepts is its own canonical form,
 * JSON.stringify(JSON.parse(text)) === text, so the reference hash of the parsed record,
 * sha256(fastCanonicalJson(record without hash)), is sha256 of the text minus its top-level
 * `"hash":"…",` member, which is what the fast path hashes; and the values found at the member
 * positions are the values JSON.parse would give (keys are unique, so no later duplicate overrides
 * them). The scan answers false for anything it does not handle exactly (escapes, control
 * characters or lone surrogates anywhere in the text, fractions and exponents, keys starting with a
 * digit, whitespace, a `request` or `actor` that is not an object, deep nesting): the caller then
 * checks that row the reference way (JSON.parse and recordHash), so such rows are slower, never
 * judged differently.
 */

/** Where the members of the last text scanned lie: [start, end) of a string value's characters. */
export interface StoredTextFields {
  seq: number;
  idStart: number;
  idEnd: number;
  timeStart: number;
  timeEnd: number;
  typeStart: number;
  typeEnd: number;
  prevHashStart: number;
  prevHashEnd: number;
  hashStart: number;
  hashEnd: number;
  /** Start of the `"hash"` key (its opening quote): the hashed text leaves out [hashMember, hashEnd + 2). */
  hashMember: number;
  /** -1: no `request` member, or no `id` in it (the column must then be null). */
  requestIdStart: number;
  requestIdEnd: number;
  /** -1: no `actor` member, or no `aadObjectId` in it. */
  actorIdStart: number;
  actorIdEnd: number;
}

/**
 * Anything that makes a string need an escape in canonical JSON or makes it ill-formed (a control
 * character, a backslash, a lone surrogate): texts with any take the reference path. Without
 * backslashes, every quote is a delimiter. Checked as three native scans (a regular expression
 * over the text for all three costs about twice as much).
 */
const CONTROL = /[\u0000-\u001f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

function needsEscapes(text: string): boolean {
  if (text.indexOf('\\') !== -1 || CONTROL.test(text)) return true;
  return nativeIsWellFormed ? !nativeIsWellFormed.call(text) : LONE_SURROGATE.test(text);
}

const MAX_DEPTH = 64;

const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;

/** True when key [as, ae) sorts strictly before key [bs, be) by UTF-16 code unit. */
function keyBefore(text: string, as: number, ae: number, bs: number, be: number): boolean {
  const la = ae - as;
  const lb = be - bs;
  const n = la < lb ? la : lb;
  for (let k = 0; k < n; k++) {
    const a = text.charCodeAt(as + k);
    const b = text.charCodeAt(bs + k);
    if (a !== b) return a < b;
  }
  return la < lb;
}

function isKey(text: string, start: number, end: number, name: string): boolean {
  // The first character and the length rule out most keys without a call into startsWith.
  return end - start === name.length && text.charCodeAt(start) === name.charCodeAt(0) && text.startsWith(name, start);
}

/** A string at i (its opening quote): the index after its closing quote, or -1. */
function skipString(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1;
  const close = text.indexOf('"', i + 1);
  return close === -1 ? -1 : close + 1;
}

/** An integer as JavaScript writes it (no -0, no leading zeros, at most 15 digits): the index after it, or -1. */
function skipInteger(text: string, i: number): number {
  let j = i;
  if (text.charCodeAt(j) === 45) j++; // -
  const first = text.charCodeAt(j);
  if (first === 48) {
    if (j > i) return -1; // -0
    j++;
  } else if (first >= 49 && first <= 57) {
    const start = j;
    j++;
    while (j < text.length) {
      const c = text.charCodeAt(j);
      if (c < 48 || c > 57) break;
      j++;
    }
    if (j - start > 15) return -1;
  } else {
    return -1;
  }
  const next = text.charCodeAt(j);
  // A fraction or an exponent: not handled here (JavaScript's number text is not checked).
  if (next === 46 || next === 101 || next === 69 || (next >= 48 && next <= 57)) return -1;
  return j;
}

class Scanner {
  /** Set by skipObject when it meets the member it was asked for: [start, end) of its string value. */
  foundStart = -1;
  foundEnd = -1;

  constructor(private readonly text: string) {}

  value(i: number, depth: number): number {
    const text = this.text;
    switch (text.charCodeAt(i)) {
      case QUOTE:
        return skipString(text, i);
      case LBRACE:
        return this.object(i, depth + 1, undefined);
      case LBRACKET:
        return this.array(i, depth + 1);
      case 116: // t
        return text.startsWith('true', i) ? i + 4 : -1;
      case 102: // f
        return text.startsWith('false', i) ? i + 5 : -1;
      case 110: // n
        return text.startsWith('null', i) ? i + 4 : -1;
      default:
        return skipInteger(text, i);
    }
  }

  array(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    const text = this.text;
    let j = i + 1;
    if (text.charCodeAt(j) === RBRACKET) return j + 1;
    for (;;) {
      j = this.value(j, depth);
      if (j === -1) return -1;
      const c = text.charCodeAt(j);
      if (c === RBRACKET) return j + 1;
      if (c !== COMMA) return -1;
      j++;
    }
  }

  /** An object at i; when `wanted` is given, the position of that member's string value is noted. */
  object(i: number, depth: number, wanted: string | undefined): number {
    if (depth > MAX_DEPTH) return -1;
    const text = this.text;
    let j = i + 1;
    if (text.charCodeAt(j) === RBRACE) return j + 1;
    let prevStart = -1;
    let prevEnd = -1;
    for (;;) {
      const keyEnd = skipString(text, j) - 1;
      if (keyEnd < 0 || text.charCodeAt(keyEnd + 1) !== COLON) return -1;
      const keyStart = j + 1;
      const first = text.charCodeAt(keyStart);
      if (first >= 48 && first <= 57) return -1; // might be an array index: JavaScript reorders those
      if (prevStart !== -1 && !keyBefore(text, prevStart, prevEnd, keyStart, keyEnd)) return -1;
      const valueStart = keyEnd + 2;
      j = this.value(valueStart, depth);
      if (j === -1) return -1;
      if (wanted !== undefined && isKey(text, keyStart, keyEnd, wanted)) {
        if (text.charCodeAt(valueStart) !== QUOTE) return -1;
        this.foundStart = valueStart + 1;
        this.foundEnd = j - 1;
      }
      prevStart = keyStart;
      prevEnd = keyEnd;
      const c = text.charCodeAt(j);
      if (c === RBRACE) return j + 1;
      if (c !== COMMA) return -1;
      j++;
    }
  }
}

/**
 * Scans a stored record text into `out`; false when the text is not in the handled canonical form
 * or lacks a member verification needs as text (id, time, type, prevHash, hash; seq as a positive
 * integer). See the module comment for why true means JSON.stringify(JSON.parse(text)) === text.
 */
export function scanStoredText(text: string, out: StoredTextFields): boolean {
  if (text.charCodeAt(0) !== LBRACE || text.charCodeAt(text.length - 1) !== RBRACE) return false;
  if (needsEscapes(text)) return false;
  out.seq = 0;
  out.idStart = out.timeStart = out.typeStart = out.prevHashStart = out.hashStart = out.hashMember = -1;
  out.requestIdStart = out.requestIdEnd = out.actorIdStart = out.actorIdEnd = -1;
  const scanner = new Scanner(text);
  let j = 1;
  let prevStart = -1;
  let prevEnd = -1;
  for (;;) {
    const keyEnd = skipString(text, j) - 1;
    if (keyEnd < 0 || text.charCodeAt(keyEnd + 1) !== COLON) return false;
    const keyStart = j + 1;
    const first = text.charCodeAt(keyStart);
    if (first >= 48 && first <= 57) return false;
    if (prevStart !== -1 && !keyBefore(text, prevStart, prevEnd, keyStart, keyEnd)) return false;
    const valueStart = keyEnd + 2;
    const length = keyEnd - keyStart;
    let end: number;
    if (length === 7 && isKey(text, keyStart, keyEnd, 'request')) {
      if (text.charCodeAt(valueStart) !== LBRACE) return false;
      scanner.foundStart = -1;
      end = scanner.object(valueStart, 1, 'id');
      out.requestIdStart = scanner.foundStart;
      out.requestIdEnd = scanner.foundEnd;
    } else if (length === 5 && isKey(text, keyStart, keyEnd, 'actor')) {
      if (text.charCodeAt(valueStart) !== LBRACE) return false;
      scanner.foundStart = -1;
      end = scanner.object(valueStart, 1, 'aadObjectId');
      out.actorIdStart = scanner.foundStart;
      out.actorIdEnd = scanner.foundEnd;
    } else if (length === 3 && isKey(text, keyStart, keyEnd, 'seq')) {
      end = skipInteger(text, valueStart);
      if (end === -1 || text.charCodeAt(valueStart) === 45 || text.charCodeAt(valueStart) === 48) return false;
      out.seq = Number(text.slice(valueStart, end));
    } else {
      end = scanner.value(valueStart, 0);
      if (end !== -1 && text.charCodeAt(valueStart) === QUOTE) {
        if (length === 2 && isKey(text, keyStart, keyEnd, 'id')) {
          out.idStart = valueStart + 1;
          out.idEnd = end - 1;
        } else if (length === 4 && isKey(text, keyStart, keyEnd, 'time')) {
          out.timeStart = valueStart + 1;
          out.timeEnd = end - 1;
        } else if (length === 4 && isKey(text, keyStart, keyEnd, 'type')) {
          out.typeStart = valueStart + 1;
          out.typeEnd = end - 1;
        } else if (length === 8 && isKey(text, keyStart, keyEnd, 'prevHash')) {
          out.prevHashStart = valueStart + 1;
          out.prevHashEnd = end - 1;
        } else if (length === 4 && isKey(text, keyStart, keyEnd, 'hash')) {
          out.hashMember = j;
          out.hashStart = valueStart + 1;
          out.hashEnd = end - 1;
        }
      }
    }
    if (end === -1) return false;
    prevStart = keyStart;
    prevEnd = keyEnd;
    const c = text.charCodeAt(end);
    if (c === RBRACE) {
      if (end !== text.length - 1) return false;
      break;
    }
    if (c !== COMMA) return false;
    j = end + 1;
  }
  // The hash member is followed by a comma ("id" sorts after it), which the hashed text leaves out too.
  return out.seq > 0 && out.idStart !== -1 && out.timeStart !== -1 && out.typeStart !== -1 && out.prevHashStart !== -1 && out.hashStart !== -1 && text.charCodeAt(out.hashEnd + 1) === COMMA;
}

/** A scratch result for scanStoredText. */
export function storedTextFields(): StoredTextFields {
  return {
    seq: 0,
    idStart: -1,
    idEnd: -1,
    timeStart: -1,
    timeEnd: -1,
    typeStart: -1,
    typeEnd: -1,
    prevHashStart: -1,
    prevHashEnd: -1,
    hashStart: -1,
    hashEnd: -1,
    hashMember: -1,
    requestIdStart: -1,
    requestIdEnd: -1,
    actorIdStart: -1,
    actorIdEnd: -1,
  };
}
