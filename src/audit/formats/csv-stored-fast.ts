/**
 * The CSV line of a record written straight from its stored canonical text, without JSON.parse and
 * without re-serialising the nested values: one left-to-right scan finds each top-level member,
 * the text fields are the characters between their quotes and the JSON cells (source, target,
 * execution, data, request parameters) are their stretch of the stored text.
 *
 * That is exactly what the general path writes (JSON.parse, then JSON.stringify of each nested
 * value) only for text of the shape the store writes, so the scan accepts nothing else and answers
 * undefined (the caller then takes the general path) for anything outside it:
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

/**
 * A control character (JSON.parse refuses them unescaped), a backslash, or half of a surrogate pair
 * (JSON.stringify escapes a lone one; a text with any takes the general path, which decides).
 */
const NOT_PLAIN = /[\u0000-\u001f\\\ud800-\udfff]/;

/** The text being scanned, and where the last key's value starts (set by key()). */
let text = '';
let valueStart = 0;

/** The end of the JSON value starting at i, or -1 when it is not of the accepted shape. */
function value(i: number): number {
  const c = text.charCodeAt(i);
  if (c === 34) {
    const end = text.indexOf('"', i + 1);
    return end === -1 ? -1 : end + 1;
  }
  if (c === 123) return object(i);
  if (c === 91) return array(i);
  if (c === 116) return text.startsWith('true', i) ? i + 4 : -1;
  if (c === 102) return text.startsWith('false', i) ? i + 5 : -1;
  if (c === 110) return text.startsWith('null', i) ? i + 4 : -1;
  return number(i);
}

function number(i: number): number {
  let j = i;
  for (;;) {
    const c = text.charCodeAt(j);
    // 0-9 - + . e E
    if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69) j++;
    else break;
  }
  if (j === i) return -1;
  const token = text.slice(i, j);
  // As JSON.stringify writes it, which also makes it valid JSON.
  return String(Number(token)) === token ? j : -1;
}

function array(i: number): number {
  let j = i + 1;
  if (text.charCodeAt(j) === 93) return j + 1;
  for (;;) {
    j = value(j);
    if (j === -1) return -1;
    const c = text.charCodeAt(j);
    if (c === 93) return j + 1;
    if (c !== 44) return -1;
    j++;
  }
}

function object(i: number): number {
  let j = i + 1;
  if (text.charCodeAt(j) === 125) return j + 1;
  let prevKey: string | undefined;
  for (;;) {
    const k = key(j, prevKey);
    if (k === undefined) return -1;
    prevKey = k;
    j = value(valueStart);
    if (j === -1) return -1;
    const c = text.charCodeAt(j);
    if (c === 125) return j + 1;
    if (c !== 44) return -1;
    j++;
  }
}

/**
 * The key of the member starting at j (valueStart is then its value's start), or undefined when it
 * is not one the shape allows (after prevKey, not starting with a digit, followed by a colon).
 */
function key(j: number, prevKey: string | undefined): string | undefined {
  if (text.charCodeAt(j) !== 34) return undefined;
  const end = text.indexOf('"', j + 1);
  if (end === -1 || text.charCodeAt(end + 1) !== 58) return undefined;
  const k = text.slice(j + 1, end);
  const first = k.charCodeAt(0);
  if (first >= 48 && first <= 57) return undefined;
  if (prevKey !== undefined && !(prevKey < k)) return undefined;
  valueStart = end + 2;
  return k;
}

/** The characters of the string value from start to end (quotes included), or undefined when it is not a string. */
function str(start: number, end: number): string | undefined {
  return text.charCodeAt(start) === 34 ? text.slice(start + 1, end - 1) : undefined;
}

/** The fields a CSV line needs: text values as they are, JSON cells as their stretch of text. */
class Fields {
  seq: string | undefined = undefined;
  schemaVersion: string | undefined = undefined;
  id: string | undefined = undefined;
  time: string | undefined = undefined;
  type: string | undefined = undefined;
  prevHash: string | undefined = undefined;
  hash: string | undefined = undefined;
  actorId: string | undefined = undefined;
  actorName: string | undefined = undefined;
  actorTenant: string | undefined = undefined;
  requestId: string | undefined = undefined;
  command: string | undefined = undefined;
  parameters: string | undefined = undefined;
  operationHash: string | undefined = undefined;
  reason: string | undefined = undefined;
  policyVersion: string | undefined = undefined;
  outcome = false;
  result: string | undefined = undefined;
  outcomeReason: string | undefined = undefined;
  detail: string | undefined = undefined;
  source: string | undefined = undefined;
  target: string | undefined = undefined;
  execution: string | undefined = undefined;
  data: string | undefined = undefined;
}

/** The end of the nested object (actor, request, outcome) at i, its fields taken into f; -1 when not of the shape. */
function nested(f: Fields, owner: number, i: number): number {
  if (text.charCodeAt(i) !== 123) return -1;
  let j = i + 1;
  if (text.charCodeAt(j) === 125) return j + 1;
  let prevKey: string | undefined;
  for (;;) {
    const k = key(j, prevKey);
    if (k === undefined) return -1;
    prevKey = k;
    const start = valueStart;
    j = value(start);
    if (j === -1) return -1;
    if (owner === ACTOR) {
      if (k === 'aadObjectId') {
        if ((f.actorId = str(start, j)) === undefined) return -1;
      } else if (k === 'name') {
        if ((f.actorName = str(start, j)) === undefined) return -1;
      } else if (k === 'tenantId') {
        if ((f.actorTenant = str(start, j)) === undefined) return -1;
      }
    } else if (owner === REQUEST) {
      if (k === 'id') {
        if ((f.requestId = str(start, j)) === undefined) return -1;
      } else if (k === 'command') {
        if ((f.command = str(start, j)) === undefined) return -1;
      } else if (k === 'parameters') {
        f.parameters = text.slice(start, j);
      } else if (k === 'operationHash') {
        if ((f.operationHash = str(start, j)) === undefined) return -1;
      } else if (k === 'reason') {
        if ((f.reason = str(start, j)) === undefined) return -1;
      } else if (k === 'policyVersion') {
        if ((f.policyVersion = str(start, j)) === undefined) return -1;
      }
    } else if (k === 'result') {
      if ((f.result = str(start, j)) === undefined) return -1;
    } else if (k === 'reason') {
      if ((f.outcomeReason = str(start, j)) === undefined) return -1;
    } else if (k === 'detail') {
      if ((f.detail = str(start, j)) === undefined) return -1;
    }
    const c = text.charCodeAt(j);
    if (c === 125) return j + 1;
    if (c !== 44) return -1;
    j++;
  }
}

const ACTOR = 1;
const REQUEST = 2;
const OUTCOME = 3;

/** A number member (seq, schemaVersion): its text, or undefined when it is not a number. */
function integerText(start: number, end: number): string | undefined {
  const c = text.charCodeAt(start);
  return (c >= 48 && c <= 57) || c === 45 ? text.slice(start, end) : undefined;
}

function scanRecord(): Fields | undefined {
  if (NOT_PLAIN.test(text) || text.charCodeAt(0) !== 123) return undefined;
  const f = new Fields();
  let j = 1;
  let prevKey: string | undefined;
  for (;;) {
    const k = key(j, prevKey);
    if (k === undefined) return undefined;
    prevKey = k;
    const start = valueStart;
    let end: number;
    if (k === 'actor') end = nested(f, ACTOR, start);
    else if (k === 'request') end = nested(f, REQUEST, start);
    else if (k === 'outcome') {
      f.outcome = true;
      end = nested(f, OUTCOME, start);
    } else {
      end = value(start);
      if (end === -1) return undefined;
      switch (k) {
        case 'seq':
          if ((f.seq = integerText(start, end)) === undefined) return undefined;
          break;
        case 'schemaVersion':
          if ((f.schemaVersion = integerText(start, end)) === undefined) return undefined;
          break;
        case 'id':
          if ((f.id = str(start, end)) === undefined) return undefined;
          break;
        case 'time':
          if ((f.time = str(start, end)) === undefined) return undefined;
          break;
        case 'type':
          if ((f.type = str(start, end)) === undefined) return undefined;
          break;
        case 'prevHash':
          if ((f.prevHash = str(start, end)) === undefined) return undefined;
          break;
        case 'hash':
          if ((f.hash = str(start, end)) === undefined) return undefined;
          break;
        case 'source':
          f.source = text.slice(start, end);
          break;
        case 'target':
          f.target = text.slice(start, end);
          break;
        case 'execution':
          f.execution = text.slice(start, end);
          break;
        case 'data':
          f.data = text.slice(start, end);
          break;
        default:
          break;
      }
    }
    if (end === -1) return undefined;
    const c = text.charCodeAt(end);
    if (c === 125) {
      if (end + 1 !== text.length) return undefined;
      break;
    }
    if (c !== 44) return undefined;
    j = end + 1;
  }
  if (f.seq === undefined || f.schemaVersion === undefined || !f.outcome) return undefined;
  if (f.id === undefined || f.time === undefined || f.type === undefined || f.prevHash === undefined || f.hash === undefined) return undefined;
  return f;
}

/** A text cell with no quote, CR or LF in it (what the scan yields): the formula guard, and quotes around a comma. */
function plainCell(value: string | undefined): string {
  if (value === undefined) return '';
  if (value.length === 0) return "'";
  const c = value.charCodeAt(0);
  // = + - @ '  (tab and CR cannot occur: control characters take the general path)
  const v = c === 61 || c === 43 || c === 45 || c === 64 || c === 39 ? `'${value}` : value;
  return v.indexOf(',') === -1 ? v : `"${v}"`;
}

/** A JSON cell: its text (no CR or LF in it), formula-guarded and quoted with its quotes doubled as needed. */
function jsonCell(value: string | undefined): string {
  if (value === undefined) return '';
  const c = value.charCodeAt(0);
  const v = c === 45 ? `'${value}` : value; // a negative number; JSON text never starts with = + @ '
  if (v.indexOf('"') !== -1) return `"${v.replaceAll('"', '""')}"`;
  return v.indexOf(',') === -1 ? v : `"${v}"`;
}

/**
 * The CSV line (CRLF included) of the record stored as `stored`, or undefined when the text is not of
 * the shape the scan takes (see above): then JSON.parse and the general path give the line.
 */
export function csvLineFromStoredText(stored: string): string | undefined {
  let f: Fields | undefined;
  text = stored;
  try {
    f = scanRecord();
  } catch {
    // Nesting deep enough to exhaust the stack: the general path decides.
    return undefined;
  } finally {
    text = '';
  }
  if (!f) return undefined;
  return (
    `${plainCell(f.seq)},${plainCell(f.id)},${plainCell(f.time)},${plainCell(f.type)},` +
    `${plainCell(f.actorId)},${plainCell(f.actorName)},${plainCell(f.actorTenant)},${jsonCell(f.source)},` +
    `${plainCell(f.requestId)},${plainCell(f.command)},${jsonCell(f.parameters)},${plainCell(f.operationHash)},${plainCell(f.reason)},${plainCell(f.policyVersion)},` +
    `${jsonCell(f.target)},${jsonCell(f.execution)},${plainCell(f.result)},${plainCell(f.outcomeReason)},${plainCell(f.detail)},${jsonCell(f.data)},` +
    `${plainCell(f.schemaVersion)},${plainCell(f.prevHash)},${plainCell(f.hash)}\r\n`
  );
}
