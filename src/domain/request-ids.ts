/**
 * Request ids as people type them: "cs-7k3m9qxw", "CS-7K3M9QXW", "CS-7K3M9QXW." and “CS-7K3M9QXW” name one request.
 * Crockford's base32 also reads I and L as 1 and O as 0.
 */
const COUNTERSIGN_ID = /^cs-([0-9a-z]{8})$/i;

/** The id without the quotes (a client's curly ones too) and brackets around it, and the sentence's punctuation after it. */
function unwrapped(typed: string): string {
  return typed.trim().replace(/^["'“”‘’«»<([]+/u, '').replace(/["'“”‘’«»>)\].,;:!?]+$/u, '');
}

export function canonicalRequestId(typed: string): string {
  const text = unwrapped(typed);
  const m = COUNTERSIGN_ID.exec(text);
  if (!m) return text;
  return `CS-${m[1].toUpperCase().replace(/[IL]/g, '1').replace(/O/g, '0')}`;
}

/** A request id as Countersign makes them (canonical): CS- and 8 of Crockford's base32 digits (no I, L, O or U). */
const CANONICAL_ID = /^CS-[0-9A-HJKMNP-TV-Z]{8}$/;

/** Whether a canonical id (canonicalRequestId's answer) has the shape every request id has. */
export function isRequestId(id: string): boolean {
  return CANONICAL_ID.test(id);
}

/**
 * The id as a message names it: canonical, or as typed (quoted, nothing dropped) when it does not even
 * begin like one. A look-alike letter read as its digit is said, or "CS-NOPE0000" would be answered
 * with a CS-N0PE0000 nobody typed.
 */
export function requestIdAsNamed(typed: string): string {
  const id = canonicalRequestId(typed);
  if (!/^cs-/i.test(id)) return `"${typed.trim().slice(0, 80)}"`;
  // Not the shape of an id (too short, a U in it): as typed, so no letter is said to be read otherwise.
  if (!isRequestId(id)) return unwrapped(typed).slice(0, 80);
  // Quotes and brackets around it are not letters read otherwise; what is left is 11 characters.
  const asTyped = unwrapped(typed).toUpperCase();
  return asTyped === id ? id : `${id} (typed ${asTyped}: I and L are read as 1, O as 0)`;
}
