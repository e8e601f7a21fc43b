/**
 * Text from outside that a request keeps (what Azure answered: a target's tags, a what-if, an
 * execution's outputs and errors) made storable in every store. PostgreSQL reads a request's JSON as
 * jsonb, which cannot hold U+0000 nor half of a UTF-16 surrogate pair: a resource group whose tag
 * held either (anyone who may tag it can put one there) made every request on it fail to be saved
 * there, while SQLite kept it. U+0000 becomes the visible text `\u0000`, as in an audit record, and a
 * lone surrogate U+FFFD; the same answer always becomes the same text, so the target read again
 * before execution compares equal to the one approved.
 */
import { escapedControl, wellFormed } from './audit';

function storableText(text: string): string {
  const whole = wellFormed(text);
  return whole.includes('\u0000') ? whole.replaceAll('\u0000', escapedControl('\u0000')) : whole;
}

/** The value with every string in it, member names included, storable; anything but plain data is kept as it is. */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map((v) => storable(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) Object.defineProperty(out, storableText(k), { value: storable(v), enumerable: true, writable: true, configurable: true });
  return out as T;
}
