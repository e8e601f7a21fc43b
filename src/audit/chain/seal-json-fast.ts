/**
 * One pass over an audit draft that does what `neutralise` then `canonicalJson` do, for the append
 * hot path. The copy is built with every object's keys inserted in sorted order, so the engine's
 * native JSON.stringify writes RFC 8785 text; only keys that look like array indexes (which
 * JavaScript orders numerically, not as strings) send the caller to the reference canonicalJson.
 * Anything that is not plain JSON data (functions, symbols, bigints, non-finite numbers) is refused.
 * Equivalence with the reference functions is what the tests check.
 */

import { escapedControl, setOwn, wellFormed } from '../../domain/audit';
import { canonicalJson } from '../../domain/canonical';

function refuse(what: string): never {
  throw new TypeError(`an audit record can hold only JSON data, not ${what}`);
}

/** As `neutralise` in domain/audit.ts: line ends, U+2028, U+2029 and every control character but tab become visible escapes. */
const LINE_ENDS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;
const LINE_ENDS_ALL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;

function neutraliseText(text: string): string {
  const s = wellFormed(text);
  if (!LINE_ENDS.test(s)) return s;
  return s.replace(LINE_ENDS_ALL, escapedControl);
}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

export interface NeutralCopy {
  value: unknown;
  /** True when some object key is index-like: JSON.stringify would not write it in canonical order. */
  indexKeys: boolean;
}

/**
 * Sorts keys in place by UTF-16 code unit, as Array.prototype.sort() does by default: an insertion
 * sort, which for the handful of keys an audit object has is several times faster than sort().
 */
export function sortKeys(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    if (!(keys[j] > key)) continue;
    do {
      keys[j + 1] = keys[j];
      j--;
    } while (j >= 0 && keys[j] > key);
    keys[j + 1] = key;
  }
  return keys;
}

class Copier {
  indexKeys = false;

  constructor(private readonly neutralise = true) {}

  copy(value: unknown): unknown {
    switch (typeof value) {
      case 'string':
        return this.neutralise ? neutraliseText(value) : value;
      case 'number':
        if (!Number.isFinite(value)) refuse(String(value));
        return value === 0 ? 0 : value; // -0 is written as 0

      case 'boolean':
        return value;
      case 'object': {
        if (value === null) return null;
        if (Array.isArray(value)) {
          const out = new Array<unknown>(value.length);
          // null, as canonical JSON writes it: the record returned is the record read back.
          for (let i = 0; i < value.length; i++) out[i] = value[i] === undefined ? null : this.copy(value[i]);
          return out;
        }
        const source = value as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        const keys = sortKeys(Object.keys(source));
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i];
          const v = source[key];
          if (v === undefined) continue;
          const c = key.charCodeAt(0);
          if (c >= 48 && c <= 57 && ARRAY_INDEX.test(key)) this.indexKeys = true;
          setOwn(out, key, this.copy(v));
        }
        return out;
      }
      default:
        return refuse(typeof value);
    }
  }
}

/** The fields the chain sets, in canonical order. */
const CHAIN_KEYS = ['hash', 'id', 'prevHash', 'schemaVersion', 'seq'] as const;
type ChainKey = (typeof CHAIN_KEYS)[number];

function isChainKey(key: string): boolean {
  switch (key) {
    case 'hash':
    case 'id':
    case 'prevHash':
    case 'schemaVersion':
    case 'seq':
      return true;
    default:
      return false;
  }
}

/**
 * neutralise(draft) with sorted keys and the chain's five fields in place of the draft's own, for
 * sealing: the draft's own keys are sorted alone (the chain's are in order already) and the two merged;
 * and whether JSON.stringify of the copy is canonical.
 */
export function chainedCopy(draft: object, chain: Readonly<Record<ChainKey, unknown>>): NeutralCopy {
  const copier = new Copier();
  const source = draft as Record<string, unknown>;
  const keys = Object.keys(source);
  let n = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (source[key] !== undefined && !isChainKey(key)) keys[n++] = key;
  }
  keys.length = n;
  sortKeys(keys);
  const out: Record<string, unknown> = {};
  let next = 0;
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    while (next < CHAIN_KEYS.length && CHAIN_KEYS[next] < key) {
      out[CHAIN_KEYS[next]] = chain[CHAIN_KEYS[next]];
      next++;
    }
    const c = key.charCodeAt(0);
    if (c >= 48 && c <= 57 && ARRAY_INDEX.test(key)) copier.indexKeys = true;
    setOwn(out, key, copier.copy(source[key]));
  }
  for (; next < CHAIN_KEYS.length; next++) out[CHAIN_KEYS[next]] = chain[CHAIN_KEYS[next]];
  return { value: out, indexKeys: copier.indexKeys };
}

/**
 * canonicalJson(value) for the export and verification paths, where it runs once or twice per
 * record: the same text (the tests hold it to that), several times faster. Values that are not
 * plain JSON data, and keys JavaScript orders numerically, go to the reference implementation.
 */
export function fastCanonicalJson(value: unknown): string {
  // A record parsed from canonical text (as every reader gets it) is already in canonical order.
  if (isCanonicalOrder(value)) return JSON.stringify(value);
  const copier = new Copier(false);
  let copy: unknown;
  try {
    copy = copier.copy(value);
  } catch {
    return canonicalJson(value);
  }
  return copier.indexKeys ? canonicalJson(value) : JSON.stringify(copy);
}

/**
 * True when JSON.stringify(value) is already its RFC 8785 text: plain JSON data whose objects have
 * their keys in canonical (UTF-16 code unit) order, none of them a key JavaScript orders
 * numerically, only finite numbers, undefined only as a member value (left out). A record parsed from canonical text passes (JSON.parse keeps
 * the text's key order), so verification can skip the sorted copy; anything else takes the copy.
 */
export function isCanonicalOrder(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isCanonicalOrder(value[i])) return false;
        return true;
      }
      const source = value as Record<string, unknown>;
      const keys = Object.keys(source);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        if (i > 0 && !(keys[i - 1] < key)) return false;
        const c = key.charCodeAt(0);
        if (c >= 48 && c <= 57 && ARRAY_INDEX.test(key)) return false;
        const v = source[key];
        // An undefined member is left out by JSON.stringify and canonical JSON alike.
        if (v !== undefined && !isCanonicalOrder(v)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
