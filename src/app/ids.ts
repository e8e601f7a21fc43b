import { createHash, randomBytes } from 'node:crypto';
import type { IdGenerator } from './ports';

/** Crockford's base32: no I, L, O or U, so ids survive being read aloud or retyped. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The id of the request one confirmation makes, the same for every answer to it (`key`: the
 * conversation and the confirmation message): a second answer, sent at once or to another instance,
 * meets the first's request in the store instead of making another.
 */
export function requestIdFor(key: string): string {
  return derivedId('CS', 'confirmation', key, 8);
}

/**
 * The id of the delegation one typed `delegate` message makes (`key`: its conversation and activity
 * id): Teams sends a message again, with the same id, when its turn took more than about 15 s, to
 * this instance or another; the second sending meets the first's delegation in the store (whose
 * unique id decides a race of the two) instead of replacing it with itself.
 */
export function delegationIdFor(key: string): string {
  return derivedId('DG', 'delegation', key, 16);
}

/**
 * What a typed `revoke delegation` records on the delegations it ends (`key`: its conversation and
 * activity id), so that the same message sent again is known by what it ended.
 */
export function revocationIdFor(key: string): string {
  return derivedId('RV', 'revocation', key, 16);
}

/** `<prefix>-` and `length` characters of base32 from the SHA-256 of the purpose and the key. */
function derivedId(prefix: string, purpose: string, key: string, length: number): string {
  const bytes = createHash('sha256').update(`countersign/${purpose}/${key}`).digest();
  let id = '';
  for (let i = 0; i < length; i++) id += ALPHABET[bytes[i] & 31];
  return `${prefix}-${id}`;
}

/** Request ids like CS-7K3M9QXW: 40 random bits, short enough to type in `status <id>`. */
export const randomRequestIds: IdGenerator = {
  requestId(): string {
    const bytes = randomBytes(8);
    let id = '';
    for (let i = 0; i < 8; i++) id += ALPHABET[bytes[i] & 31];
    return `CS-${id}`;
  },
};

export const systemClock = { now: () => new Date(), elapsed: () => performance.now() };
