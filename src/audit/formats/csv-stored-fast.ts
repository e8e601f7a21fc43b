/**
 * The CSV line of a record written straight from the bytes of its stored canonical text, without
 * JSON.parse, without re-serialising the nested values and without making a string: one left-to-right
 * scan of the bytes finds each top-level member, the text fields are the bytes between their quotes
 * and the JSON cells (source, target, execution, data, request parameters) are their stretch of the
 * stored bytes, copied into the output as they are.
 *
 * The bytes are the text's UTF-8 (ASCII text is its own UTF-8). No byte of a multi-byte character is
 * below 0x80, so quotes, commas and brackets are found as in the text, and UTF-8 orders characters
 * of the Basic Multilingual Plane as UTF-16 does, surrogates apart, which the string wrapper below
 * sends to the general path.
 *
 * That is exactly what the general path writes (JSON.parse, then JSON.stringify of each nested
 * value) only for text of the shape the store writes, so the scan accepts nothing else and answers
 * false (the caller then takes the general path) for anything outside it:
 * - any backslash in the text (an escaped character: decoding it is left to JSON.parse), so a
 *   string is the characters between two quotes and never holds a quote;
 * - any control character (JSON.parse refuses them raw);
 * - whitespace, or anything that is not strict JSON;
 * - a number that is not written the way JSON.stringify writes it (1.0, -0, 1E3, +1, 01);
 * - an object whose keys are not in strictly increasing order (so no duplicate key, which
 *   JSON.parse would fold), or with a key that starts with a digit (JavaScript orders
 *   array-index keys first, so JSON.stringify would not keep the text's order);
 * - a text field (id, time, type, hashes, actor, request and outcome fields) that is not a string,
 *   or an actor, request or outcome that is not an object, or no outcome.
 * The tests hold the two paths to the same bytes, records of every shape included.
 */

/** Bytes written one line after another into a buffer that grows as needed (a batch's output). */
export class ByteSink {
  bytes: Buffer;
  length = 0;

  constructor(size: number) {
    this.bytes = Buffer.allocUnsafeSlow(size);
  }

  /** Room for n more bytes. */
  reserve(n: number): void {
    if (this.bytes.length - this.length >= n) return;
    const larger = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + n));
    this.bytes.copy(larger, 0, 0, this.length);
    this.bytes = larger;
  }

  /** A string's UTF-8. */
  writeString(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.reserve(s.length * 3);
    this.length += this.bytes.write(s, this.length, 'utf8');
  }

  /** What was written: a view at offset 0 of an ArrayBuffer of its own. */
  written(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** The bytes being scanned, and where the last key's value starts (set by key()). */
let src: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
/** The same bytes as 32-bit words, when the buffer allows (empty otherwise). */
let src32: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
let valueStart = 0;
/** Where the previous key of the object being scanned starts and ends (for the order check). */
let prevKeyStart = -1;
let prevKeyEnd = -1;

const QUOTE = 34;
const COMMA = 44;
const COLON = 58;

/** Where the next quote from i is, or -1 (a loop: Buffer's indexOf costs more to call than a string's scan). */
function closingQuote(i: number): number {
  const bytes = src;
  const n = bytes.length;
  for (; i < n; i++) if (bytes[i] === QUOTE) return i;
  return -1;
}

/** The end of the JSON value starting at i, or -1 when it is not of the accepted shape. */
function value(i: number): number {
  const c = src[i];
  if (c === QUOTE) {
    const end = closingQuote(i + 1);
    return end === -1 ? -1 : end + 1;
  }
  if (c === 123) return object(i);
  if (c === 91) return array(i);
  if (c === 116) return src[i + 1] === 114 && src[i + 2] === 117 && src[i + 3] === 101 ? i + 4 : -1; // true
  if (c === 102) return src[i + 1] === 97 && src[i + 2] === 108 && src[i + 3] === 115 && src[i + 4] === 101 ? i + 5 : -1; // false
  if (c === 110) return src[i + 1] === 117 && src[i + 2] === 108 && src[i + 3] === 108 ? i + 4 : -1; // null
  return number(i);
}

function number(i: number): number {
  let j = i;
  for (;;) {
    const c = src[j];
    // 0-9 - + . e E
    if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69) j++;
    else break;
  }
  if (j === i) return -1;
  // Most numbers are integers of fifteen digits or fewer written plainly, which JSON.stringify writes
  // so: 0, or an optional minus and a digit other than 0 then digits (not -0).
  let d = src[i] === 45 ? i + 1 : i;
  if (j - d === 1 && src[d] === 48 && d === i) return j;
  if (j - d >= 1 && j - d <= 15 && src[d] >= 49 && src[d] <= 57) {
    for (d++; d < j && src[d] >= 48 && src[d] <= 57; d++);
    if (d === j) return j;
  }
  // Anything else as JSON.stringify writes it, which also makes it valid JSON.
  const token = String.fromCharCode(...src.subarray(i, j));
  return String(Number(token)) === token ? j : -1;
}

function array(i: number): number {
  let j = i + 1;
  if (src[j] === 93) return j + 1;
  for (;;) {
    j = value(j);
    if (j === -1) return -1;
    const c = src[j];
    if (c === 93) return j + 1;
    if (c !== COMMA) return -1;
    j++;
  }
}

function object(i: number): number {
  let j = i + 1;
  if (src[j] === 125) return j + 1;
  prevKeyStart = -1;
  for (;;) {
    const k = key(j);
    if (k === -1) return -1;
    const ks = prevKeyStart;
    const ke = prevKeyEnd;
    j = value(valueStart);
    if (j === -1) return -1;
    // A nested object's keys were checked against each other; this object's go on from its own.
    prevKeyStart = ks;
    prevKeyEnd = ke;
    const c = src[j];
    if (c === 125) return j + 1;
    if (c !== COMMA) return -1;
    j++;
  }
}

/**
 * The end (the closing quote) of the key of the member starting at j, or -1 when it is not one the
 * shape allows (after the previous key of its object, not starting with a digit, followed by a
 * colon). valueStart is then its value's start and prevKey its own bounds.
 */
function key(j: number): number {
  if (src[j] !== QUOTE) return -1;
  const end = closingQuote(j + 1);
  if (end === -1 || src[end + 1] !== COLON) return -1;
  const first = src[j + 1];
  if (end > j + 1 && first >= 48 && first <= 57) return -1;
  if (prevKeyStart !== -1 && !keyBefore(prevKeyStart, prevKeyEnd, j + 1, end)) return -1;
  prevKeyStart = j + 1;
  prevKeyEnd = end;
  valueStart = end + 2;
  return end;
}

/** Whether the bytes a..ae come strictly before b..be (as the strings do: see above). */
function keyBefore(a: number, ae: number, b: number, be: number): boolean {
  for (; a < ae && b < be; a++, b++) if (src[a] !== src[b]) return src[a] < src[b];
  return a === ae && b < be;
}

/** Whether the bytes start..end are `name` (ASCII). */
function named(start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (src[start + i] !== name[i]) return false;
  return true;
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The cells of a line, in order: each field's start and end in the bytes, -1 when absent. */
const SEQ = 0;
const ID = 1;
const TIME = 2;
const TYPE = 3;
const ACTOR_ID = 4;
const ACTOR_NAME = 5;
const ACTOR_TENANT = 6;
const SOURCE = 7;
const REQUEST_ID = 8;
const COMMAND = 9;
const PARAMETERS = 10;
const OPERATION_HASH = 11;
const REASON = 12;
const POLICY_VERSION = 13;
const TARGET = 14;
const EXECUTION = 15;
const RESULT = 16;
const OUTCOME_REASON = 17;
const DETAIL = 18;
const DATA = 19;
const SCHEMA_VERSION = 20;
const PREV_HASH = 21;
const HASH = 22;
const CELLS = 23;

/** How each cell is written: a text field, or JSON as stored. */
const JSON_CELLS = new Set([SOURCE, PARAMETERS, TARGET, EXECUTION, DATA]);
const IS_JSON = Uint8Array.from({ length: CELLS }, (_, i) => (JSON_CELLS.has(i) ? 1 : 0));

const starts = new Int32Array(CELLS);
const ends = new Int32Array(CELLS);

/** The members of the record and of its nested objects that give cells, by name. */
const TOP: [Uint8Array, number][] = [
  [ascii('seq'), SEQ],
  [ascii('schemaVersion'), SCHEMA_VERSION],
  [ascii('id'), ID],
  [ascii('time'), TIME],
  [ascii('type'), TYPE],
  [ascii('prevHash'), PREV_HASH],
  [ascii('hash'), HASH],
  [ascii('source'), SOURCE],
  [ascii('target'), TARGET],
  [ascii('execution'), EXECUTION],
  [ascii('data'), DATA],
];
const ACTOR_FIELDS: [Uint8Array, number][] = [
  [ascii('aadObjectId'), ACTOR_ID],
  [ascii('name'), ACTOR_NAME],
  [ascii('tenantId'), ACTOR_TENANT],
];
const REQUEST_FIELDS: [Uint8Array, number][] = [
  [ascii('id'), REQUEST_ID],
  [ascii('command'), COMMAND],
  [ascii('parameters'), PARAMETERS],
  [ascii('operationHash'), OPERATION_HASH],
  [ascii('reason'), REASON],
  [ascii('policyVersion'), POLICY_VERSION],
];
const OUTCOME_FIELDS: [Uint8Array, number][] = [
  [ascii('result'), RESULT],
  [ascii('reason'), OUTCOME_REASON],
  [ascii('detail'), DETAIL],
];
const ACTOR = ascii('actor');
const REQUEST = ascii('request');
const OUTCOME = ascii('outcome');

/**
 * Each set of members looked up by a few bits of a key's length, second byte and last byte (no two members of
 * a set share them, checked as the table is made), then compared in full: a key that names no cell
 * costs three reads.
 */
function slot(length: number, second: number, last: number): number {
  return ((length & 31) << 10) | ((second & 31) << 5) | (last & 31);
}

function lookupTable(fields: [Uint8Array, number][]): { cells: Int8Array; names: Uint8Array[] } {
  const cells = new Int8Array(1 << 15).fill(-1);
  const names: Uint8Array[] = [];
  for (const [name, cell] of fields) {
    const at = slot(name.length, name[1], name[name.length - 1]);
    if (cells[at] !== -1) throw new Error(`the CSV scan's members ${String.fromCharCode(...name)} and ${String.fromCharCode(...names[cells[at]])} share a slot`);
    cells[at] = cell;
    names[cell] = name;
  }
  return { cells, names };
}

const TOP_TABLE = lookupTable(TOP);
const ACTOR_TABLE = lookupTable(ACTOR_FIELDS);
const REQUEST_TABLE = lookupTable(REQUEST_FIELDS);
const OUTCOME_TABLE = lookupTable(OUTCOME_FIELDS);
const NESTED_TABLE = lookupTable([
  [ACTOR, 0],
  [REQUEST, 1],
  [OUTCOME, 2],
]);
type Table = ReturnType<typeof lookupTable>;

/** The cell a member named start..end gives in the table, or -1. */
function cellOf(table: Table, start: number, end: number): number {
  const cell = table.cells[slot(end - start, src[start + 1], src[end - 1])];
  return cell !== -1 && named(start, end, table.names[cell]) ? cell : -1;
}

/**
 * Takes the member's value start..end as the cell's: a text cell must be a string (its bytes between
 * the quotes), seq and schemaVersion a number, a JSON cell is any value. False when it is not so.
 */
function take(cell: number, start: number, end: number): boolean {
  if (IS_JSON[cell]) {
    starts[cell] = start;
    ends[cell] = end;
    return true;
  }
  const c = src[start];
  if (cell === SEQ || cell === SCHEMA_VERSION) {
    if (!((c >= 48 && c <= 57) || c === 45)) return false;
    starts[cell] = start;
    ends[cell] = end;
    return true;
  }
  if (c !== QUOTE) return false;
  starts[cell] = start + 1;
  ends[cell] = end - 1;
  return true;
}

/** The end of the nested object (actor, request, outcome) at i, its fields taken; -1 when not of the shape. */
function nested(fields: Table, i: number): number {
  if (src[i] !== 123) return -1;
  let j = i + 1;
  if (src[j] === 125) return j + 1;
  prevKeyStart = -1;
  for (;;) {
    const k = key(j);
    if (k === -1) return -1;
    const ks = prevKeyStart;
    const ke = prevKeyEnd;
    const start = valueStart;
    j = value(start);
    if (j === -1) return -1;
    prevKeyStart = ks;
    prevKeyEnd = ke;
    const cell = cellOf(fields, ks, ke);
    if (cell !== -1 && !take(cell, start, j)) return -1;
    const c = src[j];
    if (c === 125) return j + 1;
    if (c !== COMMA) return -1;
    j++;
  }
}

/** Whether start..end holds only what the shape allows: no control character and no backslash. */
function plain(start: number, end: number): boolean {
  let i = start;
  if (src32.length) {
    // Four bytes at a time where the bytes are aligned for it: a word holds a byte below 0x20 when
    // (w - 0x20202020) & ~w & 0x80808080 is not 0, and a backslash when w ^ 0x5c5c5c5c holds a 0 byte.
    for (; i < end && i & 3; i++) if (src[i] < 32 || src[i] === 92) return false;
    const words = end >> 2;
    let w = i >> 2;
    for (; w < words; w++) {
      const word = src32[w];
      const b = word ^ 0x5c5c5c5c;
      if (((word - 0x20202020) & ~word & 0x80808080) | ((b - 0x01010101) & ~b & 0x80808080)) return false;
    }
    if (w << 2 > i) i = w << 2;
  }
  for (; i < end; i++) if (src[i] < 32 || src[i] === 92) return false;
  return true;
}

/** The members every record has (an outcome too, checked apart). */
const REQUIRED = [SEQ, SCHEMA_VERSION, ID, TIME, TYPE, PREV_HASH, HASH];

/** Scans the record at start..end, its cells into starts and ends; false when it is not of the shape. */
function scanRecord(start: number, end: number): boolean {
  if (!plain(start, end) || src[start] !== 123) return false;
  starts.fill(-1);
  ends.fill(-1);
  let outcome = false;
  let j = start + 1;
  prevKeyStart = -1;
  for (;;) {
    const k = key(j);
    if (k === -1) return false;
    const ks = prevKeyStart;
    const ke = prevKeyEnd;
    const vs = valueStart;
    let ve: number;
    const inner = cellOf(NESTED_TABLE, ks, ke);
    if (inner === 0) ve = nested(ACTOR_TABLE, vs);
    else if (inner === 1) ve = nested(REQUEST_TABLE, vs);
    else if (inner === 2) {
      outcome = true;
      ve = nested(OUTCOME_TABLE, vs);
    } else {
      ve = value(vs);
      if (ve === -1) return false;
      const cell = cellOf(TOP_TABLE, ks, ke);
      if (cell !== -1 && !take(cell, vs, ve)) return false;
    }
    if (ve === -1) return false;
    prevKeyStart = ks;
    prevKeyEnd = ke;
    const c = src[ve];
    if (c === 125) {
      if (ve + 1 !== end) return false;
      break;
    }
    if (c !== COMMA) return false;
    j = ve + 1;
  }
  if (!outcome) return false;
  for (const required of REQUIRED) if (starts[required] === -1) return false;
  return true;
}

/**
 * Writes the line's cells from starts and ends into out at `at`, which has room (twice the record and
 * a few bytes a cell); returns where the line ends.
 * - a text cell (no quote, CR or LF in it, as the scan yields): the formula guard (a leading ' before
 *   = + - @ ', and an empty cell as '), and quotes around a comma;
 * - a JSON cell: a leading ' before a negative number (JSON text never starts with = + @ '), and
 *   quotes, its quotes doubled, around a quote or a comma.
 */
function writeCells(out: Buffer, at: number): number {
  for (let cell = 0; cell < CELLS; cell++) {
    if (cell) out[at++] = COMMA;
    const s = starts[cell];
    if (s === -1) continue;
    const e = ends[cell];
    const c = src[s];
    const json = IS_JSON[cell] === 1;
    const begin = at;
    if (json ? c === 45 : s === e || c === 61 || c === 43 || c === 45 || c === 64 || c === 39) out[at++] = 39;
    // Copied in one pass, noting whether it must be quoted; the opening quote is put in after.
    let quote = false;
    if (json) {
      for (let i = s; i < e; i++) {
        const b = src[i];
        out[at++] = b;
        if (b === QUOTE) {
          out[at++] = QUOTE;
          quote = true;
        } else if (b === COMMA) quote = true;
      }
    } else {
      for (let i = s; i < e; i++) {
        const b = src[i];
        out[at++] = b;
        if (b === COMMA) quote = true;
      }
    }
    if (quote) {
      out.copyWithin(begin + 1, begin, at);
      out[begin] = QUOTE;
      at++;
      out[at++] = QUOTE;
    }
  }
  out[at++] = 13;
  out[at++] = 10;
  return at;
}

/**
 * Writes the CSV line (CRLF included) of the record whose stored text's UTF-8 is bytes[start..end]
 * into out and answers true, or answers false having written nothing when the text is not of the
 * shape the scan takes (see above): then JSON.parse and the general path give the line.
 */
export function writeCsvLineFromStoredBytes(bytes: Uint8Array, start: number, end: number, out: ByteSink): boolean {
  if (bytes !== src) {
    src = bytes;
    const base = bytes.byteOffset;
    src32 = base % 4 === 0 ? new Uint32Array(bytes.buffer, base, (bytes.byteLength >> 2)) : new Uint32Array(0);
  }
  try {
    if (!scanRecord(start, end)) return false;
    out.reserve(2 * (end - start) + LINE_EXTRA);
    out.length = writeCells(out.bytes, out.length);
    return true;
  } catch {
    // Nesting deep enough to exhaust the stack: the general path decides.
    return false;
  }
}

/** Bytes a line may take beyond twice its record's: per cell a comma, quotes and a guard; the CRLF. */
const LINE_EXTRA = 4 * CELLS + 2;

/** Any half of a surrogate pair: JSON.stringify escapes a lone one, and UTF-8 cannot carry it as it is. */
const SURROGATE = /[\ud800-\udfff]/;

/** The CSV line of the record stored as `stored`, or undefined when the general path must give it. */
export function csvLineFromStoredText(stored: string): string | undefined {
  if (SURROGATE.test(stored)) return undefined;
  const bytes = Buffer.from(stored, 'utf8');
  const out = new ByteSink(2 * bytes.length + LINE_EXTRA);
  return writeCsvLineFromStoredBytes(bytes, 0, bytes.length, out) ? out.bytes.toString('utf8', 0, out.length) : undefined;
}
